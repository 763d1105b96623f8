"""The leads a run converted with convertLead(), and the contacts they became.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_conversions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(length=18), nullable=False),
        sa.Column("lead_name", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=18), nullable=False),
        sa.Column("account_name", sa.String(length=255), nullable=False),
        sa.Column("owner_id", sa.String(length=18), nullable=False),
        sa.Column("converted_status", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.String(length=18), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("lead_conversions_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("lead_conversions_pkey")),
    )
    with op.batch_alter_table("lead_conversions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_conversions_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_conversions_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_conversions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_conversions_lead_id"))
        batch_op.drop_index(batch_op.f("ix_lead_conversions_run_id"))
    op.drop_table("lead_conversions")
