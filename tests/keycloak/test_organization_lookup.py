"""With 332 organizations (one per Greek municipality) in Keycloak, finding one is a single
request answered with that one organization: ``KeycloakIdentityAdmin._organization_id`` asks for
``q=alias:<alias>``. Measured beside the full listing it replaced."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakPostError

from kentra.auth.keycloak_admin import KeycloakIdentityAdmin

MUNICIPALITIES = 332
CODES = [f"{9000 + n}" for n in range(MUNICIPALITIES)]  # 9000-9331: no real municipality's


@pytest.fixture(scope="module")
def many_organizations(kc: KeycloakAdmin) -> Iterator[list[str]]:
    created: list[str] = []
    started = time.perf_counter()
    try:
        for code in CODES:
            try:
                created.append(
                    kc.create_organization(
                        {"name": f"Δήμος Δοκιμής {code} ({code})", "alias": f"m-{code}"}
                    )
                )
            except KeycloakPostError as exc:
                if exc.response_code != 409:  # left by an interrupted run: reused
                    raise
        print(f"\n{len(created)} organizations created in {time.perf_counter() - started:.1f} s")
        yield CODES
    finally:
        for organization in kc.get_organizations({"q": "", "first": 0, "max": 1000}):
            if str(organization.get("alias", "")).removeprefix("m-") in CODES:
                kc.delete_organization(organization["id"])


def counting_gets(admin: KeycloakAdmin) -> Callable[[], list[dict[str, Any]]]:
    """Record the GET requests python-keycloak sends (path and query) from now on."""
    sent: list[dict[str, Any]] = []
    original = admin.connection.raw_get

    def raw_get(path: str, **params: Any) -> Any:
        sent.append({"path": path, **params})
        return original(path, **params)

    admin.connection.raw_get = raw_get  # type: ignore[method-assign]
    return lambda: sent


def test_finding_one_of_332_organizations_is_one_request(
    many_organizations: list[str],
    keycloak_url: str,
    provisioning_secret: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    identity = KeycloakIdentityAdmin(keycloak_url, provisioning_secret)
    identity.ensure_organization(many_organizations[0], "warm-up")  # token and connection
    sent = counting_gets(identity._admin)

    timings = []
    for code in (many_organizations[0], many_organizations[-1], many_organizations[166]):
        started = time.perf_counter()
        found = identity._organization_id(f"m-{code}")
        timings.append(time.perf_counter() - started)
        assert found is not None
    assert identity._organization_id("m-9999") is None
    assert len(sent()) == 4
    assert all(s["q"].startswith("alias:m-9") and s["max"] == 2 for s in sent())

    # The listing it replaced: every organization, 100 a page.
    admin = KeycloakIdentityAdmin(keycloak_url, provisioning_secret)._admin
    admin.get_organizations({"first": 0, "max": 1})  # token and connection
    listing = counting_gets(admin)
    started = time.perf_counter()
    everything = admin.get_organizations()
    listed_in = time.perf_counter() - started
    assert len(everything) >= MUNICIPALITIES
    with capsys.disabled():
        print(
            f"\norganization lookup among {len(everything)}: by alias 1 request, "
            f"{1000 * max(timings):.1f} ms at most (of {len(timings)}); "
            f"the full listing it replaced: {len(listing())} requests, {1000 * listed_in:.1f} ms"
        )
