"""Bad tokens are a 401 before any database work; JWKS fetches stay bounded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, event

from kentra.auth.claims import API_CLIENT, WEB_CLIENT
from kentra.auth.principal import Principal, UnitPath
from kentra.auth.roles import Profession, Role
from kentra.auth.tokens import InvalidToken, JwksCache, TokenValidator
from kentra.platform.core.app import create_app
from tests.tokens import TokenFactory

URL = "/api/v1/municipalities/4501"


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def bad_tokens(tokens: TokenFactory) -> dict[str, str]:
    good = tokens.claims(Role.STAFF, municipality="4501")
    now = int(time.time())
    signed = tokens.sign
    public_pem = tokens.key.as_pem(private=False)
    hs_header = b64({"alg": "HS256", "typ": "JWT", "kid": tokens.key.kid})
    hs_body = b64(good)
    hs_signature = hmac.new(public_pem, f"{hs_header}.{hs_body}".encode(), hashlib.sha256).digest()
    genuine = signed(good)
    header, _body, signature = genuine.split(".")
    tampered_claims = {**good, "resource_access": {API_CLIENT: {"roles": ["platform-operator"]}}}
    stranger = RSAKey.generate_key(2048, parameters={"kid": tokens.key.kid}, private=True)
    return {
        "expired": signed({**good, "exp": now - 3600, "iat": now - 7200, "nbf": now - 7200}),
        "not yet valid": signed({**good, "nbf": now + 3600}),
        "wrong issuer": signed({**good, "iss": "https://evil.example/realms/kentra"}),
        "wrong audience": signed({**good, "aud": ["account"]}),
        "wrong authorized party": signed({**good, "azp": "someone-else"}),
        "id token": signed({**good, "typ": "ID", "aud": WEB_CLIENT}),
        "no subject": signed({k: v for k, v in good.items() if k != "sub"}),
        "no expiry": signed({k: v for k, v in good.items() if k != "exp"}),
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': tokens.key.kid})}.{b64(good)}.",
        "HS256 with the public key": f"{hs_header}.{hs_body}.{b64(hs_signature)}",
        "tampered payload": f"{header}.{b64(tampered_claims)}.{signature}",
        "unknown kid": signed(good, kid="no-such-key"),
        "no kid": signed(good, kid=""),
        "signed by another key": signed(good, key=stranger),
        "garbage": "not.a.token",
        "not even dots": "abc",
    }


def test_a_good_token_passes(client: Any, tokens: TokenFactory) -> None:
    assert (
        client.get(URL, headers=tokens.headers(Role.STAFF, municipality="4501")).status_code == 200
    )


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not yet valid",
        "wrong issuer",
        "wrong audience",
        "wrong authorized party",
        "id token",
        "no subject",
        "no expiry",
        "alg none",
        "HS256 with the public key",
        "tampered payload",
        "unknown kid",
        "no kid",
        "signed by another key",
        "garbage",
        "not even dots",
    ],
)
def test_bad_tokens_are_401_before_any_database_work(
    client: Any, tokens: TokenFactory, engine: Engine, case: str
) -> None:
    token = bad_tokens(tokens)[case]
    with count_queries(engine) as statements:
        response = client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, case
    assert response.mimetype == "application/problem+json"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert 'realm="kentra"' in challenge
    assert 'error="invalid_token"' in challenge
    assert statements == []


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
def test_other_schemes_are_refused(client: Any, engine: Engine, header: str) -> None:
    with count_queries(engine) as statements:
        response = client.get(URL, headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert statements == []


def test_no_token_on_a_protected_route_is_a_plain_challenge(client: Any, engine: Engine) -> None:
    with count_queries(engine) as statements:
        response = client.get(URL)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="kentra"'
    assert statements == []


def test_random_kids_cause_a_bounded_number_of_jwks_fetches(
    engine: Engine, tokens: TokenFactory
) -> None:
    counting = TokenFactory(issuer=tokens.issuer, key=tokens.key)
    app: Flask = create_app(jwks=counting.jwks)
    client = app.test_client()
    claims = counting.claims(Role.STAFF, municipality="4501")
    statuses = {
        client.get(
            URL, headers={"Authorization": f"Bearer {counting.sign(claims, kid=uuid.uuid4().hex)}"}
        ).status_code
        for _ in range(1000)
    }
    assert statuses == {401}
    assert counting.fetches <= 2  # the first fetch, and at most one after a cooldown elapsed
    # The genuine key still works without another fetch.
    before = counting.fetches
    assert (
        client.get(URL, headers=counting.headers(Role.STAFF, municipality="4501")).status_code
        == 200
    )
    assert counting.fetches == before


# --- the cache and validator, with a controlled clock ---------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_jwks_cache_ttl_and_cooldown() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    clock = Clock()
    cache = JwksCache(factory.jwks, ttl=300, cooldown=30, clock=clock)
    assert cache.key("test-key") is not None
    assert factory.fetches == 1
    assert cache.key("unknown") is None
    assert factory.fetches == 1  # within the cooldown: no fetch
    clock.now += 31
    assert cache.key("unknown") is None
    assert factory.fetches == 2  # once after the cooldown
    assert cache.key("unknown") is None
    assert factory.fetches == 2
    clock.now += 300
    assert cache.key("test-key") is not None
    assert factory.fetches == 3  # the TTL expired


def test_a_rotated_key_is_picked_up_after_the_cooldown() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    clock = Clock()
    cache = JwksCache(factory.jwks, cooldown=30, clock=clock)
    assert cache.key("test-key") is not None
    factory.key = RSAKey.generate_key(2048, parameters={"kid": "rotated"}, private=True)
    clock.now += 31
    assert cache.key("rotated") is not None


def test_a_failing_jwks_fetch_denies_and_waits_for_the_cooldown() -> None:
    calls = 0

    def broken() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        raise ValueError("issuer down")

    clock = Clock()
    cache = JwksCache(broken, cooldown=30, clock=clock)
    assert cache.key("k") is None
    assert cache.key("k") is None
    assert calls == 1


def test_clock_skew_leeway() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    validator = TokenValidator(factory.issuer, JwksCache(factory.jwks), leeway=30)
    now = int(time.time())
    slightly_early = factory.sign(factory.claims(Role.STAFF, nbf=now + 10, iat=now + 10))
    assert validator.validate(slightly_early)["sub"]
    with pytest.raises(InvalidToken, match="not yet valid"):
        validator.validate(factory.sign(factory.claims(Role.STAFF, nbf=now + 120)))
    with pytest.raises(InvalidToken, match="expired"):
        validator.validate(factory.sign(factory.claims(Role.STAFF, exp=now - 120)))


# --- the principal ----------------------------------------------------------------------------


def test_principal_reads_roles_organization_units_region_profession(tokens: TokenFactory) -> None:
    claims = tokens.claims(
        Role.STAFF,
        municipality="4501",
        groups=[
            "/m-4501/kk-athinon/parartima-1",
            "/m-7101/kk-irakleiou",
            "/not/a/unit/path/at/all",
            7,
        ],
        kentra_profession="social_worker",
    )
    claims["resource_access"][API_CLIENT]["roles"].append("made-up-role")
    principal = Principal.from_claims(claims)
    assert principal.roles == {Role.STAFF}
    assert principal.organization == "4501"
    # Units of another municipality and malformed paths are ignored.
    assert principal.units == (UnitPath("4501", "kk-athinon", "parartima-1"),)
    assert principal.profession is Profession.SOCIAL_WORKER


@pytest.mark.parametrize(
    "organization",
    [["m-4501", "m-7101"], [], "m-4501", ["4501"], ["m-45O1"]],
)
def test_no_single_well_formed_organization_means_none(
    tokens: TokenFactory, organization: Any
) -> None:
    claims = tokens.claims(Role.STAFF, organization=organization)
    assert Principal.from_claims(claims).organization is None


def test_keycloak_rich_organization_claim_is_read(tokens: TokenFactory) -> None:
    claims = tokens.claims(Role.STAFF, organization={"m-4501": {"id": "a56b"}})
    assert Principal.from_claims(claims).organization == "4501"


def test_unit_scope_centre_head_and_staff() -> None:
    centre = UnitPath("4501", "kk-athinon")
    annex = UnitPath("4501", "kk-athinon", "parartima-1")
    mobile = UnitPath("4501", "kk-athinon", "kinliti-1")
    other_centre = UnitPath("4501", "kk-kypselis")
    head = Principal(
        subject="h",
        client="c",
        roles=frozenset({Role.CENTRE_HEAD}),
        organization="4501",
        units=(centre,),
    )
    staff = Principal(
        subject="s", client="c", roles=frozenset({Role.STAFF}), organization="4501", units=(annex,)
    )
    assert [head.reaches_unit(u) for u in (centre, annex, mobile, other_centre)] == [
        True,
        True,
        True,
        False,
    ]
    assert [staff.reaches_unit(u) for u in (centre, annex, mobile, other_centre)] == [
        False,
        True,
        False,
        False,
    ]
    assert str(annex) == "/m-4501/kk-athinon/parartima-1"
    assert UnitPath.parse(str(centre)) == centre
    for bad in (
        "m-4501/kk",
        "/m-4501",
        "/m-4501/KK",
        "/m-4501/a/b/c",
        "/x-4501/kk",
        "/m-4501/kk/../x",
    ):
        assert UnitPath.parse(bad) is None


def test_region_claim_must_be_a_nuts2_code(tokens: TokenFactory) -> None:
    assert (
        Principal.from_claims(tokens.claims(Role.REGIONAL_OFFICER, region="EL30")).region == "EL30"
    )
    assert (
        Principal.from_claims(tokens.claims(Role.REGIONAL_OFFICER, region="Attica")).region is None
    )


def test_keycloak_single_string_audience_is_accepted() -> None:
    # Keycloak writes a single audience as a string; the embedded issuer writes a list.
    factory = TokenFactory(issuer="https://issuer.example")
    validator = TokenValidator(factory.issuer, JwksCache(factory.jwks))
    assert (
        validator.validate(factory.sign(factory.claims(Role.STAFF, aud=API_CLIENT)))["aud"]
        == API_CLIENT
    )
    with pytest.raises(InvalidToken, match="claim aud"):
        validator.validate(factory.sign(factory.claims(Role.STAFF, aud="account")))
