"""The authorization matrix: every route, every role, own and other municipality.

Expectations come from the documented tables (``ROLE_PERMISSIONS``, ``ROLE_REACH``; rendered
in docs/permissions.md), not from the code under test. A route without a declared requirement
or without sample values for its URL arguments fails here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.routing import Rule

from kentra.auth.flask import PUBLIC, SELF_AUTHENTICATING_BLUEPRINTS, requirement_of
from kentra.auth.permissions import ROLE_PERMISSIONS, Permission
from kentra.auth.roles import ROLE_REACH, Reach, Role
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests import authz_samples
from tests.onboarding_samples import add_rejected_request, remove_request
from tests.tokens import TokenFactory

# Own municipality 4501 (Attica, EL30), other 7101 (Crete, EL43).
OWN, OTHER = "4501", "7101"
REGIONS = {OWN: "EL30", OTHER: "EL43"}
# Who supervises each (domain.md §10, derived): neither session tenant has stated whether it
# has a Social Service, so neither's supervision is determined and a supervisor reaches only
# its own municipality here. tests/supervision/test_supervision.py drives supervised municipalities.
SUPERVISORS: dict[str, str | None] = {OWN: None, OTHER: None}
# Sample values for every URL argument of the API; a new argument needs an entry.
# request_id: the onboarding request of the onboarding_request fixture (already decided, so
# that allowed roles' POSTs to approve/reject change nothing: 409 or 422).
ONBOARDING_REQUEST_ID = 999_000_001
# Modules of tests/authz_samples add the samples of their own routes (see its docstring).
SAMPLES: dict[str, str] = {"code": "0101", "request_id": str(ONBOARDING_REQUEST_ID)}
# Public routes that talk to the issuer over HTTP; tests/web/test_web_login.py drives them against
# a live server. The matrix still checks that they are declared public.
OIDC_CLIENT_ROUTES = {"/auth/login", "/auth/callback"}


def self_authenticating(rule: Rule) -> bool:
    """The embedded issuer's endpoints check their own callers (client credentials, its own
    login); tests/auth/test_issuer.py covers them. Here they must only be declared public."""
    return rule.endpoint.split(".")[0] in SELF_AUTHENTICATING_BLUEPRINTS


UNITS = {Role.CENTRE_HEAD: ["/m-4501/kk-athinon"], Role.STAFF: ["/m-4501/kk-athinon/parartima-1"]}


def routes(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


def token_kwargs(role: Role) -> dict[str, Any]:
    """A principal of ``role`` whose own municipality is OWN (and region that of OWN)."""
    reach = ROLE_REACH[role]
    if reach in (Reach.ORGANIZATION, Reach.SUPERVISION):
        return {"municipality": OWN, "groups": UNITS.get(role)}
    if reach is Reach.REGION:
        return {"region": REGIONS[OWN]}
    return {}


def expected(role: Role, permission: Permission, target: str) -> int:
    """200, 403 or 404 from the documented tables alone."""
    reach = ROLE_REACH[role]
    reaches = (
        reach is Reach.NATIONAL
        or (reach is Reach.REGION and REGIONS[target] == REGIONS[OWN])
        or (reach is Reach.ORGANIZATION and target == OWN)
        or (reach is Reach.SUPERVISION and OWN in (target, SUPERVISORS[target]))
    )
    if not reaches:
        return 404
    if permission in ROLE_PERMISSIONS[role]:
        return 200
    # People's records do not exist for a role that may not read them.
    return 404 if permission.personal_data else 403


# Units of the matrix: the annex the centre head's and staff's groups name, another centre of
# the same municipality, and a centre of the other municipality.
UNIT_KEYS = {
    "own centre": (OWN, "kk-athinon", None),
    "own annex": (OWN, "kk-athinon", "parartima-1"),
    "other centre": (OWN, "kk-kypselis", None),
    "other tenant's centre": (OTHER, "kk-irakleiou", None),
}
# Which of those each unit role reaches, written down from the rule: the centre head's group is
# /m-4501/kk-athinon (the centre covers its annexes and mobile units); the staff member's is
# /m-4501/kk-athinon/parartima-1 (their own unit only).
UNIT_REACH = {Role.CENTRE_HEAD: {"own centre", "own annex"}, Role.STAFF: {"own annex"}}


@pytest.fixture(scope="module")
def unit_ids(engine: Engine) -> dict[str, int]:
    ids = {}
    for key, (tenant, centre, unit) in UNIT_KEYS.items():
        with tenant_session(engine, parse_municipality_code(tenant)) as session:
            kind = UnitKind.ANNEX if unit else UnitKind.CENTRE
            ids[key] = ensure_unit(session, centre=centre, unit=unit, kind=kind, name=key).id
    return ids


@pytest.fixture(scope="module")
def onboarding_request(engine: Engine) -> Iterator[int]:
    """A rejected onboarding request for the sample ``<request_id>``."""
    add_rejected_request(engine, ONBOARDING_REQUEST_ID, "1301", "matrix")
    yield ONBOARDING_REQUEST_ID
    remove_request(engine, ONBOARDING_REQUEST_ID)


def _sample_modules() -> list[Any]:
    return [
        importlib.import_module(module.name)
        for module in pkgutil.iter_modules(authz_samples.__path__, "tests.authz_samples.")
    ]


@pytest.fixture(scope="module")
def samples(engine: Engine, unit_ids: dict[str, int], onboarding_request: int) -> Iterator[None]:
    """Every module's sample objects, created in both municipalities; removed afterwards."""
    modules = _sample_modules()
    added: dict[str, str] = {}
    for module in modules:
        added.update(module.prepare(engine, unit_ids))
    SAMPLES.update(added)
    yield
    for key in added:
        SAMPLES.pop(key, None)
    for module in reversed(modules):
        module.cleanup(engine)


