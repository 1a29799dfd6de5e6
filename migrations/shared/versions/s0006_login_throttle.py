"""login throttle and shared rate-limit counters (filled in by issue 10 section 4)

Revision ID: s0006
Revises: s0005
Create Date: 2026-12-07 03:50:00
"""

from collections.abc import Sequence

revision: str = "s0006"
down_revision: str | None = "s0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
