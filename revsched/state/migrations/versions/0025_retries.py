"""Retries. Enrollments that failed for a reason that may pass (a 5xx, a 429 after its
retries, a dropped connection, a locked row) are asked again by the play's next runs: how
many runs asked, and whether another may. Records whose write failed in a watermarked
play's run (route-leads) are kept to be read again by Id while the watermark moves on.

Revision ID: 0025
Revises: 0013
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("retry", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index("ix_enrollments_retry", ["retry"], unique=False)
    op.create_table(
        "retries",
        sa.Column("play", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("play", "record_id", name=op.f("retries_pkey")),
    )


def downgrade() -> None:
    op.drop_table("retries")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollments_retry")
        batch_op.drop_column("retry")
        batch_op.drop_column("attempts")
