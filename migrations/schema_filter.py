"""What autogenerate compares: the models against the database, minus what lives outside the models on purpose.

Migration 20261122_0006 builds the `/vip` search indexes by hand, per dialect, and no model describes them:
- SQLite: an FTS5 virtual table per searched column and the shadow tables FTS5 keeps for it;
- Postgres: a pg_trgm GIN index per searched column.
Without this filter `alembic revision --autogenerate` (and the drift test) would propose dropping them.
migrations/env.py and tests/migrations/test_migrations.py both use AUTOGENERATE_OPTIONS.
"""

from __future__ import annotations

from typing import Any

# (table, column) searched by bot/vip/search.py, as created by migration 20261122_0006.
_SEARCHED = (("accounts", "search_name"), ("account_domains", "domain"), ("contacts", "email"))
# SQLite: the FTS5 virtual tables, and the shadow tables FTS5 creates beside each
# (https://www.sqlite.org/fts5.html; `_content` only exists without `content=`, listed for completeness).
FTS5_TABLES = frozenset(f"{table}_search_fts" for table, _column in _SEARCHED)
FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
SQLITE_TABLES_OUTSIDE_MODELS = FTS5_TABLES | frozenset(
    f"{fts}{suffix}" for fts in FTS5_TABLES for suffix in FTS5_SHADOW_SUFFIXES)
# Postgres: the GIN trigram indexes (their operator class is not expressed in the models).
INDEXES_OUTSIDE_MODELS = frozenset(f"ix_{table}_{column}_trgm" for table, column in _SEARCHED)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Skip only objects found in the database that no model declares and that are listed above."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "table":
        return name not in SQLITE_TABLES_OUTSIDE_MODELS
    if type_ == "index":
        return name not in INDEXES_OUTSIDE_MODELS
    return True


AUTOGENERATE_OPTIONS: dict[str, Any] = {
    "include_object": include_object,
    "compare_type": True,
    "compare_server_default": True,
}
