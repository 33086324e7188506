"""History import: a provider's CSV export becomes stored, scored, linked items — closed history.

`cxloop import responses FILE --format delighted|typeform|surveymonkey|csv` (bot/cli/imports.py) reads
the file with `read_rows`, prepares each row with `prepared_rows` (in worker processes for a large
file) and hands batches of prepared rows to `store_batch`, committing each batch itself (`import_file`
does all of it). Each row becomes the generic payload (bot/intake/payload.py, so a bad row is refused with the
same words as a bad webhook, named by its line) and then an item built as intake builds one (segments,
fingerprint, scores, VIP link, route), with these differences, because it is history:

- received_at is when the response was given (the export's date), so trends and cuts place it there;
  imported_at marks it; no follow-up row, no outbox row: nothing is posted to Slack, no SLA runs, no
  reminder, triage queue or App Home lists it.
- Idempotent by (source, external id): a row whose id is stored already is `unchanged` when its content
  fingerprint is the stored one, else `kept` (the stored item, possibly live in Slack, is left as it is).
  A later webhook for the same id is compared with the stored version as usual.
- Batched: one SELECT of the ids already stored and one executemany INSERT … ON CONFLICT DO NOTHING per
  batch; the VIP book is read once (AccountIndex) instead of once per row. The workers hand back each
  row as the values the database driver is given (SQLAlchemy's own bind processing for the dialect,
  done there: JSON as text, SQLite's date strings), so this process only reads the file and inserts.

Column names per format are matched case-, space- and "_"-insensitively (README "Import history").
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import IO, Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AppConfig
from bot.db import session_scope
from bot.intake.ingest import _content_fields, fingerprint_of, source_version, with_segments
from bot.intake.payload import GenericPayload, PayloadError, validate_payload
from bot.intake.providers.base import normalise_key
from bot.intake.routing import RouteDecision, RoutingFacts, route_item
from bot.intake.scoring import CommentReading, Scored, categorize, read_comment, score_response, scored_as
from bot.vip.accounts import email_domain
from models import Account, AccountDomain, Contact, Item

FORMATS = ("delighted", "typeform", "surveymonkey", "csv")
BATCH_ROWS = 1000   # rows per INSERT and per commit
CHUNK_ROWS = 500    # rows per task of a worker process
IMPORT_SQLITE_CACHE_KIB = 65_536  # SQLite page cache of the import's connection (the default is 2 MiB)
CHUNKS_AHEAD_PER_WORKER = 4  # tasks queued ahead of the one stored: the file is read as it is stored, not all at once
MIN_ROWS_FOR_WORKERS = 5000
MAX_ERRORS_KEPT = 1000  # every bad row is counted; the first thousand are listed with their reason


class ImportError_(ValueError):  # noqa: N801 — not the builtin ImportError
    """The file cannot be imported at all (no id column, unknown format): nothing is stored."""


# Columns each format reads, by meaning; the first that is present wins. Others become properties.
_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "delighted": {
        "id": ("response id", "id"), "score": ("score",), "comment": ("comment",), "email": ("email",),
        "name": ("name",), "created_at": ("created at", "created"), "updated_at": ("updated at",),
        "tags": ("tags",), "url": ("permalink",),
    },
    "typeform": {
        "id": ("#", "token", "response id", "response_id"),
        "created_at": ("submit date (utc)", "submitted at", "submitted_at", "start date (utc)"),
        "email": ("email", "e mail", "email address"), "name": ("name", "full name"),
    },
    "surveymonkey": {
        "id": ("respondent id", "response id"), "created_at": ("end date", "date modified", "start date"),
        "email": ("email address", "email"), "first_name": ("first name",), "last_name": ("last name",),
    },
    "csv": {
        "id": ("id",), "kind": ("kind",), "score": ("score",), "comment": ("comment",), "email": ("email",),
        "name": ("name",), "account": ("account",), "account_id": ("account id",), "plan": ("plan",),
        "segment": ("segment",), "role": ("role",), "since": ("since", "customer since"), "agent": ("agent",),
        "created_at": ("created at",), "tags": ("tags",), "url": ("url",), "vip": ("vip",),
    },
}
# Provider bookkeeping columns that are not about the customer: not kept as properties.
_NOT_PROPERTIES = {"network id", "start date (utc)", "stage date (utc)", "collector id", "ip address",
                   "survey type", "additional answers", "notes"}


@dataclass(frozen=True)
class Options:
    format: str
    source: str
    kind: str = "nps"                     # what the score is (a Delighted CSAT export: csat)
    score_column: str | None = None       # typeform / surveymonkey: the question column holding the score
    comment_column: str | None = None     # … and the one holding the comment


@dataclass
class Summary:
    added: int = 0
    unchanged: int = 0
    kept: int = 0          # stored already with other content: left as stored
    bad: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.added + self.unchanged + self.kept + self.bad

    def refuse(self, line: int, reason: str) -> None:
        self.bad += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append((line, reason))


# --- reading ----------------------------------------------------------------------------------------

def _header_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        index.setdefault(normalise_key(name.lstrip("\ufeff")) or name.strip(), position)
    return index


def _pick(index: Mapping[str, int], names: Iterable[str]) -> int | None:
    return next((index[n] for n in names if n in index), None)


# The date formats _time tries, in this order (the first that reads the text wins: 03/01 is March 1st).
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S",
                 "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
_DATE_PARSERS: tuple[Callable[[str], datetime], ...] = (
    datetime.fromisoformat, *(lambda t, f=f: datetime.strptime(t, f) for f in _DATE_FORMATS))


def _time(text: str | None) -> datetime | str | None:
    """An export's date: ISO 8601, "2024-03-01 17:12:01 -0800", "03/01/2024 05:12:01 PM", unix seconds."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit():
        return text  # unix seconds: the payload reads them
    for parse in _DATE_PARSERS:
        try:
            moment = parse(text)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise ValueError(f"created date {text[:40]!r} is not a date this import reads (ISO 8601, "
                     "'2024-03-01 17:12:01 -0800', '03/01/2024 05:12:01 PM' or unix seconds)")


