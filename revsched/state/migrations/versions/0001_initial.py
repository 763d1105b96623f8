"""The state store as it was when migrations began (before this, create_all made it).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Runs, audit, alerts, fired stages, round-robin cursors and play leases."""
    op.create_table(
        "cursors",
        sa.Column("pool", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pool", name=op.f("cursors_pkey")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("leases_pkey")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("play", sa.String(length=100), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("reverts_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reverts_run_id"], ["runs.id"], name=op.f("runs_reverts_run_id_fkey")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("runs_pkey")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_play"), ["play"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("alerts_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("alerts_pkey")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_run_id"), ["run_id"], unique=False)

    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sobject", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("record_name", sa.String(length=255), nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("old", sa.Text(), nullable=False),
        sa.Column("new", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("changes_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("changes_pkey")),
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_changes_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_changes_run_id"), ["run_id"], unique=False)

    op.create_table(
        "creates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sobject", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.String(length=18), nullable=True),
        sa.Column("record_id", sa.String(length=18), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("creates_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("creates_pkey")),
    )
    with op.batch_alter_table("creates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_creates_run_id"), ["run_id"], unique=False)

    op.create_table(
        "deletes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sobject", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("deletes_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("deletes_pkey")),
    )
    with op.batch_alter_table("deletes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deletes_run_id"), ["run_id"], unique=False)

    op.create_table(
        "firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("play", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("firings_run_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("firings_pkey")),
        sa.UniqueConstraint(
            "play", "record_id", "stage", name=op.f("firings_play_record_id_stage_key")
        ),
    )


def downgrade() -> None:
    """Drop everything."""
    op.drop_table("firings")
    with op.batch_alter_table("deletes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletes_run_id"))

    op.drop_table("deletes")
    with op.batch_alter_table("creates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creates_run_id"))

    op.drop_table("creates")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_changes_run_id"))
        batch_op.drop_index(batch_op.f("ix_changes_record_id"))

    op.drop_table("changes")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_run_id"))

    op.drop_table("alerts")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_play"))

    op.drop_table("runs")
    op.drop_table("leases")
    op.drop_table("cursors")
