"""Access-token validation: RS256 only, issuer, audience, expiry, not-before, authorized party.

Signatures are checked with joserfc (the Authlib project's JOSE library; ``authlib.jose`` is
deprecated in its favour, see docs/adr/0010). Keys come from a JWKS cached with a TTL; a token
with an unknown ``kid`` refetches the JWKS at most once per cooldown, so forged ``kid``s cannot
make every request fetch (architecture: "Identity and access").

A validated token is remembered by the SHA-256 of its compact form (``ValidatedTokens``, bounded,
least recently used out): a later request with the same token skips the signature check, but its
claims are checked again against the clock every time, and only while the key that verified it
is still the issuer's key for its ``kid`` (docs/adr/0024).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import requests
from joserfc import jws, jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet, RSAKey

from kentra.auth.claims import API_CLIENT, AUTHORIZED_PARTIES

ALGORITHM = "RS256"
# Validated tokens kept per validator (each gunicorn worker has its own): an entry holds the
# claims' JSON (about 1 KB for Keycloak's tokens), so the default is about 1–2 MB at most.
DEFAULT_CACHE_SIZE = 1024
CLOCK_CLAIMS = ("exp", "nbf", "iat")
T = TypeVar("T")
log = logging.getLogger(__name__)


class InvalidToken(Exception):
    """The token cannot be trusted. The message is safe to send to the client."""


class JwksSource(Protocol):
    def __call__(self) -> Mapping[str, Any]:
        """Fetch the current JWKS document ({"keys": [...]})."""
        ...


@dataclass(frozen=True)
class HttpJwks:
    """The issuer's JWKS over HTTP (Keycloak: ``<issuer>/protocol/openid-connect/certs``)."""

    url: str
    timeout: float = 5.0

    def __call__(self) -> Mapping[str, Any]:
        response = requests.get(self.url, timeout=self.timeout)
        response.raise_for_status()
        document: Mapping[str, Any] = response.json()
        return document


class JwksCache:
    """RSA signing keys by ``kid``, refreshed every ``ttl`` seconds and, for an unknown ``kid``,
    at most once per ``cooldown`` seconds. Thread-safe."""

    def __init__(
        self,
        source: JwksSource,
        *,
        ttl: float = 300.0,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, RSAKey] = {}
        self._fetched_at: float | None = None
        self.fetches = 0

    def _refresh(self) -> None:
        self.fetches += 1
        self._fetched_at = self._clock()  # set first: a failing fetch also waits for the cooldown
        try:
            document = self._source()
            keys = KeySet.import_key_set(
                {"keys": [k for k in document.get("keys", []) if k.get("kty") == "RSA"]}
            )
        except (requests.RequestException, ValueError, JoseError) as exc:
            log.warning("JWKS fetch failed", extra={"error_type": type(exc).__name__})
            return
        fresh = {
            str(key.kid): key
            for key in keys.keys
            if isinstance(key, RSAKey) and key.kid and key.get("use", "sig") == "sig"
        }
        # An unchanged key stays the same object, so a cached validation made with it still
        # counts after a refresh; a removed or replaced key invalidates it (TokenValidator).
        for kid, key in fresh.items():
            known = self._keys.get(kid)
            if known is not None and known.thumbprint() == key.thumbprint():
                fresh[kid] = known
        self._keys = fresh

    def key(self, kid: str) -> RSAKey | None:
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                self._refresh()
            elif kid not in self._keys and now - self._fetched_at >= self._cooldown:
                self._refresh()  # a rotated key: look once, then wait for the cooldown
            return self._keys.get(kid)


@dataclass(frozen=True)
class _Validated:
    payload: bytes  # the signed claims' JSON: each hit parses its own copy (no shared dict)
    times: dict[str, Any]  # exp, nbf, iat: the claims whose verdict changes with the clock
    kid: str
    key: RSAKey  # the key that verified the signature
    # What validate_as's readers made of the claims, by reader: immutable values only.
    readings: dict[Callable[[Mapping[str, Any]], Any], Any] = field(default_factory=dict)


