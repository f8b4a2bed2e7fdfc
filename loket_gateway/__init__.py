"""The office side of Loket Mandiri: the kiosk gateway as a service an office deploys.

It serves the contract (kiosk/gateway/openapi.yaml) over HTTP(S) with mutual TLS, on PostgreSQL in
production and SQLite for the demo and a desk, through one code path (SQLAlchemy Core, Alembic
migrations). It shares with the kiosk only the contract and the ticket format; nothing of the kiosk's
code imports it.
"""

__version__ = "0.1.0"
