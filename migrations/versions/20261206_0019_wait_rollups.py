"""wait roll-ups: histograms of the waits to claim and to resolve, per day, for the dashboard's medians and SLA

- wait_rollups: per measure, team, key and UTC day, how many waits fell in each span (0: none or less;
  1–720: the hour of waiting it ended in, (h−1 h, h h]; 721+: the day beyond 30 days). Measures: "claim"
  and "resolve" by the day of the claim / resolve (key ""); "sla" by the day the item was received, keyed
  by its SLA key (the kind "escalation", else the category), only items that are not imported history,
  with span −1 counting every such item received that day, claimed or not.
- wait_minute_rollups: the same waits by `minutes`, the wait rounded up to the minute up to 30 days, to
  the day beyond; keyed with the span first, so the minutes of one span over a year are one range.
See models/rollup.py. Triggers on follow_ups (insert, delete, a change of item_id, claimed_at or
resolved_at) and on items (insert, a change of received_at, team, kind, category or imported_at, and
BEFORE delete, while the follow-up can still be read) keep them equal to a GROUP BY over the rows. No
advisory lock (0018's triggers take one): a claim or resolve waits only for another transaction writing
the same counter rows. Two transactions adding to shared rows in opposite orders (a bulk purge and a claim
of the same day) can still deadlock on Postgres, which then aborts one of them. Filled from the existing rows.

Beware, as with 0018: a later `batch_alter_table` that recreates `items` or `follow_ups` on SQLite drops
these triggers too; such a migration must call the newest wait-roll-up revision's `create_triggers()`
again (20261206_0020's since that revision).

Revision ID: 20261206_0019
Revises: 20261206_0018
Create Date: 2026-12-06 20:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261206_0019'
down_revision = '20261206_0018'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = ("waits_follow_ups_ai", "waits_follow_ups_ad", "waits_follow_ups_au", "waits_items_ai",
                   "waits_items_bd", "waits_items_au")
# A measure's columns: (day, wait from, wait to). The wait is `to` − `from`.
MEASURES = {"claim": ("claimed_at", "received_at", "claimed_at"),
            "resolve": ("resolved_at", "received_at", "resolved_at"),
            "sla": ("received_at", "received_at", "claimed_at")}
RECEIVED_SPAN = -1


def _day(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"substr({column}, 1, 10)"  # SQLite keeps UTC datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'


def _ceil_minutes(dialect: str, later: str, earlier: str) -> str:
    """later − earlier in minutes, rounded up: the same arithmetic as bot.insights.stats.minutes_between."""
    if dialect == "postgresql":
        return f"CAST(CEIL(EXTRACT(EPOCH FROM ({later} - {earlier})) / 60.0) AS INTEGER)"
    minutes = f"((julianday({later}) - julianday({earlier})) * 1440.0)"
    return f"(CAST({minutes} AS INTEGER) + ({minutes} > CAST({minutes} AS INTEGER)))"


def _minutes_bucket(c: str) -> str:
    """bot.insights.stats.wait_bucket, of whole minutes rounded up."""
    return f"CASE WHEN {c} <= 0 THEN 0 WHEN {c} <= 43200 THEN {c} ELSE (({c} + 1439) / 1440) * 1440 END"


def _span(m: str) -> str:
    """bot.insights.stats.wait_span, of a minutes bucket."""
    return f"CASE WHEN {m} <= 0 THEN 0 WHEN {m} <= 43200 THEN ({m} + 59) / 60 ELSE 720 + ({m} - 43200 + 1439) / 1440 END"


def _sla_key(item: str) -> str:
    return f"CASE WHEN {item}.kind = 'escalation' THEN 'escalation' ELSE {item}.category END"


def _waits(dialect: str, measure: str, item: str, follow_up: str, source: str) -> str:
    """SELECT team, key, day, minutes (the bucket) of the waits of `measure`: `item` and `follow_up` name
    the rows (OLD / NEW or aliases), `source` is the FROM … WHERE joining them (or a WHERE)."""
    day, start, end = MEASURES[measure]
    key, scope = "''", f"{follow_up}.{end} IS NOT NULL"
    if measure == "sla":
        key, scope = _sla_key(item), f"{scope} AND {item}.imported_at IS NULL AND {_sla_key(item)} IS NOT NULL"
    c = _ceil_minutes(dialect, f"{follow_up}.{end}", f"{item}.{start}")
    day_of = _day(dialect, f"{(item if day == 'received_at' else follow_up)}.{day}")
    return (f"SELECT w.team AS team, w.key AS key, w.day AS day, {_minutes_bucket('w.c')} AS minutes FROM ("
            f"SELECT {item}.team AS team, {key} AS key, {day_of} AS day, {c} AS c {source} AND {scope}) AS w")


def _received(dialect: str, item: str) -> str:
    return (f"SELECT {item}.team AS team, {_sla_key(item)} AS key, {_day(dialect, f'{item}.received_at')} AS day "
            f"WHERE {item}.imported_at IS NULL AND {_sla_key(item)} IS NOT NULL")


def _upserts(waits: str, measure: str, delta: str) -> list[str]:
    return [
        f"INSERT INTO wait_rollups (measure, team, key, day, span, items) "
        f"SELECT '{measure}', v.team, v.key, v.day, {_span('v.minutes')}, {delta} FROM ({waits}) AS v WHERE true "
        f"ON CONFLICT (measure, team, key, day, span) DO UPDATE SET items = wait_rollups.items + excluded.items",
        f"INSERT INTO wait_minute_rollups (measure, team, key, span, day, minutes, items) "
        f"SELECT '{measure}', v.team, v.key, {_span('v.minutes')}, v.day, v.minutes, {delta} FROM ({waits}) AS v "
        f"WHERE true ON CONFLICT (measure, team, key, span, day, minutes) "
        f"DO UPDATE SET items = wait_minute_rollups.items + excluded.items",
    ]


def _received_upsert(dialect: str, item: str, delta: str) -> str:
    return (f"INSERT INTO wait_rollups (measure, team, key, day, span, items) "
            f"SELECT 'sla', r.team, r.key, r.day, {RECEIVED_SPAN}, {delta} FROM ({_received(dialect, item)}) AS r "
            f"WHERE true ON CONFLICT (measure, team, key, day, span) DO UPDATE SET items = wait_rollups.items + excluded.items")


def _of_follow_up(dialect: str, row: str, delta: str) -> list[str]:
    """The waits of the follow-up `row` (NEW / OLD), its item read from items (none once it is deleted)."""
    source = f"FROM items AS i WHERE i.id = {row}.item_id"
    return [s for measure in MEASURES for s in _upserts(_waits(dialect, measure, "i", row, source), measure, delta)]


def _of_item(dialect: str, row: str, delta: str) -> list[str]:
    """The waits of the item `row` (NEW / OLD) with its follow-up as stored, and its SLA count."""
    source = f"FROM follow_ups AS f WHERE f.item_id = {row}.id"
    return [*(s for measure in MEASURES for s in _upserts(_waits(dialect, measure, row, "f", source), measure, delta)),
            _received_upsert(dialect, row, delta)]


FOLLOW_UP_COLUMNS = "item_id, claimed_at, resolved_at"
ITEM_COLUMNS = "received_at, team, kind, category, imported_at"


def create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        def body(statements: list[str]) -> str:
            return ";\n    ".join(statements)

        op.execute(f"""
