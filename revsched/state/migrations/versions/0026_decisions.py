"""The decisions a run made and the tables its play reported, for its report later.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sobject", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("record_name", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("decisions_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("decisions_pkey")),
    )
    op.create_index("ix_decisions_run_id", "decisions", ["run_id"], unique=False)
    op.create_table(
        "report_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("report", sa.String(length=100), nullable=False),
        sa.Column("row", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("report_rows_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("report_rows_pkey")),
    )
    op.create_index("ix_report_rows_run_id", "report_rows", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_report_rows_run_id", table_name="report_rows")
    op.drop_table("report_rows")
    op.drop_index("ix_decisions_run_id", table_name="decisions")
    op.drop_table("decisions")
