"""OAuth tokens in the state store: Outreach's refresh token rotates at every refresh, so
the servers sharing a store keep one current pair there (sealed), not a file each.

Revision ID: 0028
Revises: 0026
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_tokens",
        sa.Column("client", sa.String(length=255), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("oauth_tokens_pkey")),
    )


def downgrade() -> None:
    op.drop_table("oauth_tokens")
