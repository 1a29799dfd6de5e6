"""Creating migration revisions (``kentra db revision``) for either stream.

Alembic's ``env.py`` of each stream calls :func:`configure_environment`, which takes the
connection prepared here: for the tenant stream, a scratch schema migrated to head inside a
transaction that is rolled back afterwards, so autogenerate compares the models against exactly
what the migrations build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import Script
from sqlalchemy import Engine, func, select
from sqlalchemy.schema import CreateSchema

from kentra.platform.core.models import SHARED_SCHEMA
from kentra.tenants.migrate import DRIFT_CHECK_SCHEMA, _only_schema, _run_stream
from kentra.tenants.streams import (
    SHARED,
    TENANT,
    load_stream,
    only_unqualified_tables,
    shared_metadata,
    unqualified_tenant_metadata,
)


def configure_environment(context: Any, stream: str) -> None:
    attributes = context.config.attributes
    if "connection" not in attributes:
        raise RuntimeError(
            "use `kentra db upgrade` to migrate and `kentra db revision` to write revisions"
        )
    metadata = unqualified_tenant_metadata() if stream == TENANT else shared_metadata()
    context.configure(
        connection=attributes["connection"], target_metadata=metadata, **attributes["opts"]
    )
    with context.begin_transaction():
        context.run_migrations()


def create_revision(engine: Engine, stream_name: str, message: str, *, autogenerate: bool) -> Path:
    stream = load_stream(stream_name)
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            if stream_name == SHARED:
                conn.execute(CreateSchema(SHARED_SCHEMA, if_not_exists=True))
                opts: dict[str, Any] = {
                    "include_schemas": True,
                    "include_name": _only_schema(SHARED_SCHEMA),
                    "version_table_schema": SHARED_SCHEMA,
                }
            else:
                conn.execute(CreateSchema(DRIFT_CHECK_SCHEMA))
                conn.execute(select(func.set_config("search_path", DRIFT_CHECK_SCHEMA, True)))
                _run_stream(
                    conn, stream, version_table_schema=DRIFT_CHECK_SCHEMA, destination="heads"
                )
                opts = {
                    "include_schemas": False,
                    "include_object": only_unqualified_tables,
                    # Unqualified, like the tables, so autogenerate recognises its own table.
                    "version_table_schema": None,
                }
            stream.config.attributes["connection"] = conn
            stream.config.attributes["opts"] = opts
            script = command.revision(stream.config, message=message, autogenerate=autogenerate)
        finally:
            trans.rollback()
    assert isinstance(script, Script)
    return Path(script.path)
