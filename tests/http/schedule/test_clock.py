"""The clock `cxloop demo` runs in its own process: the same tick, so the sandbox shows what falls due."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.schedule.clock import start_background_clock
from tests.conftest import TEST_CONFIG, make_config


def test_the_in_process_clock_posts_the_digest_that_falls_due(make_app):
    # The success team's digest time is one minute ago, in UTC: the clock's first tick (at start) sends it.
    due = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    teams = [{**TEST_CONFIG["teams"][0], "timezone": "UTC", "digest_at": due}, TEST_CONFIG["teams"][1]]
    app = make_app(make_config({**TEST_CONFIG, "teams": teams}))
    app.post_webhook({"id": "r-1", "kind": "nps", "score": 2, "comment": "Too slow"})
    app.wait_for_post("C0SUCCESS")
    stop = start_background_clock(app.runtime)
    try:
        posts = app.wait_for_post("C0SUCCESS", count=2, timeout=30)
    finally:
        stop()
    assert "digest" in json.dumps(posts[-1]).lower()
