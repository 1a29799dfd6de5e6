"""Bad tokens are a 401 before any database work; JWKS fetches stay bounded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from joserfc import jws
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, event

from kentra.auth.claims import API_CLIENT, WEB_CLIENT
from kentra.auth.principal import Principal, UnitPath
from kentra.auth.roles import Profession, Role
from kentra.auth.tokens import InvalidToken, JwksCache, TokenValidator
from kentra.platform.app.factory import create_app
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


# --- the cache of validated tokens (docs/adr/0024) --------------------------------------------


class Now:
    """The validator's clock (whole seconds), moved by the tests."""

    def __init__(self) -> None:
        self.now = int(time.time())

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The payload of every signature check the validator makes."""
    seen: list[bytes] = []
    original = jws.validate_compact

    def counting(obj: Any, *args: Any, **kwargs: Any) -> bool:
        seen.append(obj.payload)
        return original(obj, *args, **kwargs)

    monkeypatch.setattr(jws, "validate_compact", counting)
    return seen


def cached_validator(
    factory: TokenFactory, *, size: int = 16, now: Now | None = None, clock: Clock | None = None
) -> TokenValidator:
    jwks = JwksCache(factory.jwks, clock=clock or Clock())
    return TokenValidator(factory.issuer, jwks, cache_size=size, now=now)


def cached_count(validator: TokenValidator) -> int:
    assert validator.cache is not None
    return len(validator.cache)


def test_a_cached_token_skips_the_signature_check(verifications: list[bytes]) -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    validator = cached_validator(factory)
    token = factory.token(Role.STAFF, municipality="4501")
    first = validator.validate(token)
    second = validator.validate(token)
    assert first == second
    assert first["sub"]
    assert len(verifications) == 1  # the second was a hit
    second["sub"] = "changed by a caller"  # each hit has its own claims
    assert validator.validate(token)["sub"] == first["sub"]
    other = factory.token(Role.STAFF, municipality="4501")  # a miss: verified
    assert validator.validate(other)["sub"] != first["sub"]
    assert len(verifications) == 2
    assert cached_count(validator) == 2


def test_a_cached_token_is_read_into_a_principal_once(verifications: list[bytes]) -> None:
    """validate_as checks the token every time but reads its claims once per cached token:
    the same frozen Principal, whose claims no caller can change, until the token expires."""
    factory = TokenFactory(issuer="https://issuer.example")
    now = Now()
    validator = cached_validator(factory, now=now)
    token = factory.sign(factory.claims(Role.STAFF, municipality="4501", exp=now.now + 300))
    reads: list[str] = []

    def read(claims: Any) -> Principal:
        reads.append(claims["sub"])
        return Principal.from_claims(claims)

    first = validator.validate_as(token, read)
    assert validator.validate_as(token, read) is first
    assert reads == [first.subject]
    assert len(verifications) == 1
    assert first.roles == frozenset({Role.STAFF})
    assert first.organization == "4501"
    with pytest.raises(TypeError):
        first.claims["sub"] = "changed by a caller"  # type: ignore[index]
    # Another reader reads for itself; validate() still parses a copy of its own.
    assert validator.validate_as(token, lambda claims: claims["sub"]) == first.subject
    assert validator.validate(token)["sub"] == first.subject
    now.now += 300 + 30
    with pytest.raises(InvalidToken, match="token expired"):
        validator.validate_as(token, read)
    assert reads == [first.subject]
    # Uncached validation reads every time.
    uncached = cached_validator(factory, size=0)
    fresh = factory.token(Role.STAFF, municipality="4501")
    assert uncached.validate_as(fresh, read) is not uncached.validate_as(fresh, read)


def test_a_hit_is_refused_once_the_token_expires(verifications: list[bytes]) -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    now = Now()
    validator = cached_validator(factory, now=now)
    token = factory.sign(factory.claims(Role.STAFF, exp=now.now + 300))
    assert validator.validate(token)["sub"]
    now.now += 300 + 29  # within the leeway: still a hit
    assert validator.validate(token)["sub"]
    now.now += 1
    with pytest.raises(InvalidToken, match="token expired"):
        validator.validate(token)
    assert len(verifications) == 1  # refused on the cached claims, not by a fresh check
    assert cached_count(validator) == 0  # and dropped
    with pytest.raises(InvalidToken, match="token expired"):
        validator.validate(token)  # a miss now, refused again
    assert len(verifications) == 2


def test_a_hit_checks_not_before_against_the_clock() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    now = Now()
    validator = cached_validator(factory, now=now)
    token = factory.sign(factory.claims(Role.STAFF, nbf=now.now + 20))  # within the leeway
    assert validator.validate(token)["sub"]
    now.now -= 20  # the clock stepped back: nbf is now 40 s ahead
    with pytest.raises(InvalidToken, match="not yet valid"):
        validator.validate(token)


def test_failures_are_never_cached(verifications: list[bytes]) -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    validator = cached_validator(factory)
    expired = factory.sign(factory.claims(Role.STAFF, exp=int(time.time()) - 3600))
    for _ in range(2):
        with pytest.raises(InvalidToken, match="token expired"):
            validator.validate(expired)
    assert len(verifications) == 2
    assert cached_count(validator) == 0


def test_a_tampered_copy_of_a_cached_token_is_checked_afresh_and_refused(
    verifications: list[bytes],
) -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    validator = cached_validator(factory)
    good = factory.claims(Role.STAFF, municipality="4501")
    token = factory.sign(good)
    assert validator.validate(token)["sub"]
    header, _body, signature = token.split(".")
    promoted = {**good, "resource_access": {API_CLIENT: {"roles": ["platform-operator"]}}}
    with pytest.raises(InvalidToken, match="bad signature"):
        validator.validate(f"{header}.{b64(promoted)}.{signature}")
    assert len(verifications) == 2
    assert cached_count(validator) == 1


def test_the_cache_keeps_the_most_recently_used_tokens(verifications: list[bytes]) -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    validator = cached_validator(factory, size=2)
    a, b, c = (factory.token(Role.STAFF) for _ in range(3))
    for token in (a, b, a, c):  # c pushes out b, the least recently used
        validator.validate(token)
    assert cached_count(validator) == 2
    assert len(verifications) == 3
    validator.validate(a)
    validator.validate(c)
    assert len(verifications) == 3
    validator.validate(b)
    assert len(verifications) == 4


def test_a_cache_size_of_zero_verifies_every_time(verifications: list[bytes]) -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    validator = cached_validator(factory, size=0)
    token = factory.token(Role.STAFF)
    validator.validate(token)
    validator.validate(token)
    assert validator.cache is None
    assert len(verifications) == 2


def test_a_cached_token_follows_its_signing_key(verifications: list[bytes]) -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    clock = Clock()
    validator = cached_validator(factory, clock=clock)
    token = factory.token(Role.STAFF)
    validator.validate(token)
    clock.now += 300  # the JWKS is fetched again, with the same key: still a hit
    validator.validate(token)
    assert factory.fetches == 2
    assert len(verifications) == 1
    # The same kid with other key material: the cached validation no longer counts.
    factory.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"}, private=True)
    clock.now += 300
    with pytest.raises(InvalidToken, match="bad signature"):
        validator.validate(token)
    assert cached_count(validator) == 0


def test_a_cached_token_is_refused_once_its_key_leaves_the_jwks() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    clock = Clock()
    validator = cached_validator(factory, clock=clock)
    token = factory.token(Role.STAFF)
    validator.validate(token)
    factory.key = RSAKey.generate_key(2048, parameters={"kid": "rotated"}, private=True)
    clock.now += 300
    with pytest.raises(InvalidToken, match="unknown signing key"):
        validator.validate(token)


def test_a_signed_payload_that_is_not_an_object_is_refused() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    header = {"alg": "RS256", "kid": factory.key.kid}
    for size in (0, 16):
        validator = cached_validator(factory, size=size)
        for payload in (b"[]", b"not json"):
            with pytest.raises(InvalidToken, match="invalid token"):
                validator.validate(jws.serialize_compact(header, payload, factory.key))


def test_a_header_the_jose_registry_refuses_is_an_invalid_token() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    critical = {"alg": "RS256", "kid": factory.key.kid, "crit": ["x-unknown"], "x-unknown": 1}
    token = f"{b64(critical)}.{b64(factory.claims(Role.STAFF))}.{b64(b'signature')}"
    with pytest.raises(InvalidToken, match="invalid token"):
        cached_validator(factory).validate(token)


def test_a_token_outside_ascii_is_malformed() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    with pytest.raises(InvalidToken, match="malformed"):
        cached_validator(factory).validate(factory.token(Role.STAFF) + "é")


def test_the_cache_under_threads() -> None:
    factory = TokenFactory(issuer="https://issuer.example")
    validator = cached_validator(factory, size=8)
    tokens = [factory.token(Role.STAFF) for _ in range(20)]
    subjects = [validator.validate(token)["sub"] for token in tokens]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(300):
                index = (offset + i * 7) % len(tokens)
                assert validator.validate(tokens[index])["sub"] == subjects[index]
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cached_count(validator) <= 8
