"""A finished card may be assigned to one kiosk's vault (the card import's `kiosk` column)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("kiosk_id", sa.String(length=64), nullable=True))
        batch.create_index("ix_residents_kiosk", ["kiosk_id"])


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.drop_index("ix_residents_kiosk")
        batch.drop_column("kiosk_id")
