"""Engine, sessions and migrations. Entry points own the transaction via session_scope()."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Pages that only read (the dashboard) wait at most this long for a lock or a connection: a locked or
# unreachable database is a 503 page in a couple of seconds, not a 500 after the writers' 10 s.
READ_LOCK_TIMEOUT_MS = 2_000
# And a read query is bounded (Postgres): the largest dashboard over a year takes well under this.
READ_STATEMENT_TIMEOUT_MS = 30_000
READ_CONNECT_TIMEOUT_SECONDS = 3


class NotMigratedError(RuntimeError):
    pass


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _tune_sqlite(dbapi_connection, _record):
            # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL lets the web process read while the worker writes; the busy timeout waits out short locks.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            # Take the write lock up front: a deferred transaction that later writes can fail with
            # 'database is locked' without waiting, whereas BEGIN IMMEDIATE honours busy_timeout.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if "poolclass" not in kwargs:
        kwargs.update(pool_size=10, max_overflow=10)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_read_engine(url: str) -> Engine:
    """An engine for read-only pages: its own small pool, short waits, and writes refused."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": READ_LOCK_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _tune_sqlite_reader(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={READ_LOCK_TIMEOUT_MS}")
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_deferred(conn):
            # Deferred, unlike the writers' BEGIN IMMEDIATE: a reader takes no write lock, so under WAL it
            # neither waits for a writer nor holds one up, and its queries still see one snapshot.
            conn.exec_driver_sql("BEGIN")

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=3,
                           pool_timeout=READ_LOCK_TIMEOUT_MS / 1000,
                           connect_args={"connect_timeout": READ_CONNECT_TIMEOUT_SECONDS})

    @event.listens_for(engine, "begin")
    def _bounded_read(conn):
        # SET LOCAL, not connection options: they also pass through PgBouncer's transaction pooling.
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {READ_LOCK_TIMEOUT_MS}")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {READ_STATEMENT_TIMEOUT_MS}")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is interpolation syntax in ConfigParser; a password may contain one.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@functools.cache  # reading every migration file takes ~50 ms; they do not change while the process runs
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def assert_migrated(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no cxloop tables" if current is None else f"is at revision {current}, expected {head}"
        raise NotMigratedError(
            f"The database {engine.url.render_as_string(hide_password=True)} {state}. "
            "Run `cxloop db upgrade` first (the Procfile's release phase does this on Heroku)."
        )
