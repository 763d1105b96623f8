"""Audit rows indexed by (run, record): saving a run's outcomes costs the same per record
at any run size (an index on run_id alone made each save scan the whole run).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, old index on run_id alone, new index, its columns)
INDEXES = (
    ("changes", "ix_changes_run_id", "ix_changes_run_id_record_id", ["run_id", "record_id"]),
    ("creates", "ix_creates_run_id", "ix_creates_run_id_key", ["run_id", "key"]),
    ("deletes", "ix_deletes_run_id", "ix_deletes_run_id_record_id", ["run_id", "record_id"]),
)


def upgrade() -> None:
    for table, old, new, columns in INDEXES:
        op.create_index(new, table, columns)
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, new, _ in INDEXES:
        op.create_index(old, table, ["run_id"])
        op.drop_index(new, table_name=table)
