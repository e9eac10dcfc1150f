"""workspace sessions that end: a per-user session generation, and lock-out counters for
usernames that are not (or no longer) accounts

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace_user") as batch:
        batch.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "workspace_login_failure",
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_workspace_login_failure")),
    )


def downgrade() -> None:
    op.drop_table("workspace_login_failure")
    with op.batch_alter_table("workspace_user") as batch:
        batch.drop_column("session_generation")
