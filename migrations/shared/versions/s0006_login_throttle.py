"""login throttle and shared rate-limit counters (issue 10 section 4)

The embedded issuer's login failures per username (Keycloak's brute-force detection) and the
hits of the `limits` library's database storage, counted by every worker together.

Revision ID: s0006
Revises: s0005
Create Date: 2026-12-07 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0006"
down_revision: str | None = "s0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_login_failures",
        sa.Column("username_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username_hash", name=op.f("pk_identity_login_failures")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_identity_login_failures_last_failure_at"),
        "identity_login_failures",
        ["last_failure_at"],
        unique=False,
        schema="shared",
    )
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("hit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_rate_limit_hits_key_hit_at"),
        "rate_limit_hits",
        ["key", "hit_at"],
        unique=False,
        schema="shared",
    )
    op.create_index(
        op.f("ix_rate_limit_hits_expires_at"),
        "rate_limit_hits",
        ["expires_at"],
        unique=False,
        schema="shared",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_rate_limit_hits_expires_at"), table_name="rate_limit_hits", schema="shared"
    )
    op.drop_index(
        op.f("ix_rate_limit_hits_key_hit_at"), table_name="rate_limit_hits", schema="shared"
    )
    op.drop_table("rate_limit_hits", schema="shared")
    op.drop_index(
        op.f("ix_identity_login_failures_last_failure_at"),
        table_name="identity_login_failures",
        schema="shared",
    )
    op.drop_table("identity_login_failures", schema="shared")
