"""`cxloop import responses` (issue 19): a Delighted-style CSV export becomes stored, scored, linked
items that are closed history — not posted to Slack, in no queue — every bad row named by its line,
and a second run changes nothing. SQLite and Postgres; the running app reads the same database.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.db import session_scope
from bot.insights.dashboard import dashboard_data
from bot.vip.book import AccountRecord, upsert_account
from models import FollowUp, Item, OutboxMessage, TopicRun
from models.topic import ALL_TEAMS
from tests.conftest import make_config

HEADER = ["Response ID", "Score", "Comment", "Email", "Name", "Created At", "Plan", "Customer Since", "Role"]
ROWS = [
    ["9001", "2", "The export keeps crashing and support never replied", "ann@acme.example", "Ann Acme",
     "2025-03-04 17:12:01 -0800", "Enterprise", "2023-01-15", "admin"],
    ["9002", "10", "Love the dashboard", "bo@beta.example", "Bo Beta", "2025-03-05T09:00:00Z", "Growth", "", "user"],
    ["9003", "11", "Eleven out of ten", "cy@gamma.example", "Cy", "2025-03-06 10:00:00 +0000", "Free", "", ""],  # bad
    ["9004", "7", "", "di@delta.example", "Di", "1741600000", "Starter", "2025-02-01", ""],
    ["", "5", "No id here", "ed@eps.example", "Ed", "2025-03-08 10:00:00 +0000", "Free", "", ""],  # bad
    ["9006", "0", "Too expensive, cancelling", "fay@acme.example", "Fay Acme", "2025-03-09 10:00:00 +0000",
     "Enterprise", "2020-06-30", "billing"],
]
CONFIG = """\
[[teams]]
name = "success"
channel = "C0SUCCESS"
timezone = "America/New_York"

[[teams]]
name = "support"
channel = "C0SUPPORT"
timezone = "Europe/London"

[[sources]]
name = "generic"
type = "generic"
secret_env = "GENERIC_WEBHOOK_SECRET"