def _plain_text(text: str) -> bool:
    return text.isascii() and "\x00" not in text


class _Reader:
    def __init__(self, header: list[str], options: Options):
        self.options = options
        self.index = _header_index(header)
        self.header = header
        self.plain_header = _plain_text("".join(header))
        columns = _COLUMNS[options.format]
        self.at = {meaning: _pick(self.index, names) for meaning, names in columns.items()}
        for meaning, chosen in (("score", options.score_column), ("comment", options.comment_column)):
            if chosen:
                position = self.index.get(normalise_key(chosen))
                if position is None:
                    raise ImportError_(f"--{meaning}-column: no column {chosen[:80]!r} in the file")
                self.at[meaning] = position
        if self.at.get("id") is None:
            names = " or ".join(repr(n) for n in columns["id"])
            raise ImportError_(f"no id column: a {options.format} export has {names}")
        if self.at.get("score") is None:
            raise ImportError_("no score column: name it with --score-column (the question column)"
                               if options.format in ("typeform", "surveymonkey") else "no 'score' column")
        used = {p for p in self.at.values() if p is not None}
        self.properties = [(p, name.strip()) for p, name in enumerate(header)
                           if p not in used and normalise_key(name) not in _NOT_PROPERTIES and name.strip()]

    def plain(self, row: list[str]) -> bool:
        """Every string of this row's payload is ASCII without NUL (its keys come from the header): storable
        as it is, so validation need not clean each one (bot/intake/payload.py storable)."""
        return self.plain_header and _plain_text("".join(row))

    def cell(self, row: list[str], meaning: str) -> str | None:
        position = self.at.get(meaning)
        if position is None or position >= len(row):
            return None
        return row[position].strip() or None

    def payload(self, row: list[str]) -> dict[str, Any]:
        cell = self.cell
        name = cell(row, "name")
        if self.options.format == "surveymonkey":
            name = " ".join(p for p in (cell(row, "first_name"), cell(row, "last_name")) if p) or None
        properties = {label: row[p].strip() for p, label in self.properties if p < len(row) and row[p].strip()}
        kind = cell(row, "kind") or self.options.kind
        customer: dict[str, Any] = {"email": cell(row, "email"), "name": name, "properties": properties}
        for key in ("account", "account_id", "plan", "segment", "role", "since"):
            if cell(row, key) is not None:
                customer[key] = cell(row, key)
        if cell(row, "vip") is not None:
            customer["vip"] = cell(row, "vip").lower() in ("true", "yes", "1", "y")
        tags = [t.strip() for t in (cell(row, "tags") or "").split(",") if t.strip()]
        return {
            "id": cell(row, "id"), "kind": kind.lower(), "score": cell(row, "score"),
            "comment": cell(row, "comment"), "customer": customer, "tags": tags, "url": cell(row, "url"),
            "created_at": _time(cell(row, "created_at")), "updated_at": _time(cell(row, "updated_at")),
            "agent": cell(row, "agent"),
        }


