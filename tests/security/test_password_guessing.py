"""Issue 10, §4: the embedded issuer resisted no password guessing. 600 wrong passwords on the
token endpoint and the login form were never refused, each cost a password hash, and failed
logins were logged without naming who or from where.

The attacker's requests go to the platform app's token endpoint (password grant) and login
form. Keycloak's brute-force detection with the realm export's settings locks a username
(the answer stays the one of a wrong password, the right password included); a limit per
client address stops one client trying many usernames (429 with Retry-After); both refuse
before any password is hashed. Waits pass by moving the app's rate-limit clock, not by
sleeping. Each test uses client addresses and usernames of its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, insert, select
from werkzeug.test import TestResponse

from kentra.auth.claims import CLI_CLIENT, WEB_CLIENT
from kentra.auth.issuer import accounts, pages, throttle
from kentra.auth.issuer.accounts import hash_password
from kentra.auth.issuer.models import IdentityLoginFailure, IdentityUser
from kentra.auth.issuer.server import embedded_issuer
from kentra.auth.issuer.throttle import BruteForcePolicy
from kentra.auth.keycloak_realm import REALM_FILE_ENV, load_realm
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import EMBEDDED_ISSUER_PATH, Settings
from kentra.platform.ratelimits.limits import Clock, keyed_hash
from tests.tokens import TokenFactory

OIDC = EMBEDDED_ISSUER_PATH + "/protocol/openid-connect"
TOKEN, AUTH = OIDC + "/token", OIDC + "/auth"
PASSWORD = "the right password, long enough"
WRONG_ANSWER = {"error": "invalid_grant", "error_description": "Invalid user credentials"}
REALM = load_realm()
FAILURE_FACTOR = int(REALM["failureFactor"])  # 5 in the export
WAIT_INCREMENT = int(REALM["waitIncrementSeconds"])  # 60
QUICK_WAIT = int(REALM["minimumQuickLoginWaitSeconds"])  # 60
MAX_DELTA = int(REALM["maxDeltaTimeSeconds"])  # 12 hours
# Failures spaced by more than quickLoginCheckMilliSeconds, so only the count locks.
SPACING = int(REALM["quickLoginCheckMilliSeconds"]) / 1000 + 1


def new_address() -> str:
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


@pytest.fixture
def app(settings: Settings, engine: Engine, tokens: TokenFactory) -> Flask:
    """The platform app as deployed (default limits), with a clock of its own."""
    return create_app(settings, jwks=tokens.jwks)


def clock(app: Flask) -> Clock:
    return embedded_issuer(app).throttle.clock


@pytest.fixture
def make_user(engine: Engine) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        username = f"guess-{uuid.uuid4().hex[:10]}"
        with engine.begin() as conn:
            conn.execute(
                insert(IdentityUser).values(
                    id=uuid.uuid4(),
                    username=username,
                    password_hash=hash_password(PASSWORD),
                    enabled=True,
                    # What Keycloak's user profile requires before the password grant answers.
                    email=f"{username}@example.invalid",
                    first_name="Δοκιμή",
                    last_name="Χρήστης",
                )
            )
        made.append(username)
        return username

    yield make
    with engine.begin() as conn:
        conn.execute(delete(IdentityUser).where(IdentityUser.username.in_(made)))


@dataclasses.dataclass
class Attacker:
    """A client at one address, speaking to the token endpoint and the login form."""

    client: FlaskClient
    address: str
    base_url: str

    def token(self, username: str, password: str) -> TestResponse:
        form = {"grant_type": "password", "client_id": CLI_CLIENT}
        return self.client.post(
            TOKEN,
            data=form | {"username": username, "password": password},
            environ_base={"REMOTE_ADDR": self.address},
        )

    def form(self, username: str, password: str) -> TestResponse:
        params = {
            "response_type": "code",
            "client_id": WEB_CLIENT,
            "redirect_uri": self.base_url + "/auth/callback",
            "scope": "openid",
            "state": secrets.token_hex(4),
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
        environ = {"REMOTE_ADDR": self.address}
        page = self.client.get(AUTH, query_string=params, environ_base=environ)
        assert page.status_code == 200
        fields = {
            name: html.unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.get_data(as_text=True)
            )
        }
        data = fields | {"username": username, "password": password}
        return self.client.post(AUTH, data=data, environ_base=environ)


def attacker(app: Flask, address: str | None = None) -> Attacker:
    base_url = embedded_issuer(app).settings.base_url
    return Attacker(app.test_client(), address or new_address(), base_url)


def refused_like_a_wrong_password(response: TestResponse) -> bool:
    return response.status_code == 400 and response.get_json() == WRONG_ANSWER


def form_refused(response: TestResponse) -> bool:
    return response.status_code == 200 and str(
        pages.WRONG_CREDENTIALS._args[0]
    ) in response.get_data(as_text=True)


def fail(app: Flask, attempt: Callable[[], TestResponse], times: int) -> None:
    """``times`` wrong passwords, spaced so that only their count locks."""
    for _ in range(times):
        response = attempt()
        assert response.status_code in (200, 400), response.get_data(as_text=True)
        clock(app).advance(SPACING)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash checked from now on (the slow part of a login)."""
    checked: list[str] = []
    original = accounts.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return original(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    return checked


# --- Keycloak's lockout per username ----------------------------------------------------------


def test_wrong_passwords_on_the_token_endpoint_lock_the_username(
    app: Flask, make_user: Callable[[], str]
) -> None:
    user = make_user()
    client = attacker(app)
    fail(app, lambda: client.token(user, "guess"), FAILURE_FACTOR)

    # Locked: the right password gets exactly the answer of a wrong one.
    assert refused_like_a_wrong_password(client.token(user, PASSWORD))
    clock(app).advance(WAIT_INCREMENT - FAILURE_FACTOR * SPACING)  # not yet
    assert refused_like_a_wrong_password(client.token(user, PASSWORD))
    clock(app).advance(FAILURE_FACTOR * SPACING + 1)
    assert client.token(user, PASSWORD).status_code == 200

    # A success cleared the count: as many wrong passwords less one do not lock.
    fail(app, lambda: client.token(user, "guess"), FAILURE_FACTOR - 1)
    assert client.token(user, PASSWORD).status_code == 200
    # Failures more than maxDeltaTimeSeconds apart start the count again.
    fail(app, lambda: client.token(user, "guess"), FAILURE_FACTOR - 1)
    clock(app).advance(MAX_DELTA + 1)
    fail(app, lambda: client.token(user, "guess"), 1)
    assert client.token(user, PASSWORD).status_code == 200


def test_wrong_passwords_on_the_login_form_lock_the_username_everywhere(
    app: Flask, make_user: Callable[[], str]
) -> None:
    user = make_user()
    client = attacker(app)
    fail(app, lambda: client.form(user, "guess"), FAILURE_FACTOR)

    refused = client.form(user, PASSWORD)
    assert form_refused(refused)
    assert "Location" not in refused.headers
    # The lock is the username's, whichever door the password comes through.
    assert refused_like_a_wrong_password(client.token(user, PASSWORD))

    clock(app).advance(WAIT_INCREMENT)
    assert client.form(user, PASSWORD).status_code == 302


def test_the_lock_follows_the_username_not_the_address(
    app: Flask, make_user: Callable[[], str]
) -> None:
    user, colleague = make_user(), make_user()
    here, elsewhere = attacker(app), attacker(app)
    fail(app, lambda: here.token(user, "guess"), FAILURE_FACTOR)

    # Keycloak locks the user: from another address too.
    assert refused_like_a_wrong_password(elsewhere.token(user, PASSWORD))
    assert form_refused(elsewhere.form(user, PASSWORD))
    # Another user at the same address is not locked.
    assert here.token(colleague, PASSWORD).status_code == 200
    assert here.form(colleague, PASSWORD).status_code == 302


def test_after_a_lockout_every_failure_locks_again_for_longer(
    app: Flask, make_user: Callable[[], str]
) -> None:
    """Keycloak's MULTIPLE strategy: failures 6 to 9 each lock for one wait increment, the
    10th for two: the guesses slow down instead of starting a fresh allowance."""
    user = make_user()
    client = attacker(app)
    fail(app, lambda: client.token(user, "guess"), FAILURE_FACTOR)
    for _failure in range(FAILURE_FACTOR + 1, 2 * FAILURE_FACTOR + 1):
        clock(app).advance(WAIT_INCREMENT)  # the previous lock is over
        assert refused_like_a_wrong_password(client.token(user, "guess"))
        assert refused_like_a_wrong_password(client.token(user, PASSWORD))  # locked at once
    clock(app).advance(WAIT_INCREMENT + 1)
    assert refused_like_a_wrong_password(client.token(user, PASSWORD))
    clock(app).advance(WAIT_INCREMENT)
    assert client.token(user, PASSWORD).status_code == 200


def test_quick_successive_failures_lock_for_the_minimum_wait(
    app: Flask, make_user: Callable[[], str]
) -> None:
    user = make_user()
    client = attacker(app)
    # Two wrong passwords within quickLoginCheckMilliSeconds (the clock does not move).
    assert refused_like_a_wrong_password(client.token(user, "guess"))
    assert refused_like_a_wrong_password(client.token(user, "guess"))
    assert refused_like_a_wrong_password(client.token(user, PASSWORD))
    clock(app).advance(QUICK_WAIT + 1)
    assert client.token(user, PASSWORD).status_code == 200


def test_the_realm_exports_settings_are_the_issuers(
    settings: Settings,
    tokens: TokenFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_user: Callable[[], str],
) -> None:
    """Read from the export, not copied: another export, another lockout."""
    app = create_app(settings, jwks=tokens.jwks)
    assert embedded_issuer(app).throttle.policy == BruteForcePolicy.from_realm(REALM)
    policy = embedded_issuer(app).throttle.policy
    assert (policy.failure_factor, policy.wait_increment, policy.max_wait) == (
        REALM["failureFactor"],
        REALM["waitIncrementSeconds"],
        REALM["maxFailureWaitSeconds"],
    )

    stricter = tmp_path / "realm.json"
    stricter.write_text(json.dumps(REALM | {"failureFactor": 2, "waitIncrementSeconds": 300}))
    monkeypatch.setenv(REALM_FILE_ENV, str(stricter))
    strict_app = create_app(settings, jwks=tokens.jwks)
    user = make_user()
    client = attacker(strict_app)
    fail(strict_app, lambda: client.token(user, "guess"), 2)
    clock(strict_app).advance(WAIT_INCREMENT)  # the export's 60 s would be over; 300 s is not
    assert refused_like_a_wrong_password(client.token(user, PASSWORD))


def test_lock_seconds_follow_keycloaks_formula() -> None:
    policy = BruteForcePolicy.from_realm(REALM)
    assert policy.lock_seconds(FAILURE_FACTOR - 1, SPACING) == 0
    assert policy.lock_seconds(FAILURE_FACTOR, SPACING) == WAIT_INCREMENT
    assert policy.lock_seconds(3 * FAILURE_FACTOR, SPACING) == 3 * WAIT_INCREMENT
    assert policy.lock_seconds(10_000, SPACING) == REALM["maxFailureWaitSeconds"]
    assert policy.lock_seconds(2, 0.2) == QUICK_WAIT
    assert policy.lock_seconds(1, None) == 0


def test_a_realm_without_brute_force_detection_locks_no_one(
    settings: Settings,
    engine: Engine,
    tokens: TokenFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_user: Callable[[], str],
) -> None:
    unprotected = tmp_path / "realm.json"
    unprotected.write_text(json.dumps(REALM | {"bruteForceProtected": False}))
    monkeypatch.setenv(REALM_FILE_ENV, str(unprotected))
    app = create_app(settings, jwks=tokens.jwks)
    user = make_user()
    client = attacker(app)
    fail(app, lambda: client.token(user, "guess"), FAILURE_FACTOR + 1)
    assert client.token(user, PASSWORD).status_code == 200


def test_keycloaks_other_settings() -> None:
    linear = BruteForcePolicy.from_realm(REALM | {"bruteForceStrategy": "LINEAR"})
    assert linear.lock_seconds(FAILURE_FACTOR - 1, SPACING) == 0
    assert linear.lock_seconds(FAILURE_FACTOR, SPACING) == WAIT_INCREMENT
    assert linear.lock_seconds(FAILURE_FACTOR + 1, SPACING) == 2 * WAIT_INCREMENT
    with pytest.raises(ValueError, match="temporary lockout only"):
        BruteForcePolicy.from_realm(REALM | {"permanentLockout": True})


def test_lapsed_counts_are_swept(
    app: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    lapsed, locked = secrets.token_hex(32), secrets.token_hex(32)
    with engine.begin() as conn:
        conn.execute(
            insert(IdentityLoginFailure),
            [
                {
                    "username_hash": lapsed,
                    "failures": 3,
                    "last_failure_at": now - timedelta(seconds=MAX_DELTA + 60),
                    "locked_until": None,
                },
                {
                    "username_hash": locked,
                    "failures": 3,
                    "last_failure_at": now - timedelta(seconds=MAX_DELTA + 60),
                    "locked_until": now + timedelta(hours=1),
                },
            ],
        )
    monkeypatch.setattr(throttle, "SWEEP_EVERY", 1)
    assert refused_like_a_wrong_password(attacker(app).token("nobody", "guess"))
    with engine.begin() as conn:
        left = set(conn.scalars(select(IdentityLoginFailure.username_hash)))
        conn.execute(
            delete(IdentityLoginFailure).where(IdentityLoginFailure.username_hash == locked)
        )
    assert lapsed not in left
    assert locked in left


# --- refused before hashing --------------------------------------------------------------------


def test_a_locked_username_costs_no_password_hash(
    app: Flask, make_user: Callable[[], str], hashes: list[str]
) -> None:
    user, unknown = make_user(), f"nobody-{uuid.uuid4().hex}"
    client = attacker(app)
    for name in (user, unknown):
        fail(app, lambda name=name: client.token(name, "guess"), FAILURE_FACTOR)
    assert len(hashes) == 2 * FAILURE_FACTOR

    hashes.clear()
    for _ in range(10):
        # From anywhere; an unknown username is locked like a real one: the lock tells nothing.
        somewhere = attacker(app)
        for name in (user, unknown):
            assert refused_like_a_wrong_password(somewhere.token(name, PASSWORD))
            assert form_refused(somewhere.form(name, PASSWORD))
    assert hashes == []


def test_one_address_trying_many_usernames_is_limited_before_hashing(
    app: Flask, settings: Settings, make_user: Callable[[], str], hashes: list[str]
) -> None:
    limit = int(settings.login_failure_limit.split()[0])  # the first: "20 per minute"
    user = make_user()
    spraying = attacker(app)
    # One wrong password for each of many usernames: no username is ever locked.
    for n in range(limit):
        door = spraying.token if n % 2 else spraying.form
        assert door(f"nobody-{uuid.uuid4().hex}", "Password1!").status_code in (200, 400)
    assert len(hashes) == limit

    hashes.clear()
    refused = spraying.token(user, PASSWORD)
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "temporarily_unavailable"
    assert int(refused.headers["Retry-After"]) in range(1, 61)
    page = spraying.form(user, PASSWORD)
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) in range(1, 61)
    assert "Πάρα πολλές αποτυχημένες συνδέσεις" in page.get_data(as_text=True)
    assert hashes == []

    # The user, from another address, is not affected; the address is again after the wait.
    assert attacker(app).token(user, PASSWORD).status_code == 200
    clock(app).advance(61)
    assert spraying.token(user, PASSWORD).status_code == 200


# --- the log line ---------------------------------------------------------------------------


def test_failed_logins_are_logged_with_keyed_hashes_only(
    app: Flask, make_user: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user()
    client = attacker(app)
    caplog.set_level(logging.INFO, logger="kentra")
    assert refused_like_a_wrong_password(client.token(user.upper(), "guess"))
    clock(app).advance(SPACING)
    assert form_refused(client.form(user, "guess"))

    failed = [r for r in caplog.records if r.getMessage() == "issuer.login_failed"]
    assert len(failed) == 2
    secret = app.secret_key
    assert secret is not None
    for record in failed:
        fields: dict[str, Any] = record.__dict__
        assert fields["username_hmac"] == keyed_hash(secret, user)  # case-insensitive, keyed
        assert fields["address_hmac"] == keyed_hash(secret, client.address)
        assert fields["username_hmac"] != hashlib.sha256(user.encode()).hexdigest()
        assert fields["reason"] == "invalid_user_credentials"
    assert {r.__dict__["client_id"] for r in failed} == {CLI_CLIENT, WEB_CLIENT}
    everything = json.dumps([r.__dict__ for r in caplog.records], default=str) + caplog.text
    for personal in (user, user.upper(), client.address):
        assert personal not in everything


# --- the signup limit counts across workers ---------------------------------------------------


def test_the_signup_limit_counts_across_two_app_instances(
    settings: Settings, engine: Engine, tokens: TokenFactory
) -> None:
    """Two workers: two apps with nothing in memory in common, one database."""
    limited = dataclasses.replace(settings, public_submission_limit="2 per minute")
    workers = [create_app(limited, jwks=tokens.jwks).test_client() for _ in range(2)]
    address = {"REMOTE_ADDR": new_address()}
    body = {
        "municipality_code": "4501",  # on the platform: 409 once counted, nothing filed
        "body_type": "municipality",
        "body_legal_name": "Δήμος Αθηναίων",
        "body_vat": "090000045",
        "contact_name": "Ελένη Παππά",
        "contact_email": "rep@example.gr",
        "contact_phone": "210 0 123456",
        "has_social_service": True,
    }

    def submit(worker: FlaskClient) -> int:
        return worker.post(
            "/api/v1/onboarding/requests", json=body, environ_base=address
        ).status_code

    first, second = workers
    assert [submit(first), submit(second), submit(first), submit(second)] == [409, 409, 429, 429]
