"""The embedded PostgreSQL server (pgserver) used when no database URL is configured.

The server runs from ``var/pg`` and outlives the process that started it, so that the web
process, the worker and the CLI share it; pgserver reuses a running server for the same
directory.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from kentra.platform.core.config import Settings

_lock = threading.Lock()
_servers: dict[Path, URL] = {}


def server_url(data_dir: Path) -> URL:
    """Start (or reuse) the embedded server in ``data_dir``; return its maintenance-db URL."""
    data_dir = data_dir.resolve()
    with _lock:
        if data_dir not in _servers:
            data_dir.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers): harmless.
                warnings.simplefilter("ignore")
                import pgserver  # noqa: PLC0415 - imported here, under the warning filter

                server = pgserver.get_server(data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
            _servers[data_dir] = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        return _servers[data_dir]


def ensure_database(maintenance_url: URL, name: str) -> URL:
    """Create database ``name`` on the server if it is missing; return its URL."""
    conninfo = _conninfo(maintenance_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return maintenance_url.set(database=name)


def database_url(settings: Settings) -> URL:
    return ensure_database(server_url(settings.var_dir / "pg"), settings.database_name)


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
