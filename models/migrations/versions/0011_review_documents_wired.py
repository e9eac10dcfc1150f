"""review documents wired into the flow: the learning committee's address, draft report comments

Revision ID: 0011
Revises: 0012 (the performance committee's address comes with the action plans)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.add_column(sa.Column("learning_committee_email", sa.String(254), nullable=True))
    op.create_table(
        "draft_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("draft_version", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_draft_comment_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["review.id"], name=op.f("fk_draft_comment_review_id_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_comment")),
    )
    with op.batch_alter_table("draft_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_comment_review_id"), ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("draft_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_comment_review_id"))
    op.drop_table("draft_comment")
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.drop_column("learning_committee_email")
