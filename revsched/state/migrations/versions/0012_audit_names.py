"""Names beside the Ids in the audit: the names of a field change's old and new values when
they are records (an OwnerId's users), and the name of the record an alert is about, so
`revsched show` reads like the plan did. Older rows keep NULL and show the bare Id.

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None

# (table, column) added, each a nullable name.
COLUMNS = (("changes", "old_name"), ("changes", "new_name"), ("alerts", "record_name"))


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(length=255), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
