"""Public submissions are rate-limited per client address (the onboarding signup, API and page
share one count); other addresses are not affected, and nothing is saved when refused. The
counts live in the database unless another storage is configured (the database storage is
checked here against the `limits` library's contract; counting across two app instances is
tests/security/test_password_guessing.py)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from flask import Flask
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from sqlalchemy import Engine, select

from kentra.platform.app.factory import create_app
from kentra.platform.core.config import DEFAULT_PUBLIC_SUBMISSION_LIMIT, Settings
from kentra.platform.onboarding.models import OnboardingRequest
from kentra.platform.ratelimits import storage as ratelimit_storage
from kentra.platform.ratelimits.limits import Clock, rate_limits
from kentra.platform.ratelimits.models import RateLimitHit
from kentra.platform.ratelimits.storage import DatabaseStorage
from tests.helpers import count_rows, csrf_token_of
from tests.tokens import TokenFactory

# 4501 is on the platform already: a well-formed request for it is refused (409) after the
# limit was counted, so the test files nothing.
TAKEN = "4501"


@pytest.fixture
def limited(settings: Settings, tokens: TokenFactory) -> Flask:
    return create_app(
        dataclasses.replace(settings, public_submission_limit="2 per minute"), jwks=tokens.jwks
    )


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "municipality_code": TAKEN,
        "body_type": "municipality",
        "body_legal_name": "Δήμος Αθηναίων",
        "body_vat": "090000045",
        "contact_name": "Ελένη Παππά",
        "contact_email": f"rep-{uuid.uuid4().hex[:8]}@example.gr",
        "contact_phone": "210 0 123456",
        "has_social_service": True,
        **overrides,
    }


def requests_for(engine: Engine, code: str) -> int:
    return count_rows(engine, OnboardingRequest, OnboardingRequest.municipality_code == code)


def test_the_default_limit_is_on() -> None:
    assert Settings().public_submission_limit == DEFAULT_PUBLIC_SUBMISSION_LIMIT
    assert Settings.from_env({}).public_submission_limit == DEFAULT_PUBLIC_SUBMISSION_LIMIT
    assert Settings.from_env({"KENTRA_PUBLIC_SUBMISSION_LIMIT": ""}).public_submission_limit == ""


def test_one_address_is_limited_on_the_api_and_the_page_alike(
    limited: Flask, engine: Engine
) -> None:
    client = limited.test_client()
    url = "/api/v1/onboarding/requests"
    assert [client.post(url, json=body()).status_code for _ in range(2)] == [409, 409]
    refused = client.post(url, json=body())
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert int(refused.headers["Retry-After"]) in range(1, 61)
    assert "Πάρα πολλές αιτήσεις" in refused.get_json()["detail"]

    # Another address is counted on its own.
    other = client.post(url, json=body(), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 409

    # The signup page shares the count: refused, with every typed value kept.
    token = csrf_token_of(client, "/onboarding")
    typed = {k: str(v).lower() if isinstance(v, bool) else v for k, v in body().items()}
    page = client.post("/onboarding", data={**typed, "csrf_token": token})
    assert page.status_code == 429
    assert page.headers["Retry-After"]
    text = page.get_data(as_text=True)
    assert "στάλθηκαν πολλές αιτήσεις σε λίγο χρόνο" in text
    assert f'value="{typed["contact_email"]}"' in text
    assert requests_for(engine, TAKEN) == 0


def test_invalid_input_is_not_counted(limited: Flask) -> None:
    client = limited.test_client()
    url = "/api/v1/onboarding/requests"
    address = {"REMOTE_ADDR": "192.0.2.44"}
    for _ in range(5):
        assert client.post(url, json=body(body_vat="123"), environ_base=address).status_code == 422
    assert client.post(url, json=body(), environ_base=address).status_code == 409


def test_behind_a_proxy_the_forwarded_address_is_counted(
    settings: Settings, tokens: TokenFactory
) -> None:
    app = create_app(
        dataclasses.replace(settings, public_submission_limit="1 per minute", proxy_hops=1),
        jwks=tokens.jwks,
    )
    client = app.test_client()
    url = "/api/v1/onboarding/requests"

    def from_(address: str) -> int:
        return client.post(url, json=body(), headers={"X-Forwarded-For": address}).status_code

    assert [from_("198.51.100.1"), from_("198.51.100.2"), from_("198.51.100.1")] == [
        409,
        409,
        429,
    ]


def test_limits_are_counted_in_the_database_unless_another_storage_is_set(
    settings: Settings, engine: Engine, tokens: TokenFactory
) -> None:
    assert Settings().rate_limit_storage is None
    assert Settings.from_env({}).rate_limit_storage is None
    assert Settings.from_env({"KENTRA_RATE_LIMIT_STORAGE": ""}).rate_limit_storage is None
    app = create_app(settings, jwks=tokens.jwks)
    assert isinstance(rate_limits(app, settings, engine).storage, DatabaseStorage)

    per_process = dataclasses.replace(settings, rate_limit_storage="memory://")
    app = create_app(per_process, jwks=tokens.jwks)
    assert isinstance(rate_limits(app, per_process, engine).storage, MemoryStorage)


def test_the_database_storage_keeps_the_limits_librarys_contract(engine: Engine) -> None:
    clock = Clock()
    storage = DatabaseStorage(engine, clock)
    assert storage.check()
    scope = uuid.uuid4().hex

    moving = MovingWindowRateLimiter(storage)
    three = parse("3 per 10 seconds")
    assert [moving.hit(three, scope) for _ in range(4)] == [True, True, True, False]
    assert not moving.test(three, scope)
    reset, remaining = moving.get_window_stats(three, scope)
    assert remaining == 0
    assert reset == pytest.approx(clock() + 10 - 0, abs=1)
    clock.advance(5)
    assert not moving.hit(three, scope)  # the window moves: the three hits still count
    clock.advance(5.5)
    assert moving.test(three, scope)
    assert moving.hit(three, scope)

    fixed = FixedWindowRateLimiter(storage)
    two = parse("2 per 10 seconds")
    other = uuid.uuid4().hex
    assert [fixed.hit(two, other) for _ in range(3)] == [True, True, False]
    key = two.key_for(other)
    assert storage.get(key) == 3
    assert storage.get_expiry(key) == pytest.approx(clock() + 10, abs=1)
    clock.advance(10.5)  # the fixed window ends
    assert storage.get(key) == 0
    assert fixed.hit(two, other)
    storage.clear(key)
    assert storage.get(key) == 0
    assert storage.reset() is not None
    assert moving.test(three, scope)


def test_rows_that_no_longer_count_are_swept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    storage = DatabaseStorage(engine, clock)
    monkeypatch.setattr(ratelimit_storage, "SWEEP_EVERY", 2)
    forgotten, active = uuid.uuid4().hex, uuid.uuid4().hex
    assert storage.acquire_entry(forgotten, 5, 10)  # a client that never comes back
    clock.advance(11)
    assert storage.acquire_entry(active, 5, 10)  # the second hit sweeps
    with engine.connect() as conn:
        keys = set(conn.scalars(select(RateLimitHit.key)))
    assert forgotten not in keys
    assert active in keys
