"""The VIP book's import and export: accounts, their domains and contacts, as CSV.

CSV format
----------
- UTF-8, with or without a byte-order mark; comma-separated; cells may be quoted ("…"), and a quoted
  cell may span several lines. Spaces around a value are ignored.
- The first row is the header. Column names are case-insensitive and may come in any order; a name
  may appear only once. Blank lines are skipped.
- Each row is a whole account: an empty cell, or a column the file does not have, clears that field
  or sets its default. Only `external_id` is never cleared by an import.

| column         | value |
|----------------|-------|
| `name`         | **required**, up to 255 characters |
| `external_id`  | your CRM's id for the account, up to 255 characters; unique |
| `domains`      | e-mail domains, separated by `;`, `,` or spaces: `acme.com; acme.io`. Case, a scheme, `www.`, a port or a path are dropped (`https://www.Acme.com/about` → `acme.com`). A domain belongs to one account only |
| `tier`         | free text, up to 50 characters |
| `vip`          | `true`/`false`, `yes`/`no`, `1`/`0`, in any case. Empty means true |
| `owner`        | the account owner: a Slack user id (`U0ANA…`, `W…`), or an e-mail, which is looked up in Slack (`cxloop vip import` needs `SLACK_BOT_TOKEN` for that) |
| `cadence_days` | days between check-ins: a whole number from 1 to 365. Empty means 30 |
| `plan`         | free text, up to 100 characters |
| `arr`          | a number, not negative, at most 2 decimals and below 10¹²: `1200.50`, `1,200.50`, `$1,200.50` (one leading `$`, `€`, `£` or `¥`) |
| `renewal_date` | `YYYY-MM-DD` |
| `contacts`     | an address list: `Ann Lee <ann@acme.com>, bob@acme.com, "Lee, Ann" <ann.lee@acme.com>`. E-mails are lower-cased. A contact belongs to one account only |
| any other      | a custom property, named by the header as written (`Region`, `Notes`); an empty cell means the account does not have it |

A row needs an `external_id` or at least one domain. It is matched to an account by `external_id` when
it has one, otherwise by any of its domains. When a row's `external_id` is new but its domains belong to
an account that has no `external_id` yet, that account is matched and gets the id. The row's domains,
contacts and custom properties replace the account's.

Import checks every row and loads the good ones. A bad row changes nothing, and it is reported with its
line (the header is line 1; a row spanning several lines counts from its first line) and all its
problems, each naming its column: `line 17: arr: 'abc' is not a number`. A row that repeats an
`external_id`, domain or contact e-mail of an earlier row is refused, naming that row's line. So is a row
with more cells than the header has columns, or a value under a header cell left empty. A row that
changes nothing writes nothing: re-importing a file, or importing an export, reports every account
"unchanged".

`export_csv` writes the same columns, then one column per custom property (sorted by name), one row
per account, ordered by name (ignoring case).

Domain functions here take `session` and never commit: the caller (the CLI) owns the transaction.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import getaddresses
from typing import Literal, TextIO

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from bot.common.email_address import email_or_none
from bot.vip.accounts import due_at, refresh_due, search_key
from models import Account, AccountDomain, Contact
from models.account import DEFAULT_CADENCE_DAYS

COLUMNS = ("name", "external_id", "domains", "tier", "vip", "owner", "cadence_days", "plan", "arr",
           "renewal_date", "contacts")
MAX_CADENCE_DAYS = 365
MAX_ARR = Decimal("999999999999.99")  # Numeric(14, 2)
_MAX_LENGTHS = {"name": 255, "external_id": 255, "tier": 50, "plan": 100}

_TRUE = frozenset({"", "true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DOMAIN_SPLIT = re.compile(r"[;,\s]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_ARR = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_CURRENCY_SYMBOLS = "$€£¥"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ADDRESS_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')

Outcome = Literal["added", "updated", "unchanged"]


class ImportRowError(ValueError):
    """A row (or record) we refuse; the message says which column and what is wrong."""


@dataclass(frozen=True)
class AccountRecord:
    name: str
    external_id: str | None = None
    domains: tuple[str, ...] = ()          # lower-case, no "www.", no scheme
    tier: str | None = None
    vip: bool = True
    owner: str | None = None               # Slack user id (U…/W…)
    cadence_days: int = DEFAULT_CADENCE_DAYS
    plan: str | None = None
    arr: float | None = None
    renewal_on: date | None = None
    properties: dict[str, str] = field(default_factory=dict)
    contacts: tuple[tuple[str, str | None], ...] = ()   # (email lower-case, name)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line in the file, header = line 1; reason)
    property_columns: list[str] = field(default_factory=list)   # header names kept as custom properties


# --- upsert -------------------------------------------------------------------------------------

def upsert_account(session: Session, record: AccountRecord, *, now: datetime) -> Outcome:
    """Add or update the account `record` describes. Raises ImportRowError before changing anything
    when the record is incomplete or names a domain or contact of another account."""
    return _upsert(session, record, now=now)[0]


def _upsert(session: Session, record: AccountRecord, *, now: datetime) -> tuple[Outcome, Account]:
    _check_record(record)
    emails = [email for email, _ in record.contacts]
    domain_rows = ({row.domain: row for row in session.scalars(
        select(AccountDomain).where(AccountDomain.domain.in_(record.domains)))} if record.domains else {})
    contact_rows = ({row.email: row for row in session.scalars(
        select(Contact).where(Contact.email.in_(emails)))} if emails else {})
    account = _find_account(session, record, domain_rows)
    account_id = account.id if account is not None else None
    for domain in sorted(record.domains):
        row = domain_rows.get(domain)
        if row is not None and row.account_id != account_id:
            raise ImportRowError(f"domain {domain} already belongs to account {_name(session, row.account_id)!r}")
    for email in sorted(emails):
        row = contact_rows.get(email)
        if row is not None and row.account_id != account_id:
            raise ImportRowError(f"contact {email} already belongs to account {_name(session, row.account_id)!r}")

    if account is None:
        return "added", _add_account(session, record, now=now)

    changed = False
    wanted = {"name": record.name, "search_name": search_key(record.name), "tier": record.tier,
              "vip": record.vip, "owner": record.owner, "cadence_days": record.cadence_days,
              "plan": record.plan, "renewal_on": record.renewal_on}
    if record.external_id is not None:  # a row without one never clears it
        wanted["external_id"] = record.external_id
    for attribute, value in wanted.items():
        if getattr(account, attribute) != value:
            setattr(account, attribute, value)
            changed = True
    if _cents(account.arr) != _cents(record.arr):
        account.arr = record.arr
        changed = True
    if dict(account.properties or {}) != record.properties:
        account.properties = dict(record.properties)  # a new object, so the JSON column is written
        changed = True
    if account.next_due_at != due_at(account):  # the cadence changed
        refresh_due(account)
        changed = True

    wanted_domains = set(record.domains)
    for row in session.scalars(select(AccountDomain).where(AccountDomain.account_id == account.id)):
        if row.domain in wanted_domains:
            wanted_domains.discard(row.domain)
        else:
            session.delete(row)
            changed = True
    if wanted_domains:
        session.add_all(AccountDomain(account_id=account.id, domain=domain) for domain in sorted(wanted_domains))
        changed = True

    wanted_contacts = dict(record.contacts)
    for row in session.scalars(select(Contact).where(Contact.account_id == account.id)):
        if row.email not in wanted_contacts:
            session.delete(row)
            changed = True
            continue
        name = wanted_contacts.pop(row.email)
        if row.name != name:
            row.name = name
            changed = True
    if wanted_contacts:
        session.add_all(Contact(account_id=account.id, email=email, name=name)
                        for email, name in wanted_contacts.items())
        changed = True

    if not changed:
        return "unchanged", account
    account.updated_at = now
    return "updated", account


def _add_account(session: Session, record: AccountRecord, *, now: datetime) -> Account:
    """Insert a new account; the caller has made sure that its keys are free."""
    _check_record(record)
    account = Account(external_id=record.external_id, name=record.name, search_name=search_key(record.name),
                      tier=record.tier, vip=record.vip, owner=record.owner, cadence_days=record.cadence_days,
                      plan=record.plan, arr=record.arr, renewal_on=record.renewal_on,
                      properties=dict(record.properties), created_at=now, updated_at=now)
    refresh_due(account)
    session.add(account)
    session.flush()  # the id, for the domain and contact rows
    session.add_all(AccountDomain(account_id=account.id, domain=domain) for domain in record.domains)
    session.add_all(Contact(account_id=account.id, email=email, name=name) for email, name in record.contacts)
    return account


def _content(*, name: str, search_name: str, tier: str | None, vip: bool, owner: str | None, cadence_days: int,
             plan: str | None, arr: float | None, renewal_on: date | None, properties: dict,
             domains: frozenset[str], contacts: frozenset[tuple[str, str | None]]) -> tuple:
    """Everything a row sets on an account except external_id, in a form that compares with ==."""
    return (name, search_name, tier, vip, owner, cadence_days, plan, _cents(arr), renewal_on,
            sorted(properties.items(), key=lambda item: item[0]), domains, contacts)


def _record_content(record: AccountRecord) -> tuple:
    return _content(name=record.name, search_name=search_key(record.name), tier=record.tier, vip=record.vip,
                    owner=record.owner, cadence_days=record.cadence_days, plan=record.plan, arr=record.arr,
                    renewal_on=record.renewal_on, properties=record.properties, domains=frozenset(record.domains),
                    contacts=frozenset(record.contacts))


class _Book:
    """A plain-data copy of the accounts' keys and contents, loaded once per import, so that a row
    which changes nothing (the usual re-import) costs no query. Every write still goes through
    _upsert(), which looks everything up in the database itself; the copy is then brought up to date."""

    def __init__(self, session: Session):
        self.external_ids: dict[str, int] = {}
        self.external_id_of: dict[int, str | None] = {}
        self.domain_owner: dict[str, int] = {}
        self.contact_owner: dict[str, int] = {}
        self.domains_of: dict[int, set[str]] = defaultdict(set)
        self.contacts_of: dict[int, set[tuple[str, str | None]]] = defaultdict(set)
        self.content: dict[int, tuple | None] = {}
        for account_id, domain in session.execute(select(AccountDomain.account_id, AccountDomain.domain)):
            self.domain_owner[domain] = account_id
            self.domains_of[account_id].add(domain)
        for account_id, email, name in session.execute(select(Contact.account_id, Contact.email, Contact.name)):
            self.contact_owner[email] = account_id
            self.contacts_of[account_id].add((email, name))
        columns = (Account.id, Account.external_id, Account.name, Account.search_name, Account.tier, Account.vip,
                   Account.owner, Account.cadence_days, Account.plan, Account.arr, Account.renewal_on,
                   Account.properties, Account.last_touch_at, Account.created_at, Account.next_due_at)
        for row in session.execute(select(*columns)):
            if row.external_id is not None:
                self.external_ids[row.external_id] = row.id
            self.external_id_of[row.id] = row.external_id
            # An account whose next_due_at is out of step never compares equal, so a row rewrites it.
            self.content[row.id] = None if row.next_due_at != due_at(row) else _content(  # type: ignore[arg-type]
                name=row.name, search_name=row.search_name, tier=row.tier, vip=row.vip, owner=row.owner,
                cadence_days=row.cadence_days, plan=row.plan, arr=row.arr, renewal_on=row.renewal_on,
                properties=dict(row.properties or {}), domains=frozenset(self.domains_of.get(row.id, ())),
                contacts=frozenset(self.contacts_of.get(row.id, ())))

    def unchanged(self, record: AccountRecord) -> bool:
        """True when importing `record` would change nothing (False may still turn out unchanged)."""
        account_id = self.external_ids.get(record.external_id) if record.external_id else None
        if account_id is None:
            owners = {self.domain_owner[domain] for domain in record.domains if domain in self.domain_owner}
            if len(owners) != 1:
                return False
            account_id = owners.pop()
            if record.external_id is not None and record.external_id != self.external_id_of[account_id]:
                return False
        content = self.content.get(account_id)
        return content is not None and content == _record_content(record)

    def is_new(self, record: AccountRecord) -> bool:
        """True when `record` matches no account and none of its domains or contacts is taken."""
        return ((not record.external_id or record.external_id not in self.external_ids)
                and not any(domain in self.domain_owner for domain in record.domains)
                and not any(email in self.contact_owner for email, _ in record.contacts))

    def remember(self, account: Account, record: AccountRecord) -> None:
        """After _upsert() made `account` match `record`."""
        for domain in self.domains_of.pop(account.id, ()):
            self.domain_owner.pop(domain, None)
        for email, _ in self.contacts_of.pop(account.id, ()):
            self.contact_owner.pop(email, None)
        old_external_id = self.external_id_of.get(account.id)
        if old_external_id is not None and old_external_id != account.external_id:
            self.external_ids.pop(old_external_id, None)
        if account.external_id is not None:
            self.external_ids[account.external_id] = account.id
        self.external_id_of[account.id] = account.external_id
        self.domains_of[account.id] = set(record.domains)
        self.contacts_of[account.id] = set(record.contacts)
        self.domain_owner.update(dict.fromkeys(record.domains, account.id))
        self.contact_owner.update({email: account.id for email, _ in record.contacts})
        self.content[account.id] = _record_content(record)


def _check_record(record: AccountRecord) -> None:
    if not record.name or not record.name.strip():
        raise ImportRowError("name: missing")
    if not record.external_id and not record.domains:
        raise ImportRowError("needs external_id or domains")
    if not 1 <= record.cadence_days <= MAX_CADENCE_DAYS:
        raise ImportRowError(f"cadence_days: {record.cadence_days} is not from 1 to {MAX_CADENCE_DAYS}")


def _find_account(session: Session, record: AccountRecord,
                  domain_rows: dict[str, AccountDomain]) -> Account | None:
    """By external_id; else by domain (adopting an account that has no external_id yet)."""
    if record.external_id:
        account = session.scalar(select(Account).where(Account.external_id == record.external_id))
        if account is not None:
            return account
    owner_ids = sorted({row.account_id for row in domain_rows.values()})
    if len(owner_ids) > 1:
        if record.external_id:
            return None  # a new account; the domain conflict is reported by the caller
        owners = ", ".join(f"{domain} ({_name(session, row.account_id)!r})"
                           for domain, row in sorted(domain_rows.items()))
        raise ImportRowError(f"domains belong to different accounts: {owners}")
    if owner_ids:
        account = session.get(Account, owner_ids[0])
        if account is not None and (record.external_id is None or account.external_id is None):
            return account
    return None


def _name(session: Session, account_id: int) -> str:
    account = session.get(Account, account_id)
    return account.name if account is not None else f"#{account_id}"


def _cents(value: float | None) -> int | None:
    return None if value is None else round(Decimal(str(value)) * 100)


# --- reading a row ------------------------------------------------------------------------------

def normalize_domain(value: str) -> str:
    """'https://www.Acme.com/about' → 'acme.com'. Raises ValueError when it is no domain."""
    text = value.strip().lower()
    text = _SCHEME.sub("", text).lstrip("@")
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = re.sub(r":\d+$", "", text).rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    if not _is_domain(text):
        raise ValueError(f"{value!r} is not a domain")
    return text


def _is_domain(text: str) -> bool:
    try:
        ascii_form = text if text.isascii() else text.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_form.split(".")
    return (len(ascii_form) <= 253 and len(labels) >= 2 and all(_DOMAIN_LABEL.match(label) for label in labels)
            and not labels[-1].isdigit())


def _text_parser(column: str, *, required: bool = False) -> Callable[[str], str | None]:
    def parse(text: str) -> str | None:
        if required and not text:
            raise ValueError("missing")
        if len(text) > _MAX_LENGTHS[column]:
            raise ValueError(f"longer than {_MAX_LENGTHS[column]} characters")
        return text or None

    return parse


def _parse_domains(text: str) -> tuple[str, ...]:
    domains: list[str] = []
    for part in _DOMAIN_SPLIT.split(text):
        if part:
            domain = normalize_domain(part)
            if domain not in domains:
                domains.append(domain)
    return tuple(domains)


def _parse_vip(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not one of true/false, yes/no, 1/0")


def _parse_cadence(text: str) -> int:
    if not text:
        return DEFAULT_CADENCE_DAYS
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_CADENCE_DAYS:
        return int(text)
    raise ValueError(f"{text!r} is not a whole number of days from 1 to {MAX_CADENCE_DAYS}")


def _parse_arr(text: str) -> float | None:
    if not text:
        return None
    number = text
    if number[0] in _CURRENCY_SYMBOLS:
        number = number[1:].lstrip()
    if number.startswith("-"):
        raise ValueError(f"{text!r} is negative")
    if not _ARR.match(number):
        raise ValueError(f"{text!r} is not a number")
    try:
        amount = Decimal(number.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{text!r} has more than 2 decimals")
    if amount > MAX_ARR:
        raise ValueError(f"{text!r} is too large")
    return float(amount)


def _parse_date(text: str) -> date | None:
    if not text:
        return None
    try:
        if _DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")


def _parse_contacts(text: str) -> tuple[tuple[str, str | None], ...]:
    if not text:
        return ()
    contacts: dict[str, str | None] = {}
    for name, address in getaddresses([text]):
        email = _email(address)
        if email is None:
            shown = address or text
            raise ValueError(f"{shown[:80]!r} is not an e-mail address (write them as "
                             f"`Ann Lee <ann@acme.com>, bob@acme.com`)")
        if email in contacts:
            raise ValueError(f"{email} is listed twice")
        name = " ".join(name.split()) or None
        if name and len(name) > 255:
            raise ValueError(f"the name of {email} is longer than 255 characters")
        contacts[email] = name
    return tuple(contacts.items())


def _email(text: str) -> str | None:
    """The address lower-cased, or None when it is not exactly one (bot/common/email_address.py)."""
    return email_or_none(text)


def _cell(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


@dataclass
class _Row:
    line: int
    record: AccountRecord
    problems: list[str]


class _RowReader:
    """Turns the cells of one row into an AccountRecord, collecting every problem in the row."""

    def __init__(self, header: list[str], resolve_owner: Callable[[str], str | None]):
        self.header = header
        self.columns = [name.lower() if name.lower() in COLUMNS else None for name in header]
        self.resolve_owner = resolve_owner

    def read(self, cells: list[str]) -> tuple[AccountRecord, list[str]]:
        problems: list[str] = []
        values: dict[str, str] = {}
        properties: dict[str, str] = {}
        if len(cells) > len(self.header) and any(c.strip() for c in cells[len(self.header):]):
            problems.append(f"the row has {len(cells)} cells but the header has {len(self.header)} columns")
        for index, (name, column) in enumerate(zip(self.header, self.columns, strict=False)):
            value = _cell(cells[index]) if index < len(cells) else ""
            if column is not None:
                values[column] = value
            elif not name:
                if value:
                    problems.append(f"column {index + 1} has no header but holds {value[:40]!r}")
            elif value:
                properties[name] = value

        def parse(column: str, parser, default=None):
            try:
                return parser(values.get(column, ""))
            except ValueError as exc:
                problems.append(f"{column}: {exc}")
                bad_columns.add(column)
                return default

        bad_columns: set[str] = set()

        # Problems are listed in the order of COLUMNS.
        name = parse("name", _text_parser("name", required=True), "")
        external_id = parse("external_id", _text_parser("external_id"))
        domains = parse("domains", _parse_domains, ())
        tier = parse("tier", _text_parser("tier"))
        vip = parse("vip", _parse_vip, True)
        owner = self._owner(values.get("owner", ""), problems)
        cadence = parse("cadence_days", _parse_cadence, DEFAULT_CADENCE_DAYS)
        plan = parse("plan", _text_parser("plan"))
        arr = parse("arr", _parse_arr)
        renewal_on = parse("renewal_date", _parse_date)
        contacts = parse("contacts", _parse_contacts, ())
        if not external_id and not domains and not bad_columns & {"external_id", "domains"}:
            problems.append("needs external_id or domains")
        record = AccountRecord(name=name, external_id=external_id, domains=domains, tier=tier, vip=vip, owner=owner,
                               cadence_days=cadence, plan=plan, arr=arr, renewal_on=renewal_on,
                               properties=properties, contacts=contacts)
        return record, problems

    def _owner(self, text: str, problems: list[str]) -> str | None:
        if not text:
            return None
        if _USER_ID.match(text):
            return text
        email = _email(text)
        if email is None:
            problems.append(f"owner: {text[:60]!r} is neither a Slack user id (U…/W…) nor an e-mail")
            return None
        try:
            user_id = self.resolve_owner(email)
        except ImportRowError as exc:
            problems.append(str(exc))
            return None
        if user_id is None:
            problems.append(f"owner: e-mail {email} is not a Slack user")
        return user_id


# --- import -------------------------------------------------------------------------------------

def import_csv(session: Session, stream: TextIO, *, now: datetime,
               resolve_owner: Callable[[str], str | None]) -> ImportReport:
    """Load the VIP book from CSV (format in the module docstring); one SAVEPOINT per row.

    The whole file is read, and owners given by e-mail resolved, before the database is touched, so
    the slow part holds no lock. `resolve_owner(email)` returns the Slack user id, or None for "no such
    user"; it may raise ImportRowError to fail the row with its own message."""
    report = ImportReport()
    rows = _read_rows(stream, resolve_owner, report)
    book = _Book(session) if rows else None
    for row in rows:
        if row.problems:
            report.errors.append((row.line, "; ".join(row.problems)))
            continue
        assert book is not None
        if book.unchanged(row.record):
            report.unchanged += 1
            continue
        try:
            with session.begin_nested():
                if book.is_new(row.record):  # a concurrent writer taking a key meanwhile fails the INSERT
                    outcome, account = "added", _add_account(session, row.record, now=now)
                else:
                    outcome, account = _upsert(session, row.record, now=now)
        except ImportRowError as exc:
            report.errors.append((row.line, str(exc)))
            continue
        except (IntegrityError, DataError) as exc:
            # Another writer took a domain, contact or external_id meanwhile, or the database refused a value.
            report.errors.append((row.line, f"the database refused the row: {str(exc.orig).splitlines()[0][:200]}"))
            continue
        book.remember(account, row.record)
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.errors.sort(key=lambda error: error[0])
    return report


