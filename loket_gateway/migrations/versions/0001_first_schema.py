"""The gateway's first schema: the office's data, bookings and leases, events, the fleet and anchors

Revision ID: 0001
Revises:
Create Date: 2026-12-02 18:24:46.174127
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables_1() -> None:
    op.create_table(
        "anchor_alarms",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "kind", "seq"),
    )
    op.create_table(
        "anchors",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "seq"),
    )
    op.create_table(
        "bookings",
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    op.create_table(
        "card_photos",
        sa.Column("card_id", sa.String(length=64), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("card_id"),
    )
    op.create_table(
        "conflicts",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )


def _tables_2() -> None:
    op.create_table(
        "consumed_tickets",
        sa.Column("ticket_id", sa.String(length=16), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_table(
        "enrolment_tokens",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("spent", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received", sa.Float(), nullable=False),
        sa.Column("deliveries", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "heartbeats",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id"),
    )
    op.create_table(
        "journal_keys",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id"),
    )
    op.create_table(
        "kiosks",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("api_key_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id"),
    )


def _tables_3() -> None:
    op.create_table(
        "leases",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("used >= 0 AND used <= granted", name="ck_leases_within_grant"),
        sa.PrimaryKeyConstraint("kiosk_id", "office_id", "day", "time"),
    )
    op.create_table(
        "offices",
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=6), nullable=False),
        sa.PrimaryKeyConstraint("office_id"),
    )
    op.create_table(
        "residents",
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("district", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("old_chip_uid", sa.String(length=20), nullable=True),
        sa.Column("card_id", sa.String(length=64), nullable=True),
        sa.Column("new_chip_uid", sa.String(length=20), nullable=True),
        sa.Column("office_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("nik"),
        sa.UniqueConstraint("card_id"),
        sa.UniqueConstraint("old_chip_uid"),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index("ix_residents_status_office", ["status", "office_id"], unique=False)
    op.create_table(
        "slots",
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slots_within_capacity"),
        sa.PrimaryKeyConstraint("office_id", "day", "time"),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index("ix_slots_day", ["day"], unique=False)


def _tables_4() -> None:
    op.create_table(
        "ticket_keys",
        sa.Column("key_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("retired", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
    )


def upgrade() -> None:
    _tables_1()
    _tables_2()
    _tables_3()
    _tables_4()


def downgrade() -> None:
    op.drop_table("ticket_keys")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index("ix_slots_day")
    op.drop_table("slots")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_status_office")
    op.drop_table("residents")
    op.drop_table("offices")
    op.drop_table("leases")
    op.drop_table("kiosks")
    op.drop_table("journal_keys")
    op.drop_table("heartbeats")
    op.drop_table("events")
    op.drop_table("enrolment_tokens")
    op.drop_table("consumed_tickets")
    op.drop_table("conflicts")
    op.drop_table("card_photos")
    op.drop_table("bookings")
    op.drop_table("anchors")
    op.drop_table("anchor_alarms")