def unit_scoped(requirement: object) -> bool:
    """Routes with ``<unit_id>`` and a personal-data permission check unit scope; the others
    (structure, roster) treat the unit as an object of the municipality."""
    return isinstance(requirement, Permission) and requirement.personal_data


def url_for_rule(rule: Rule, tenant: str | None = None, unit_id: int | None = None) -> str:
    values: dict[str, Any] = {}
    for argument in rule.arguments:
        if argument == "municipality_code":
            assert tenant is not None
            values[argument] = tenant
        elif argument == "unit_id":
            assert unit_id is not None
            values[argument] = unit_id
        else:
            assert argument in SAMPLES, f"{rule.rule}: add a sample value for <{argument}>"
            values[argument] = SAMPLES[argument]
    return rule.rule if not values else rule.build(values)[1]  # type: ignore[index]


def test_every_route_declares_its_requirement(app: Flask) -> None:
    undeclared = [r.rule for r in routes(app) if requirement_of(r.endpoint, app) is None]
    assert undeclared == [], "declare @public or @requires(...) on these routes"


def test_every_route_has_sample_values(app: Flask, samples: None) -> None:
    known = {"municipality_code", "unit_id", *SAMPLES}
    missing = sorted({a for r in routes(app) for a in r.arguments if a not in known})
    assert missing == []


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def allowed_write(method: str, status: int | None) -> int | None:
    """A POST (or other non-GET) without a body from an allowed role is not expected to
    succeed: it may be refused on its input (422) or on the object's state (409). What the
    matrix checks is authorization, so "allowed" becomes "anything but 401/403/404" (None);
    refusals (401/403/404) stay exact."""
    return None if status == 200 and method != "GET" else status


def targets_of(rule: Rule, requirement: object) -> list[tuple[str | None, str | None]]:
    """(municipality, unit key) pairs to drive the rule with."""
    if "unit_id" in rule.arguments and unit_scoped(requirement):
        return [(UNIT_KEYS[key][0], key) for key in UNIT_KEYS]
    if "unit_id" in rule.arguments:
        return [(OWN, "own centre"), (OTHER, "other tenant's centre")]
    if "municipality_code" in rule.arguments:
        return [(OWN, None), (OTHER, None)]
    return [(None, None)]


def cases(app: Flask, unit_ids: dict[str, int]) -> list[tuple[str, str, Role | None, int | None]]:
    """(method, url, role, documented status); None means "anything but 401/403/404"."""
    found: list[tuple[str, str, Role | None, int | None]] = []
    for rule in routes(app):
        if rule.rule in OIDC_CLIENT_ROUTES or self_authenticating(rule):
            continue
        requirement = requirement_of(rule.endpoint, app)
        for method in methods(rule):
            for tenant, unit_key in targets_of(rule, requirement):
                url = url_for_rule(rule, tenant, unit_ids[unit_key] if unit_key else None)
                # Anonymous: the API challenges (401); a web page sends the visitor to the login.
                anonymous = 401 if url.startswith("/api/") else 302
                found.append((method, url, None, None if requirement == PUBLIC else anonymous))
                for role in Role:
                    status: int | None
                    if requirement == PUBLIC:
                        status = None
                    elif tenant is not None:
                        assert isinstance(requirement, Permission)
                        status = expected(role, requirement, tenant)
                        if status == 200 and unit_key is not None and unit_scoped(requirement):
                            status = 200 if unit_key in UNIT_REACH.get(role, set()) else 404
                    else:
                        status = 200 if requirement in ROLE_PERMISSIONS[role] else 403
                    found.append((method, url, role, allowed_write(method, status)))
    return found


