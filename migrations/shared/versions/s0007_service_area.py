"""mobile units' service area: region rule as policy data, ministry exceptions (issue 10 section 6)

Revision ID: s0007
Revises: s0006
Create Date: 2026-12-07 03:50:00
"""

from collections.abc import Sequence

revision: str = "s0007"
down_revision: str | None = "s0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
