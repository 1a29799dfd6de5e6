"""The raw baseline B5 serves under gunicorn (``tests.benchmarks.throughput_app:app``): one plain
WSGI function over psycopg, no framework, answering the units list of one tenant with the
platform's own SQL and the same JSON, byte for byte.

What it leaves out is what the platform adds: authentication, the tenant's lookup in the
registry and the transaction that binds the schema (the statements are schema-qualified and run
in autocommit), ORM, Flask. The bench compiles the SQL from the platform's statements for the
tenant's schema and hands it over in a JSON file (``KENTRA_BENCH_RAW_SPEC``): the database URL,
the prepare threshold (None behind PgBouncer, as the platform's ``KENTRA_DB_PREPARE_THRESHOLD``),
the path, the municipality code, the page's size and the two statements of the list's first
page (ADR 0040) with their parameters.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SPEC_ENV = "KENTRA_BENCH_RAW_SPEC"
SPEC: dict[str, Any] = json.loads(Path(os.environ[SPEC_ENV]).read_text())
_local = threading.local()


def _connection() -> psycopg.Connection[Any]:
    """One connection per gunicorn thread, kept (the platform keeps a pool per worker)."""
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(
            SPEC["conninfo"],
            autocommit=True,
            prepare_threshold=SPEC["prepare_threshold"],
            application_name="kentra-bench-raw",
        )
        _local.conn = conn
    return conn


def _iso(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] != SPEC["path"]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    conn = _connection()
    per_page = SPEC["per_page"]
    cursor = conn.execute(SPEC["units_sql"], {**SPEC["units_params"], "limit": per_page + 1})
    names = [column.name for column in cursor.description or ()]
    units = [dict(zip(names, row, strict=True)) for row in cursor][:per_page]
    served: dict[int, list[dict[str, str]]] = {}
    ids = {**SPEC["served_params"], "unit_ids": [u["id"] for u in units]}
    for unit_id, code, name in conn.execute(SPEC["served_sql"], ids):
        served.setdefault(unit_id, []).append({"code": code, "name_el": name})
    centres = {u["centre"]: u["id"] for u in units if u["kind"] == "centre"}
    prefix = f"/m-{SPEC['code']}"
    body = [
        {
            "id": u["id"],
            "kind": u["kind"],
            "name": u["name"],
            "path": f"{prefix}/{u['centre']}/{u['unit']}"
            if u["unit"]
            else f"{prefix}/{u['centre']}",
            "centre_id": centres.get(u["centre"]) if u["unit"] is not None else None,
            "closed_on": u["closed_on"],
            "opening_date": u["opening_date"],
            "street_address": u["street_address"],
            "postal_code": u["postal_code"],
            "focus_groups": list(u["focus_groups"] or []),
            "body_type": u["body_type"],
            "body_legal_name": u["body_legal_name"],
            "body_vat": u["body_vat"],
            "annex_reason": u["annex_reason"],
            **{item: bool(u[item]) for item in SPEC["premises_items"]},
            "served_municipalities": served.get(u["id"], []),
            "version": u["version"],
        }
        for u in units
    ]
    data = (
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_iso) + "\n"
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
