"""regulation submissions: the status list as the model's (a withdrawn draft is a status of
the tenant's versions; it never reaches the ministry's copy, but the column's rule is the same
enum)

Revision ID: s0009
Revises: s0008
Create Date: 2026-12-07 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0009"
down_revision: str | None = "s0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("draft", "approved", "submitted", "acknowledged", "returned")
CHECK = "ck_regulation_submissions_regulation_status"


def _status_check(values: Sequence[str]) -> None:
    """Replace the status column's check (named by whatever convention made it) by one that
    allows ``values``."""
    for (name,) in op.get_bind().execute(
        sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'shared.regulation_submissions'::regclass "
            "AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status%'"
        )
    ):
        op.drop_constraint(name, "regulation_submissions", schema="shared", type_="check")
    allowed = ", ".join(f"'{value}'" for value in values)
    op.create_check_constraint(
        CHECK, "regulation_submissions", f"status IN ({allowed})", schema="shared"
    )


def upgrade() -> None:
    _status_check((*STATUSES, "withdrawn"))


def downgrade() -> None:
    _status_check(STATUSES)
