"""daily roll-ups for the dashboard, and stable views for BI

- item_rollups / theme_rollups: items received per UTC day (and per UTC hour of it) by team, kind and
  category, and by team and theme, kept in step with `items` by triggers (see models/rollup.py), so the
  dashboard reads a year from a few thousand rows whatever the history. Filled from the existing items.
- ix_follow_ups_claimed_by, ix_follow_ups_status_needs_follow_up: who ever claimed, and what waits for
  someone, read by index (the dashboard's owner list and open work), not by a scan of every follow-up.
- cx_items, cx_touches, cx_events: read-only views for BI tools (columns documented in the README "For
  BI" section). They read the stored columns, so an erased customer is erased there too. Names and
  columns are stable: add columns at the end, never rename or drop one.

Beware: a later `batch_alter_table` that recreates `items` or `follow_ups` on SQLite drops the triggers
and trips over the views; such a migration must call `drop_views()` first, then `create_views()` and
`create_triggers()` again.

Revision ID: 20261206_0018
Revises: 20261206_0017
Create Date: 2026-12-06 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261206_0018'
down_revision = '20261206_0017'
branch_labels = None
depends_on = None

HOURS = [f"h{hour:02d}" for hour in range(24)]
VIEWS = ("cx_items", "cx_touches", "cx_events")
SQLITE_TRIGGERS = ("items_rollup_ai", "items_rollup_ad", "items_rollup_au")


# --- roll-ups --------------------------------------------------------------------------------------


def _day_hour(dialect: str, column: str) -> tuple[str, str]:
    """SQL for the UTC day and hour (0-23) of a stored datetime column."""
    if dialect == "postgresql":
        return (f"(({column}) AT TIME ZONE 'UTC')::date",
                f"CAST(EXTRACT(HOUR FROM ({column}) AT TIME ZONE 'UTC') AS INTEGER)")
    # SQLite keeps UTC datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
    return f"substr({column}, 1, 10)", f"CAST(substr({column}, 12, 2) AS INTEGER)"


def _add(dialect: str, row: str, delta: str) -> list[str]:
    """Statements adding `delta` to the roll-up rows of the item `row` (NEW or OLD)."""
    day, hour = _day_hour(dialect, f"{row}.received_at")
    hours = ", ".join(f"CASE WHEN {hour} = {index} THEN {delta} ELSE 0 END" for index in range(24))
    sums = ", ".join(f"{name} = {{t}}.{name} + excluded.{name}" for name in ["items", *HOURS])
    columns = ", ".join(HOURS)
    if dialect == "postgresql":
        themes = (f"SELECT DISTINCT theme.value #>> '{{}}' AS name FROM jsonb_array_elements("
                  f"CASE WHEN jsonb_typeof({row}.themes) = 'array' THEN {row}.themes ELSE '[]'::jsonb END) AS theme "
                  f"WHERE jsonb_typeof(theme.value) = 'string'")
    else:
        themes = (f"SELECT DISTINCT value AS name FROM json_each(CASE WHEN json_type({row}.themes) = 'array' "
                  f"THEN {row}.themes ELSE '[]' END) WHERE type = 'text'")
    return [
        f"INSERT INTO item_rollups (day, team, kind, category, items, {columns}) "
        f"SELECT {day}, {row}.team, {row}.kind, COALESCE({row}.category, ''), {delta}, {hours} WHERE true "
        f"ON CONFLICT (day, team, kind, category) DO UPDATE SET {sums.format(t='item_rollups')}",
        f"INSERT INTO theme_rollups (day, team, theme, items, {columns}) "
        f"SELECT {day}, {row}.team, themes.name, {delta}, {hours} FROM ({themes}) AS themes WHERE true "
        f"ON CONFLICT (day, team, theme) DO UPDATE SET {sums.format(t='theme_rollups')}",
    ]


COUNTED = "received_at, team, kind, category, themes"


def create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        add, remove = ";\n".join(_add(dialect, "NEW", "1")), ";\n".join(_add(dialect, "OLD", "-1"))
        op.execute(f"""
CREATE FUNCTION items_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.received_at, NEW.team, NEW.kind, NEW.category, NEW.themes)
      IS NOT DISTINCT FROM (OLD.received_at, OLD.team, OLD.kind, OLD.category, OLD.themes) THEN
    RETURN NULL;
  END IF;
  -- One writer of the roll-ups at a time: two transactions adding items of several days or teams in
  -- different orders would otherwise lock the shared counter rows crosswise (a deadlock).
  PERFORM pg_advisory_xact_lock(hashtext('cxloop.item_rollups'));
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {remove};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    {add};
  END IF;
  RETURN NULL;
