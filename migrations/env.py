from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from bot.db import make_engine
from migrations.schema_filter import AUTOGENERATE_OPTIONS
from models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, **AUTOGENERATE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
    # AUTOGENERATE_OPTIONS: `alembic revision --autogenerate` leaves the hand-made /vip search indexes alone.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      **AUTOGENERATE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