def _read_rows(stream: TextIO, resolve_owner: Callable[[str], str | None], report: ImportReport) -> list[_Row]:
    reader = csv.reader(_without_bom(stream))
    line_end = 0  # the physical line the previous row ended on
    header: list[str] | None = None
    header_line = 1
    rows: list[_Row] = []
    seen: dict[str, dict[str, int]] = {"external_id": {}, "domains": {}, "contacts": {}}
    row_reader: _RowReader | None = None
    while True:
        start = line_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.errors.append((start, f"the file cannot be read as CSV from here on: {exc}"))
            break
        line_end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if header is None:
            header, header_line = [cell.strip() for cell in cells], start
            problem = _header_problem(header)
            if problem:
                report.errors.append((header_line, problem))
                return []
            row_reader = _RowReader(header, resolve_owner)
            report.property_columns = [name for name, column in zip(header, row_reader.columns, strict=True)
                                       if name and column is None]
            continue
        assert row_reader is not None
        record, problems = row_reader.read(cells)
        keys = {"external_id": [record.external_id] if record.external_id else [],
                "domains": list(record.domains), "contacts": [email for email, _ in record.contacts]}
        for column, values in keys.items():
            for value in values:
                first = seen[column].setdefault(value, start)
                if first != start:
                    shown = repr(value) if column == "external_id" else value
                    problems.append(f"{column}: {shown} already appears on line {first}")
        rows.append(_Row(start, record, problems))
    if header is None:
        report.errors.append((1, "the file is empty: it needs a header row naming the columns"))
    return rows


