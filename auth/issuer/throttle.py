"""Password guessing at the embedded issuer: Keycloak's brute-force detection per username,
and a limit of failed logins per client address. Both are checked before any password is
hashed, by the token endpoint's password grant and by the login form alike.

- **Per username**, Keycloak's temporary lockout, with the settings of the realm export
  (``infra/keycloak/realm-kentra.json``, read through :mod:`kentra.auth.keycloak_realm`, not
  copied): the ``failureFactor``-th failure in a row locks the username for
  ``waitIncrementSeconds`` × (failures ÷ ``failureFactor``), at most ``maxFailureWaitSeconds``;
  a failure less than ``quickLoginCheckMilliSeconds`` after the previous one locks it for
  ``minimumQuickLoginWaitSeconds``; a failure more than ``maxDeltaTimeSeconds`` after the
  previous one starts the count again; a successful login clears it. While locked, even the
  right password is refused with the answer of a wrong one (as Keycloak does, so the answer
  tells nothing), no password is checked, and nothing more is counted for the username. The
  lock follows the username, from whatever address. Unknown usernames are counted too, so a
  lockout does not tell which usernames exist.
- **Per client address**, at most ``KENTRA_LOGIN_FAILURE_LIMIT`` failed logins (`limits`,
  moving window, in the platform's shared storage); beyond it the answer is 429 with
  ``Retry-After``. This stops one client trying many usernames, which no username's lock
  sees, and keeps a flood of wrong passwords from costing a password hash per request. Other
  addresses, and the same users from them, are not affected.

Every failed login is logged as one line, ``issuer.login_failed``, with the reason and keyed
hashes (HMAC-SHA256 with the app's secret key) of the username and of the address: the same
person or client can be followed across lines, and neither is revealed.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects.postgresql import insert

from kentra.auth.issuer.accounts import normalise_username
from kentra.auth.issuer.models import IdentityLoginFailure
from kentra.platform.ratelimits.limits import Clock, RateLimit, keyed_hash

log = logging.getLogger("kentra.auth.issuer")

# The per-address limit's scope in the rate-limit storage.
ADDRESS_SCOPE = "login-failures"
# Every so many failures, usernames whose count has lapsed are deleted.
SWEEP_EVERY = 200


class BruteForceStrategy(enum.StrEnum):
    """Keycloak's ``bruteForceStrategy``: how the wait grows with the failures."""

    MULTIPLE = "MULTIPLE"  # waitIncrement × (failures ÷ failureFactor), Keycloak's default
    LINEAR = "LINEAR"  # waitIncrement × (1 + failures − failureFactor)


class FailureReason(enum.StrEnum):
    INVALID_CREDENTIALS = "invalid_user_credentials"  # Keycloak's event error names
    LOCKED = "user_temporarily_disabled"
    ADDRESS_LIMITED = "address_rate_limited"


