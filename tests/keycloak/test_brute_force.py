"""Brute-force detection of the imported realm, in Keycloak itself: the account locks after the
configured failures, and a locked account's right password is refused like a wrong one (the
embedded issuer does the same from the same settings, auth/issuer/throttle.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from keycloak import KeycloakAdmin

from kentra.auth import keycloak_realm
from kentra.auth.claims import REALM
from kentra.auth.keycloak_admin import KeycloakIdentityAdmin
from kentra.auth.roles import Role
from tests.keycloak.conftest import Scratch, TokenEndpoint, unit

PASSWORD = "kc-test-password-1"
WRONG = "kc-test-wrong-password"
EXPORT = keycloak_realm.load_realm()
# Failures further apart than quickLoginCheckMilliSeconds count towards failureFactor only.
SLOW = EXPORT["quickLoginCheckMilliSeconds"] / 1000 + 0.3


def brute_force_status(kc: KeycloakAdmin, user_id: str) -> dict[str, Any]:
    status: dict[str, Any] = kc.connection.raw_get(
        f"admin/realms/{REALM}/attack-detection/brute-force/users/{user_id}"
    ).json()
    return status


def settled_status(
    kc: KeycloakAdmin, user_id: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The user's brute-force status once ``until`` holds (at most 10 s): Keycloak records a
    failed login on a background queue, so a status read right after the answer may lag."""
    deadline = time.monotonic() + 10
    status = brute_force_status(kc, user_id)
    while not until(status) and time.monotonic() < deadline:
        time.sleep(0.1)
        status = brute_force_status(kc, user_id)
    return status


def user(scratch: Scratch, identity: KeycloakIdentityAdmin, stem: str) -> tuple[str, str]:
    code = scratch.code()
    identity.ensure_organization(code, "Δήμος Δοκιμής")
    spec = scratch.spec(stem, Role.STAFF, unit=unit(code), password=PASSWORD)
    return spec.username, identity.ensure_user(spec)


def test_the_configured_failures_in_a_row_lock_the_account(
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    token_endpoint: TokenEndpoint,
) -> None:
    username, user_id = user(scratch, identity, "guessed")
    factor = EXPORT["failureFactor"]
    for failure in range(1, factor):
        assert token_endpoint.password(username, WRONG).json()["error"] == "invalid_grant"
        status = settled_status(kc, user_id, lambda s, n=failure: s["numFailures"] >= n)
        assert (status["numFailures"], status["disabled"]) == (failure, False)
        time.sleep(SLOW)

    assert token_endpoint.password(username, WRONG).json()["error"] == "invalid_grant"
    status = settled_status(kc, user_id, lambda s: bool(s["disabled"]))
    assert status["disabled"] is True
    assert status["numFailures"] == factor
    # Locked for waitIncrementSeconds × (failures ÷ failureFactor).
    locked_for = status["failedLoginNotBefore"] - status["lastFailure"] // 1000
    assert abs(locked_for - EXPORT["waitIncrementSeconds"]) <= 1
    refused = token_endpoint.password(username, PASSWORD)  # the right password, while locked
    assert refused.status_code in {400, 401}
    assert refused.json() == token_endpoint.password(username, WRONG).json()  # no tell
    assert brute_force_status(kc, user_id)["numFailures"] == factor  # not counted while locked

    kc.connection.raw_delete(f"admin/realms/{REALM}/attack-detection/brute-force/users/{user_id}")
    assert token_endpoint.password(username, PASSWORD).status_code == 200


def test_failures_in_quick_succession_lock_at_once(
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    token_endpoint: TokenEndpoint,
) -> None:
    quick = EXPORT["quickLoginCheckMilliSeconds"] / 1000
    # Two failures one after the other (Keycloak counts two sent at once as one). On a loaded
    # machine one password grant can take longer than quickLoginCheckMilliSeconds, and then
    # the pair does not test the quick path: a fresh account tries again, at most three times.
    for attempt in range(3):
        username, user_id = user(scratch, identity, f"hammered{attempt}")
        started = time.monotonic()
        first = token_endpoint.password(username, WRONG)
        second = token_endpoint.password(username, WRONG)
        if time.monotonic() - started < quick:
            break
    else:
        raise AssertionError(f"no two password grants answered within {quick} s in 3 tries")
    assert [first.json()["error"], second.json()["error"]] == ["invalid_grant"] * 2
    status = settled_status(kc, user_id, lambda s: bool(s["disabled"]))
    assert status["disabled"] is True, status
    locked_for = status["failedLoginNotBefore"] - status["lastFailure"] // 1000
    assert abs(locked_for - EXPORT["minimumQuickLoginWaitSeconds"]) <= 1
    assert token_endpoint.password(username, PASSWORD).json()["error"] == "invalid_grant"
