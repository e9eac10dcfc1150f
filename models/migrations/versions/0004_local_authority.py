"""the board's local authority (for the LCSPR serious incident notification)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_authority_agency_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_board_local_authority_agency_id_agency"),
            "agency",
            ["local_authority_agency_id"],
            ["id"],
            use_alter=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_board_local_authority_agency_id_agency"), type_="foreignkey"
        )
        batch_op.drop_column("local_authority_agency_id")