class ValidatedTokens:
    """Tokens whose signature was verified, by the SHA-256 of the compact JWS; at most ``size``
    of them, the least recently used dropped first. Thread-safe (gunicorn's threads share it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, _Validated] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> _Validated | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None:
                self._entries.move_to_end(digest)
            return entry

    def put(self, digest: bytes, entry: _Validated) -> None:
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def discard(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)


class TokenValidator:
    """Validates bearer access tokens of one issuer for the API audience.

    ``cache_size`` validated tokens are remembered (0: none, every token is verified each time).
    """

    def __init__(
        self,
        issuer: str,
        jwks: JwksCache,
        *,
        audience: str = API_CLIENT,
        authorized_parties: frozenset[str] = AUTHORIZED_PARTIES,
        leeway: int = 30,
        now: Callable[[], int] | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.issuer = issuer
        self.jwks = jwks
        self.cache = ValidatedTokens(cache_size) if cache_size > 0 else None
        # The same clock and leeway for a cache hit, which checks only the time claims again.
        self._clock = jwt.JWTClaimsRegistry(now=now, leeway=leeway)
        self._registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
            azp={"essential": True, "values": sorted(authorized_parties)},
            typ={"essential": True, "value": "Bearer"},
        )

    def validate(self, token: str) -> dict[str, Any]:
        """The token's claims, or :class:`InvalidToken`. No database work happens here."""
        claims, entry = self._check(token)
        if claims is None:
            assert entry is not None  # a cache hit
            claims = json.loads(entry.payload)
        return claims

    def validate_as(self, token: str, read: Callable[[Mapping[str, Any]], T]) -> T:
        """What ``read`` makes of the token's claims, or :class:`InvalidToken`. The token is
        checked as :meth:`validate` checks it, every time; ``read`` runs once per cached
        token, and a hit returns its result again without parsing the claims. Every request
        with that token shares it: ``read`` must return an immutable value (a frozen
        ``Principal``), and may not depend on anything but the claims."""
        claims, entry = self._check(token)
        if entry is None:
            assert claims is not None
            return read(claims)
        reading: T | None = entry.readings.get(read)
        if reading is None:
            reading = read(claims if claims is not None else json.loads(entry.payload))
            entry.readings[read] = reading  # a race makes the same value twice: harmless
        return reading

    def _check(self, token: str) -> tuple[dict[str, Any] | None, _Validated | None]:
        """Check ``token``: its claims when they were parsed now (None on a cache hit), and
        its cache entry (None when nothing is cached)."""
        try:
            compact = token.encode("ascii")
        except UnicodeEncodeError as exc:
            raise InvalidToken("malformed token") from exc
        if self.cache is None:
            return self._validate(compact)[0], None
        digest = hashlib.sha256(compact).digest()
        entry = self.cache.get(digest)
        # A hit counts only while its key is still the issuer's key for that kid: a key removed
        # from (or replaced in) the JWKS ends it as it ends an uncached token (docs/adr/0024).
        if entry is not None and self.jwks.key(entry.kid) is entry.key:
            try:
                self._clock.validate(entry.times)  # as the first check did, with the leeway
            except JoseError as exc:
                self.cache.discard(digest)  # expired: never served again, and room for others
                raise InvalidToken(_describe(exc)) from exc
            return None, entry
        try:
            claims, entry = self._validate(compact)
        except InvalidToken:
            self.cache.discard(digest)  # an entry whose key has gone; failures are not kept
            raise
        self.cache.put(digest, entry)
        return claims, entry

    def _validate(self, compact: bytes) -> tuple[dict[str, Any], _Validated]:
        """Signature and every claim: the claims, and what the cache keeps of the token."""
        try:
            signed = jws.extract_compact(compact)
        except (JoseError, ValueError) as exc:
            raise InvalidToken("malformed token") from exc
        header = signed.protected
        # Decide on the header before any key is looked up: "none", HS256 signed with the
        # public key, and every other algorithm are refused outright.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("no key id")
        key = self.jwks.key(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            if not jws.validate_compact(signed, key, algorithms=[ALGORITHM]):
                raise InvalidToken("bad signature")
            claims = json.loads(signed.payload)
            if not isinstance(claims, dict):
                raise InvalidToken("invalid token")
            self._registry.validate(claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(_describe(exc)) from exc
        times = {name: claims[name] for name in CLOCK_CLAIMS if name in claims}
        return claims, _Validated(payload=signed.payload, times=times, kid=kid, key=key)


def _describe(exc: Exception) -> str:
    """A short reason for the client, naming at most a claim, never echoing its value."""
    if isinstance(exc, ExpiredTokenError):
        return "token expired"
    if isinstance(exc, ClaimError):
        if exc.claim == "nbf":
            return "token not yet valid"
        kind = "missing" if isinstance(exc, MissingClaimError) else "not accepted"
        return f"claim {exc.claim} {kind}"
    return "invalid token"
