"""The two Alembic streams: ``shared`` (explicit schema names) and ``tenant`` (one per schema).

Tenant migrations use unqualified table names; the runner executes them with the transaction's
search path set to the tenant schema and the version table in that schema.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import BLANK_SCHEMA, MetaData

from kentra.platform.core.models import (
    SHARED_SCHEMA,
    TENANT_SCHEMA,
    SharedBase,
    TenantBase,
    load_all_models,
)

SHARED = "shared"
TENANT = "tenant"
VERSION_TABLE = "alembic_version"


def migrations_root() -> Path:
    return Path(str(resources.files("kentra.migrations")))


@dataclass(frozen=True)
class Stream:
    name: str
    config: Config
    script: ScriptDirectory

    @property
    def head(self) -> str:
        head = self.script.get_current_head()
        assert head is not None, f"the {self.name} stream has no revisions"
        return head


def load_stream(name: str, extra_version_locations: Sequence[Path] = ()) -> Stream:
    """The stream's scripts; extra locations add revisions (used by tests and benchmarks)."""
    location = migrations_root() / name
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_path_separator", "os")
    locations = [location / "versions", *extra_version_locations]
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    return Stream(name, config, ScriptDirectory.from_config(config))


@cache
def default_stream(name: str) -> Stream:
    return load_stream(name)


def shared_metadata() -> MetaData:
    load_all_models()
    return SharedBase.metadata


def tenant_metadata() -> MetaData:
    load_all_models()
    return TenantBase.metadata


def _unqualify_tenant_references(
    _table: Any, _schema: Any, _constraint: Any, referred: str | None
) -> str | None:
    """Foreign keys between tenant tables lose the placeholder schema; those to shared tables
    keep theirs. BLANK_SCHEMA, not None: None means "keep the referred schema" to SQLAlchemy."""
    return BLANK_SCHEMA if referred == TENANT_SCHEMA else referred  # type: ignore[return-value]


def unqualified_tenant_metadata() -> MetaData:
    """The tenant tables with no schema, as migrations create them under a tenant search path."""
    source = tenant_metadata()
    target = MetaData(naming_convention=source.naming_convention)
    # Shared tables come along (schema kept) so that foreign keys to them resolve; comparisons
    # leave them out with only_unqualified_tables.
    for table in shared_metadata().sorted_tables:
        table.to_metadata(target)
    for table in source.sorted_tables:
        table.to_metadata(
            target,
            schema=None,  # type: ignore[arg-type]  # None means "no schema" at runtime
            referred_schema_fn=_unqualify_tenant_references,
        )
    return target


def only_unqualified_tables(
    obj: Any, _name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic ``include_object`` filter for tenant comparisons: skip the shared tables."""
    return type_ != "table" or obj.schema is None


__all__ = [
    "SHARED",
    "SHARED_SCHEMA",
    "TENANT",
    "VERSION_TABLE",
    "Stream",
    "default_stream",
    "load_stream",
]
