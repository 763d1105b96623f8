"""The merges a run made: each merged record's values and the master's before/after.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sobject", sa.String(length=100), nullable=False),
        sa.Column("master_id", sa.String(length=18), nullable=False),
        sa.Column("master_name", sa.String(length=255), nullable=False),
        sa.Column("merged_id", sa.String(length=18), nullable=False),
        sa.Column("merged_name", sa.String(length=255), nullable=False),
        sa.Column("merged_fields", sa.Text(), nullable=False),
        sa.Column("master_before", sa.Text(), nullable=False),
        sa.Column("master_after", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("merges_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("merges_pkey")),
    )
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merges_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merges_master_id"), ["master_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merges_merged_id"), ["merged_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merges_merged_id"))
        batch_op.drop_index(batch_op.f("ix_merges_master_id"))
        batch_op.drop_index(batch_op.f("ix_merges_run_id"))
    op.drop_table("merges")
