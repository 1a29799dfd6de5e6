"""A storage for the `limits` library on the platform's PostgreSQL database.

The `limits` library ships memory, Redis, Memcached and MongoDB storages; memory counts per
process, so with several workers every worker had its own count. This storage keeps the hits
in the shared table ``rate_limit_hits``, so every process of the platform counts together
with nothing to run besides the database. It supports the moving window (the platform's
strategy) and the fixed window.

Each change of a key runs in one transaction under an advisory lock on that key, so two
workers cannot both take the last free hit. Time comes from ``clock`` (seconds since the
epoch), not from the database, so tests can move it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from kentra.platform.ratelimits.models import RateLimitHit

# First key of pg_advisory_xact_lock(int, int) for rate-limit keys (others: tenants/migrate.py).
LOCK_NAMESPACE_RATE_LIMIT = 0x4B52
# Every so many counted hits, rows of every key that no longer count are deleted.
SWEEP_EVERY = 200


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class DatabaseStorage(Storage, MovingWindowSupport):
    """Hits in ``shared.rate_limit_hits``; built from the platform's engine, not from a URI."""

    STORAGE_SCHEME = None

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.engine = engine
        self.clock = clock
        self._hits_since_sweep = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    # --- moving window ---------------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        with self.engine.begin() as conn:
            counted = self._lock_and_count(conn, key, now)
            if counted + amount > limit:
                return False
            self._insert(conn, key, now, now + expiry, amount)
        self._sweep_sometimes(now)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self.clock()
        with self.engine.connect() as conn:
            oldest, counted = conn.execute(
                select(
                    func.min(RateLimitHit.hit_at), func.coalesce(func.sum(RateLimitHit.amount), 0)
                )
                .where(RateLimitHit.key == key)
                .where(RateLimitHit.hit_at > _at(now - expiry))
            ).one()
        return (oldest.timestamp() if oldest is not None else now), int(counted)

    # --- fixed window ------------------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        with self.engine.begin() as conn:
            counted = self._lock_and_count(conn, key, now)
            # A window ends where its first hit said; later hits of the window share that end.
            window_end = conn.scalar(
                select(func.min(RateLimitHit.expires_at)).where(RateLimitHit.key == key)
            )
            ends = window_end.timestamp() if window_end is not None else now + expiry
            self._insert(conn, key, now, ends, amount)
        self._sweep_sometimes(now)
        return counted + amount

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            counted = conn.scalar(
                select(func.coalesce(func.sum(RateLimitHit.amount), 0))
                .where(RateLimitHit.key == key)
                .where(RateLimitHit.expires_at > _at(self.clock()))
            )
        return int(counted or 0)

    def get_expiry(self, key: str) -> float:
        now = self.clock()
        with self.engine.connect() as conn:
            ends = conn.scalar(
                select(func.min(RateLimitHit.expires_at))
                .where(RateLimitHit.key == key)
                .where(RateLimitHit.expires_at > _at(now))
            )
        return ends.timestamp() if ends is not None else now

    # --- housekeeping ------------------------------------------------------------------------

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.scalar(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(delete(RateLimitHit)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(RateLimitHit).where(RateLimitHit.key == key))

    def _lock_and_count(self, conn: Connection, key: str, now: float) -> int:
        """Take the key's lock, drop its hits that no longer count, and count the rest."""
        conn.execute(
            select(func.pg_advisory_xact_lock(LOCK_NAMESPACE_RATE_LIMIT, func.hashtext(key)))
        )
        conn.execute(
            delete(RateLimitHit)
            .where(RateLimitHit.key == key)
            .where(RateLimitHit.expires_at <= _at(now))
        )
        counted = conn.scalar(
            select(func.coalesce(func.sum(RateLimitHit.amount), 0)).where(RateLimitHit.key == key)
        )
        return int(counted or 0)

    @staticmethod
    def _insert(conn: Connection, key: str, now: float, expires: float, amount: int) -> None:
        conn.execute(
            insert(RateLimitHit).values(
                key=key, hit_at=_at(now), expires_at=_at(expires), amount=amount
            )
        )

    def _sweep_sometimes(self, now: float) -> None:
        """Keys that are never hit again would keep their rows: delete them now and then."""
        self._hits_since_sweep += 1
        if self._hits_since_sweep < SWEEP_EVERY:
            return
        self._hits_since_sweep = 0
        with self.engine.begin() as conn:
            conn.execute(delete(RateLimitHit).where(RateLimitHit.expires_at <= _at(now)))
