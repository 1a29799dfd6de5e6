"""The shared table behind the database storage of rate limits (``storage.DatabaseStorage``).

One row per counted hit of a limit: the `limits` library's key (limit and scope, with the
client named by a keyed hash, never by its address), when it was counted, and when it no
longer counts. Rows past ``expires_at`` are deleted as the storage goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import IdentityKey, SharedBase


class RateLimitHit(SharedBase):
    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index(None, "key", "hit_at"),)

    id: Mapped[IdentityKey]
    key: Mapped[str] = mapped_column(Text)
    hit_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    amount: Mapped[int] = mapped_column(Integer, default=1)
