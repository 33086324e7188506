"""`cxloop export`: the items of a period, with their follow-up, themes and sentiment, for a data lake.

Rows are read in batches ordered by (received_at, id), each batch after the last one read (keyset
pagination), so an export of millions of items holds one batch in memory and each batch is a short read
transaction (intake and delivery go on). Writers stream the batches as CSV, JSON lines or Parquet (one row
group per batch). The rows read the stored columns: an erased customer is erased here too (no name, no
e-mail, comment "[erased]"). Functions take `session` and never commit.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.insights.stats import minutes_between
from models import FollowUp, Item

FORMATS = ("csv", "jsonl", "parquet")
BATCH_SIZE = 5_000

# (column, Parquet type, what it is): the README's "For BI: views and exports" repeats this list.
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("item_id", pa.int64(), "cxloop's id of the item"),
    ("received_at", pa.timestamp("us", tz="UTC"), "when cxloop received it (UTC)"),
    ("source", pa.string(), "the configured source it came from"),
    ("external_id", pa.string(), "the sender's id of the response"),
    ("team", pa.string(), "the team it was routed to"),
    ("kind", pa.string(), "nps, csat, ces or escalation"),
    ("score", pa.int64(), "the score, empty for escalations"),
    ("category", pa.string(), "detractor, passive or promoter; empty when unscored"),
    ("sentiment_label", pa.string(), "negative, neutral or positive (of the comment)"),
    ("sentiment_polarity", pa.float64(), "-1 … 1"),
    ("themes", pa.list_(pa.string()), "the configured themes the comment matched (CSV: joined by '; ')"),
    ("vip", pa.bool_(), "from a VIP account"),
    ("account_name", pa.string(), "the customer's account"),
    ("plan", pa.string(), "the customer's plan"),
    ("segment", pa.string(), "the customer's segment"),
    ("customer_name", pa.string(), "empty once erased"),
    ("customer_email", pa.string(), "empty once erased"),
    ("subject", pa.string(), "escalations' subject; '[erased]' once erased"),
    ("comment", pa.string(), "the comment; '[erased]' once erased"),
    ("erased", pa.bool_(), "the customer's personal data was erased (`cxloop forget`)"),
    ("follow_up_status", pa.string(), "open, claimed or resolved"),
    ("claimed_by", pa.string(), "Slack user id"),
    ("claimed_at", pa.timestamp("us", tz="UTC"), "UTC"),
    ("resolved_by", pa.string(), "Slack user id"),
    ("resolved_at", pa.timestamp("us", tz="UTC"), "UTC"),
    ("outcome", pa.string(), "how it was resolved"),
    ("minutes_to_claim", pa.float64(), "claimed_at − received_at"),
    ("minutes_to_resolve", pa.float64(), "resolved_at − received_at"),
    ("agent", pa.string(), "the agent who handled the conversation that was rated (segments)"),
    ("role", pa.string(), "the respondent's role (segments)"),
    ("customer_since", pa.date32(), "when the customer started (tenure)"),
    ("imported", pa.bool_(), "loaded by `cxloop import responses`, not received by webhook"),
)
COLUMN_NAMES = tuple(name for name, _type, _doc in COLUMNS)
SCHEMA = pa.schema([(name, kind) for name, kind, _doc in COLUMNS])


class ExportError(ValueError):
    """An export we cannot make; str() says why."""


@dataclass(frozen=True)
class Period:
    """UTC days [since, until], as instants [start, end)."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(0), tzinfo=UTC)


def period(since: date, until: date | None, *, today: date) -> Period:
    """The export's days: `until` defaults to today; a reversed range is an ExportError."""
    until = until or today
    if since > until:
        raise ExportError(f"--since {since.isoformat()} is after --until {until.isoformat()}")
    return Period(since, until)


def export_batch(session: Session, *, span: Period, after: tuple[datetime, int] | None = None,
                 size: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """Up to `size` items received in the period after (received_at, id) `after`, oldest first, as dicts of
    COLUMN_NAMES."""
    scope = [Item.received_at >= span.start, Item.received_at < span.end]
    if after is not None:
        scope.append(or_(Item.received_at > after[0], and_(Item.received_at == after[0], Item.id > after[1])))
    rows = session.execute(
        select(Item.id, Item.received_at, Item.source, Item.external_id, Item.team, Item.kind, Item.score,
               Item.category, Item.sentiment_label, Item.sentiment_polarity, Item.themes, Item.vip,
               Item.account_name, Item.plan, Item.segment, Item.customer_name, Item.customer_email, Item.subject,
               Item.comment, Item.erased_at, FollowUp.status, FollowUp.claimed_by, FollowUp.claimed_at,
               FollowUp.resolved_by, FollowUp.resolved_at, FollowUp.outcome,
               minutes_between(session, FollowUp.claimed_at, Item.received_at),
               minutes_between(session, FollowUp.resolved_at, Item.received_at),
               Item.agent, Item.role, Item.customer_since, Item.imported_at)
        .outerjoin(FollowUp, FollowUp.item_id == Item.id).where(*scope)
        .order_by(Item.received_at, Item.id).limit(size)).all()
    batch = []
    for row in rows:
        values = list(row)
        values[10] = [theme for theme in (row.themes or []) if isinstance(theme, str)]
        values[11] = bool(row.vip)
        values[19] = row.erased_at is not None
        values[26:28] = [None if v is None else round(float(v), 3) for v in values[26:28]]
        values[31] = row.imported_at is not None
        batch.append(dict(zip(COLUMN_NAMES, values, strict=True)))
    return batch


def batches(open_session, *, span: Period, size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    """Every batch of the period; `open_session()` is a context manager giving a session (one per batch)."""
    after = None
    while True:
        with open_session() as session:
            batch = export_batch(session, span=span, after=after, size=size)
        if not batch:
            return
        yield batch
        after = (batch[-1]["received_at"], batch[-1]["item_id"])


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_csv(rows: Iterable[list[dict[str, Any]]], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMN_NAMES)
    count = 0
    for batch in rows:
        writer.writerows([_text(row[name]) for name in COLUMN_NAMES] for row in batch)
        count += len(batch)
    return count


def write_jsonl(rows: Iterable[list[dict[str, Any]]], out: IO[str]) -> int:
    count = 0
    for batch in rows:
        for row in batch:
            out.write(json.dumps({name: row[name].astimezone(UTC).isoformat() if isinstance(row[name], datetime)
                                  else row[name] for name in COLUMN_NAMES}, ensure_ascii=False) + "\n")
        count += len(batch)
    return count


def write_parquet(rows: Iterable[list[dict[str, Any]]], out: IO[bytes] | str) -> int:
    """One row group per batch; an export without rows is a file with the schema and no row."""
    count = 0
    with pq.ParquetWriter(out, SCHEMA) as writer:
        for batch in rows:
            writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
            count += len(batch)
    return count


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}
