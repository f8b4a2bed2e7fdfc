"""The gateway's tables (SQLAlchemy Core): the office's data, bookings and leases, kiosk events, the
fleet and journal anchors. The Alembic migrations build exactly this (tests/test_gw_ops.py compares).

Capacity is guarded by the database itself: CHECK constraints keep `booked <= capacity` and
`used <= granted`, so even a bug in the code cannot commit an overbooked slot or an overdrawn lease.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = 64  # kiosk, office, booking, event and card IDs

offices = Table(
    "offices",
    metadata,
    Column("office_id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(6), nullable=False),
)

residents = Table(
    "residents",
    metadata,
    Column("nik", String(16), primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("district", String(6), nullable=False),
    Column("status", String(32), nullable=False),
    Column("since", Date, nullable=False),
    Column("old_chip_uid", String(20), unique=True),
    Column("card_id", String(ID), unique=True),
    Column("new_chip_uid", String(20)),
    Column("office_id", String(ID)),
    Column("kiosk_id", String(ID)),  # the vault the card is in; None: any kiosk of its office (phase 1)
    Index("ix_residents_status_office", "status", "office_id"),
    Index("ix_residents_kiosk", "kiosk_id"),
)

card_photos = Table(
    "card_photos",
    metadata,
    Column("card_id", String(ID), primary_key=True),
    Column("photo", LargeBinary, nullable=False),
)

slots = Table(
    "slots",
    metadata,
    Column("office_id", String(ID), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("time", String(5), primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("booked", Integer, nullable=False, server_default="0"),
    CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slots_within_capacity"),
    Index("ix_slots_day", "day"),
)

bookings = Table(
    "bookings",
    metadata,
    Column("booking_id", String(ID), primary_key=True),
    Column("nik", String(16), nullable=False),
    Column("office_id", String(ID), nullable=False),
    Column("day", Date, nullable=False),
    Column("time", String(5), nullable=False),
    Column("code", String(32), nullable=False),
    Column("kiosk_id", String(ID)),
    Column("created", Float, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("kiosk_id", String(ID), primary_key=True),
    Column("office_id", String(ID), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("time", String(5), primary_key=True),
    Column("granted", Integer, nullable=False),
    Column("used", Integer, nullable=False, server_default="0"),
    CheckConstraint("used >= 0 AND used <= granted", name="ck_leases_within_grant"),
)

consumed_tickets = Table(
    "consumed_tickets",
    metadata,
    Column("ticket_id", String(16), primary_key=True),
    Column("kiosk_id", String(ID), nullable=False),
    Column("at", Float, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(ID), primary_key=True),
    Column("kiosk_id", String(ID), nullable=False),
    Column("kind", String(ID), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received", Float, nullable=False),
    Column("deliveries", Integer, nullable=False, server_default="1"),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("event_id", String(ID), primary_key=True),
    Column("kiosk_id", String(ID), nullable=False),
    Column("kind", String(ID), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("at", Float, nullable=False),
)

kiosks = Table(
    "kiosks",
    metadata,
    Column("kiosk_id", String(ID), primary_key=True),
    Column("office_id", String(ID), nullable=False),
    Column("api_key_sha256", String(64), nullable=False),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("kiosk_id", String(ID), primary_key=True),
    Column("at", Float, nullable=False),
    Column("payload", Text, nullable=False),
)

enrolment_tokens = Table(
    "enrolment_tokens",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("kiosk_id", String(ID), nullable=False),
    Column("office_id", String(ID), nullable=False),
    Column("created", Float, nullable=False),
    Column("spent", Float),
)

journal_keys = Table(
    "journal_keys",
    metadata,
    Column("kiosk_id", String(ID), primary_key=True),
    Column("public_key", String(64), nullable=False),
)

anchors = Table(
    "anchors",
    metadata,
    Column("kiosk_id", String(ID), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
    Column("at", Float, nullable=False),
)

anchor_alarms = Table(
    "anchor_alarms",
    metadata,
    Column("kiosk_id", String(ID), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("detail", Text, nullable=False),
    Column("at", Float, nullable=False),
)

ticket_keys = Table(
    "ticket_keys",
    metadata,
    Column("key_id", Integer, primary_key=True, autoincrement=False),
    Column("private_key", LargeBinary, nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("retired", Float),
    Column("signs_from", Float),  # published from `created`, signs from here (None: at once)
)

queue_clients = Table(
    "queue_clients",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("api_key_sha256", String(64), nullable=False),
)
