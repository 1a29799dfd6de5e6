"""regulations: the uploader's name, drafts withdrawn

Revision ID: t0005
Revises: t0004
Create Date: 2026-12-07 17:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t0005"
down_revision: str | None = "t0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("draft", "approved", "submitted", "acknowledged", "returned")
CHECK = "ck_regulation_versions_regulation_status"


def _status_check(values: Sequence[str]) -> None:
    """Replace the status column's check (named by whatever convention made it) by one that
    allows ``values``."""
    for (name,) in op.get_bind().execute(
        sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'regulation_versions'::regclass "
            "AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status%'"
        )
    ):
        op.drop_constraint(name, "regulation_versions", type_="check")
    allowed = ", ".join(f"'{value}'" for value in values)
    op.create_check_constraint(CHECK, "regulation_versions", f"status IN ({allowed})")


def upgrade() -> None:
    op.add_column("regulation_versions", sa.Column("uploaded_by_name", sa.Text(), nullable=True))
    op.add_column("regulation_versions", sa.Column("withdrawn_by", sa.Text(), nullable=True))
    op.add_column(
        "regulation_versions",
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    )
    _status_check((*STATUSES, "withdrawn"))


def downgrade() -> None:
    op.execute("UPDATE regulation_versions SET status = 'draft' WHERE status = 'withdrawn'")
    _status_check(STATUSES)
    op.drop_column("regulation_versions", "withdrawn_at")
    op.drop_column("regulation_versions", "withdrawn_by")
    op.drop_column("regulation_versions", "uploaded_by_name")