def test_authorization_matrix(
    app: Flask,
    client: FlaskClient,
    tokens: TokenFactory,
    tenant_a: MunicipalityCode,
    tenant_b: MunicipalityCode,
    unit_ids: dict[str, int],
    samples: None,
) -> None:
    assert (tenant_a.value, tenant_b.value) == (OWN, OTHER)
    failures = []
    matrix = cases(app, unit_ids)
    for method, url, role, status in matrix:
        headers = tokens.headers(role, **token_kwargs(role)) if role else {}
        response = client.open(url, method=method, headers=headers)
        response.close()  # file responses (the stylesheet) hold an open file otherwise
        if status is None:
            if response.status_code in (401, 403, 404):
                failures.append(
                    f"{role or 'anonymous'} {method} {url}: {response.status_code}, documented allowed"
                )
            continue
        if response.status_code != status:
            failures.append(
                f"{role or 'anonymous'} {method} {url}: {response.status_code}, documented {status}"
            )
        elif status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        elif status == 302:
            assert response.headers["Location"] == f"/auth/login?next={quote(url, safe='')}"
        elif status in (403, 404):
            assert response.mimetype == "application/problem+json"
    assert failures == []
    driven = [
        r for r in routes(app) if r.rule not in OIDC_CLIENT_ROUTES and not self_authenticating(r)
    ]
    assert len(matrix) >= len(driven) * (len(Role) + 1)


def test_login_and_issuer_routes_are_declared_public(app: Flask) -> None:
    skipped = [r for r in routes(app) if r.rule in OIDC_CLIENT_ROUTES or self_authenticating(r)]
    assert len(skipped) >= 8  # login, callback and the issuer's endpoints
    assert all(requirement_of(r.endpoint, app) == PUBLIC for r in skipped)


@pytest.mark.parametrize("role", list(Role))
def test_other_tenant_is_a_404_for_every_role_without_reach(
    client: FlaskClient, tokens: TokenFactory, role: Role
) -> None:
    # The same 404 body as a municipality that is not on the platform at all.
    response = client.get(
        f"/api/v1/municipalities/{OTHER}", headers=tokens.headers(role, **token_kwargs(role))
    )
    if ROLE_REACH[role] is Reach.NATIONAL:
        assert response.status_code == 200
    else:
        assert response.status_code == 404
        assert (
            response.get_json()["detail"]
            == "There is no municipality with this code on the platform."
        )


def test_a_role_without_the_permission_in_its_own_tenant_is_a_403(
    client: FlaskClient, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.STAFF, frozenset())
    response = client.get(
        f"/api/v1/municipalities/{OWN}", headers=tokens.headers(Role.STAFF, municipality=OWN)
    )
    assert response.status_code == 403


def test_a_token_without_roles_reaches_nothing(client: FlaskClient, tokens: TokenFactory) -> None:
    response = client.get(
        f"/api/v1/municipalities/{OWN}", headers=tokens.headers(None, municipality=OWN)
    )
    assert response.status_code == 404


def test_an_undeclared_endpoint_is_closed(app: Flask, tokens: TokenFactory) -> None:
    from kentra.platform.app.factory import create_app

    fresh = create_app(jwks=tokens.jwks)

    @fresh.get("/undeclared")
    def undeclared() -> str:
        return "should never be seen"

    response = fresh.test_client().get(
        "/undeclared", headers=tokens.headers(Role.PLATFORM_OPERATOR)
    )
    assert response.status_code == 403
    assert "declares no permission" in response.get_json()["detail"]


@pytest.mark.parametrize("role", list(Role))
def test_the_tenant_is_placed_only_for_roles_that_reach_by_placement(
    client: FlaskClient, tokens: TokenFactory, role: Role, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tenant routing reads the tenant's region and supervising municipality (the four-table
    lookup) only for a role that reaches municipalities by where they are; for the others the
    tenant's status decides (ADR 0032), and the answers are the same as with the full lookup
    (the matrix and the 404 tests above)."""
    lookups: list[str] = []
    execute = psycopg.Cursor.execute

    def record(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if "shared.tenants" in str(query):
            lookups.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", record)
    response = client.get(
        f"/api/v1/municipalities/{OWN}", headers=tokens.headers(role, **token_kwargs(role))
    )
    monkeypatch.undo()
    assert response.status_code in (200, 403, 404)
    assert len(lookups) == 1, lookups
    placed = ROLE_REACH[role] in (Reach.REGION, Reach.SUPERVISION)
    assert ("shared.regional_units" in lookups[0]) is placed