END $$""")
        op.execute("CREATE TRIGGER items_rollup AFTER INSERT OR DELETE OR UPDATE OF "
                   f"{COUNTED} ON items FOR EACH ROW EXECUTE FUNCTION items_rollup()")
        return
    add, remove = "; ".join(_add(dialect, "new", "1")), "; ".join(_add(dialect, "old", "-1"))
    op.execute(f"CREATE TRIGGER items_rollup_ai AFTER INSERT ON items BEGIN {add}; END")
    op.execute(f"CREATE TRIGGER items_rollup_ad AFTER DELETE ON items BEGIN {remove}; END")
    op.execute(f"CREATE TRIGGER items_rollup_au AFTER UPDATE OF {COUNTED} ON items BEGIN {remove}; {add}; END")


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS items_rollup ON items")
        op.execute("DROP FUNCTION IF EXISTS items_rollup()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def fill_rollups() -> None:
    """The roll-ups of the items stored before this revision: one GROUP BY each."""
    dialect = op.get_bind().dialect.name
    day, hour = _day_hour(dialect, "received_at")
    hours = ", ".join(f"SUM(CASE WHEN {hour} = {index} THEN 1 ELSE 0 END)" for index in range(24))
    columns = ", ".join(HOURS)
    op.execute(f"INSERT INTO item_rollups (day, team, kind, category, items, {columns}) "
               f"SELECT {day}, team, kind, COALESCE(category, ''), COUNT(*), {hours} FROM items "
               f"GROUP BY {day}, team, kind, COALESCE(category, '')")
    if dialect == "postgresql":
        themed = ("SELECT i.received_at, i.team, theme.name FROM items AS i CROSS JOIN LATERAL ("
                  "SELECT DISTINCT e.value #>> '{}' AS name FROM jsonb_array_elements(CASE WHEN "
                  "jsonb_typeof(i.themes) = 'array' THEN i.themes ELSE '[]'::jsonb END) AS e "
                  "WHERE jsonb_typeof(e.value) = 'string') AS theme")
    else:
        themed = ("SELECT i.received_at, i.team, theme.name FROM items AS i JOIN ("
                  "SELECT DISTINCT j.value AS name, i2.id AS item_id FROM items AS i2, json_each(CASE WHEN "
                  "json_type(i2.themes) = 'array' THEN i2.themes ELSE '[]' END) AS j WHERE j.type = 'text'"
                  ") AS theme ON theme.item_id = i.id")
    op.execute(f"INSERT INTO theme_rollups (day, team, theme, items, {columns}) "
               f"SELECT {day}, team, name, COUNT(*), {hours} FROM ({themed}) AS themed "
               f"GROUP BY {day}, team, name")


def _rollup_table(name: str, *key: sa.Column) -> None:
    op.create_table(name, *key, sa.Column('items', sa.Integer(), nullable=False),
                    *[sa.Column(hour, sa.Integer(), nullable=False) for hour in HOURS],
                    sa.PrimaryKeyConstraint(*[column.name for column in key], name=op.f(f'pk_{name}')))


# --- BI views --------------------------------------------------------------------------------------


def _minutes(dialect: str, later: str, earlier: str) -> str:
    if dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 60.0"
    return f"(julianday({later}) - julianday({earlier})) * 1440.0"


def create_views() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(f"""CREATE VIEW cx_items AS SELECT
  i.id AS item_id, i.received_at, i.source, i.external_id, i.team, i.kind, i.score, i.category,
  i.sentiment_label, i.sentiment_polarity, i.themes, i.vip, i.account_id, i.account_name, i.plan, i.segment,
  i.customer_name, i.customer_email, i.subject, i.comment, i.url, i.erased_at,
  f.status AS follow_up_status, f.needs_follow_up, f.claimed_by, f.claimed_at, f.resolved_by, f.resolved_at,
  f.outcome, f.resolution_note,
  {_minutes(dialect, "f.claimed_at", "i.received_at")} AS minutes_to_claim,
  {_minutes(dialect, "f.resolved_at", "i.received_at")} AS minutes_to_resolve,
  i.agent, i.role, i.customer_since, i.imported_at
FROM items AS i LEFT JOIN follow_ups AS f ON f.item_id = i.id""")
    op.execute("""CREATE VIEW cx_touches AS SELECT
  t.id AS touch_id, t.touched_at, t.account_id, a.name AS account_name, a.owner AS account_owner, a.vip,
  t.actor, t.channel, t.item_id, t.note
FROM touches AS t JOIN accounts AS a ON a.id = t.account_id""")
    op.execute("""CREATE VIEW cx_events AS SELECT
  e.id AS event_id, e.created_at, f.item_id, e.follow_up_id, e.actor, e.action, e.from_status, e.to_status
FROM follow_up_events AS e JOIN follow_ups AS f ON f.id = e.follow_up_id""")


def drop_views() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")


# --- the revision ----------------------------------------------------------------------------------


def upgrade() -> None:
    _rollup_table('item_rollups', sa.Column('day', sa.Date(), nullable=False),
                  sa.Column('team', sa.String(length=64), nullable=False),
                  sa.Column('kind', sa.String(length=16), nullable=False),
                  sa.Column('category', sa.String(length=16), nullable=False))
    _rollup_table('theme_rollups', sa.Column('day', sa.Date(), nullable=False),
                  sa.Column('team', sa.String(length=64), nullable=False),
                  sa.Column('theme', sa.Text(), nullable=False))
    fill_rollups()
    create_triggers()
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_claimed_by', ['claimed_by'], unique=False)
        batch_op.create_index('ix_follow_ups_status_needs_follow_up', ['status', 'needs_follow_up'], unique=False)
    create_views()


def downgrade() -> None:
    drop_views()
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_status_needs_follow_up')
        batch_op.drop_index('ix_follow_ups_claimed_by')
    drop_triggers()
    op.drop_table('theme_rollups')
    op.drop_table('item_rollups')
