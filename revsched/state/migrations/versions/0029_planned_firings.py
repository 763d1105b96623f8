"""The stages a run will fire without an alert, saved before its first write, so a run
killed part-way still fires them for the records it wrote.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planned_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("planned_firings_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("planned_firings_pkey")),
    )
    op.create_index("ix_planned_firings_run_id", "planned_firings", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_planned_firings_run_id", table_name="planned_firings")
    op.drop_table("planned_firings")
