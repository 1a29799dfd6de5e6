"""The API document against the server (issue 12 item 8, ADR 0037): schemathesis generates
requests from ``/api/v1/openapi.json`` for every operation, sends them to the app in-process
with a token of each role, and checks every answer against the document: no server error, a
documented status, the documented content type, headers and body.

The run writes what valid requests write (a centre, a staff member, a policy version), so it
has a database of its own, made for it and dropped afterwards; the session's tenants and
shared tables are never touched. Bounded and repeatable: a few examples per operation and
role, derandomized (the same requests every run), no shrinking.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from psycopg import sql
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import URL

from kentra.auth.roles import ROLE_REACH, Reach, Role
from kentra.platform.core.config import Settings
from kentra.platform.core.database import get_engine, recreate_database, sibling_database_url
from kentra.tenants.migrate import upgrade_all
from kentra.tenants.provisioning import create_tenant
from tests.conftest import TEST_DATABASE
from tests.tokens import TokenFactory

# The tenant every tenant operation is sent to, and the principals' own municipality.
OWN = "4501"
REGION = "EL30"
UNITS = {Role.CENTRE_HEAD: ["/m-4501/kk-athinon"], Role.STAFF: ["/m-4501/kk-athinon/parartima-1"]}
EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def token_kwargs(role: Role) -> dict[str, Any]:
    reach = ROLE_REACH[role]
    if reach in (Reach.ORGANIZATION, Reach.SUPERVISION):
        return {"municipality": OWN, "groups": UNITS.get(role)}
    if reach is Reach.REGION:
        return {"region": REGION}
    return {}


def _drop_database(url: URL) -> None:
    maintenance = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(maintenance.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database))
        )


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings, tokens: TokenFactory) -> Iterator[Flask]:
    """The app on a database of its own, with the tenant the requests go to."""
    from kentra.platform.app.factory import create_app

    url = sibling_database_url(settings, f"{TEST_DATABASE}_schemathesis")
    recreate_database(url)
    own = dataclasses.replace(settings, database_url=url.render_as_string(hide_password=False))
    engine = get_engine(own)
    try:
        assert not upgrade_all(engine).failed
        create_tenant(engine, OWN, actor="test-setup")
        yield create_app(own, jwks=tokens.jwks)
    finally:
        engine.dispose()
        _drop_database(url)


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)


# werkzeug's form parser leaves the spooled file of a multipart body it could not finish
# parsing (a generated upload) to the garbage collector, which closes it with a warning; it is
# collected before the test ends, so the warning cannot land on another test.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function SpooledTemporaryFile.__del__"
    ":pytest.PytestUnraisableExceptionWarning"
)
@pytest.mark.parametrize("role", [*Role, None], ids=lambda r: str(r or "anonymous"))
def test_every_answer_is_as_documented(
    api_schema: Any, tokens: TokenFactory, role: Role | None
) -> None:
    """Every operation, with this role's token (none: anonymous), a few generated requests
    each: each answer is documented, no server error."""
    headers = {"Accept-Language": "en"}
    if role is not None:
        headers |= tokens.headers(role, **token_kwargs(role))
    failures: list[str] = []
    answered: list[int] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        fixed = {"municipality_code": OWN} if "{municipality_code}" in operation.path else None

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(path_parameters=fixed))
        def run(case: Any) -> None:
            answered.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        try:
            run()
        except Exception as error:
            failures.append(f"{operation.label}: {error}")
    gc.collect()
    assert not failures, "\n\n".join(failures)
    # Not a run refused at the door: every role, and the anonymous caller on the public
    # operations, gets answers that did something.
    assert any(200 <= status < 300 for status in answered), sorted(set(answered))
