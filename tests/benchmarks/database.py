"""The scratch database ``kentra_bench``, on the same server as the configured (or embedded) one."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL

from kentra.platform.core.config import Settings
from kentra.platform.core.database import make_engine, recreate_database, sibling_database_url
from kentra.platform.reference.models import Municipality
from kentra.tenants.migrate import upgrade_all

# Another name lets two partial runs (--only) share a server without dropping each other's.
BENCH_DATABASE = os.environ.get("KENTRA_BENCH_DATABASE") or "kentra_bench"


@dataclass
class BenchDatabase:
    url: URL
    embedded: bool
    engine: Engine

    @classmethod
    def create(cls) -> BenchDatabase:
        """Resolve the server (starting the embedded one if needed) and create an empty database."""
        settings = Settings.from_env()
        url = sibling_database_url(settings, BENCH_DATABASE)
        recreate_database(url)
        return cls(url=url, embedded=settings.uses_embedded_database, engine=make_engine(url))

    @property
    def url_string(self) -> str:
        return self.url.render_as_string(hide_password=False)

    @property
    def conninfo(self) -> str:
        """The URL for plain psycopg (no SQLAlchemy driver suffix)."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def subprocess_env(self) -> dict[str, str]:
        return {**os.environ, "KENTRA_DATABASE_URL": self.url_string}

    def recreate(self) -> None:
        """Start over with an empty database (drops every session on it)."""
        self.engine.dispose()
        recreate_database(self.url)
        self.engine = make_engine(self.url)

    def upgrade_shared(self) -> None:
        """The shared schema and the reference data; with no tenants, no tenant is migrated."""
        report = upgrade_all(self.engine)
        assert not report.tenants, "a fresh bench database has no tenants"

    def drop(self) -> None:
        self.engine.dispose()
        maintenance = self.url.set(drivername="postgresql", database="postgres")
        with psycopg.connect(
            maintenance.render_as_string(hide_password=False), autocommit=True
        ) as conn:
            name = sql.Identifier(BENCH_DATABASE)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))

    def server_version(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.scalar(select(func.version())))

    def municipality_codes(self) -> list[str]:
        """Every municipality of the reference table, in code order."""
        with self.engine.connect() as conn:
            return list(conn.scalars(select(Municipality.code).order_by(Municipality.code)))
