"""Ticket key rotation (a new key is published before it signs) and the queue systems that may issue

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_keys") as batch:
        batch.add_column(sa.Column("signs_from", sa.Float(), nullable=True))
    op.create_table(
        "queue_clients",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("api_key_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("queue_clients")
    with op.batch_alter_table("ticket_keys") as batch:
        batch.drop_column("signs_from")
