"""mobile units' service area: region rule as policy data, ministry exceptions (issue 10 section 6)

Revision ID: s0007
Revises: s0006
Create Date: 2026-12-07 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0007"
down_revision: str | None = "s0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing version gets the programme's rule: the centre's region.
    op.add_column(
        "policy_versions",
        sa.Column(
            "mobile_unit_area",
            sa.Enum(
                "regional_unit",
                "region",
                "country",
                name="service_area",
                native_enum=False,
                create_constraint=False,
                length=16,
            ),
            server_default="region",
            nullable=False,
        ),
        schema="shared",
    )
    op.create_check_constraint(
        op.f("ck_policy_versions_service_area"),
        "policy_versions",
        "mobile_unit_area IN ('regional_unit', 'region', 'country')",
        schema="shared",
    )
    op.create_table(
        "service_area_exceptions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("municipality_code", sa.CHAR(length=4), nullable=False),
        sa.Column("served_municipality_code", sa.CHAR(length=4), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "municipality_code <> served_municipality_code",
            name=op.f("ck_service_area_exceptions_not_the_municipality_itself"),
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["shared.municipalities.code"],
            name=op.f("fk_service_area_exceptions_municipality_code_municipalities"),
        ),
        sa.ForeignKeyConstraint(
            ["served_municipality_code"],
            ["shared.municipalities.code"],
            name=op.f("fk_service_area_exceptions_served_municipality_code_municipalities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_area_exceptions")),
        sa.UniqueConstraint(
            "municipality_code",
            "served_municipality_code",
            name=op.f("uq_service_area_exceptions_municipality_code_served_municipality_code"),
        ),
        schema="shared",
    )
    op.create_index(
        op.f("ix_service_area_exceptions_served_municipality_code"),
        "service_area_exceptions",
        ["served_municipality_code"],
        unique=False,
        schema="shared",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_service_area_exceptions_served_municipality_code"),
        table_name="service_area_exceptions",
        schema="shared",
    )
    op.drop_table("service_area_exceptions", schema="shared")
    op.drop_constraint(
        op.f("ck_policy_versions_service_area"), "policy_versions", type_="check", schema="shared"
    )
    op.drop_column("policy_versions", "mobile_unit_area", schema="shared")