def _without_bom(stream: TextIO) -> Iterator[str]:
    """The stream's lines, minus a byte-order mark a reader decoding plain 'utf-8' leaves in."""
    for index, line in enumerate(stream):
        yield line.removeprefix("\ufeff") if index == 0 else line


def _header_problem(header: list[str]) -> str | None:
    lowered = [name.lower() for name in header]
    if "name" not in lowered:
        shown = ", ".join(repr(name) for name in header if name)[:200]
        return f"header: no 'name' column (the header row has {shown}); the first row must name the columns"
    seen: set[str] = set()
    for name in lowered:
        if name and name in seen:
            return f"header: column {name!r} appears twice"
        seen.add(name)
    return None


# --- export -------------------------------------------------------------------------------------

def export_csv(session: Session, stream: TextIO) -> int:
    """Write every account as CSV (the import format), ordered by name. Returns the number of rows."""
    accounts = sorted(session.scalars(select(Account)), key=lambda a: (a.name.casefold(), a.name, a.id))
    domains: dict[int, list[str]] = defaultdict(list)
    for account_id, domain in session.execute(select(AccountDomain.account_id, AccountDomain.domain)):
        domains[account_id].append(domain)
    contacts: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for account_id, email, name in session.execute(select(Contact.account_id, Contact.email, Contact.name)):
        contacts[account_id].append((email, name))
    # Import reads headers case-insensitively, so property names differing only in case share a column
    # (the first spelling in sort order names it); names of the fixed columns cannot come from an import.
    spellings: dict[str, str] = {}
    for key in sorted({key for account in accounts for key in (account.properties or {})}):
        if key.strip() and key.lower() not in COLUMNS:
            spellings.setdefault(key.lower(), key)
    extra = sorted(spellings.values(), key=lambda key: (key.casefold(), key))
    writer = csv.writer(stream)
    writer.writerow([*COLUMNS, *extra])
    for account in accounts:
        properties = {key.lower(): value for key, value in (account.properties or {}).items()}
        writer.writerow([
            account.name, account.external_id or "", "; ".join(sorted(domains[account.id])), account.tier or "",
            "true" if account.vip else "false", account.owner or "", account.cadence_days, account.plan or "",
            "" if account.arr is None else f"{Decimal(str(account.arr)):.2f}",
            account.renewal_on.isoformat() if account.renewal_on else "",
            ", ".join(format_address(name, email) for email, name in sorted(contacts[account.id])),
            *(_text(properties.get(column.lower())) for column in extra),
        ])
    return len(accounts)


def format_address(name: str | None, email: str) -> str:
    """('Lee, Ann', 'ann@acme.com') → '"Lee, Ann" <ann@acme.com>', readable by getaddresses."""
    if not name:
        return email
    if _ADDRESS_SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{email}>"


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