def read_rows(stream: IO[str], options: Options) -> tuple[list[str], Iterator[tuple[int, list[str] | str]]]:
    """The header (checked against the format: ImportError_ when it does not fit) and the data rows as
    (line, cells), or (line, reason) for a line that is not CSV. Lines count from 1 (the header), as a
    spreadsheet shows them; blank rows are skipped."""
    if options.format not in FORMATS:
        raise ImportError_(f"unknown format {options.format!r}: one of {', '.join(FORMATS)}")
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportError_("the file is empty") from None
    except csv.Error as exc:
        raise ImportError_(f"line 1: not CSV ({exc})") from None
    _Reader(header, options)  # refuses a file without an id or score column before anything is stored

    def rows() -> Iterator[tuple[int, list[str] | str]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, f"not CSV ({exc})"
                continue
            if any(cell.strip() for cell in row):
                yield reader.line_num, row
    return header, rows()


# --- the VIP book, read once --------------------------------------------------------------------------

class AccountIndex:
    """find_account_for_item's three look-ups (account id, contact e-mail, e-mail domain, in that order)
    as dictionaries, read once for the whole import instead of once per row."""

    def __init__(self, session: Session):
        self.by_external = dict(session.execute(select(Account.external_id, Account.id)
                                                .where(Account.external_id.is_not(None))).all())
        self.by_email = dict(session.execute(select(Contact.email, Contact.account_id)).all())
        self.by_domain = dict(session.execute(select(AccountDomain.domain, AccountDomain.account_id)).all())
        self.accounts: dict[int, tuple[str, bool, str | None]] = {}
        if self.by_external or self.by_email or self.by_domain:
            self.accounts = {row.id: (row.name, bool(row.vip), row.plan) for row in session.execute(
                select(Account.id, Account.name, Account.vip, Account.plan))}

    def find(self, external_id: str | None, email: str | None) -> int | None:
        return ((self.by_external.get(external_id) if external_id else None)
                or (self.by_email.get(email.lower()) if email else None)
                or self.by_domain.get(email_domain(email)))


# --- preparing rows (in worker processes for a large file) ----------------------------------------------

class Preparer:
    """Row → item columns (validated as a webhook is, scored, linked, routed), or the reason it cannot be."""

    def __init__(self, header: list[str], options: Options, config: AppConfig, accounts: AccountIndex,
                 now: datetime, stored_ids: frozenset[str] = frozenset()):
        self.reader, self.options, self.config, self.accounts, self.now = (
            _Reader(header, options), options, config, accounts, now)
        self.stored_ids = stored_ids  # of the source, when the import began: not analysed again
        self.analyses = AnalysisMemo(config)
        self.routes = RouteMemo(config)

    def prepare(self, chunk: list[tuple[int, list[str] | str]]) -> list[tuple[int, dict[str, Any] | str]]:
        prepared: list[tuple[int, dict[str, Any] | str]] = []
        for line, row in chunk:
            if isinstance(row, str):
                prepared.append((line, row))
                continue
            if (self.options.format == "surveymonkey" and self.reader.cell(row, "id") is None
                    and any(c.strip().lower() in ("response", "open-ended response") for c in row)):
                continue  # SurveyMonkey's second header row (the answer labels under each question)
            try:
                payload = validate_payload(self.reader.payload(row), storable_already=self.reader.plain(row))
                prepared.append((line, _row_for(payload, options=self.options, config=self.config,
                                                accounts=self.accounts, now=self.now, analyses=self.analyses,
                                                routes=self.routes,
                                                stored_ids=self.stored_ids)))
            except PayloadError as exc:
                prepared.append((line, exc.message))
            except ValueError as exc:
                prepared.append((line, str(exc)))
        return prepared


# --- the rows as the database driver is given them ------------------------------------------------------

IMPORT_COLUMNS = tuple(column.name for column in Item.__table__.columns if column.name != "id")


class Encoded(NamedTuple):
    """A prepared row as store_batch needs it: its id and fingerprint, and (unless it was stored before the
    import began, see KNOWN) the INSERT's parameters, in IMPORT_COLUMNS order, already bound."""

    external_id: str
    content_hash: str
    values: tuple[Any, ...] | None


def _dialect(drivername: str) -> Dialect:
    return make_url(f"{drivername}://").get_dialect()()


class Encoder:
    """Item columns → the values SQLAlchemy would hand the driver for them (each column type's own bind
    processor for the dialect: JSON → text, datetimes → SQLite's strings, …). Built from the driver's name,
    so a worker process builds its own."""

    def __init__(self, drivername: str):
        dialect = _dialect(drivername)
        columns = Item.__table__.columns
        self.processors = [(name, columns[name].type.dialect_impl(dialect).bind_processor(dialect))
                           for name in IMPORT_COLUMNS]
        # A column's last date or empty list/dict and what it became: the import's own times are one value
        # for every row, and most rows' tags and source_ref are empty. (Only these: 1 == True, so equal
        # values in general need not be bound alike.)
        self.last: dict[str, tuple[Any, Any]] = {}

    def encode(self, row: dict[str, Any]) -> Encoded:
        if row.get(KNOWN):
            return Encoded(row["external_id"], row["content_hash"], None)
        values = []
        last = self.last
        for name, process in self.processors:
            value = row[name]
            if process is not None:
                kind = value.__class__
                if kind is datetime or kind is date or (not value and (kind is list or kind is dict)):
                    before = last.get(name)
                    if before is None or before[0].__class__ is not kind or before[0] != value:
                        before = last[name] = (value, process(value))
                    value = before[1]
                else:
                    value = process(value)
            values.append(value)
        return Encoded(row["external_id"], row["content_hash"], tuple(values))


class InsertStatement:
    """The import's INSERT … ON CONFLICT (source, external_id) DO NOTHING, compiled once for the engine's
    dialect, run with the driver's executemany on Encoded values."""

    def __init__(self, dialect: Dialect):
        table = Item.__table__
        insert_for = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
        # for_executemany: no RETURNING of the new id (the driver's row count says how many went in).
        compiled = insert_for(table).on_conflict_do_nothing(
            index_elements=[table.c.source, table.c.external_id]).compile(
                dialect=dialect, column_keys=list(IMPORT_COLUMNS), for_executemany=True)
        self.sql = compiled.string
        self.positions: list[int] | None = None  # positional paramstyle: IMPORT_COLUMNS index of each "?"
        if compiled.positional:
            self.positions = [IMPORT_COLUMNS.index(name) for name in compiled.positiontup or ()]
            if self.positions == list(range(len(IMPORT_COLUMNS))):
                self.positions = []  # the values' own order

    def execute(self, session: Session, values: list[tuple[Any, ...]]) -> int:
        """Insert the rows; how many went in (the others' ids were stored meanwhile)."""
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # Each row adds to eight indexes, at scattered places: with the default 2 MiB of cache their
            # pages are read again and spilled for every batch. Memory only, this connection only.
            connection.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_SQLITE_CACHE_KIB}")
        if self.positions is None:
            params: list[Any] = [dict(zip(IMPORT_COLUMNS, row, strict=True)) for row in values]
        elif self.positions:
            params = [tuple(row[p] for p in self.positions) for row in values]
        else:
            params = values
        return connection.exec_driver_sql(self.sql, params).rowcount


