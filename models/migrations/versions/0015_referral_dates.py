"""referral: when the local authority became aware, and whether it is a domestic homicide

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("incident_known_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("domestic_homicide", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Until now the store took the board's notification date as the day the incident was known.
    op.execute("UPDATE referral SET incident_known_on = notified_on")
    with op.batch_alter_table("referral") as batch:
        batch.alter_column("incident_known_on", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("domestic_homicide")
        batch.drop_column("incident_known_on")
