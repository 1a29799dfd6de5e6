"""Health, readiness, problem details, body limits, and structured logs."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from flask import Flask

from kentra.auth.flask import public
from kentra.auth.roles import Role
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import ConfigError, Settings, database_url, sqlalchemy_url
from kentra.platform.core.database import make_engine, prepare_threshold_of
from kentra.tasks.celery_app import create_celery
from kentra.tenants.codes import MunicipalityCode
from tests.tokens import TokenFactory

PROBLEM = "application/problem+json"


def test_healthz_answers_without_touching_services(client: Flask) -> None:
    response = client.get("/healthz")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client: Flask) -> None:
    response = client.get("/readyz")  # type: ignore[attr-defined]
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_is_503_when_the_broker_is_unreachable(engine: object) -> None:
    settings = replace(Settings.from_env(), broker_url="redis://127.0.0.1:9/0")
    response = create_app(settings).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == PROBLEM
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert body["errors"] == {"database": "ok", "broker": "unreachable"}


def test_readyz_is_503_when_the_database_is_unreachable(engine: object) -> None:
    settings = replace(
        Settings.from_env(),
        database_url="postgresql://postgres@127.0.0.1:9/none",
        broker_url="redis://127.0.0.1:9/0",
    )
    response = create_app(settings).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["errors"]["database"] == "unreachable"


def test_oversized_bodies_are_refused_with_413(engine: object) -> None:
    app = create_app(replace(Settings.from_env(), max_content_length=1024))
    response = app.test_client().post("/api/v1/municipalities/4501", data=b"x" * 2048)
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert "1024 bytes" in response.get_json()["detail"]


def test_wrong_method_is_a_problem(client: Flask) -> None:
    response = client.delete("/api/v1/reference/municipalities")  # type: ignore[attr-defined]
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert "GET" in response.headers["Allow"]


def test_unknown_path_is_a_problem(client: Flask) -> None:
    response = client.get("/nowhere")  # type: ignore[attr-defined]
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.get_json()["instance"] == "/nowhere"


def test_unexpected_errors_never_reach_the_client(
    engine: object, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app()

    @app.get("/explode")
    @public
    def explode() -> str:
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/explode", headers={"X-Request-ID": "explode-1"})
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    text = response.get_data(as_text=True)
    assert "secret" not in text
    assert "Traceback" not in text
    assert response.get_json()["detail"] == "An unexpected error occurred."
    # The server-side log has the error's request id, type and frames for the operator, not
    # its message (messages may quote personal data: tests/security/test_logs_personal_data.py).
    log = capsys.readouterr().err
    assert "secret internal detail" not in log
    (line,) = [json.loads(x) for x in log.splitlines() if '"unhandled error"' in x]
    assert line["request_id"] == "explode-1"
    assert line["error_type"] == "RuntimeError"
    assert any(frame.endswith("in explode") for frame in line["where"])


def test_logs_are_json_lines_with_the_tenant_code(
    engine: object,
    tenant_a: MunicipalityCode,
    capsys: pytest.CaptureFixture[str],
    tokens: TokenFactory,
) -> None:
    app = create_app(replace(Settings.from_env(), log_level="INFO"), jwks=tokens.jwks)
    app.test_client().get(
        f"/api/v1/municipalities/{tenant_a}?q=Παπαδόπουλος",
        headers=tokens.headers(Role.STAFF, municipality=tenant_a.value),
    )
    app.test_client().get("/api/v1/reference/municipalities/0101")
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    requests = [line for line in lines if line.get("message") == "request"]
    tenant_line = next(
        line for line in requests if line["path"] == f"/api/v1/municipalities/{tenant_a}"
    )
    assert tenant_line["tenant"] == "4501"
    assert tenant_line["status"] == 200
    assert tenant_line["duration_ms"] >= 0
    assert tenant_line["request_id"]
    shared_line = next(
        line for line in requests if line["path"] == "/api/v1/reference/municipalities/0101"
    )
    assert shared_line["tenant"] is None
    # Query strings may carry search terms or names: never logged.
    assert all("Παπαδόπουλος" not in json.dumps(line, ensure_ascii=False) for line in lines)


def test_request_id_is_returned_and_propagated(client: Flask) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc123"})  # type: ignore[attr-defined]
    assert response.headers["X-Request-ID"] == "abc123"


# --- configuration ------------------------------------------------------------------------------


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "KENTRA_ENV": "production",
            "KENTRA_DATABASE_URL": "postgresql://u:p@db:5432/k",
            "KENTRA_BROKER_URL": "amqp://guest:guest@mq:5672//",
            "KENTRA_MAX_CONTENT_LENGTH": "2048",
            "KENTRA_LOG_LEVEL": "debug",
        }
    )
    assert settings.env == "production"
    assert settings.broker_url == "amqp://guest:guest@mq:5672//"
    assert settings.max_content_length == 2048
    assert settings.log_level == "DEBUG"
    assert not settings.uses_embedded_database
    assert Settings.from_env({}).uses_embedded_database


@pytest.mark.parametrize(
    "environ",
    [
        {"KENTRA_ENV": "staging"},
        {"KENTRA_MAX_CONTENT_LENGTH": "lots"},
        {"KENTRA_DB_PREPARE_THRESHOLD": "-1"},
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="KENTRA_"):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("raw", "threshold"), [(None, 5), ("", 5), ("0", 0), ("12", 12), ("off", None), ("None", None)]
)
def test_the_prepare_threshold_reaches_every_connection(
    settings: Settings, raw: str | None, threshold: int | None
) -> None:
    environ = {} if raw is None else {"KENTRA_DB_PREPARE_THRESHOLD": raw}
    assert Settings.from_env(environ).db_prepare_threshold == threshold
    engine = make_engine(database_url(settings), pool_size=1, prepare_threshold=threshold)
    try:
        assert prepare_threshold_of(engine) == threshold
    finally:
        engine.dispose()
    # The worker's result backend (db+…) and, on the database broker, kombu's engine too.
    configured = replace(
        settings, database_url="postgresql://u@db.invalid/k", db_prepare_threshold=threshold
    )
    for broker, expected in (("redis://r.invalid/0", False), (None, threshold != 5)):
        conf = create_celery(replace(configured, broker_url=broker)).conf
        assert conf.database_engine_options["connect_args"]["prepare_threshold"] == threshold
        assert conf.database_engine_options["hide_parameters"] is True
        assert ("connect_args" in conf.broker_transport_options) is expected


def test_database_urls_are_normalised_to_psycopg() -> None:
    assert sqlalchemy_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert sqlalchemy_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ConfigError, match="only PostgreSQL"):
        sqlalchemy_url("sqlite:///x.db")


def test_answers_refused_before_the_view_still_carry_a_request_id(
    engine: object, capsys: pytest.CaptureFixture[str], tokens: TokenFactory
) -> None:
    settings = replace(Settings.from_env(), max_content_length=16, log_level="INFO")
    app = create_app(settings, jwks=tokens.jwks)
    too_big = app.test_client().post("/api/v1/reference/municipalities", data=b"x" * 64)
    unknown = app.test_client().get(
        "/api/v1/municipalities/0999", headers=tokens.headers(Role.MINISTRY_OFFICER)
    )
    assert too_big.status_code == 413
    assert unknown.status_code == 404
    assert too_big.headers["X-Request-ID"]
    assert unknown.headers["X-Request-ID"]
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    logged = {line["path"]: line for line in lines if line.get("message") == "request"}
    assert logged["/api/v1/municipalities/0999"]["request_id"] == unknown.headers["X-Request-ID"]
    assert logged["/api/v1/municipalities/0999"]["duration_ms"] is not None
