"""``/healthz`` (the process answers) and ``/readyz`` (database and broker reachable)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app
from kombu import Connection as BrokerConnection
from sqlalchemy import text

from kentra.auth.flask import public
from kentra.platform.core.problems import RETRY_AFTER_SECONDS, problem_response

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@blueprint.get("/healthz")
@public
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


def _database_ok() -> bool:
    try:
        with current_app.extensions["kentra"].engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: database unreachable")
        return False
    return True


def _broker_ok() -> bool:
    try:
        with BrokerConnection(
            current_app.extensions["kentra"].broker_url, connect_timeout=2
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: broker unreachable")
        return False
    return True


@blueprint.get("/readyz")
@public
def readyz() -> Any:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    if all(checks.values()):
        return {"status": "ready", "checks": dict.fromkeys(checks, "ok")}
    failing = ", ".join(k for k, ok in checks.items() if not ok)
    return problem_response(
        503,
        "Service Unavailable",
        f"Not ready: {failing} unreachable.",
        errors={k: "ok" if ok else "unreachable" for k, ok in checks.items()},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
