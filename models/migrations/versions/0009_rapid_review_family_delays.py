"""LCSPR rapid review agency summaries, family involvement, recorded delays, and the board's
addresses for the regimes' notices

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("addresses", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_table(
        "agency_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("involvement", sa.Text(), nullable=False),
        sa.Column("immediate_actions", sa.Text(), nullable=False),
        sa.Column("learning", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_agency_summary_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["review.id"], name=op.f("fk_agency_summary_review_id_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_summary")),
        sa.UniqueConstraint(
            "review_id",
            "agency_id",
            "version",
            name=op.f("uq_agency_summary_review_id_agency_id_version"),
        ),
    )
    op.create_index(
        op.f("ix_agency_summary_review_id"), "agency_summary", ["review_id"], unique=False
    )
    op.create_table(
        "family_involvement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("how", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("review_name_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["review.id"], name=op.f("fk_family_involvement_review_id_review")
        ),
        sa.ForeignKeyConstraint(
            ["review_name_id"],
            ["review_name.id"],
            name=op.f("fk_family_involvement_review_name_id_review_name"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_involvement")),
    )
    op.create_index(
        op.f("ix_family_involvement_review_id"), "family_involvement", ["review_id"], unique=False
    )
    op.create_table(
        "review_delay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("learning", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["review.id"], name=op.f("fk_review_delay_review_id_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_delay")),
    )
    op.create_index(op.f("ix_review_delay_review_id"), "review_delay", ["review_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_delay_review_id"), table_name="review_delay")
    op.drop_table("review_delay")
    op.drop_index(op.f("ix_family_involvement_review_id"), table_name="family_involvement")
    op.drop_table("family_involvement")
    op.drop_index(op.f("ix_agency_summary_review_id"), table_name="agency_summary")
    op.drop_table("agency_summary")
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.drop_column("addresses")