_WORKER: tuple[Preparer, Encoder] | None = None


def _start_worker(drivername: str, *args: Any) -> None:
    global _WORKER  # one Preparer per worker process, built once from the pool's initargs
    _WORKER = (Preparer(*args), Encoder(drivername))


def _encode(preparer: Preparer, encoder: Encoder,
            chunk: list[tuple[int, list[str] | str]]) -> list[tuple[int, Encoded | str]]:
    return [(line, row if isinstance(row, str) else encoder.encode(row)) for line, row in preparer.prepare(chunk)]


def _prepare_in_worker(chunk: list[tuple[int, list[str] | str]]) -> list[tuple[int, Encoded | str]]:
    assert _WORKER is not None
    return _encode(*_WORKER, chunk)


def _chunks(rows: Iterable[tuple[int, list[str] | str]], size: int) -> Iterator[list[tuple[int, list[str] | str]]]:
    chunk: list[tuple[int, list[str] | str]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _start_method() -> str:
    """fork when this process runs no other thread: the workers start at once, with the lexicons already
    loaded (spawn re-imports TextBlob, NLTK and SciPy in each: seconds, for a file that takes seconds).
    With other threads running (a lock one of them holds would be copied held), spawn: a clean interpreter."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def prepared_rows(header: list[str], rows: Iterable[tuple[int, list[str] | str]], *, options: Options,
                  config: AppConfig, accounts: AccountIndex, now: datetime, workers: int = 1,
                  stored_ids: frozenset[str] = frozenset(), drivername: str = "sqlite",
                  ) -> Iterator[tuple[int, Encoded | str]]:
    """Each row prepared and encoded for `drivername`'s dialect, in file order. With workers > 1 the CPU
    work (validation, sentiment, themes, encoding) runs in that many processes, CHUNK_ROWS rows at a time,
    while this one reads ahead and stores."""
    args = (header, options, config, accounts, now, stored_ids)
    if workers <= 1:
        preparer, encoder = Preparer(*args), Encoder(drivername)
        for chunk in _chunks(rows, CHUNK_ROWS):
            yield from _encode(preparer, encoder, chunk)
        return
    method = _start_method()
    if method == "fork":
        # Load the lexicons (VADER's, TextBlob's) once, here, so every forked worker starts with them.
        score_response("nps", 0, "warm up", config.themes, config.sentiment_words)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                             initializer=_start_worker, initargs=(drivername, *args)) as pool:
        # A bounded window of tasks (pool.map would read and queue the whole file first).
        pending: deque[Future[list[tuple[int, Encoded | str]]]] = deque()
        for chunk in _chunks(rows, CHUNK_ROWS):
            pending.append(pool.submit(_prepare_in_worker, chunk))
            if len(pending) >= workers * CHUNKS_AHEAD_PER_WORKER:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


# --- storing ----------------------------------------------------------------------------------------

MAX_ANALYSES_KEPT = 20_000


class AnalysisMemo:
    """score_response, remembered: it depends on the comment and the score's category only, and reading
    the comment (themes, its words' sentiment) on the comment only. An export repeats comments ("Great",
    "ok", the same sentence from many customers, under different scores). Bounded, emptied when full."""

    def __init__(self, config: AppConfig):
        self.config = config
        self.scored: dict[tuple[str | None, str | None], Scored] = {}
        self.readings: dict[str | None, CommentReading] = {}

    def analyse(self, kind: str, score: int | None, comment: str | None) -> Scored:
        key = (categorize(kind, score), comment)
        scored = self.scored.get(key)
        if scored is None:
            reading = self.readings.get(comment)
            if reading is None:
                if len(self.readings) >= MAX_ANALYSES_KEPT:
                    self.readings.clear()
                reading = self.readings[comment] = read_comment(comment, self.config.themes,
                                                                self.config.sentiment_words)
            if len(self.scored) >= MAX_ANALYSES_KEPT:
                self.scored.clear()
            scored = self.scored[key] = scored_as(key[0], reading)
        return scored


KNOWN = "_known"  # a prepared row of an id stored before the import: its fingerprint only


def _row_for(payload: GenericPayload, *, options: Options, config: AppConfig, accounts: AccountIndex,
             now: datetime, analyses: AnalysisMemo | None = None,
             routes: RouteMemo | None = None,
             stored_ids: frozenset[str] = frozenset()) -> dict[str, Any]:
    fields = with_segments(_content_fields(payload), config.segments)
    fingerprint = fingerprint_of(fields)
    if payload.id in stored_ids:
        # Stored already: it will be counted unchanged or kept as stored, never written, so neither
        # analysed nor routed (a re-run of a large export costs reading and validating, not scoring).
        return {"external_id": payload.id, "content_hash": fingerprint, KNOWN: True}
    # The response's own time is its version, so a webhook about it later is newer than the import.
    dated = payload.model_copy(update={"updated_at": payload.updated_at or payload.created_at})
    row: dict[str, Any] = {**fields, "source": options.source, "external_id": payload.id,
                           "received_at": payload.created_at or now, "updated_at": now, "imported_at": now,
                           "content_hash": fingerprint, "revision": 1, "source_version": source_version(dated, now),
                           "account_id": None}
    account_id = accounts.find(row["account_external_id"], row["customer_email"]) if accounts.accounts else None
    if account_id is not None and account_id in accounts.accounts:
        name, vip, plan = accounts.accounts[account_id]
        row.update(account_id=account_id, vip=row["vip"] or vip, account_name=row["account_name"] or name,
                   plan=row["plan"] or plan)
    scored = (score_response(row["kind"], row["score"], row["comment"], config.themes, config.sentiment_words)
              if analyses is None else analyses.analyse(row["kind"], row["score"], row["comment"]))
    row.update(category=scored.category, sentiment_polarity=scored.sentiment_polarity,
               sentiment_label=scored.sentiment_label, themes=list(scored.themes),
               sentiment_reason=scored.sentiment_reason or None, theme_matches=dict(scored.theme_matches))
    facts = RoutingFacts(
        kind=row["kind"], source=options.source, score=row["score"], category=row["category"],
        sentiment=row["sentiment_label"], themes=tuple(row["themes"]), tags=tuple(row["tags"]), plan=row["plan"],
        segment=row["segment"], vip=row["vip"], comment=row["comment"])
    decision = route_item(facts, config) if routes is None else routes.route(facts)
    row.update(team=decision.team, channel=decision.channel, route_name=decision.route_name,
               mention=decision.mention, erased_at=None)
    return row


class RouteMemo:
    """route_item, remembered per RoutingFacts (it depends on them and the configuration only). Rows
    differ in the comment above all, which only a route's `keyword` or `has_comment` reads: without such
    a route, the comment is left out of the key."""

    def __init__(self, config: AppConfig):
        self.config = config
        self.by_comment = any(route.when.keyword is not None or route.when.has_comment is not None
                              for route in config.routes)
        self.decisions: dict[RoutingFacts, RouteDecision] = {}

    def route(self, facts: RoutingFacts) -> RouteDecision:
        key = facts if self.by_comment or facts.comment is None else replace(facts, comment=None)
        decision = self.decisions.get(key)
        if decision is None:
            if len(self.decisions) >= MAX_ANALYSES_KEPT:
                self.decisions.clear()
            decision = self.decisions[key] = route_item(facts, self.config)
        return decision


def store_batch(session: Session, batch: list[tuple[int, Encoded]], *, options: Options, summary: Summary,
                statement: InsertStatement | None = None) -> None:
    """Store one batch of prepared rows (the caller commits it): the new ids in one executemany INSERT,
    the others counted unchanged (same fingerprint) or kept (stored with other content)."""
    firsts: dict[str, int] = {}
    unique: list[tuple[int, Encoded]] = []
    for line, row in batch:
        if row.external_id in firsts:
            summary.refuse(line, f"id {row.external_id[:60]!r} repeats line {firsts[row.external_id]}")
            continue
        firsts[row.external_id] = line
        unique.append((line, row))
    if not unique:
        return
    stored = dict(session.execute(
        select(Item.external_id, Item.content_hash)
        .where(Item.source == options.source, Item.external_id.in_([row.external_id for _, row in unique]))).all())
    values = []
    for line, row in unique:
        if row.external_id not in stored and row.values is None:
            summary.refuse(line, f"id {row.external_id[:60]!r} was deleted during the import: run it again")
        elif row.external_id not in stored:
            values.append(row.values)
        elif stored[row.external_id] == row.content_hash:
            summary.unchanged += 1
        else:
            summary.kept += 1
    if values:
        statement = statement or InsertStatement(session.get_bind().dialect)
        inserted = statement.execute(session, values)
        summary.added += inserted
        summary.unchanged += len(values) - inserted  # stored meanwhile by a concurrent run or a webhook


def default_workers(rows: int) -> int:
    """Worker processes for a file of `rows` rows: none below MIN_ROWS_FOR_WORKERS (starting them costs
    more), else one per CPU, at most 4."""
    return 1 if rows < MIN_ROWS_FOR_WORKERS else max(1, min(os.cpu_count() or 1, 4))


def import_file(stream: IO[str], *, factory: sessionmaker[Session], options: Options, config: AppConfig,
                now: datetime, workers: int = 1,
                progress: Callable[[int], None] = lambda rows: None) -> Summary:
    """Import an open CSV file: read, prepare, store, one transaction (and commit) per batch; `progress`
    is told how many rows are done after each. ImportError_ (before anything is stored) when the header
    does not fit the format."""
    summary = Summary()
    header, rows = read_rows(stream, options)
    with session_scope(factory) as session:
        accounts = AccountIndex(session)
        stored_ids = frozenset(session.scalars(select(Item.external_id).where(Item.source == options.source)))
        engine = session.get_bind()
    statement = InsertStatement(engine.dialect)
    prepared = prepared_rows(header, rows, options=options, config=config, accounts=accounts, now=now,
                             workers=workers, stored_ids=stored_ids, drivername=engine.url.drivername)
    for batch in batches(prepared, summary):
        with session_scope(factory) as session:
            store_batch(session, batch, options=options, summary=summary, statement=statement)
        progress(summary.rows)
    progress(summary.rows)
    return summary


def batches(prepared: Iterable[tuple[int, Encoded | str]], summary: Summary,
            size: int = BATCH_ROWS) -> Iterator[list[tuple[int, Encoded]]]:
    """The good rows in batches of `size`; each bad one is counted in `summary` with its line."""
    batch: list[tuple[int, Encoded]] = []
    for line, row in prepared:
        if isinstance(row, str):
            summary.refuse(line, row)
            continue
        batch.append((line, row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