CREATE FUNCTION waits_follow_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.item_id, NEW.claimed_at, NEW.resolved_at)
      IS NOT DISTINCT FROM (OLD.item_id, OLD.claimed_at, OLD.resolved_at) THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {body(_of_follow_up(dialect, 'OLD', '-1'))};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    {body(_of_follow_up(dialect, 'NEW', '1'))};
  END IF;
  RETURN NULL;
END $$""")
        op.execute("CREATE TRIGGER waits_follow_up AFTER INSERT OR DELETE OR UPDATE OF "
                   f"{FOLLOW_UP_COLUMNS} ON follow_ups FOR EACH ROW EXECUTE FUNCTION waits_follow_up()")
        # Deletes are counted BEFORE the row goes: its follow-up is deleted by the cascade after it, when the
        # follow-up's trigger no longer finds the item (and so counts nothing twice).
        op.execute(f"""
CREATE FUNCTION waits_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.received_at, NEW.team, NEW.kind, NEW.category, NEW.imported_at)
      IS NOT DISTINCT FROM (OLD.received_at, OLD.team, OLD.kind, OLD.category, OLD.imported_at) THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {body(_of_item(dialect, 'OLD', '-1'))};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    {body(_of_item(dialect, 'NEW', '1'))};
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NULL;
END $$""")
        op.execute(f"CREATE TRIGGER waits_item AFTER INSERT OR UPDATE OF {ITEM_COLUMNS} ON items "
                   "FOR EACH ROW EXECUTE FUNCTION waits_item()")
        op.execute("CREATE TRIGGER waits_item_delete BEFORE DELETE ON items FOR EACH ROW EXECUTE FUNCTION waits_item()")
        return

    def body(statements: list[str]) -> str:
        return "; ".join(statements)

    op.execute(f"CREATE TRIGGER waits_follow_ups_ai AFTER INSERT ON follow_ups BEGIN "
               f"{body(_of_follow_up(dialect, 'new', '1'))}; END")
    op.execute(f"CREATE TRIGGER waits_follow_ups_ad AFTER DELETE ON follow_ups BEGIN "
               f"{body(_of_follow_up(dialect, 'old', '-1'))}; END")
    op.execute(f"CREATE TRIGGER waits_follow_ups_au AFTER UPDATE OF {FOLLOW_UP_COLUMNS} ON follow_ups BEGIN "
               f"{body(_of_follow_up(dialect, 'old', '-1'))}; {body(_of_follow_up(dialect, 'new', '1'))}; END")
    op.execute(f"CREATE TRIGGER waits_items_ai AFTER INSERT ON items BEGIN {_received_upsert(dialect, 'new', '1')}; END")
    # BEFORE: the cascade deletes the follow-up after the item, when its own trigger finds no item.
    op.execute(f"CREATE TRIGGER waits_items_bd BEFORE DELETE ON items BEGIN {body(_of_item(dialect, 'old', '-1'))}; END")
    op.execute(f"CREATE TRIGGER waits_items_au AFTER UPDATE OF {ITEM_COLUMNS} ON items BEGIN "
               f"{body(_of_item(dialect, 'old', '-1'))}; {body(_of_item(dialect, 'new', '1'))}; END")


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS waits_item_delete ON items")
        op.execute("DROP TRIGGER IF EXISTS waits_item ON items")
        op.execute("DROP TRIGGER IF EXISTS waits_follow_up ON follow_ups")
        op.execute("DROP FUNCTION IF EXISTS waits_item()")
        op.execute("DROP FUNCTION IF EXISTS waits_follow_up()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def fill_rollups() -> None:
    """The roll-ups of the rows stored before this revision: one GROUP BY per measure."""
    dialect = op.get_bind().dialect.name
    source = "FROM items AS i JOIN follow_ups AS f ON f.item_id = i.id WHERE true"
    for measure in MEASURES:
        waits = _waits(dialect, measure, "i", "f", source)
        span = _span("v.minutes")
        op.execute(f"INSERT INTO wait_minute_rollups (measure, team, key, span, day, minutes, items) "
                   f"SELECT '{measure}', v.team, v.key, {span}, v.day, v.minutes, COUNT(*) FROM ({waits}) AS v "
                   f"GROUP BY v.team, v.key, v.day, v.minutes")
    op.execute("INSERT INTO wait_rollups (measure, team, key, day, span, items) "
               "SELECT measure, team, key, day, span, SUM(items) FROM wait_minute_rollups "
               "GROUP BY measure, team, key, day, span")
    received = _received(dialect, "i").replace("WHERE", "FROM items AS i WHERE", 1)
    op.execute(f"INSERT INTO wait_rollups (measure, team, key, day, span, items) "
               f"SELECT 'sla', r.team, r.key, r.day, {RECEIVED_SPAN}, COUNT(*) FROM ({received}) AS r "
               f"GROUP BY r.team, r.key, r.day")


def upgrade() -> None:
    op.create_table('wait_rollups',
                    sa.Column('measure', sa.String(length=8), nullable=False),
                    sa.Column('team', sa.String(length=64), nullable=False),
                    sa.Column('key', sa.String(length=16), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('span', sa.Integer(), nullable=False),
                    sa.Column('items', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('measure', 'team', 'key', 'day', 'span', name=op.f('pk_wait_rollups')),
                    sqlite_with_rowid=False)
    op.create_table('wait_minute_rollups',
                    sa.Column('measure', sa.String(length=8), nullable=False),
                    sa.Column('team', sa.String(length=64), nullable=False),
                    sa.Column('key', sa.String(length=16), nullable=False),
                    sa.Column('span', sa.Integer(), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('minutes', sa.Integer(), nullable=False),
                    sa.Column('items', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('measure', 'team', 'key', 'span', 'day', 'minutes',
                                            name=op.f('pk_wait_minute_rollups')),
                    sqlite_with_rowid=False)
    fill_rollups()
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    op.drop_table('wait_minute_rollups')
    op.drop_table('wait_rollups')
