"""§3: no personal data in logs.

The probe found a person's name and e-mail in the log: the tracebacks of database errors carry
the statement's bound parameters, and the database's own message quotes the value that failed.
Here recognisable personal values go through every way a request or a task can fail (a failed
statement, a failed commit, an exception quoting them, a refused connection, a failing Celery
task, and the signup with a NUL byte of the probe), in the query string too, in both log
formats; none of them may appear in what the platform writes to its log. What the operator
needs is there instead: the request id, the exception's type and where it was raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy import Engine, create_engine, delete, text

from kentra.auth.flask import public
from kentra.auth.web import csrf
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import Settings
from kentra.platform.core.database import request_session
from kentra.platform.onboarding.models import OnboardingRequest
from kentra.tasks.celery_app import celery
from tests.tokens import TokenFactory

NAME = "Ξανθίππη Ζωγράφου"
EMAIL = "xanthippi.zografou@example.gr"
PHONE = "+306944123987"
# What must never be in the log, also in part (a surname, an e-mail's local part).
PERSONAL = (NAME, "Ζωγράφου", EMAIL, "xanthippi.zografou", "Zografou", PHONE, "6944123987")
QUERY = {"q": NAME, "email": EMAIL}


@celery.task(name="tests.security.fail_with_personal_data")
def fail_with_personal_data(name: str, email: str) -> None:
    raise ValueError(f"could not reach {name} at {email}")


def _failing_routes(app: Flask) -> None:
    """Views that fail the ways a real one can, with what the request sent."""

    @app.post("/test/statement")
    @public
    def statement() -> str:
        # The database refuses the value and quotes it: invalid input syntax for type integer.
        request_session().execute(text("SELECT CAST(:name AS integer)"), request.get_json())
        return "unreachable"

    @app.post("/test/commit")
    @public
    def commit() -> str:
        # A deferred unique constraint fails at the request's commit (after the view), with
        # DETAIL: Key (email)=(…) already exists.
        session = request_session()
        session.execute(
            text(
                "CREATE TEMP TABLE contacts (email text UNIQUE DEFERRABLE INITIALLY DEFERRED)"
                " ON COMMIT DROP"
            )
        )
        for _ in range(2):
            session.execute(text("INSERT INTO contacts VALUES (:email)"), request.get_json())
        return "saved"

    @app.post("/test/exception")
    @public
    def exception() -> str:
        body = request.get_json()
        error = LookupError(f"no account for {body['name']} <{body['email']}>")
        error.add_note(f"phone {body['phone']}")
        raise error

    @app.post("/test/unavailable")
    @public
    def unavailable() -> str:
        # A connection refused by a server whose address is the person's (the worst case of a
        # message that quotes its input).
        socket_dir = f"/nonexistent/{request.get_json()['email']}"
        with create_engine(f"postgresql+psycopg://nobody@/x?host={socket_dir}").connect():
            pass
        return "unreachable"

    # JSON endpoints like the API's: no cookie to ride, so no CSRF token (as exempt_from_csrf).
    for view in (statement, commit, exception, unavailable):
        csrf.exempt(view)


@pytest.fixture(params=["json", "text"])
def log_app(
    request: pytest.FixtureRequest, engine: Engine, tokens: TokenFactory
) -> Iterator[Flask]:
    settings = replace(Settings.from_env(), log_level="INFO", log_json=request.param == "json")
    app = create_app(settings, jwks=tokens.jwks)
    _failing_routes(app)
    yield app
    with engine.begin() as conn:  # should the signup below ever be accepted
        conn.execute(delete(OnboardingRequest).where(OnboardingRequest.contact_email == EMAIL))


def _readable(output: str) -> str:
    """The log as a person reads it: JSON lines decoded (the formatter escapes Greek)."""
    lines = []
    for line in output.splitlines():
        try:
            lines.append(json.dumps(json.loads(line), ensure_ascii=False))
        except ValueError:
            lines.append(line)
    return "\n".join(lines)


def _signup_with_a_nul_byte() -> dict[str, Any]:
    return {
        "municipality_code": "6101",
        "body_type": "municipality",
        "body_legal_name": "Δήμος Κατερίνης",
        "body_vat": "090000045",
        "contact_name": NAME + "\x00",
        "contact_email": EMAIL,
        "contact_phone": PHONE,
        "has_social_service": True,
    }


def test_personal_values_on_every_failing_path_stay_out_of_the_log(
    log_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = log_app.test_client()
    person = {"name": NAME, "email": EMAIL, "phone": PHONE}
    capsys.readouterr()
    answers = {}
    for path in ("/test/statement", "/test/commit", "/test/exception", "/test/unavailable"):
        for accept in ("application/json", "text/html"):
            answers[path, accept] = client.post(
                path,
                json=person,
                query_string=QUERY,
                headers={"Accept": accept, "X-Request-ID": f"{path[6:]}-{accept[:4]}"},
            )
    # The probe's own finding: a NUL byte in the public signup (whatever it answers today).
    client.post("/api/v1/onboarding/requests", json=_signup_with_a_nul_byte(), query_string=QUERY)
    client.get("/api/v1/reference/municipalities", query_string={"q": NAME + "\x00"})
    client.get("/nowhere", query_string=QUERY)
    fail_with_personal_data.apply(args=(NAME, EMAIL))
    log = _readable(capsys.readouterr().err)

    found = [value for value in PERSONAL if value in log]
    assert found == [], f"personal data in the log: {found}\n{log}"

    statuses = {key: answer.status_code for key, answer in answers.items()}
    assert statuses == {
        **{("/test/statement", a): 500 for a in ("application/json", "text/html")},
        **{("/test/commit", a): 500 for a in ("application/json", "text/html")},
        **{("/test/exception", a): 500 for a in ("application/json", "text/html")},
        **{("/test/unavailable", a): 503 for a in ("application/json", "text/html")},
    }
    # What the operator needs is logged: the request id, the type, the SQLSTATE, the frames.
    assert "statement-appl" in log
    assert "sqlalchemy.exc.DataError" in log
    assert "sqlalchemy.exc.IntegrityError" in log
    assert "LookupError" in log
    assert "tests/security/test_logs_personal_data.py" in log  # where it happened
    assert "fail_with_personal_data" in log  # the task's failure
    assert "ValueError" in log


def test_an_unhandled_error_is_one_line_with_request_id_type_and_frames(
    engine: Engine, tokens: TokenFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(replace(Settings.from_env(), log_level="WARNING"), jwks=tokens.jwks)
    _failing_routes(app)
    capsys.readouterr()
    response = app.test_client().post(
        "/test/statement", json={"name": NAME}, headers={"X-Request-ID": "probe-1"}
    )
    assert response.status_code == 500
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line["message"] == "unhandled error"
    assert line["level"] == "ERROR"
    assert line["request_id"] == "probe-1"
    assert line["path"] == "/test/statement"
    assert line["error_type"] == "sqlalchemy.exc.DataError"
    assert line["error_causes"] == ["psycopg.errors.InvalidTextRepresentation"]
    assert line["sqlstate"] == "22P02"
    assert any("in statement" in frame for frame in line["where"])
    assert "exc_info" not in line
