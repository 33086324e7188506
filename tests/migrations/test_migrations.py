"""The Alembic migrations on a real database (SQLite and Postgres): they upgrade a fresh database to head,
downgrade it to nothing and upgrade it again, one revision at a time too; and the migrated schema is exactly
what the models declare (an autogenerate drift check), apart from the hand-made /vip search indexes.

A model column, index or type changed without a migration fails `test_models_match_the_migrated_database`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.db import alembic_config, make_engine
from migrations.schema_filter import (
    AUTOGENERATE_OPTIONS,
    INDEXES_OUTSIDE_MODELS,
    SQLITE_TABLES_OUTSIDE_MODELS,
)
from models import Base

POSTGRES_ENV = "CXLOOP_TEST_DATABASE_URL"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """A database with nothing in it (not the migrated template the other tests copy)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} is not set: CI must run the database tests on Postgres too")
        pytest.skip(f"Postgres not configured (set {POSTGRES_ENV})")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"cxloop_mig_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _with_engine(url: str, fn):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return fn(conn)
    finally:
        engine.dispose()


def drift(url: str, **options: Any) -> list:
    """What `alembic revision --autogenerate` would write: the differences from the database to the models."""
    opts = {**AUTOGENERATE_OPTIONS, **options}
    return _with_engine(url, lambda conn: compare_metadata(MigrationContext.configure(conn, opts=opts),
                                                           Base.metadata))


def current(url: str) -> str | None:
    return _with_engine(url, lambda conn: MigrationContext.configure(conn).get_current_revision())


def schema(url: str) -> dict[str, Any]:
    """The schema as the catalogue states it: per table its columns (type, nullability, default), indexes and
    constraints; SQLite triggers. Read straight from the catalogue: SQLAlchemy's reflection (15 FTS5 tables on
    SQLite) would cost more than the migrations. Alembic's alembic_version table is left out: `current()` reads it."""
    return _with_engine(url, _sqlite_schema if url.startswith("sqlite") else _postgres_schema)


def _sqlite_schema(conn) -> dict[str, Any]:
    def pragma(statement: str) -> list[tuple]:
        return [tuple(row) for row in conn.exec_driver_sql(statement)]

    tables = {}
    for (table,) in pragma("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                           "AND name != 'alembic_version' ORDER BY name"):
        indexes = [(name, unique, origin, pragma(f"PRAGMA index_info('{name}')"))
                   for _seq, name, unique, origin, _partial in pragma(f"PRAGMA index_list('{table}')")]
        tables[table] = {
            "columns": [row[1:] for row in pragma(f"PRAGMA table_info('{table}')")],
            "indexes": sorted(indexes),
            "foreign_keys": sorted(row[2:] for row in pragma(f"PRAGMA foreign_key_list('{table}')")),
        }
    triggers = pragma("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    return {"tables": tables, "triggers": triggers}


def _postgres_schema(conn) -> dict[str, Any]:
    def rows(statement: str) -> list[tuple]:
        return [tuple(row) for row in conn.exec_driver_sql(statement)]

    tables: dict[str, dict[str, list]] = {}

    def of(table: str) -> dict[str, list]:
        return tables.setdefault(table, {"columns": [], "indexes": [], "constraints": []})

    for table, *column in rows(
            "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, "
            "numeric_scale, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name != 'alembic_version' "
            "ORDER BY table_name, ordinal_position"):
        of(table)["columns"].append(tuple(column))
    for table, *index in rows("SELECT tablename, indexname, indexdef FROM pg_indexes "
                              "WHERE schemaname = current_schema() AND tablename != 'alembic_version' "
                              "ORDER BY tablename, indexname"):
        of(table)["indexes"].append(tuple(index))
    for table, *constraint in rows(
            "SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
            "JOIN pg_class cl ON cl.oid = con.conrelid WHERE con.connamespace = current_schema()::regnamespace "
            "AND cl.relname != 'alembic_version' ORDER BY cl.relname, con.conname"):
        of(table)["constraints"].append(tuple(constraint))
    triggers = rows("SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")
    return {"tables": dict(sorted(tables.items())), "triggers": triggers}


def revisions(url: str) -> list[str]:
    """The revision ids from the first to head."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url):
    """Revision by revision: up, down one, up again, so each downgrade undoes exactly its own upgrade;
    then from head down to base (nothing left) and up to head in one go, as `cxloop db upgrade` does."""
    url, cfg = empty_database_url, alembic_config(empty_database_url)
    chain = revisions(url)
    empty = schema(url)
    assert empty == {"tables": {}, "triggers": []}

    before = empty
    for revision in chain:
        command.upgrade(cfg, revision)
        command.downgrade(cfg, "-1")
        assert schema(url) == before, f"downgrading {revision} does not give back the schema before it"
        command.upgrade(cfg, revision)
        assert current(url) == revision
        before = schema(url)
    at_head = before
    assert set(Base.metadata.tables) <= set(at_head["tables"])

    command.downgrade(cfg, "base")
    assert current(url) is None
    assert schema(url) == empty  # nothing left behind, FTS5 tables and triggers included

    command.upgrade(cfg, "head")
    assert current(url) == chain[-1]
    assert schema(url) == at_head
    assert drift(url) == []


def test_models_match_the_migrated_database(database_url):
    """The drift check: a model changed without a migration (or the reverse) shows here as a difference."""
    differences = drift(database_url)
    assert differences == [], (
        "models/ and migrations/ disagree: add a revision to migrations/versions/ (autogenerate one with "
        "alembic.command.revision(bot.db.alembic_config(url), message=..., autogenerate=True)) "
        f"or fix the model:\n{differences!r}")


def describe(differences: list) -> set[tuple[str, str]]:
    """(operation, object name) of each difference compare_metadata reports."""
    described = set()
    for diff in differences:
        diff = diff[0] if isinstance(diff, list) else diff  # modify_* come grouped per column
        operation, obj = diff[0], diff[1]
        if operation in ("add_column", "remove_column"):
            name = f"{diff[2]}.{diff[3].name}"
        elif operation.startswith("modify_"):
            name = f"{diff[2]}.{diff[3]}"
        else:
            name = obj.name
        described.add((operation, name))
    return described


def test_the_drift_filter_skips_exactly_the_hand_made_search_indexes(database_url):
    """Without the filter autogenerate proposes dropping the /vip search indexes of migration 0006; the filter
    hides all of them and nothing else, so its lists are neither stale nor hiding anything."""
    skipped = describe(drift(database_url, include_object=None)) - describe(drift(database_url))
    if database_url.startswith("sqlite"):
        existing = _with_engine(database_url, lambda conn: set(inspect(conn).get_table_names()))
        assert {"accounts_search_fts", "account_domains_search_fts", "contacts_search_fts"} <= existing
        assert skipped == {("remove_table", name) for name in SQLITE_TABLES_OUTSIDE_MODELS if name in existing}
    else:
        assert skipped == {("remove_index", name) for name in INDEXES_OUTSIDE_MODELS}


def test_alembic_check_through_env_py_finds_nothing_to_generate(database_url):
    """`alembic check` runs migrations/env.py as `alembic revision --autogenerate` does: env.py applies the
    same filter, so a developer's autogenerate does not propose dropping the search indexes."""
    command.check(alembic_config(database_url))
