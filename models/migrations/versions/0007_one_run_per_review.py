"""one run per review: review.flow_run_id is unique; review.run_key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 08:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A unique index (not a constraint) so SQLite needs no table rebuild; NULLs stay allowed
    # (a review not started yet) on SQLite and PostgreSQL alike.
    op.create_index("uq_review_flow_run_id", "review", ["flow_run_id"], unique=True)
    # The key of the review's Prefect run (its idempotency key), drawn once per review.
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_key", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_review_run_key"), ["run_key"])


def downgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_review_run_key"), type_="unique")
        batch_op.drop_column("run_key")
    op.drop_index("uq_review_flow_run_id", table_name="review")
