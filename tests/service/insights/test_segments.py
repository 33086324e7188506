"""Cuts by plan, segment, role, tenure and agent (issue 19), on SQLite and Postgres.

Seeds a known set of items and checks the cut against values computed here with plain Python; the
command line (`cxloop report --by …`) and the weekly report's "By plan" line read the same database.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.db import session_scope
from bot.insights.digest import build_weekly_report, report_message, report_text
from bot.insights.segments import cut_by, tenure_bucket
from bot.intake.scoring import categorize
from models import FollowUp, Item
from tests.conftest import make_config

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=30)
SUCCESS = make_config().team("success")

# (plan, agent, kind, score, days ago received, customer since, themes, minutes to resolve or None)
ROWS = [
    ("Enterprise", "ann@acme.example", "nps", 10, 2, date(2020, 1, 1), ["pricing"], 60),
    ("Enterprise", "ann@acme.example", "nps", 9, 3, date(2020, 1, 1), ["pricing", "bugs"], 120),
    ("Enterprise", "bob@acme.example", "nps", 3, 4, date(2026, 11, 10), ["bugs"], 30),
    ("Enterprise", "bob@acme.example", "nps", 8, 5, date(2025, 6, 1), [], None),
    ("Enterprise", "ann@acme.example", "csat", 5, 6, None, ["support"], 240),
    ("Enterprise", "ann@acme.example", "csat", 2, 7, None, ["support"], None),
    ("Free", "bob@acme.example", "nps", 0, 1, date(2026, 9, 1), ["pricing"], 15),
    ("Free", None, "nps", 10, 2, None, [], None),
    (None, None, "nps", 6, 3, None, [], None),
    ("Enterprise", "ann@acme.example", "nps", 10, 45, None, ["pricing"], None),  # before the window
]


def store(session_factory) -> None:
    with session_scope(session_factory) as session:
        for n, (plan, agent, kind, score, ago, since, themes, resolve) in enumerate(ROWS):
            received = NOW - timedelta(days=ago)
            item = Item(source="generic", external_id=f"cut-{n}", kind=kind, score=score,
                        category=categorize(kind, score), plan=plan, agent=agent, customer_since=since,
                        themes=themes, received_at=received, updated_at=received, team="success",
                        channel="C0SUCCESS", content_hash="x")
            session.add(item)
            session.flush()
            resolved = None if resolve is None else received + timedelta(minutes=resolve)
            session.add(FollowUp(item_id=item.id, status="resolved" if resolved else "open",
                                 resolved_at=resolved, updated_at=received))


def in_window() -> list[tuple]:
    return [r for r in ROWS if r[4] <= 30]


def nps_of(rows) -> int | None:
    scores = [r[3] for r in rows if r[2] == "nps"]
    if not scores:
        return None
    return round(100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores))


def test_cut_by_plan_matches_plain_python_and_marks_small_groups(session_factory) -> None:
    store(session_factory)
    with session_scope(session_factory) as session:
        cut = cut_by(session, by="plan", start=START, end=NOW)
    rows = in_window()
    assert [g.name for g in cut.groups] == ["Enterprise", "Free", "(none)"]
    by_name = {g.name: g for g in cut.groups}
    for name, plan in (("Enterprise", "Enterprise"), ("Free", "Free"), ("(none)", None)):
        mine = [r for r in rows if r[0] == plan]
        group = by_name[name]
        assert group.volume == len(mine)
        assert group.nps == nps_of(mine)
        assert group.small is (len(mine) < 5)
        waits = [r[7] for r in mine if r[7] is not None]
        assert group.resolve.minutes == (pytest.approx(statistics.median(waits)) if waits else None)
    enterprise = by_name["Enterprise"]
    assert (enterprise.csat, enterprise.csat_responses) == (50, 2)  # one 5, one 2
    assert enterprise.top_themes == (("bugs", 2), ("pricing", 2), ("support", 2))
    assert not enterprise.small and by_name["Free"].small


def test_cut_by_agent_and_tenure(session_factory) -> None:
    store(session_factory)
    with session_scope(session_factory) as session:
        agents = {g.name: g for g in cut_by(session, by="agent", start=START, end=NOW).groups}
        tenure = cut_by(session, by="tenure", start=START, end=NOW)
    assert agents["ann@acme.example"].volume == 4 and agents["bob@acme.example"].volume == 3
    assert agents["ann@acme.example"].nps == 100 and agents["bob@acme.example"].nps == -67
    expected: dict[str, int] = {}
    for r in in_window():
        bucket = tenure_bucket(r[5], NOW - timedelta(days=r[4]))
        expected[bucket] = expected.get(bucket, 0) + 1
    assert {g.name: g.volume for g in tenure.groups} == expected
    assert [g.name for g in tenure.groups] == ["<30d", "1–6 mo", "1–2 y", "2 y+", "(unknown)"]


def test_tenure_buckets() -> None:
    at = datetime(2026, 11, 25, 9, tzinfo=UTC)
    cases = {0: "<30d", 29: "<30d", 30: "1–6 mo", 182: "1–6 mo", 183: "6–12 mo", 364: "6–12 mo",
             365: "1–2 y", 729: "1–2 y", 730: "2 y+", 4000: "2 y+"}
    for days, label in cases.items():
        assert tenure_bucket(at.date() - timedelta(days=days), at) == label, days
    assert tenure_bucket(None, at) == "(unknown)"
    assert tenure_bucket(at.date() + timedelta(days=3), at) == "(unknown)"


def test_cli_report_by_plan_prints_groups_with_the_small_group_marker(session_factory, database_url,
                                                                      tmp_path: Path) -> None:
    # Items received relative to the real clock: the command cuts "since 30d" up to now.
    with session_scope(session_factory) as session:
        now = datetime.now(UTC)
        for n, (plan, score) in enumerate([("Enterprise", 10)] * 5 + [("Enterprise", 2), ("Free", 0)]):
            received = now - timedelta(days=1, minutes=n)
            session.add(Item(source="generic", external_id=f"cli-{n}", kind="nps", score=score,
                             category=categorize("nps", score), plan=plan, themes=["pricing"], received_at=received,
                             updated_at=received, team="success", channel="C0SUCCESS", content_hash="x"))
    (tmp_path / "cxloop.toml").write_text('[[teams]]\nname = "success"\nchannel = "C0SUCCESS"\n', encoding="utf-8")
    env = dict.fromkeys(("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT"))
    env.update(DATABASE_URL=database_url, CXLOOP_CONFIG=str(tmp_path / "cxloop.toml"))
    result = CliRunner().invoke(main, ["report", "--by", "plan", "--since", "30d"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    enterprise = next(line for line in lines if line.startswith("Enterprise"))
    free = next(line for line in lines if line.startswith("Free"))
    assert enterprise.split()[1:3] == ["6", "+67"] and "small group" not in enterprise
    assert free.split()[1:3] == ["1", "-100"] and free.endswith("small group")
    assert "pricing 6" in enterprise

    bad = CliRunner().invoke(main, ["report", "--by", "plan", "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "--since" in bad.output
    bad = CliRunner().invoke(main, ["report", "--by", "colour"], env=env)
    assert bad.exit_code == 2 and "plan" in bad.output
    bad = CliRunner().invoke(main, ["report"], env=env)
    assert bad.exit_code == 2 and "TEAM" in bad.output


def test_weekly_report_has_a_by_plan_line(session_factory) -> None:
    store(session_factory)
    with session_scope(session_factory) as session:
        report = build_weekly_report(session, team=SUCCESS, week="2026-W47", now=NOW)
    # 2026-W47 (16–22 Nov, New York): ROWS received 3–7 days before 25 Nov.
    # In it: Enterprise's NPS 9, 3, 8 and two CSATs; one NPS 6 without a plan.
    # Each NPS with the NPS responses it comes from: Enterprise's two CSATs are not NPS respondents.
    assert report.by_plan == ("Enterprise NPS +0 from 3 NPS responses · (none) NPS -100 from 1 NPS response "
                              "(small group)")
    assert f"By plan: {report.by_plan}" in report_text(report)
    _text, blocks = report_message(report)
    assert any(b.get("block_id") == "cx_report_by_plan" for b in blocks)