@dataclass(frozen=True)
class BruteForcePolicy:
    """The realm's brute-force detection settings (times in seconds)."""

    enabled: bool
    failure_factor: int
    wait_increment: int
    max_wait: int
    quick_login_check: float
    minimum_quick_login_wait: int
    max_delta: int
    strategy: BruteForceStrategy = BruteForceStrategy.MULTIPLE

    @classmethod
    def from_realm(cls, realm: Mapping[str, Any]) -> BruteForcePolicy:
        """The settings of a realm representation (the export); Keycloak's names."""
        if realm.get("permanentLockout"):
            raise ValueError("the embedded issuer implements the temporary lockout only")
        return cls(
            enabled=bool(realm.get("bruteForceProtected", False)),
            failure_factor=int(realm["failureFactor"]),
            wait_increment=int(realm["waitIncrementSeconds"]),
            max_wait=int(realm["maxFailureWaitSeconds"]),
            quick_login_check=int(realm["quickLoginCheckMilliSeconds"]) / 1000,
            minimum_quick_login_wait=int(realm["minimumQuickLoginWaitSeconds"]),
            max_delta=int(realm["maxDeltaTimeSeconds"]),
            strategy=BruteForceStrategy(realm.get("bruteForceStrategy", "MULTIPLE")),
        )

    def lock_seconds(self, failures: int, since_previous: float | None) -> int:
        """How long a username is locked after its ``failures``-th failure in a row, which
        came ``since_previous`` seconds after the previous one (None: there was none)."""
        if self.strategy is BruteForceStrategy.MULTIPLE:
            wait = self.wait_increment * (failures // self.failure_factor)
        else:
            wait = self.wait_increment * (1 + failures - self.failure_factor)
        if wait <= 0 and since_previous is not None and since_previous < self.quick_login_check:
            wait = self.minimum_quick_login_wait
        return min(self.max_wait, wait) if wait > 0 else 0


@dataclass(frozen=True)
class LoginAttempt:
    """One login attempt, its username and client address named by keyed hashes."""

    username_hash: str
    address_hash: str


@dataclass(frozen=True)
class Refusal:
    """An attempt refused before its password is checked."""

    reason: FailureReason
    retry_after: int | None = None  # the address is over its limit: 429 with Retry-After


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class LoginThrottle:
    def __init__(
        self,
        engine: Engine,
        policy: BruteForcePolicy,
        address_limit: RateLimit,
        secret: str | bytes,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.address_limit = address_limit
        self.secret = secret
        self.clock = clock
        self._failures_since_sweep = 0

    def attempt(self, username: str, address: str) -> LoginAttempt:
        return LoginAttempt(
            keyed_hash(self.secret, normalise_username(username)),
            keyed_hash(self.secret, address),
        )

    def refusal(self, attempt: LoginAttempt) -> Refusal | None:
        """Before checking the password: a refusal when the address is over its limit or the
        username is locked, else None."""
        retry_after = self.address_limit.wait(ADDRESS_SCOPE, attempt.address_hash)
        if retry_after is not None:
            return Refusal(FailureReason.ADDRESS_LIMITED, retry_after)
        if self.policy.enabled:
            with self.engine.connect() as conn:
                locked_until = conn.scalar(
                    select(IdentityLoginFailure.locked_until).where(
                        IdentityLoginFailure.username_hash == attempt.username_hash
                    )
                )
            if locked_until is not None and locked_until > _at(self.clock()):
                return Refusal(FailureReason.LOCKED)
        return None

    def failed(self, attempt: LoginAttempt, reason: FailureReason, *, client_id: str) -> None:
        """Count a failed login (a wrong password for the username; any refusal but the
        address limit's own for the address) and log it."""
        if reason is FailureReason.INVALID_CREDENTIALS and self.policy.enabled:
            self._count_username_failure(attempt.username_hash)
        if reason is not FailureReason.ADDRESS_LIMITED:
            self.address_limit.hit(ADDRESS_SCOPE, attempt.address_hash)
        log.warning(
            "issuer.login_failed",
            extra={
                "client_id": client_id,
                "reason": str(reason),
                "username_hmac": attempt.username_hash,
                "address_hmac": attempt.address_hash,
            },
        )

    def succeeded(self, attempt: LoginAttempt) -> None:
        """A successful login clears the username's failures (Keycloak's ``clearFailures``)."""
        if self.policy.enabled:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(IdentityLoginFailure).where(
                        IdentityLoginFailure.username_hash == attempt.username_hash
                    )
                )

    def _count_username_failure(self, username_hash: str) -> None:
        """Keycloak's ``DefaultBruteForceProtector.failure``, on the row locked for update."""
        now = self.clock()
        policy = self.policy
        with self.engine.begin() as conn:
            created = conn.execute(
                insert(IdentityLoginFailure)
                .values(
                    username_hash=username_hash,
                    failures=1,
                    last_failure_at=_at(now),
                    locked_until=(
                        _at(now + wait) if (wait := policy.lock_seconds(1, None)) else None
                    ),
                )
                .on_conflict_do_nothing()
                .returning(IdentityLoginFailure.username_hash)
            ).first()
            if created is None:
                found = conn.execute(
                    select(IdentityLoginFailure.failures, IdentityLoginFailure.last_failure_at)
                    .where(IdentityLoginFailure.username_hash == username_hash)
                    .with_for_update()
                ).one()
                since_previous = now - found.last_failure_at.timestamp()
                failures = 1 if since_previous > policy.max_delta else found.failures + 1
                changes: dict[str, Any] = {"failures": failures, "last_failure_at": _at(now)}
                wait = policy.lock_seconds(failures, since_previous)
                if wait:
                    changes["locked_until"] = _at(now + wait)
                conn.execute(
                    update(IdentityLoginFailure)
                    .where(IdentityLoginFailure.username_hash == username_hash)
                    .values(changes)
                )
        self._sweep_sometimes(now)

    def _sweep_sometimes(self, now: float) -> None:
        """Counts that have lapsed (no failure for maxDeltaTimeSeconds, no lock) go."""
        self._failures_since_sweep += 1
        if self._failures_since_sweep < SWEEP_EVERY:
            return
        self._failures_since_sweep = 0
        lapsed = _at(now - self.policy.max_delta)
        with self.engine.begin() as conn:
            conn.execute(
                delete(IdentityLoginFailure)
                .where(IdentityLoginFailure.last_failure_at < lapsed)
                .where(
                    (IdentityLoginFailure.locked_until.is_(None))
                    | (IdentityLoginFailure.locked_until < _at(now))
                )
            )
