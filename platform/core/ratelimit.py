"""Rate limits for public submissions (endpoints anyone may call without an account).

The onboarding signup is public by necessity; without a limit, one client could file bogus
requests for every municipality (each then blocks a real one until reviewed) or fill the
reviewers' list. Limits are counted per client address with the `limits` library, in the
storage the settings name (Redis shares the count across processes and machines).
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many, storage, strategies

from kentra.platform.core.config import Settings

_EXTENSION = "kentra_rate_limits"


class SubmissionLimiter:
    def __init__(self, settings: Settings) -> None:
        self.items: list[RateLimitItem] = (
            parse_many(settings.public_submission_limit) if settings.public_submission_limit else []
        )
        self.strategy = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(settings.rate_limit_storage)
        )

    def retry_after(self, scope: str, client: str) -> int | None:
        """Count one submission of ``client``; None when allowed, else the seconds to wait."""
        for item in self.items:
            if not self.strategy.hit(item, scope, client):
                reset, _remaining = self.strategy.get_window_stats(item, scope, client)
                return max(1, math.ceil(reset - time.time()))
        return None


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[_EXTENSION] = SubmissionLimiter(settings)


def public_submission_wait(scope: str) -> int | None:
    """For a public submission view: None to go on, else the seconds before the client may
    submit again (answer 429 with Retry-After). Counted per client address."""
    limiter: SubmissionLimiter = current_app.extensions[_EXTENSION]
    return limiter.retry_after(scope, request.remote_addr or "unknown")
