"""`cxloop demo`'s first start: seeding the full demo workspace (500 VIP accounts, 2 000 responses over
60 days) on SQLite, and on Postgres when CXLOOP_BENCH_DATABASE_URL or CXLOOP_TEST_DATABASE_URL is set.

The test suite checks the seeding's shape on a small seed (tests/service/sandbox/test_demo.py); this
seeds it at full size, as `make run` does, and checks what it promises: every account and response is
there, nothing waits in the outbox, every item has its Slack message. The time is the wait before the
sandbox opens on a fresh checkout.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.harness import fresh_database, postgres_url
from bot.config import load_config
from bot.db import make_engine, make_session_factory, session_scope
from bot.sandbox.demo import DEFAULT_ACCOUNTS, DEFAULT_RESPONSES, DEFAULT_SEED, DEMO_CONFIG_PATH, seed_demo
from models import Account, Item, OutboxMessage, SlackMessage

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def measure(url: str) -> dict:
    config = load_config(DEMO_CONFIG_PATH, environ={}, sandbox=True)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        started = time.perf_counter()
        with session_scope(factory) as session:
            report = seed_demo(session, config=config, now=NOW, rng=random.Random(DEFAULT_SEED))
        seconds = time.perf_counter() - started
        with session_scope(factory) as session:
            def count(model, *where) -> int:
                return session.scalar(select(func.count()).select_from(model).where(*where))
            found = {"accounts": count(Account), "items": count(Item), "slack_messages": count(SlackMessage),
                     "unsent": count(OutboxMessage, OutboxMessage.status != "sent")}
    finally:
        engine.dispose()
    return {"seconds": round(seconds, 1), **found, "claimed": report.claimed, "resolved": report.resolved,
            "touches": report.touches,
            "complete": found == {"accounts": DEFAULT_ACCOUNTS, "items": DEFAULT_RESPONSES,
                                  "slack_messages": DEFAULT_RESPONSES, "unsent": 0}}


def run() -> dict:
    started = time.perf_counter()
    result: dict = {"name": f"seeding the full demo ({DEFAULT_ACCOUNTS} accounts, {DEFAULT_RESPONSES} responses)",
                    "target": f"{DEFAULT_ACCOUNTS} accounts, {DEFAULT_RESPONSES} items, each posted, nothing unsent"}
    with tempfile.TemporaryDirectory() as folder:
        with fresh_database("sqlite", Path(folder)) as url:
            result["sqlite"] = measure(url)
        if postgres_url():
            with fresh_database("postgres", Path(folder)) as url:
                result["postgres"] = measure(url)
        else:
            result["postgres"] = "skipped: set CXLOOP_BENCH_DATABASE_URL (or CXLOOP_TEST_DATABASE_URL) to measure it"
    result["met"] = all(result[db]["complete"] for db in ("sqlite", "postgres") if isinstance(result[db], dict))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
