"""anonymisation clearances: a hit found not identifying, per document version and place

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anonymisation_clearance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("found", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_anonymisation_clearance_document_id_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anonymisation_clearance")),
        sa.UniqueConstraint(
            "document_id",
            "place",
            "found",
            name=op.f("uq_anonymisation_clearance_document_id_place_found"),
        ),
    )
    with op.batch_alter_table("anonymisation_clearance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_anonymisation_clearance_document_id"), ["document_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("anonymisation_clearance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anonymisation_clearance_document_id"))
    op.drop_table("anonymisation_clearance")