[[routes]]
name = "escalations to support"
when = { kind = "escalation" }
team = "support"
"""


def write_export(folder: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(ROWS)
    path = folder / "delighted-export.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def run_import(database_url: str, folder: Path, *args: str, secret: str | None = "s"):
    (folder / "cxloop.toml").write_text(CONFIG, encoding="utf-8")
    env = dict.fromkeys(("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT"))
    env.update(DATABASE_URL=database_url, CXLOOP_CONFIG=str(folder / "cxloop.toml"), GENERIC_WEBHOOK_SECRET=secret)
    return CliRunner().invoke(main, ["import", "responses", *args], env=env, catch_exceptions=False)


def test_delighted_export_is_stored_as_closed_history_and_a_rerun_changes_nothing(make_app, database_url,
                                                                                   tmp_path: Path) -> None:
    app = make_app()
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="Acme Corp", domains=("acme.example",), vip=True, owner="U0ANA",
                                              plan="Enterprise"), now=datetime.now(UTC))
    path = write_export(tmp_path)

    result = run_import(database_url, tmp_path, str(path), "--format", "delighted")
    assert result.exit_code == 1, result.output  # some rows were refused
    assert "6 rows: added 4, unchanged 0, kept as stored 0, errors 2" in result.output
    assert "line 4: score: 11 is outside the NPS range 0–10" in result.output
    assert "line 6: id: " in result.output

    with app.runtime.session() as session:
        items = {i.external_id: i for i in session.scalars(select(Item).where(Item.source == "delighted"))}
        assert sorted(items) == ["9001", "9002", "9004", "9006"]
        ann = items["9001"]
        assert (ann.score, ann.category, ann.sentiment_label) == (2, "detractor", "negative")
        assert "bugs" in ann.themes
        assert ann.received_at == datetime(2025, 3, 5, 1, 12, 1, tzinfo=UTC)  # the response's time, in UTC
        assert ann.imported_at is not None
        assert (ann.plan, ann.role, str(ann.customer_since)) == ("Enterprise", "admin", "2023-01-15")
        assert ann.account_id is not None and ann.vip  # linked to the VIP book by the e-mail's domain
        assert items["9004"].received_at == datetime.fromtimestamp(1741600000, UTC)
        # Closed history: no follow-up (so no SLA, reminder, queue or Home), nothing for Slack.
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    answer = app.slash("open", user="U0ANA", channel="C0SUCCESS").json()
    assert "Ann Acme" not in str(answer) and "Fay Acme" not in str(answer)
    app.idle()
    assert app.posts("C0SUCCESS") == [] and app.posts("C0SUPPORT") == []

    again = run_import(database_url, tmp_path, str(path), "--format", "delighted")
    assert "6 rows: added 0, unchanged 4, kept as stored 0, errors 2" in again.output
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 4


def test_a_file_that_is_not_the_format_imports_nothing(database_url, session_factory, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("When,How happy\n2025-01-01,9\n", encoding="utf-8")
    result = run_import(database_url, tmp_path, str(path), "--format", "delighted")
    assert result.exit_code == 2
    assert "no id column" in result.output and "Nothing was imported" in result.output
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 0


def test_generic_csv_columns_and_workers_give_the_same_result(database_url, session_factory, tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    rows = ["id,kind,score,comment,email,plan,segment,role,since,agent,created_at"]
    rows += [f"h{n},csat,{1 + n % 5},Slow replies {n},c{n}@x.example,Pro,smb,admin,2024-01-0{1 + n % 9},"
             f"ann@acme.example,2025-06-01T10:{n % 60:02d}:00Z" for n in range(30)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run_import(database_url, tmp_path, str(path), "--format", "csv", "--source", "legacy", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "30 rows: added 30" in result.output
    with session_factory() as session:
        item = session.scalar(select(Item).where(Item.source == "legacy", Item.external_id == "h7"))
        assert (item.kind, item.score, item.agent, item.segment) == ("csat", 3, "ann@acme.example", "smb")


def test_imported_history_counts_in_the_dashboard_but_breaches_no_sla(database_url, session_factory,
                                                                       tmp_path: Path) -> None:
    result = run_import(database_url, tmp_path, str(write_export(tmp_path)), "--format", "delighted")
    assert "added 4" in result.output
    with session_scope(session_factory) as session:
        data = dashboard_data(session, config=make_config(), start=date(2025, 3, 1), end=date(2025, 3, 31),
                              now=datetime(2025, 4, 1, tzinfo=UTC))
    success = next(t for t in data.teams if t.team == "success")
    # Two detractors (2 and 0) arrived weeks before `now`, under the default 4-hour claim SLA for
    # detractors: as history they were never waiting for anyone here.
    assert (success.volume, success.nps_count) == (4, 4)
    assert (success.open_items, success.open_detractors, success.sla_breaches) == (0, 0, 0)
    assert data.open_items == []


def test_imported_weeks_get_their_topics_for_the_dashboard_and_weekly_reports(database_url, session_factory,
                                                                                tmp_path: Path) -> None:
    """A year of history would show "no topics computed" on every past week: the import groups each
    week its rows fall in (all teams, and each team), as the weekly job would have, and only once."""
    complaints = ("The invoice export fails with an error every single time", "Invoice export keeps failing "
                  "for our finance team", "Exporting invoices fails again this morning")
    praise = ("The new dashboard charts are lovely and clear", "Dashboard charts look great, thank you",
              "Really like the clear dashboard charts now")
    path = tmp_path / "history.csv"
    rows = ["id,score,comment,email,created_at"]
    for n in range(60):  # 2025-W10 and 2025-W11: 30 comments each, two clear groups
        text = (complaints if n % 2 else praise)[n % 3]
        rows.append(f"t{n},{2 if n % 2 else 10},\"{text} ({n})\",p{n}@x.example,"
                    f"2025-03-{4 + (n // 30) * 7:02d}T15:{n % 60:02d}:00Z")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    result = run_import(database_url, tmp_path, str(path), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "Topics grouped for 2 weeks (2025-W10 to 2025-W11)" in result.output
    with session_scope(session_factory) as session:
        runs = {(run.week, run.scope) for run in session.scalars(select(TopicRun))}
        assert runs == {("2025-W10", ALL_TEAMS), ("2025-W11", ALL_TEAMS), ("2025-W10", "success"),
                        ("2025-W11", "success")}
        data = dashboard_data(session, config=make_config(), start=date(2025, 3, 1), end=date(2025, 3, 31),
                              now=datetime(2025, 4, 1, tzinfo=UTC))
        assert data.topics is not None and data.topics.week == "2025-W11"
        labels = " ".join(line.label for line in data.topics.topics)
        assert "invoice" in labels and "dashboard" in labels
        # A range that ends mid-week shows the last whole week's topics (a partial week's trend would
        # compare three days with seven).
        midweek = dashboard_data(session, config=make_config(), start=date(2025, 3, 1), end=date(2025, 3, 12),
                                 now=datetime(2025, 4, 1, tzinfo=UTC))
        assert midweek.topics.week == "2025-W10"
        computed = {run.id for run in session.scalars(select(TopicRun))}

    again = run_import(database_url, tmp_path, str(path), "--format", "csv")
    assert "added 0, unchanged 60" in again.output and "Topics grouped" not in again.output
    with session_scope(session_factory) as session:
        assert {run.id for run in session.scalars(select(TopicRun))} == computed


def test_a_rerun_does_not_score_what_is_stored(database_url, session_factory, tmp_path: Path, monkeypatch) -> None:
    """Re-running a large export costs reading and checking it, not scoring it again."""
    path = write_export(tmp_path)
    assert "added 4" in run_import(database_url, tmp_path, str(path), "--format", "delighted").output
    import bot.intake.history as history

    scored: list[str | None] = []
    real = history.read_comment  # the analysis of a comment (themes, sentiment): score_response's work
    monkeypatch.setattr(history, "read_comment", lambda comment, *a: scored.append(comment) or real(comment, *a))
    ROWS.append(["9007", "9", "A new row is scored", "gus@acme.example", "Gus", "2025-03-10 10:00:00 +0000", "", "", ""])
    try:
        again = run_import(database_url, tmp_path, str(write_export(tmp_path)), "--format", "delighted")
    finally:
        ROWS.pop()
    assert "7 rows: added 1, unchanged 4, kept as stored 0, errors 2" in again.output
    assert scored == ["A new row is scored"]


def test_an_import_needs_no_webhook_secret(make_app, database_url, tmp_path: Path) -> None:
    """Importing history receives no webhook: a laptop with the database URL and the config file is enough."""
    make_app()  # migrates the database
    result = run_import(database_url, tmp_path, str(write_export(tmp_path)), "--format", "delighted", secret=None)
    assert "added 4" in result.output and "GENERIC_WEBHOOK_SECRET" not in result.output
