"""Alembic's environment for the gateway: runs on the connection `loket_gateway.db.migrate` passes in
(or on the URL in the config), with the package's tables as the target for autogenerate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from loket_gateway.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
