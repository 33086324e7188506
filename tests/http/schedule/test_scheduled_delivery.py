"""Scheduled messages go through the same outbox and worker as items: a Monday tick posts the team's
digest and weekly report, and the report's chart is uploaded through Slack's external upload flow."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.schedule.tick import tick
from tests.conftest import wait_for


def test_monday_tick_posts_digest_and_weekly_report_with_a_png_chart(make_app):
    app = make_app()
    for n in range(6):
        app.post_webhook({"id": f"w{n}", "kind": "nps", "score": [2, 9, 10, 7, 3, 9][n], "comment": "fine"})
    app.wait_for_post("C0SUCCESS", count=6)
    # The most recent Monday, 09:00 in the team's timezone, frozen: the digest and weekly report are due.
    # (In the past, so the worker, which runs on the real clock, delivers what the tick queues.)
    ny_now = datetime.now(ZoneInfo("America/New_York"))
    monday = ny_now.date() - timedelta(days=ny_now.weekday())
    monday_9am = datetime.combine(monday, time(9, 0), tzinfo=ZoneInfo("America/New_York"))
    if monday_9am > ny_now:
        monday_9am -= timedelta(days=7)
    monday_9am = monday_9am.astimezone(UTC)
    sent = tick(app.runtime.factory, app.runtime.config, now=monday_9am, claimed_by="test-clock")
    assert sent.get("weekly_report:success") == 1 and sent.get("digest:success") == 1
    app.runtime.queued()
    app.idle(timeout=20)
    # (The London team's Monday report is due too, inside its catch-up window: it gets its own chart.)
    files = wait_for(lambda: [f for f in app.fake.files() if f["channel"] == "C0SUCCESS"], what="the chart upload")
    [chart] = files
    assert chart["bytes"].startswith(b"\x89PNG") and chart["channel"] == "C0SUCCESS"
    texts = [m.get("text", "") for m in app.fake.messages("C0SUCCESS")]
    assert any("Weekly" in t or "weekly" in t for t in texts)
    # A second clock at the same moment sends nothing more.
    assert tick(app.runtime.factory, app.runtime.config, now=monday_9am + timedelta(minutes=1),
                claimed_by="other-clock") == {}
