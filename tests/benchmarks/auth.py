"""B3 authentication cost: token validation with a warm JWKS cache, and the throughput of one
tenant endpoint with authentication against the same endpoint without it, in the same run.

Both apps run in this process through Flask's test client (no network), so the difference is
the server-side cost of validating the token and deciding the tenant and permission.
"""

from __future__ import annotations

import time
from dataclasses import replace

from kentra.auth.flask import declare_public_endpoint
from kentra.auth.roles import Role
from kentra.platform.core.app import create_app
from kentra.platform.core.config import Settings
from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.results import BenchOutcome, Figure, p50, p95
from tests.tokens import TokenFactory

TENANT = "4501"
URL = f"/api/v1/municipalities/{TENANT}"
VALIDATIONS = 2000
ROUNDS = 5
REQUESTS_PER_ROUND = 300
TARGET_COST = 0.15


def run(db: BenchDatabase, outcome: BenchOutcome) -> None:
    settings = replace(Settings.from_env(), database_url=db.url_string, log_level="WARNING")
    tokens = TokenFactory(issuer=settings.issuer)
    authenticated = create_app(settings, jwks=tokens.jwks)
    anonymous = create_app(settings, jwks=tokens.jwks)
    declare_public_endpoint(anonymous, "municipalities.get_profile")  # the same view, no auth

    token = tokens.token(Role.STAFF, municipality=TENANT)
    validator = authenticated.extensions["kentra_auth"]
    validator.validate(token)  # warm the JWKS cache
    timings = []
    for _ in range(VALIDATIONS):
        started = time.perf_counter()
        validator.validate(token)
        timings.append((time.perf_counter() - started) * 1_000_000)

    headers = {"Authorization": f"Bearer {token}"}
    with_auth, without_auth = authenticated.test_client(), anonymous.test_client()
    assert with_auth.get(URL, headers=headers).status_code == 200
    assert without_auth.get(URL).status_code == 200
    assert without_auth.get(URL, headers={}).status_code == 200
    rates_auth: list[float] = []
    rates_anon: list[float] = []
    for _ in range(ROUNDS):  # alternate, so machine noise falls on both
        started = time.perf_counter()
        for _ in range(REQUESTS_PER_ROUND):
            with_auth.get(URL, headers=headers)
        rates_auth.append(REQUESTS_PER_ROUND / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(REQUESTS_PER_ROUND):
            without_auth.get(URL)
        rates_anon.append(REQUESTS_PER_ROUND / (time.perf_counter() - started))
    auth_rate, anon_rate = p50(rates_auth), p50(rates_anon)
    cost = 1 - auth_rate / anon_rate

    outcome.notes.append(
        f"{VALIDATIONS} validations of one RS256 token with a warm cache; throughput: "
        f"{ROUNDS} alternating rounds of {REQUESTS_PER_ROUND} GET {URL} per app, medians."
    )
    outcome.add(
        Figure("b3.validate_p50_us", "token validation p50 (warm JWKS)", p50(timings), "µs")
    )
    outcome.add(
        Figure("b3.validate_p95_us", "token validation p95 (warm JWKS)", p95(timings), "µs")
    )
    outcome.add(Figure("b3.auth_rps", "authenticated requests/s", auth_rate, "req/s"))
    outcome.add(
        Figure("b3.anon_rps", "same endpoint unauthenticated, requests/s", anon_rate, "req/s")
    )
    outcome.add(
        Figure(
            "b3.auth_cost",
            "throughput lost to authentication",
            cost * 100,
            "%",
            target=TARGET_COST * 100,
            note="1 - authenticated / unauthenticated requests per second",
        )
    )
    for app in (authenticated, anonymous):
        app.extensions["kentra"].engine.dispose()
