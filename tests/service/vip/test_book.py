"""The VIP book's CSV import and export on a real database (SQLite, and Postgres when configured),
plus `cxloop vip import` / `cxloop vip export` run in-process with click's CliRunner."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select

from bot.cli import main
from bot.db import session_scope
from bot.vip import book as vip_book
from bot.vip.book import (
    AccountRecord,
    ImportReport,
    ImportRowError,
    export_csv,
    format_address,
    import_csv,
    normalize_domain,
    upsert_account,
)
from models import Account, AccountDomain, Contact
from tests.conftest import BOT_TOKEN

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
HEADER = ["name", "external_id", "domains", "tier", "vip", "owner", "cadence_days", "plan", "arr",
          "renewal_date", "contacts", "Region"]


def no_owner_lookup(email: str) -> str | None:
    raise AssertionError(f"resolve_owner called for {email}")


def run_import(factory, text: str, *, now: datetime = NOW,
               resolve_owner: Callable[[str], str | None] = no_owner_lookup) -> ImportReport:
    with session_scope(factory) as session:
        return import_csv(session, io.StringIO(text, newline=""), now=now, resolve_owner=resolve_owner)


def run_export(factory) -> tuple[int, str]:
    buffer = io.StringIO(newline="")
    with session_scope(factory) as session:
        count = export_csv(session, buffer)
    return count, buffer.getvalue()


def to_csv(rows: list[list[object]], header: list[str] = HEADER) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def account_row(i: int) -> list[object]:
    return [f"Account {i:04d}", f"EXT-{i}", f"acct{i}.example.com; www.acct{i}.example.org", ["gold", "silver", ""][i % 3],
            "yes" if i % 5 else "no", ["U0ANA", "U0BEN", ""][i % 3], 7 + i % 60, "enterprise" if i % 2 else "",
            f"${i * 1000:,}.50" if i % 4 else "", f"2027-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 3 else "",
            f'"Lee, Ann {i}" <ann{i}@acct{i}.example.com>, bob{i}@acct{i}.example.com', ["EMEA", "AMER", ""][i % 3]]


BAD_LINES = {50: ("arr", "lots"), 250: ("renewal_date", "2025-13-40"), 480: ("name", "")}


def big_csv(count: int = 500) -> str:
    """`count` rows; row i is on line i + 2. Three of them are bad (BAD_LINES)."""
    rows = []
    for i in range(count):
        row = account_row(i)
        if i + 2 in BAD_LINES:
            column, value = BAD_LINES[i + 2]
            row[HEADER.index(column)] = value
        rows.append(row)
    return to_csv(rows)


def snapshot(factory) -> dict[str, tuple]:
    with session_scope(factory) as session:
        return {a.external_id or a.name: (a.updated_at, a.next_due_at) for a in session.scalars(select(Account))}


@contextmanager
def count_writes(factory) -> Iterator[list[str]]:
    """Every INSERT, UPDATE or DELETE the engine sends while the block runs."""
    engine = factory.kw["bind"]
    writes: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- the big file -------------------------------------------------------------------------------

def test_500_rows_with_3_bad_ones_load_the_497_good_ones(session_factory):
    report = run_import(session_factory, big_csv())

    assert (report.added, report.updated, report.unchanged) == (497, 0, 0)
    assert [line for line, _ in report.errors] == [50, 250, 480]
    reasons = dict(report.errors)
    assert reasons[50] == "arr: 'lots' is not a number"
    assert reasons[250] == "renewal_date: '2025-13-40' is not a date (YYYY-MM-DD)"
    assert reasons[480] == "name: missing"
    assert report.property_columns == ["Region"]
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 497
        assert session.scalar(select(func.count()).select_from(AccountDomain)) == 2 * 497
        assert session.scalar(select(func.count()).select_from(Contact)) == 2 * 497
        # The bad rows left nothing behind.
        assert session.scalar(select(Account).where(Account.external_id.in_(["EXT-48", "EXT-248", "EXT-478"]))) is None
        acme = session.scalar(select(Account).where(Account.external_id == "EXT-1"))
        assert acme.name == "Account 0001" and acme.search_name == "account 0001"
        assert (acme.tier, acme.vip, acme.owner, acme.cadence_days, acme.plan) == ("silver", True, "U0BEN", 8, "enterprise")
        assert acme.arr == 1000.50 and acme.renewal_on == date(2027, 2, 2)
        assert acme.properties == {"Region": "AMER"}
        assert acme.created_at == acme.updated_at == NOW
        assert acme.next_due_at == NOW + timedelta(days=8)
        assert sorted(session.scalars(select(AccountDomain.domain).where(AccountDomain.account_id == acme.id))) == [
            "acct1.example.com", "acct1.example.org"]
        assert sorted(session.execute(select(Contact.email, Contact.name).where(Contact.account_id == acme.id))) == [
            ("ann1@acct1.example.com", "Lee, Ann 1"), ("bob1@acct1.example.com", None)]
        zero = session.scalar(select(Account).where(Account.external_id == "EXT-0"))
        assert (zero.tier, zero.vip, zero.owner, zero.plan, zero.arr, zero.renewal_on, zero.properties) == (
            "gold", False, "U0ANA", None, None, None, {"Region": "EMEA"})


def test_reimporting_the_same_file_writes_nothing(session_factory):
    text = big_csv()
    run_import(session_factory, text)
    before = snapshot(session_factory)

    with count_writes(session_factory) as writes:
        again = run_import(session_factory, text, now=LATER)

    assert (again.added, again.updated, again.unchanged) == (0, 0, 497)
    assert [line for line, _ in again.errors] == [50, 250, 480]
    assert writes == []
    assert snapshot(session_factory) == before


def test_a_changed_cell_updates_that_account_only(session_factory):
    rows = [account_row(i) for i in range(20)]
    run_import(session_factory, to_csv(rows))
    before = snapshot(session_factory)
    rows[7][HEADER.index("cadence_days")] = 90

    report = run_import(session_factory, to_csv(rows), now=LATER)

    assert (report.added, report.updated, report.unchanged, report.errors) == (0, 1, 19, [])
    after = snapshot(session_factory)
    assert after["EXT-7"] == (LATER, NOW + timedelta(days=90)), "next_due_at follows the new cadence"
    assert {k: v for k, v in after.items() if k != "EXT-7"} == {k: v for k, v in before.items() if k != "EXT-7"}


def test_domains_contacts_and_properties_are_replaced_by_the_rows(session_factory):
    header = ["name", "external_id", "domains", "contacts", "Region", "Notes"]
    run_import(session_factory, to_csv([["Acme", "A-1", "acme.com acme.io", "ann@acme.com, Bob <bob@acme.com>",
                                         "EMEA", "hello"]], header))
    report = run_import(session_factory, to_csv([["Acme Inc", "A-1", "acme.com; acme.dev",
                                                  "Bob Stone <bob@acme.com>, cy@acme.dev", "", "hello"]], header),
                        now=LATER)
    assert (report.updated, report.errors) == (1, [])
    with session_scope(session_factory) as session:
        acme = session.scalar(select(Account))
        assert (acme.name, acme.search_name, acme.updated_at) == ("Acme Inc", "acme inc", LATER)
        assert acme.properties == {"Notes": "hello"}
        assert sorted(session.scalars(select(AccountDomain.domain))) == ["acme.com", "acme.dev"]
        assert sorted(session.execute(select(Contact.email, Contact.name))) == [
            ("bob@acme.com", "Bob Stone"), ("cy@acme.dev", None)]


# --- round trip ---------------------------------------------------------------------------------

def test_export_then_import_of_the_export_changes_nothing(session_factory, monkeypatch):
    header = [*HEADER, "Notes", "health score"]
    rows = [[*account_row(i), "", ""] for i in range(30)]
    rows[3][-2] = "Call before\nthe renewal, \"urgent\""
    rows[4][HEADER.index("contacts")] = 'José Núñez <jose@acct4.example.com>, "O\\"Brien, Pat" <pat@acct4.example.com>'
    rows[5][-1] = "87"
    rows[6][HEADER.index("name")] = "ACME, Inc. (EU)"
    rows[6][HEADER.index("arr")] = "1200.5"
    run_import(session_factory, to_csv(rows, header))

    count, exported = run_export(session_factory)

    assert count == 30
    parsed = list(csv.reader(io.StringIO(exported, newline="")))
    assert parsed[0] == [*HEADER[:-1], "health score", "Notes", "Region"]  # properties sorted, after the fixed columns
    names = [row[0] for row in parsed[1:]]
    assert names == sorted(names, key=str.casefold) and "ACME, Inc. (EU)" in names
    by_id = {row[1]: dict(zip(parsed[0], row, strict=True)) for row in parsed[1:]}
    assert by_id["EXT-3"]["Notes"] == "Call before\nthe renewal, \"urgent\""
    assert by_id["EXT-5"]["health score"] == "87" and by_id["EXT-5"]["vip"] == "false"
    assert by_id["EXT-6"]["arr"] == "1200.50" and by_id["EXT-6"]["vip"] == "true"
    assert by_id["EXT-1"]["domains"] == "acct1.example.com; acct1.example.org"
    before = snapshot(session_factory)

    with count_writes(session_factory) as writes:
        again = run_import(session_factory, exported, now=LATER)

    assert (again.added, again.updated, again.unchanged, again.errors) == (0, 0, 30, [])
    assert writes == [] and snapshot(session_factory) == before
    # The same through upsert_account's own comparison, without the import's preloaded copy of the book.
    monkeypatch.setattr(vip_book._Book, "unchanged", lambda self, record: False)
    with count_writes(session_factory) as writes:
        slow = run_import(session_factory, exported, now=LATER)
    assert (slow.added, slow.updated, slow.unchanged, slow.errors) == (0, 0, 30, [])
    assert writes == [] and snapshot(session_factory) == before
    with session_scope(session_factory) as session:
        assert sorted(session.execute(select(Contact.email, Contact.name)
                                      .where(Contact.email.like("%@acct4.example.com")))) == [
            ("jose@acct4.example.com", "José Núñez"), ("pat@acct4.example.com", 'O"Brien, Pat')]


def test_export_of_an_empty_book_is_the_header(session_factory):
    count, text = run_export(session_factory)
    assert count == 0
    assert text.strip() == ",".join(HEADER[:-1])


# --- owners -------------------------------------------------------------------------------------

def test_owner_emails_are_resolved_through_the_callback(session_factory):
    asked: list[str] = []

    def resolve(email: str) -> str | None:
        asked.append(email)
        return {"ana@example.com": "U0ANA"}.get(email)

    header = ["name", "external_id", "owner"]
    report = run_import(session_factory, to_csv([
        ["Acme", "A-1", "Ana@Example.com"],
        ["Beta", "B-1", "nobody@example.com"],
        ["Gamma", "G-1", "W0ENTERPRISE"],
        ["Delta", "D-1", "ana"],
    ], header), resolve_owner=resolve)

    assert (report.added, report.errors) == (2, [
        (3, "owner: e-mail nobody@example.com is not a Slack user"),
        (5, "owner: 'ana' is neither a Slack user id (U…/W…) nor an e-mail"),
    ])
    assert asked == ["ana@example.com", "nobody@example.com"], "only e-mails are looked up"
    with session_scope(session_factory) as session:
        owners = dict(session.execute(select(Account.external_id, Account.owner)).all())
    assert owners == {"A-1": "U0ANA", "G-1": "W0ENTERPRISE"}


def test_resolver_may_fail_a_row_with_its_own_message(session_factory):
    def resolve(email: str) -> str | None:
        raise ImportRowError(f"owner: cannot look up {email} right now")

    report = run_import(session_factory, to_csv([["Acme", "A-1", "ann@acme.com"]], ["name", "external_id", "owner"]),
                        resolve_owner=resolve)
    assert report.errors == [(2, "owner: cannot look up ann@acme.com right now")]


# --- conflicts and duplicates -------------------------------------------------------------------

def test_domain_or_contact_of_another_account_fails_only_that_row(session_factory):
    header = ["name", "external_id", "domains", "contacts"]
    run_import(session_factory, to_csv([["Acme", "A-1", "acme.com", "ann@acme.com"]], header))

    report = run_import(session_factory, to_csv([
        ["Other", "O-1", "other.com; www.ACME.com", ""],
        ["Fine", "F-1", "fine.com", ""],
        ["Thief", "T-1", "thief.com", "Ann <ANN@acme.com>"],
    ], header), now=LATER)

    assert (report.added, report.updated, report.unchanged) == (1, 0, 0)
    assert report.errors == [(2, "domain acme.com already belongs to account 'Acme'"),
                             (4, "contact ann@acme.com already belongs to account 'Acme'")]
    with session_scope(session_factory) as session:
        assert sorted(session.scalars(select(Account.external_id))) == ["A-1", "F-1"]
        assert sorted(session.scalars(select(AccountDomain.domain))) == ["acme.com", "fine.com"]
        assert session.execute(select(Contact.email, Contact.name)).all() == [("ann@acme.com", None)]


def test_a_failing_update_leaves_the_account_as_it_was(session_factory):
    header = ["name", "external_id", "domains", "tier"]
    run_import(session_factory, to_csv([["Acme", "A-1", "acme.com", "gold"], ["Beta", "B-1", "beta.com", ""]], header))
    before = snapshot(session_factory)
    report = run_import(session_factory, to_csv([["Acme 2", "A-1", "acme.com; beta.com", "silver"]], header), now=LATER)
    assert report.errors == [(2, "domain beta.com already belongs to account 'Beta'")]
    assert snapshot(session_factory) == before
    with session_scope(session_factory) as session:
        assert session.scalar(select(Account.tier).where(Account.external_id == "A-1")) == "gold"


def test_a_row_the_database_refuses_is_rolled_back_to_its_savepoint(session_factory, monkeypatch):
    """As if another writer took acme.com after the import read the book: the row's account INSERT
    succeeds, its domain INSERT fails, and the SAVEPOINT takes the account back out."""
    header = ["name", "external_id", "domains"]
    run_import(session_factory, to_csv([["Acme", "A-1", "acme.com"]], header))
    monkeypatch.setattr(vip_book._Book, "is_new", lambda self, record: True)

    report = run_import(session_factory, to_csv([["Before", "B-1", "before.com"], ["Late", "L-1", "acme.com"],
                                                 ["After", "C-1", "after.com"]], header), now=LATER)

    assert report.added == 2
    assert [line for line, _ in report.errors] == [3]
    assert report.errors[0][1].startswith("the database refused the row: ")
    with session_scope(session_factory) as session:
        assert sorted(session.scalars(select(Account.external_id))) == ["A-1", "B-1", "C-1"]
        assert sorted(session.scalars(select(AccountDomain.domain))) == ["acme.com", "after.com", "before.com"]


def test_duplicate_keys_in_one_file_name_the_first_line(session_factory):
    header = ["name", "external_id", "domains", "contacts"]
    report = run_import(session_factory, to_csv([
        ["Acme", "A-1", "acme.com", "ann@acme.com"],
        ["Beta", "B-1", "beta.com", ""],
        ["Acme again", "A-1", "acme2.com", ""],
        ["Beta again", "", "BETA.com", ""],
        ["Cy", "C-1", "cy.com", "Ann <ann@acme.com>"],
    ], header))
    assert report.added == 2
    assert report.errors == [(4, "external_id: 'A-1' already appears on line 2"),
                             (5, "domains: beta.com already appears on line 3"),
                             (6, "contacts: ann@acme.com already appears on line 2")]


def test_matching_by_domain_without_external_id_and_adopting_one(session_factory):
    header = ["name", "external_id", "domains"]
    run_import(session_factory, to_csv([["Acme", "", "acme.com"]], header))
    report = run_import(session_factory, to_csv([["Acme", "", "acme.com; acme.io"]], header))
    assert (report.added, report.updated) == (0, 1)
    report = run_import(session_factory, to_csv([["Acme", "CRM-9", "acme.io"]], header))
    assert (report.added, report.updated, report.errors) == (0, 1, [])
    report = run_import(session_factory, to_csv([["Acme", "", "acme.io"]], header))  # keeps its external_id
    assert (report.unchanged, report.errors) == (1, [])
    with session_scope(session_factory) as session:
        assert session.execute(select(Account.external_id, Account.name)).all() == [("CRM-9", "Acme")]
        assert list(session.scalars(select(AccountDomain.domain))) == ["acme.io"]


# --- reading the file ---------------------------------------------------------------------------

def test_multi_line_cells_keep_line_numbers_physical(session_factory):
    text = ("name,external_id,arr,Notes\n"             # line 1
            'Acme,A-1,,"first line\nsecond\nthird"\n'  # lines 2-4
            "Beta,B-1,abc,\n"                          # line 5
            'Cy,C-1,,"one\r\ntwo"\n'                  # lines 6-7
            '"Dee\nDee",,lots,"x\ny"\n'                 # lines 8-10
            "\n"                                       # line 11, blank
            "Eve,E-1,-5,\n")                           # line 12
    report = run_import(session_factory, text)
    assert report.added == 2
    assert report.errors == [(5, "arr: 'abc' is not a number"),
                             (8, "arr: 'lots' is not a number; needs external_id or domains"),
                             (12, "arr: '-5' is negative")]
    with session_scope(session_factory) as session:
        notes = dict(session.execute(select(Account.external_id, Account.properties)).all())
    assert notes == {"A-1": {"Notes": "first line\nsecond\nthird"}, "C-1": {"Notes": "one\ntwo"}}


@pytest.mark.parametrize("bom_text", ["\ufeffName,EXTERNAL_ID\nAcme,A-1\n", '\ufeff"name","external_id"\nAcme,A-1\n'])
def test_a_byte_order_mark_before_the_header_is_ignored(session_factory, bom_text):
    report = run_import(session_factory, bom_text)
    assert (report.added, report.errors, report.property_columns) == (1, [], [])


def test_file_level_problems_are_reported_on_line_1(session_factory):
    assert run_import(session_factory, "").errors == [
        (1, "the file is empty: it needs a header row naming the columns")]
    missing = run_import(session_factory, "Acme,A-1\nBeta,B-1\n")
    assert missing.errors[0][0] == 1 and "no 'name' column" in missing.errors[0][1]
    assert missing.added == 0
    twice = run_import(session_factory, "name,Tier,tier\nAcme,a,b\n")
    assert twice.errors == [(1, "header: column 'tier' appears twice")]


def test_cell_formats(session_factory):
    header = ["name", "external_id", "vip", "cadence_days", "arr", "renewal_date", "domains", "owner", "", "contacts"]
    report = run_import(session_factory, to_csv([
        ["A", "A", "No", "", "$1,200.50", "2027-02-28", "HTTPS://www.A.com/x?y", "", "", ""],
        ["B", "B", "1", "365", "€ 3000", "", "", "", "", ""],
        ["C", "C", "maybe", "0", "1,2,3", "2027-02-30", "not_a_domain", "", "", ""],
        ["D", "D", "", "30.5", "12.345", "02/03/2027", "", "U0ana", "surprise", "Ann Lee ann@acme.com"],
        ["E", "E", "", "366", "1e5", "", "ann@e.com", "", "", "", "extra"],
    ], header))
    assert report.added == 2
    errors = dict(report.errors)
    assert errors[4] == ("domains: 'not_a_domain' is not a domain; vip: 'maybe' is not one of true/false, yes/no, 1/0; "
                         "cadence_days: '0' is not a whole number of days from 1 to 365; "
                         "arr: '1,2,3' is not a number; renewal_date: '2027-02-30' is not a date (YYYY-MM-DD)")
    assert errors[5].startswith("column 9 has no header but holds 'surprise'; "
                                "owner: 'U0ana' is neither a Slack user id (U…/W…) nor an e-mail; "
                                "cadence_days: '30.5' is not a whole number")
    assert "arr: '12.345' has more than 2 decimals" in errors[5]
    assert "renewal_date: '02/03/2027' is not a date (YYYY-MM-DD)" in errors[5]
    assert "contacts: 'ann lee ann@acme.com' is not an e-mail address" in errors[5].lower()
    assert errors[6].startswith("the row has 11 cells but the header has 10 columns")
    assert "domains: 'ann@e.com' is not a domain" in errors[6] and "arr: '1e5' is not a number" in errors[6]
    with session_scope(session_factory) as session:
        a = session.scalar(select(Account).where(Account.external_id == "A"))
        b = session.scalar(select(Account).where(Account.external_id == "B"))
        assert (a.vip, a.cadence_days, a.arr, a.renewal_on) == (False, 30, 1200.5, date(2027, 2, 28))
        assert (b.vip, b.cadence_days, b.arr) == (True, 365, 3000.0)
        assert list(session.scalars(select(AccountDomain.domain))) == ["a.com"]


def test_normalize_domain_and_format_address():
    assert normalize_domain(" https://WWW.Acme.co.uk:443/path ") == "acme.co.uk"
    assert normalize_domain("@acme.com") == "acme.com"
    for bad in ("acme", "acme..com", "-acme.com", "ann@acme.com", "1.2.3.4"):
        with pytest.raises(ValueError):
            normalize_domain(bad)
    assert format_address(None, "a@x.com") == "a@x.com"
    assert format_address("Ann Lee", "a@x.com") == "Ann Lee <a@x.com>"
    assert format_address('Lee, "Ann"', "a@x.com") == '"Lee, \\"Ann\\"" <a@x.com>'


def test_upsert_account_refuses_incomplete_records(session_factory):
    with session_scope(session_factory) as session:
        with pytest.raises(ImportRowError, match="needs external_id or domains"):
            upsert_account(session, AccountRecord(name="Acme"), now=NOW)
        with pytest.raises(ImportRowError, match="name: missing"):
            upsert_account(session, AccountRecord(name=" ", external_id="A-1"), now=NOW)
        assert upsert_account(session, AccountRecord(name="Acme", external_id="A-1"), now=NOW) == "added"
        assert upsert_account(session, AccountRecord(name="Acme", external_id="A-1"), now=LATER) == "unchanged"


# --- the command line ---------------------------------------------------------------------------

CLEARED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "LOG_LEVEL")


def cli(args: list[str], workdir: Path, **env: str):
    environment: dict[str, str | None] = dict.fromkeys(CLEARED)
    environment.update(DATABASE_URL=f"sqlite:///{workdir / 'cxloop.db'}", **env)
    return CliRunner().invoke(main, args, env=environment, catch_exceptions=False)


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    result = cli(["db", "upgrade"], tmp_path)
    assert result.exit_code == 0, result.output
    return tmp_path


CLI_CSV = ("name,external_id,domains,owner,arr\n"
           "Acme,A-1,acme.com,U0ANA,\"$1,000\"\n"
           "Beta,B-1,beta.com,,abc\n"
           "Cy,C-1,cy.com,ana@example.com,\n"
           "Dee,D-1,dee.com,,\n")


def test_cli_import_prints_summary_and_bad_lines_and_exits_1(migrated: Path):
    path = migrated / "book.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CLI_CSV.encode())

    result = cli(["vip", "import", str(path)], migrated)

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == "added 2, updated 0, unchanged 0, errors 2"
    assert lines[1:] == [
        "line 3: arr: 'abc' is not a number",
        "line 4: owner: ana@example.com is an e-mail; resolving e-mails to Slack users needs a bot token "
        "(set SLACK_BOT_TOKEN), or give the Slack user id (U…) instead",
    ]
    good = "\n".join(CLI_CSV.splitlines()[i] for i in (0, 1, 4)) + "\n"
    path.write_text(good, encoding="utf-8")
    again = cli(["vip", "import", str(path)], migrated)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines() == ["added 0, updated 0, unchanged 2, errors 0"]


def test_cli_export_prints_csv_and_a_file_export_imports_unchanged(migrated: Path):
    (migrated / "book.csv").write_text(CLI_CSV, encoding="utf-8")
    cli(["vip", "import", str(migrated / "book.csv")], migrated)
    (migrated / "more.csv").write_text("name,domains,Regoin\nEve,eve.com,EMEA\n", encoding="utf-8")
    more = cli(["vip", "import", str(migrated / "more.csv")], migrated)
    assert more.exit_code == 0 and more.output.splitlines() == [
        "added 1, updated 0, unchanged 0, errors 0", "columns kept as custom properties: Regoin"]

    result = cli(["vip", "export"], migrated)

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output, newline="")))
    assert [(r["name"], r["external_id"], r["domains"], r["owner"], r["arr"], r["Regoin"]) for r in rows] == [
        ("Acme", "A-1", "acme.com", "U0ANA", "1000.00", ""), ("Dee", "D-1", "dee.com", "", "", ""),
        ("Eve", "", "eve.com", "", "", "EMEA")]
    written = cli(["vip", "export", str(migrated / "out.csv")], migrated)
    assert written.exit_code == 0 and "Exported 3 account(s)" in written.output
    assert (migrated / "out.csv").read_bytes().startswith(b"\xef\xbb\xbfname,external_id,")
    again = cli(["vip", "import", str(migrated / "out.csv")], migrated)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == "added 0, updated 0, unchanged 3, errors 0"


def test_cli_resolves_owner_emails_through_slack_once_each(migrated: Path, fake_slack):
    path = migrated / "book.csv"
    path.write_text("name,external_id,owner\nAcme,A-1,ana@example.com\nBeta,B-1,ANA@example.com\n"
                    "Cy,C-1,ghost@example.com\n", encoding="utf-8")

    result = cli(["vip", "import", str(path)], migrated, SLACK_BOT_TOKEN=BOT_TOKEN,
                 SLACK_SIGNING_SECRET="secret", SLACK_API_URL=fake_slack.base_url)

    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == ["added 2, updated 0, unchanged 0, errors 1",
                                          "line 4: owner: e-mail ghost@example.com is not a Slack user"]
    assert sorted(c["args"]["email"] for c in fake_slack.calls("users.lookupByEmail")) == [
        "ana@example.com", "ghost@example.com"]
    exported = cli(["vip", "export"], migrated)
    assert [r["owner"] for r in csv.DictReader(io.StringIO(exported.output))] == ["U0ANA", "U0ANA"]


def test_cli_refuses_unmigrated_database_and_non_utf8_files(tmp_path: Path):
    path = tmp_path / "book.csv"
    path.write_text(CLI_CSV, encoding="utf-8")
    result = cli(["vip", "import", str(path)], tmp_path)
    assert result.exit_code == 2 and "cxloop db upgrade" in result.output
    assert cli(["db", "upgrade"], tmp_path).exit_code == 0
    path.write_bytes("name,external_id\nCaf\u00e9,A-1\n".encode("cp1252"))
    result = cli(["vip", "import", str(path)], tmp_path)
    assert result.exit_code == 2 and "line 2 is not UTF-8" in result.output
