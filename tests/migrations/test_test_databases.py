"""The Postgres test databases are reused (tests/conftest.py): a reused one must be indistinguishable
from a fresh copy of the template, and one whose schema a test changed must not be reused."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.db import head_revision

AUDIT_ROW = text("INSERT INTO audit_log (action, actor, subject, detail, created_at) "
                 "VALUES ('test', 'U0ANA', 'x', '{}', now()) RETURNING id")


@pytest.fixture
def databases(request):
    found = request.getfixturevalue("_postgres_databases")
    if found is None:
        pytest.skip("Postgres not configured (set CXLOOP_TEST_DATABASE_URL)")
    return found


def _execute(url: str, statement, *, scalar: bool = True):
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(statement)
            return result.scalar_one() if scalar else None
    finally:
        engine.dispose()


def test_a_reused_database_has_the_templates_rows_and_sequences(databases):
    name = databases.take()
    url = databases.url(name)
    first_id = _execute(url, AUDIT_ROW)
    _execute(url, AUDIT_ROW)
    kept = len(databases.free)
    databases.give_back(name)
    assert len(databases.free) == kept + 1  # kept for the next test, not dropped

    reused = databases.take()
    assert reused != name  # renamed: whatever still holds the old URL reaches nothing
    url = databases.url(reused)
    assert _execute(url, text("SELECT count(*) FROM audit_log")) == 0
    assert _execute(url, text("SELECT version_num FROM alembic_version")) == head_revision()
    assert _execute(url, AUDIT_ROW) == first_id  # ids start where a fresh copy's start
    databases.give_back(reused)


def test_a_database_whose_schema_changed_is_not_reused(databases):
    name = databases.take()
    _execute(databases.url(name), text("DROP TABLE follow_up_events CASCADE"), scalar=False)
    kept = len(databases.free)
    databases.give_back(name)
    assert len(databases.free) == kept  # dropped
    reused = databases.take()
    tables = _execute(databases.url(reused), text(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'follow_up_events'"))
    assert tables == 1
    databases.give_back(reused)
