"""the fan-out record (issue 12 item 6, ADR 0036): fanout_runs and fanout_tenants replace
compliance_recompute_jobs, whose rows are kept as finished runs under the same ids

Revision ID: s0008
Revises: s0007
Create Date: 2026-12-20 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "s0008"
down_revision: str | None = "s0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECOMPUTE_TASK = "kentra.compliance.recompute_tenant"


def _status(name: str, *values: str) -> sa.Enum:
    return sa.Enum(
        *values, name=name, native_enum=False, create_constraint=True, length=16, schema="shared"
    )


def upgrade() -> None:
    op.create_table(
        "fanout_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("task_name", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column(
            "status",
            _status("fanout_run_status", "queued", "running", "done", "failed"),
            nullable=False,
        ),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("retried", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "duration",
            sa.Interval(),
            sa.Computed("finished_at - started_at", persisted=True),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fanout_runs")),
        schema="shared",
    )
    op.create_index(op.f("ix_fanout_runs_task_name"), "fanout_runs", ["task_name"], schema="shared")
    op.create_index(
        op.f("ix_fanout_runs_requested_at"), "fanout_runs", ["requested_at"], schema="shared"
    )
    op.create_table(
        "fanout_tenants",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("municipality_code", sa.CHAR(length=4), nullable=False),
        sa.Column(
            "state",
            _status("fanout_tenant_state", "pending", "queued", "retrying", "done", "failed"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_type", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["shared.fanout_runs.id"],
            name=op.f("fk_fanout_tenants_run_id_fanout_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "municipality_code", name=op.f("pk_fanout_tenants")),
        schema="shared",
    )
    op.create_index(op.f("ix_fanout_tenants_state"), "fanout_tenants", ["state"], schema="shared")
    # The recompute jobs' history, kept as runs under the same ids (the policy pages and API
    # link to /policy/jobs/<id>); they had no per-tenant rows. A job that never finished
    # (its worker died) is closed as failed.
    op.execute(
        sa.text(
            "INSERT INTO shared.fanout_runs (id, task_name, actor, status, details, batch_size,"
            " total, done, failed, retried, requested_at, started_at, finished_at)"
            " OVERRIDING SYSTEM VALUE"
            " SELECT id, :task, requested_by,"
            " CASE WHEN status IN ('queued', 'running') THEN 'failed' ELSE status END,"
            " CASE WHEN policy_version_id IS NULL THEN '{}'::jsonb"
            " ELSE jsonb_build_object('policy_version_id', policy_version_id) END,"
            " 1, total, done, failed, 0, requested_at, started_at,"
            " COALESCE(finished_at, started_at, requested_at)"
            " FROM shared.compliance_recompute_jobs"
        ).bindparams(task=RECOMPUTE_TASK)
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('shared.fanout_runs', 'id'),"
        " COALESCE((SELECT max(id) FROM shared.fanout_runs), 0) + 1, false)"
    )
    op.drop_table("compliance_recompute_jobs", schema="shared")


def downgrade() -> None:
    op.create_table(
        "compliance_recompute_jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("policy_version_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "status", _status("job_status", "queued", "running", "done", "failed"), nullable=False
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["shared.policy_versions.id"],
            name=op.f("fk_compliance_recompute_jobs_policy_version_id_policy_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_recompute_jobs")),
        schema="shared",
    )
    op.execute(
        sa.text(
            "INSERT INTO shared.compliance_recompute_jobs (id, policy_version_id, status, total,"
            " done, failed, requested_by, requested_at, started_at, finished_at)"
            " OVERRIDING SYSTEM VALUE"
            " SELECT id, (details->>'policy_version_id')::bigint, status, total, done, failed,"
            " actor, requested_at, started_at, finished_at"
            " FROM shared.fanout_runs WHERE task_name = :task"
        ).bindparams(task=RECOMPUTE_TASK)
    )
    op.drop_index(op.f("ix_fanout_tenants_state"), table_name="fanout_tenants", schema="shared")
    op.drop_table("fanout_tenants", schema="shared")
    op.drop_index(op.f("ix_fanout_runs_requested_at"), table_name="fanout_runs", schema="shared")
    op.drop_index(op.f("ix_fanout_runs_task_name"), table_name="fanout_runs", schema="shared")
    op.drop_table("fanout_runs", schema="shared")
