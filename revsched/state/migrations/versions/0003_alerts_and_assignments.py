"""Alert ledger (exactly-once delivery), Slack user cache, daily assignment counts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("play", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("destination", sa.String(length=400), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("alert_deliveries_pkey")),
        sa.UniqueConstraint(
            "play",
            "record_id",
            "stage",
            "destination",
            name=op.f("alert_deliveries_play_record_id_stage_destination_key"),
        ),
    )
    op.create_table(
        "assignment_counts",
        sa.Column("pool", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pool", "username", "day", name=op.f("assignment_counts_pkey")),
    )
    op.create_table(
        "slack_users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=True),
        sa.Column("looked_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("slack_users_pkey")),
    )


def downgrade() -> None:
    op.drop_table("slack_users")
    op.drop_table("assignment_counts")
    op.drop_table("alert_deliveries")
