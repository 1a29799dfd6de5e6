"""Access-token validation: RS256 only, issuer, audience, expiry, not-before, authorized party.

Signatures are checked with joserfc (the Authlib project's JOSE library; ``authlib.jose`` is
deprecated in its favour, see docs/adr/0010). Keys come from a JWKS cached with a TTL; a token
with an unknown ``kid`` refetches the JWKS at most once per cooldown, so forged ``kid``s cannot
make every request fetch (architecture: "Identity and access").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet, RSAKey

from kentra.auth.claims import API_CLIENT, AUTHORIZED_PARTIES

ALGORITHM = "RS256"
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
        self._keys = {
            str(key.kid): key
            for key in keys.keys
            if isinstance(key, RSAKey) and key.kid and key.get("use", "sig") == "sig"
        }

    def key(self, kid: str) -> RSAKey | None:
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                self._refresh()
            elif kid not in self._keys and now - self._fetched_at >= self._cooldown:
                self._refresh()  # a rotated key: look once, then wait for the cooldown
            return self._keys.get(kid)


class TokenValidator:
    """Validates bearer access tokens of one issuer for the API audience."""

    def __init__(
        self,
        issuer: str,
        jwks: JwksCache,
        *,
        audience: str = API_CLIENT,
        authorized_parties: frozenset[str] = AUTHORIZED_PARTIES,
        leeway: int = 30,
        now: Callable[[], int] | None = None,
    ) -> None:
        self.issuer = issuer
        self.jwks = jwks
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
        try:
            header = jws.extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeEncodeError) as exc:
            raise InvalidToken("malformed token") from exc
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
            decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
            self._registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(_describe(exc)) from exc
        return dict(decoded.claims)


def _describe(exc: Exception) -> str:
    """A short reason for the client, naming at most a claim, never echoing its value."""
    if isinstance(exc, ExpiredTokenError):
        return "token expired"
    if isinstance(exc, ClaimError):
        if exc.claim == "nbf":
            return "token not yet valid"
        kind = "missing" if isinstance(exc, MissingClaimError) else "not accepted"
        return f"claim {exc.claim} {kind}"
    if isinstance(exc, BadSignatureError):
        return "bad signature"
    return "invalid token"
