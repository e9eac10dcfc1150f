"""performance committee's address on the board

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("board") as batch:
        batch.add_column(
            sa.Column("performance_committee_email", sa.String(length=254), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("board") as batch:
        batch.drop_column("performance_committee_email")
