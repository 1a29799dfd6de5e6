"""The fan-out record (shared schema): one row per run, one per tenant of the run.

A run is one tenant task sent to many tenants (:mod:`kentra.tasks.fanout`). The rows hold no
personal data: a task name, who started it (a subject or "schedule"/"cli"), counts, times,
the ids in ``details`` (e.g. the policy version that caused it), and per tenant a state,
attempts and the *type* of the last error — never an error's message, which may carry names
or addresses from a database row or an identity provider.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Interval,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kentra.platform.core.models import SharedBase, string_enum, utcnow


class RunStatus(enum.StrEnum):
    """A run: created with its tenants (queued), sending them (running), all of them
    finished — every one done (done) or at least one failed after its retries (failed)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class TenantState(enum.StrEnum):
    """A tenant of a run: not yet sent (pending), sent (queued), failed and sent again
    (retrying), finished (done), or failed for good (failed)."""

    PENDING = "pending"
    QUEUED = "queued"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"


IN_FLIGHT = (TenantState.QUEUED, TenantState.RETRYING)
FINISHED = (TenantState.DONE, TenantState.FAILED)


class FanoutRun(SharedBase):
    __tablename__ = "fanout_runs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    task_name: Mapped[str] = mapped_column(Text, index=True)
    actor: Mapped[str] = mapped_column(Text)
    status: Mapped[RunStatus] = mapped_column(string_enum(RunStatus, "fanout_run_status"))
    # Ids only (what caused the run, e.g. {"policy_version_id": 3}); never personal data.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    batch_size: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts that failed and were sent again (a tenant retried twice counts twice).
    retried: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Computed by PostgreSQL from the two times: it cannot disagree with them.
    duration: Mapped[timedelta | None] = mapped_column(
        Interval, Computed("finished_at - started_at", persisted=True)
    )

    tenants: Mapped[list[FanoutTenant]] = relationship(
        back_populates="run", order_by="FanoutTenant.municipality_code", viewonly=True
    )

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class FanoutTenant(SharedBase):
    __tablename__ = "fanout_tenants"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("shared.fanout_runs.id", ondelete="CASCADE"), primary_key=True
    )
    # The registry's code (shared.tenants), not a foreign key: an archived or removed tenant
    # keeps its history in past runs.
    municipality_code: Mapped[str] = mapped_column(CHAR(4), primary_key=True)
    state: Mapped[TenantState] = mapped_column(
        string_enum(TenantState, "fanout_tenant_state"), index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The exception's class name (e.g. "OperationalError"), never its message.
    error_type: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    run: Mapped[FanoutRun] = relationship(back_populates="tenants")
