"""wait roll-ups: a claim or a resolve recounts only the measures it changes

0019's trigger on follow_ups took back and re-added every measure (claim, resolve, SLA) of the follow-up on
any change of item_id, claimed_at or resolved_at: twelve upserts for a resolve that changes one measure.
Now a resolve (resolved_at) recounts "resolve" only, a claim or unclaim (claimed_at) "claim" and "sla",
and only a move to another item (item_id) all three; an UPDATE that leaves the three columns as they were
recounts nothing. The counts are the same as before (tests/service/insights/test_rollups.py compares
them with a GROUP BY over the rows); a bulk resolve of 20 000 follow-ups on SQLite took 5.2 s, now 1.05 s.

Beware, as with 0019: a later `batch_alter_table` that recreates `items` or `follow_ups` on SQLite drops
these triggers; such a migration must call this revision's `create_triggers()` again (it creates 0019's
triggers with this revision's on follow_ups).

Revision ID: 20261206_0020
Revises: 20261206_0019
Create Date: 2026-12-06 23:00:00.000000
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = '20261206_0020'
down_revision = '20261206_0019'
branch_labels = None
depends_on = None


def _revision_0019():
    """0019's SQL builders (a migration file is not an importable module name)."""
    path = Path(__file__).with_name("20261206_0019_wait_rollups.py")
    spec = importlib.util.spec_from_file_location("cxloop_migration_20261206_0019", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


W = _revision_0019()
ALL = tuple(W.MEASURES)
# Which measures read which column of follow_ups (0019's MEASURES: the wait is `to` - `from`).
OF_CLAIM = ("claim", "sla")
OF_RESOLVE = ("resolve",)
SQLITE_TRIGGERS = ("waits_follow_ups_au_item", "waits_follow_ups_au_claim", "waits_follow_ups_au_resolve")


def _of_follow_up(dialect: str, row: str, delta: str, measures: tuple[str, ...]) -> list[str]:
    source = f"FROM items AS i WHERE i.id = {row}.item_id"
    return [s for measure in measures
            for s in W._upserts(W._waits(dialect, measure, "i", row, source), measure, delta)]


def _moved(dialect: str, measures: tuple[str, ...], joiner: str) -> str:
    """Take the old row's waits of `measures` back and add the new row's."""
    return joiner.join([*_of_follow_up(dialect, "OLD" if dialect == "postgresql" else "old", "-1", measures),
                        *_of_follow_up(dialect, "NEW" if dialect == "postgresql" else "new", "1", measures)])


def _postgres_function() -> str:
    d, j = "postgresql", ";\n    "
    return f"""
CREATE OR REPLACE FUNCTION waits_follow_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.item_id IS DISTINCT FROM OLD.item_id THEN
      {_moved(d, ALL, j)};
      RETURN NULL;
    END IF;
    IF NEW.claimed_at IS DISTINCT FROM OLD.claimed_at THEN
      {_moved(d, OF_CLAIM, j)};
    END IF;
    IF NEW.resolved_at IS DISTINCT FROM OLD.resolved_at THEN
      {_moved(d, OF_RESOLVE, j)};
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    {j.join(_of_follow_up(d, 'OLD', '-1', ALL))};
  END IF;
  IF TG_OP = 'INSERT' THEN
    {j.join(_of_follow_up(d, 'NEW', '1', ALL))};
  END IF;
  RETURN NULL;
END $$"""


def _sqlite_update_triggers() -> None:
    d, j = "sqlite", "; "
    op.execute("CREATE TRIGGER waits_follow_ups_au_item AFTER UPDATE OF item_id ON follow_ups "
               f"WHEN old.item_id IS NOT new.item_id BEGIN {_moved(d, ALL, j)}; END")
    op.execute("CREATE TRIGGER waits_follow_ups_au_claim AFTER UPDATE OF claimed_at ON follow_ups "
               "WHEN old.item_id IS new.item_id AND old.claimed_at IS NOT new.claimed_at "
               f"BEGIN {_moved(d, OF_CLAIM, j)}; END")
    op.execute("CREATE TRIGGER waits_follow_ups_au_resolve AFTER UPDATE OF resolved_at ON follow_ups "
               "WHEN old.item_id IS new.item_id AND old.resolved_at IS NOT new.resolved_at "
               f"BEGIN {_moved(d, OF_RESOLVE, j)}; END")


def create_triggers() -> None:
    """0019's triggers, with this revision's on updates of follow_ups."""
    W.create_triggers()
    _replace_update_trigger()


def _replace_update_trigger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_postgres_function())
    else:
        op.execute("DROP TRIGGER IF EXISTS waits_follow_ups_au")
        _sqlite_update_triggers()


def drop_triggers() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    W.drop_triggers()


def upgrade() -> None:
    _replace_update_trigger()


def downgrade() -> None:
    drop_triggers()
    W.create_triggers()
