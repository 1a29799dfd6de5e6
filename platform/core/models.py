"""Declarative bases for the two kinds of tables.

Shared tables live in the ``shared`` schema. Tenant tables are declared once against the
placeholder schema ``tenant`` and bound to a municipality's schema (``m_<code>``) per request
by :mod:`kentra.tenants.binding`, which translates the placeholder to the real schema name.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, DateTime, Enum, Identity, Integer, MetaData, text
from sqlalchemy.orm import DeclarativeBase, mapped_column

SHARED_SCHEMA = "shared"
TENANT_SCHEMA = "tenant"  # placeholder, never a real schema

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SharedBase(DeclarativeBase):
    metadata = MetaData(schema=SHARED_SCHEMA, naming_convention=NAMING_CONVENTION)


class TenantBase(DeclarativeBase):
    metadata = MetaData(schema=TENANT_SCHEMA, naming_convention=NAMING_CONVENTION)


def string_enum(enum_class: type[enum.StrEnum], name: str, length: int = 16) -> Enum:
    """A string column limited to the enum's values by a check constraint.

    No native PostgreSQL enum types: they need their own DDL, which provisioning's compiled
    schema script (tenants/ddl.py) does not emit, and changing them is awkward in migrations.
    """
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


# The programme's clock: "today" for contracts, regulations in force and policy versions is
# the date in Greece, not in UTC (between midnight and 02:00/03:00 they differ).
PLATFORM_TIMEZONE = ZoneInfo("Europe/Athens")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today() -> date:
    """Today's date in Greece."""
    return datetime.now(PLATFORM_TIMEZONE).date()


# Columns many tables declare alike, said once: a model writes ``id: Mapped[IdentityKey]``, and
# adds what it needs on top (``occurred_at: Mapped[CreatedAt] = mapped_column(index=True)``).
# Annotated types: each column stays where the table declares it (a mixin's columns would move
# to the end), so the tables and their migrations are unchanged.

# A surrogate key: a bigint identity.
IdentityKey = Annotated[int, mapped_column(BigInteger, Identity(), primary_key=True)]
# When the row was written (created, uploaded, computed…), set by the application in UTC.
CreatedAt = Annotated[datetime, mapped_column(DateTime(timezone=True), default=utcnow)]
# The optimistic concurrency counter behind the API's ETag / If-Match; the model names it in
# ``__mapper_args__ = {"version_id_col": version}``.
RowVersion = Annotated[int, mapped_column(Integer, server_default=text("1"))]


def load_all_models() -> None:
    """Import every ``models`` module of the platform's domain modules and of the registry.

    Both metadata objects are complete only after this; migrations, provisioning and the drift
    check call it.
    """
    import kentra.platform  # noqa: PLC0415

    for module in pkgutil.iter_modules(kentra.platform.__path__, "kentra.platform."):
        if module.ispkg:
            try:
                importlib.import_module(module.name + ".models")
            except ModuleNotFoundError as exc:
                if exc.name != module.name + ".models":
                    raise
    importlib.import_module("kentra.tenants.models")
    importlib.import_module("kentra.tasks.models")  # the fan-out record
    # The embedded issuer's users, organizations and groups (shared schema).
    importlib.import_module("kentra.auth.issuer.models")
