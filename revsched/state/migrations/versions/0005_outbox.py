"""The alert outbox and reconciled writes: an alert row marks the stage it fires, and a
field change or created record read back from the org after its run was interrupted
is marked reconciled.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fires", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    for table in ("changes", "creates"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("reconciled", sa.Boolean(), server_default=sa.false(), nullable=False)
            )


def downgrade() -> None:
    for table in ("creates", "changes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("reconciled")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("fires")
