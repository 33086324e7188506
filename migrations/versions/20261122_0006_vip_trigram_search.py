"""vip trigram search

Trigram indexes for the `/vip` look-up (bot/vip_search.py), so narrowing no longer scans every
account name, domain and contact e-mail:

- Postgres: the pg_trgm extension and a GIN (gin_trgm_ops) index on accounts.search_name,
  account_domains.domain and contacts.email. pg_trgm is a trusted extension (PG 13+): the owner of
  the database may create it without being superuser.
- SQLite (3.34+ for the trigram tokenizer): an external-content FTS5 table per column, kept in step
  with its table by triggers, so every write (ORM, bulk INSERT, ON DELETE CASCADE) updates it.
  Beware: a later `batch_alter_table` on accounts, account_domains or contacts recreates the table on
  SQLite and drops these triggers with it; such a migration must call `create_sqlite_search()` again.

Revision ID: 20261122_0006
Revises: 20261122_0005
Create Date: 2026-11-22 23:10:00.000000
"""

from __future__ import annotations

import sqlite3

from alembic import op

revision = '20261122_0006'
down_revision = '20261122_0005'
branch_labels = None
depends_on = None

# (table, column, FTS5 table); the FTS5 names are read by bot/vip_search.py.
SEARCHED = (("accounts", "search_name", "accounts_search_fts"),
            ("account_domains", "domain", "account_domains_search_fts"),
            ("contacts", "email", "contacts_search_fts"))
FTS5_TRIGRAM_SINCE = (3, 34, 0)


def create_sqlite_search() -> None:
    """The FTS5 tables (filled from the existing rows) and the triggers that keep them in step."""
    for table, column, fts in SEARCHED:
        op.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
                   f"{column}, content='{table}', content_rowid='id', tokenize='trigram')")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        add = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column});"
        remove = f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
        op.execute(f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN {add} END")
        op.execute(f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN {remove} END")
        op.execute(f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {column} ON {table} "
                   f"BEGIN {remove} {add} END")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table, column, _fts in SEARCHED:
            op.create_index(f"ix_{table}_{column}_trgm", table, [column], postgresql_using="gin",
                            postgresql_ops={column: "gin_trgm_ops"})
    elif dialect == "sqlite":
        if sqlite3.sqlite_version_info < FTS5_TRIGRAM_SINCE:
            raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old for the /vip search index: "
                               "cxloop needs SQLite 3.34 or newer (FTS5 trigram tokenizer).")
        create_sqlite_search()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # The extension stays: other objects in the database may use it.
        for table, column, _fts in SEARCHED:
            op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
    elif dialect == "sqlite":
        for _table, _column, fts in SEARCHED:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
