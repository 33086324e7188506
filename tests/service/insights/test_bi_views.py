"""The BI views (migration 20261206_0018) on SQLite and Postgres: their documented columns, the follow-up
state they show, an erased customer staying erased, and (Postgres) a read-only role that can read the views
and nothing else."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from bot.db import session_scope
from bot.followups.service import claim_followup, resolve_followup
from bot.intake.ingest import ingest_item
from bot.intake.payload import validate_payload
from bot.privacy.erasure import forget_customer
from bot.vip.accounts import log_touch
from models import Account
from tests.conftest import TEST_CONFIG, make_config
from tests.migrations.test_migrations import describe, drift

CONFIG = make_config(TEST_CONFIG)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
# The README's "For BI: views and exports" lists these, in this order.
COLUMNS = {
    "cx_items": ["item_id", "received_at", "source", "external_id", "team", "kind", "score", "category",
                 "sentiment_label", "sentiment_polarity", "themes", "vip", "account_id", "account_name", "plan",
                 "segment", "customer_name", "customer_email", "subject", "comment", "url", "erased_at",
                 "follow_up_status", "needs_follow_up", "claimed_by", "claimed_at", "resolved_by", "resolved_at",
                 "outcome", "resolution_note", "minutes_to_claim", "minutes_to_resolve", "agent", "role",
                 "customer_since", "imported_at"],
    "cx_touches": ["touch_id", "touched_at", "account_id", "account_name", "account_owner", "vip", "actor",
                   "channel", "item_id", "note"],
    "cx_events": ["event_id", "created_at", "item_id", "follow_up_id", "actor", "action", "from_status",
                  "to_status"],
}


def store(factory) -> dict[str, int]:
    ids = {}
    with session_scope(factory) as session:
        for n, (email, score) in enumerate((("ana@example.com", 2), ("ben@example.com", 9))):
            body = {"id": f"bi-{n}", "kind": "nps", "score": score, "comment": f"Comment by {email}",
                    "customer": {"name": f"Name {n}", "email": email}}
            ids[email] = ingest_item(session, source="generic", payload=validate_payload(body), config=CONFIG,
                                     now=NOW - timedelta(hours=3), team="success").item_id
        assert claim_followup(session, item_id=ids["ana@example.com"], user_id="U0ANA",
                              now=NOW - timedelta(hours=2)).changed
        assert resolve_followup(session, item_id=ids["ana@example.com"], user_id="U0ANA", outcome="fixed",
                                note="Called ana@example.com back", now=NOW - timedelta(hours=1)).changed
        account = Account(name="Acme", search_name="acme", vip=True, owner="U0ANA", cadence_days=30,
                          created_at=NOW, updated_at=NOW, next_due_at=NOW)
        session.add(account)
        session.flush()
        log_touch(session, account_id=account.id, actor="U0ANA", channel="call", note="Spoke to Ana",
                  item_id=ids["ana@example.com"], now=NOW)
    return ids


def rows(factory, view: str) -> list[dict]:
    with session_scope(factory) as session:
        result = session.execute(text(f"SELECT * FROM {view} ORDER BY 1"))
        return [dict(row._mapping) for row in result]


def test_the_views_have_the_documented_columns_and_the_follow_up_state(session_factory):
    ids = store(session_factory)
    with session_scope(session_factory) as session:
        for view, columns in COLUMNS.items():
            assert list(session.execute(text(f"SELECT * FROM {view} WHERE 1 = 0")).keys()) == columns
    items = {row["item_id"]: row for row in rows(session_factory, "cx_items")}
    ana = items[ids["ana@example.com"]]
    assert (ana["category"], ana["follow_up_status"], ana["claimed_by"], ana["outcome"]) == \
        ("detractor", "resolved", "U0ANA", "fixed")
    assert ana["minutes_to_claim"] == pytest.approx(60) and ana["minutes_to_resolve"] == pytest.approx(120)
    assert items[ids["ben@example.com"]]["minutes_to_claim"] is None
    assert [(e["item_id"], e["action"]) for e in rows(session_factory, "cx_events")] == \
        [(ids["ana@example.com"], "claim"), (ids["ana@example.com"], "resolve")]
    [touch] = rows(session_factory, "cx_touches")
    assert (touch["account_name"], touch["item_id"], touch["note"]) == ("Acme", ids["ana@example.com"], "Spoke to Ana")


def test_an_erased_customer_stays_erased_in_the_views(session_factory):
    ids = store(session_factory)
    with session_scope(session_factory) as session:
        forget_customer(session, email="ana@example.com", actor="U0ADMIN", now=NOW)
    every_value = " ".join(str(value) for view in COLUMNS for row in rows(session_factory, view)
                           for value in row.values())
    assert "ana@example.com" not in every_value.lower() and "Name 0" not in every_value
    assert "Spoke to Ana" not in every_value and "Called ana" not in every_value
    erased = next(row for row in rows(session_factory, "cx_items") if row["item_id"] == ids["ana@example.com"])
    assert (erased["customer_email"], erased["customer_name"], erased["comment"]) == (None, None, "[erased]")
    assert erased["erased_at"] is not None and erased["score"] == 2  # the figures stay
    assert "ben@example.com" in every_value  # the others are untouched


def test_a_read_only_role_reads_the_views_and_cannot_write(database_url, session_factory):
    if not database_url.startswith("postgresql"):
        pytest.skip("roles are a Postgres matter")
    store(session_factory)
    admin = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    role, password = f"cx_bi_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with admin.connect() as conn:
        if not conn.execute(text("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"))\
                .scalar_one():
            if os.environ.get("CI") == "true":
                pytest.fail("the test database user needs CREATEROLE for this test")
            pytest.skip("the test database user may not create roles (ALTER ROLE … CREATEROLE to run this)")
        database = make_url(database_url).database
        # The README's statements, verbatim but for the names.
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT SELECT ON cx_items, cx_touches, cx_events TO {role}"))
    reader = create_engine(make_url(database_url).set(username=role, password=password), poolclass=NullPool)
    try:
        with reader.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM cx_items")).scalar_one() == 2
            assert conn.execute(text("SELECT count(*) FROM cx_events")).scalar_one() == 2
            assert conn.execute(text("SELECT count(*) FROM cx_touches")).scalar_one() == 1
        for statement in ("INSERT INTO items (source) VALUES ('x')", "SELECT * FROM items",
                          "UPDATE follow_ups SET status = 'open'", "DELETE FROM cx_items"):
            # Refused either way: no privilege on the tables, and the views are read-only joins.
            with reader.connect() as conn, pytest.raises(DBAPIError, match="permission denied|cannot delete from view"):
                conn.execute(text(statement))
    finally:
        reader.dispose()
        with admin.connect() as conn:
            # The role owns nothing: take back what was granted, then it can go (DROP OWNED would need
            # membership in the role, which CREATEROLE alone does not give on Postgres 16+).
            conn.execute(text(f"REVOKE SELECT ON cx_items, cx_touches, cx_events FROM {role}"))
            conn.execute(text(f"REVOKE USAGE ON SCHEMA public FROM {role}"))
            conn.execute(text(f'REVOKE CONNECT ON DATABASE "{make_url(database_url).database}" FROM {role}'))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def test_autogenerate_proposes_nothing_for_the_views_or_the_rollups(database_url):
    """Alembic does not reflect views, and the roll-up tables have models: even without the drift filter,
    nothing of this revision shows as a difference."""
    names = {name for _operation, name in describe(drift(database_url, include_object=None))}
    assert not {name for name in names if name.startswith(("cx_", "item_rollups", "theme_rollups", "ix_follow_ups"))}
