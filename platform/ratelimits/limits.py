"""Rate limits: public submissions per client, on a storage every process shares.

The onboarding signup is public by necessity; without a limit, one client could file bogus
requests for every municipality (each then blocks a real one until reviewed) or fill the
reviewers' list. The embedded issuer limits failed logins per client address the same way
(``kentra.auth.issuer.throttle``). Limits are counted with the `limits` library (moving
window), per client named by a keyed hash of its address, in the storage the settings name:

- ``KENTRA_RATE_LIMIT_STORAGE`` unset: the database (``shared.rate_limit_hits``, see
  ``kentra.platform.ratelimits``), so every worker and machine counts together;
- ``redis://…``: Redis, shared the same way;
- ``memory://``: counted per process (a limit of N then allows N per worker), only when set.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many, strategies
from limits.storage import Storage, storage_from_string
from sqlalchemy import Engine

from kentra.platform.core.config import Settings
from kentra.platform.ratelimits.storage import DatabaseStorage

_EXTENSION = "kentra_rate_limits"


class Clock:
    """Seconds since the epoch, as limits and lockouts count them; tests move it forward
    instead of sleeping (``advance``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def keyed_hash(secret: str | bytes, value: str) -> str:
    """HMAC-SHA256 (hex) of ``value`` keyed with the app's secret key: names a client address
    or a username in counters and logs without revealing it, the same way in every worker."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def client_address() -> str:
    """The request's client address (the proxies' forwarded one with KENTRA_PROXY_HOPS)."""
    return request.remote_addr or "unknown"


def build_storage(settings: Settings, engine: Engine, clock: Clock) -> Storage:
    if settings.rate_limit_storage is None:
        return DatabaseStorage(engine, clock)
    storage = storage_from_string(settings.rate_limit_storage)
    if not isinstance(storage, Storage):
        raise TypeError(f"{settings.rate_limit_storage!r} names an asynchronous storage")
    return storage


class RateLimit:
    """One limit in `limits` notation (several separated by ";"; empty: no limit), counted
    per scope and client with the moving window."""

    def __init__(self, notation: str, storage: Storage, clock: Clock) -> None:
        self.items: list[RateLimitItem] = parse_many(notation) if notation else []
        self.strategy = strategies.MovingWindowRateLimiter(storage)
        self.clock = clock

    def hit(self, scope: str, client: str) -> int | None:
        """Count one hit of ``client``; None when allowed, else the seconds to wait."""
        for item in self.items:
            if not self.strategy.hit(item, scope, client):
                return self._seconds_to_wait(item, scope, client)
        return None

    def wait(self, scope: str, client: str) -> int | None:
        """Without counting: None when a hit would be allowed, else the seconds to wait."""
        for item in self.items:
            if not self.strategy.test(item, scope, client):
                return self._seconds_to_wait(item, scope, client)
        return None

    def _seconds_to_wait(self, item: RateLimitItem, scope: str, client: str) -> int:
        reset, _remaining = self.strategy.get_window_stats(item, scope, client)
        return max(1, math.ceil(reset - self.clock()))


@dataclass(frozen=True)
class RateLimits:
    """What an app holds: the shared storage, its clock, and the public-submission limit."""

    storage: Storage
    clock: Clock
    submissions: RateLimit


def rate_limits(app: Flask, settings: Settings, engine: Engine) -> RateLimits:
    """The app's rate limits, installed on first use (the embedded issuer may be mounted on
    an app of its own)."""
    installed: RateLimits | None = app.extensions.get(_EXTENSION)
    if installed is None:
        clock = Clock()
        storage = build_storage(settings, engine, clock)
        installed = RateLimits(
            storage, clock, RateLimit(settings.public_submission_limit, storage, clock)
        )
        app.extensions[_EXTENSION] = installed
    return installed


def init_app(app: Flask, settings: Settings) -> None:
    rate_limits(app, settings, app.extensions["kentra"].engine)


def public_submission_wait(scope: str) -> int | None:
    """For a public submission view: None to go on, else the seconds before the client may
    submit again (answer 429 with Retry-After). Counted per client address."""
    limits: RateLimits = current_app.extensions[_EXTENSION]
    secret = current_app.secret_key
    if secret is None:
        raise RuntimeError("rate limits name clients by a keyed hash: the app needs SECRET_KEY")
    return limits.submissions.hit(scope, keyed_hash(secret, client_address()))
