"""Watermarks (how far each incrementally reading play, route-leads, has read the org) and
the plays' lookup indexes of org records (route-leads' accounts by domain and name).

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
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
    op.create_table(
        "record_index",
        sa.Column("index_name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.PrimaryKeyConstraint("index_name", "key", "record_id", name=op.f("record_index_pkey")),
    )
    with op.batch_alter_table("record_index", schema=None) as batch_op:
        batch_op.create_index("ix_record_index_record", ["index_name", "record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("record_index", schema=None) as batch_op:
        batch_op.drop_index("ix_record_index_record")
    op.drop_table("record_index")
    op.drop_table("watermarks")
