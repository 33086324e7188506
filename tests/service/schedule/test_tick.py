"""The clock's jobs with a frozen clock, on SQLite and Postgres: each message exactly once, at the
right local time, across DST changes, with two clocks racing, and after downtime."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from threading import Barrier
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.db import session_scope
from bot.intake.ingest import ingest_item
from bot.intake.payload import parse_generic_payload
from bot.schedule.plans import due_runs
from bot.schedule.tick import tick
from bot.vip.book import AccountRecord, upsert_account
from models import FollowUp, JobRun, OutboxMessage
from tests.conftest import TEST_CONFIG, make_config

NY = ZoneInfo("America/New_York")
CONFIG = make_config({
    **TEST_CONFIG,
    "teams": [{**TEST_CONFIG["teams"][0], "mention": "S0SUCCESS", "lead": "U0LEAD", "members": ["U0ANA"]},
              TEST_CONFIG["teams"][1]],
    "schedule": {"sla_hours": {"detractor": 4, "escalation": 1}, "catch_up_hours": 6},
})


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def _ingest(factory, body: str, at: datetime) -> int:
    with session_scope(factory) as session:
        return ingest_item(session, source="generic", payload=parse_generic_payload(body.encode()), config=CONFIG,
                           now=at).item_id


def _outbox(factory, kind: str | None = None) -> list[OutboxMessage]:
    with session_scope(factory) as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            statement = statement.where(OutboxMessage.kind == kind)
        return list(session.scalars(statement))


def _nudges(factory) -> list[dict]:
    return [row.payload for row in _outbox(factory, "thread_reply") if "SLA" in row.payload.get("text", "")]


def _tick(factory, now: datetime, who: str = "clock-a") -> dict[str, int]:
    return tick(factory, CONFIG, now=now, claimed_by=who)


# --- SLA nudges -------------------------------------------------------------------------------

def test_an_unclaimed_detractor_is_nudged_once_at_its_sla_and_escalated_once_at_twice(session_factory):
    received = ny(2026, 11, 16, 9, 30)  # a Monday morning in New York
    _ingest(session_factory, '{"id": "d1", "kind": "nps", "score": 2}', received)
    for minutes in range(0, 4 * 60, 10):  # up to the SLA: nothing
        _tick(session_factory, received + timedelta(minutes=minutes))
    assert _nudges(session_factory) == []
    for minutes in range(4 * 60, 8 * 60, 5):  # from 4 h: one nudge, mentioning the team
        _tick(session_factory, received + timedelta(minutes=minutes))
    [nudge] = _nudges(session_factory)
    assert "<!subteam^S0SUCCESS>" in nudge["text"] and not nudge["reply_broadcast"]
    for minutes in range(8 * 60, 8 * 60 + 30, 5):  # 5:30 pm: still business hours; at 2× one escalation
        _tick(session_factory, received + timedelta(minutes=minutes))
    nudges = _nudges(session_factory)
    assert len(nudges) == 2
    assert "<@U0LEAD>" in nudges[1]["text"] and nudges[1]["reply_broadcast"] is True


def test_no_nudges_at_night_or_weekends_and_a_late_item_is_escalated_directly(session_factory):
    received = ny(2026, 11, 20, 16, 0)  # Friday 4 pm: its 4 h SLA ends at 8 pm, outside business hours
    _ingest(session_factory, '{"id": "late", "kind": "nps", "score": 1}', received)
    moment = received
    while moment < ny(2026, 11, 23, 8, 55):  # the whole weekend, every 30 minutes
        _tick(session_factory, moment)
        moment += timedelta(minutes=30)
    assert _nudges(session_factory) == []
    _tick(session_factory, ny(2026, 11, 23, 9, 0))  # Monday 9 am
    [escalation] = _nudges(session_factory)
    assert escalation["reply_broadcast"] is True
    with session_scope(session_factory) as session:
        periods = sorted(session.scalars(select(JobRun.period).where(JobRun.job == "sla_nudge")))
    assert periods == ["level-1", "level-2"]  # level 1 is marked as passed, so it never fires later
    _tick(session_factory, ny(2026, 11, 23, 9, 5))
    assert len(_nudges(session_factory)) == 1


def test_a_snoozed_or_claimed_item_is_not_nudged(session_factory):
    received = ny(2026, 11, 16, 9, 30)
    snoozed = _ingest(session_factory, '{"id": "s1", "kind": "nps", "score": 2}', received)
    claimed = _ingest(session_factory, '{"id": "c1", "kind": "nps", "score": 2}', received)
    with session_scope(session_factory) as session:
        session.execute(update(FollowUp).where(FollowUp.item_id == snoozed)
                        .values(snoozed_until=received + timedelta(hours=6)))
        session.execute(update(FollowUp).where(FollowUp.item_id == claimed)
                        .values(status="claimed", claimed_by="U0ANA", claimed_at=received))
    _tick(session_factory, received + timedelta(hours=5))
    assert _nudges(session_factory) == []
    _tick(session_factory, received + timedelta(hours=6, minutes=5))  # the snooze is over
    assert len(_nudges(session_factory)) == 1


# --- digests: local time, DST, two clocks, catch-up -------------------------------------------------

def _digests(factory, channel: str = "C0SUCCESS") -> list[OutboxMessage]:
    return [row for row in _outbox(factory, "post_message") if row.channel == channel]


def test_one_digest_per_team_per_day_at_local_time_across_dst_changes(session_factory):
    for start in (datetime(2026, 10, 31, 0, tzinfo=UTC), datetime(2026, 3, 7, 0, tzinfo=UTC)):
        moment = start
        while moment < start + timedelta(days=3):
            _tick(session_factory, moment)
            # Every 15 minutes from 07:00 to 16:00 New York time (the 09:00 run and its 6-hour catch-up
            # window, where a second send could happen), every hour the rest of the day.
            moment += timedelta(minutes=15 if 7 <= moment.astimezone(NY).hour < 16 else 60)
    with session_scope(session_factory) as session:
        runs = session.execute(select(JobRun.period, JobRun.scheduled_for).where(
            JobRun.job == "digest", JobRun.target == "success").order_by(JobRun.scheduled_for)).all()
    # Each run covers the previous local day and was made at 09:00 New York time, whatever the offset.
    periods = [period for period, _ in runs]
    assert len(periods) == len(set(periods))
    assert {"2026-10-31", "2026-11-01", "2026-03-07", "2026-03-08"} <= set(periods)
    for _, scheduled in runs:
        assert scheduled.astimezone(NY).strftime("%H:%M") == "09:00"
    # Keyed by the day it was sent (the morning after the day it covers): the UTC hour follows the offset.
    sent_on = {scheduled.astimezone(NY).date().isoformat(): scheduled.hour for _, scheduled in runs}
    assert sent_on["2026-10-31"] == 13 and sent_on["2026-11-01"] == 14   # EDT, then EST (DST ends 1 Nov)
    assert sent_on["2026-03-07"] == 14 and sent_on["2026-03-08"] == 13   # EST, then EDT (DST starts 8 Mar)
    with session_scope(session_factory) as session:
        weekly = session.scalars(select(JobRun.period).where(JobRun.job == "weekly_report",
                                                             JobRun.target == "success")).all()
    assert sorted(weekly) == ["2026-W10", "2026-W44"]  # the Mondays 2 Nov and 9 Mar, for the weeks before
    assert len(_digests(session_factory)) == len(periods) + len(weekly)  # one post each, nothing doubled


def test_two_clocks_racing_send_each_digest_once(session_factory):
    now = ny(2026, 11, 18, 9, 0)
    barrier = Barrier(4)

    def clock(index: int):
        barrier.wait()
        return _tick(session_factory, now, who=f"clock-{index}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(clock, range(4)))
    assert len(_digests(session_factory)) == 1


def test_a_clock_restarted_after_missing_9am_sends_the_digest_once_on_start(session_factory):
    restart = ny(2026, 11, 18, 11, 40)  # down from 8 am to 11:40: the 09:00 digest was missed
    _tick(session_factory, restart)
    _tick(session_factory, restart + timedelta(minutes=1))
    [digest] = _digests(session_factory)
    with session_scope(session_factory) as session:
        run = session.scalar(select(JobRun).where(JobRun.job == "digest", JobRun.target == "success"))
    assert run.period == "2026-11-17" and run.scheduled_for == ny(2026, 11, 18, 9, 0)


def test_runs_missed_beyond_the_catch_up_window_are_skipped():
    assert [r for r in due_runs(CONFIG, ny(2026, 11, 18, 15, 30)) if r.target == "success"] == []
    assert [r.job for r in due_runs(CONFIG, ny(2026, 11, 18, 14, 59)) if r.target == "success"] == ["digest"]


def test_weekly_report_is_planned_on_monday_for_the_previous_iso_week():
    runs = {r.job: r for r in due_runs(CONFIG, ny(2026, 11, 23, 9, 1)) if r.target == "success"}
    assert runs["weekly_report"].period == "2026-W47" and runs["digest"].period == "2026-11-22"


# --- follow-ups and VIP check-ins ---------------------------------------------------------------------

def test_a_follow_up_due_today_is_a_dm_to_its_owner_at_the_start_of_their_day(session_factory):
    item_id = _ingest(session_factory, '{"id": "f1", "kind": "nps", "score": 5}', ny(2026, 11, 10, 10))
    with session_scope(session_factory) as session:
        session.execute(update(FollowUp).where(FollowUp.item_id == item_id).values(
            status="claimed", claimed_by="U0ANA", claimed_at=ny(2026, 11, 10, 11), follow_up_on=date(2026, 11, 18)))
    _tick(session_factory, ny(2026, 11, 18, 8, 30))
    assert [r for r in _outbox(session_factory, "post_message") if r.channel == "U0ANA"] == []
    _tick(session_factory, ny(2026, 11, 18, 9, 0))
    _tick(session_factory, ny(2026, 11, 18, 9, 30))
    [dm] = [r for r in _outbox(session_factory, "post_message") if r.channel == "U0ANA"]
    actions = [e["action_id"] for b in dm.payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["cx_resolve", "cx_follow_up_push", "cx_follow_up_pick"]


def test_each_vip_owner_gets_their_most_overdue_accounts_once_each_working_morning(session_factory):
    created = ny(2026, 9, 1, 12)
    with session_scope(session_factory) as session:
        for n in range(7):  # cadences 10..70 days: all overdue by 18 Nov, the 10-day one the most
            upsert_account(session, AccountRecord(name=f"Account {n}", external_id=f"a{n}", owner="U0ANA",
                                                  cadence_days=10 * (n + 1)), now=created)
    _tick(session_factory, ny(2026, 11, 18, 9, 1))
    _tick(session_factory, ny(2026, 11, 18, 10, 0))
    [dm] = [r for r in _outbox(session_factory, "post_message") if r.channel == "U0ANA"]
    # The heading shares the first account's section (25 accounts must fit in 50 blocks).
    names = [b["text"]["text"].rpartition("\n\n")[2] for b in dm.payload["blocks"] if b["type"] == "section"]
    assert len(names) == 5 and names[0].startswith("*Account 0*")
    _tick(session_factory, ny(2026, 11, 21, 9, 30))  # Saturday: not a working morning
    assert len([r for r in _outbox(session_factory, "post_message") if r.channel == "U0ANA"]) == 1


def test_a_team_with_a_monthly_roll_up_gets_it_on_the_first_for_the_previous_month():
    monthly = make_config({**TEST_CONFIG, "teams": [{**TEST_CONFIG["teams"][0], "monthly_report": True},
                                                 TEST_CONFIG["teams"][1]]})
    runs = {r.job: r for r in due_runs(monthly, ny(2026, 12, 1, 9, 0)) if r.target == "success"}
    assert runs["monthly_report"].period == "2026-11"
    assert "monthly_report" not in {r.job for r in due_runs(monthly, ny(2026, 12, 2, 9, 0))}
    assert "monthly_report" not in {r.job for r in due_runs(CONFIG, ny(2026, 12, 1, 9, 0))}  # not asked for
