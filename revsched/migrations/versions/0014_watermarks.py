"""Watermarks: how far each incrementally reading play (route-leads) has read the org.

Revision ID: 0014
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watermarks",
        sa.Column("play", sa.String(length=100), nullable=False),
        sa.Column("moment", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("play", name=op.f("watermarks_pkey")),
    )


def downgrade() -> None:
    op.drop_table("watermarks")
