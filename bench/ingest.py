"""Webhook ingest throughput, sustained, on SQLite and on Postgres, against a bare endpoint.

The app runs under uvicorn in its own process, WITHOUT an in-process worker; the delivery worker runs
in a second process (as `cxloop serve --no-worker` + `cxloop worker` would), posting to the fake
Slack here while the load goes on: the realistic set-up, the database shared by both. The load
generator (bench/loadgen.py, aiohttp, its own process) keeps CONNECTIONS requests in flight, each a
signed generic webhook with a new id. Reference: the same bodies, same connections, to the bench-only
bare endpoint of the same server (read the body, answer JSON), for REFERENCE_SECONDS before and after.
Every webhook carries a different comment (bench.loadgen.COMMENTS), so the full analysis runs on each
(language, VADER + TextBlob sentiment, complaint cues, themes); `analysed` counts the stored items that
have their sentiment and reason, read back from the database after the run.
Targets: at least 0.5x the bare endpoint (issue 7), and at least 400 items/s on SQLite with the
analysis (issue 17; it was 300 before the analysis grew).
Postgres comes from CXLOOP_BENCH_DATABASE_URL or CXLOOP_TEST_DATABASE_URL; without either it is skipped.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import String, cast, create_engine, func, select

from bench import loadgen
from bench.app_server import BOT_TOKEN, WEBHOOK_SECRET
from bench.harness import AppProcess, fresh_database, ms, percentile, postgres_url, teams_config
from bot.sandbox.fake_slack import FakeSlack
from models import Item

SECONDS = float(os.environ.get("CXLOOP_BENCH_INGEST_SECONDS", "30"))
REFERENCE_SECONDS = 5.0  # before and after the ingest run: 10 s of reference in all
CONNECTIONS = 8
TEAMS = 10
SQLITE_TARGET_PER_S = 400


def analysed(url: str) -> dict:
    """How many stored items were analysed: a sentiment label, and a reason for the non-neutral ones."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            items = conn.scalar(select(func.count()).select_from(Item))
            labelled = conn.scalar(select(func.count()).select_from(Item).where(Item.sentiment_label.is_not(None)))
            reasons = conn.scalar(select(func.count()).select_from(Item).where(Item.sentiment_reason.is_not(None)))
            themed = conn.scalar(select(func.count()).select_from(Item).where(func.length(cast(Item.theme_matches, String)) > 2))
    finally:
        engine.dispose()
    return {"items": items, "with_sentiment": labelled, "with_reason": reasons, "with_theme_words": themed}


def measure(kind: str) -> dict:
    fake = FakeSlack(token=BOT_TOKEN).start()
    try:
        with tempfile.TemporaryDirectory() as folder, fresh_database(kind, Path(folder)) as url:
            with AppProcess(database_url=url, slack_api_url=fake.base_url, config=teams_config(TEAMS),
                            worker=False) as app, \
                    AppProcess(database_url=url, slack_api_url=fake.base_url, config=teams_config(TEAMS),
                               worker=False, role="worker"):
                bare = [loadgen.in_process(loadgen.sustain, f"{app.url}/bench/bare", None, REFERENCE_SECONDS,
                                           CONNECTIONS, "bare")]
                ingest = loadgen.in_process(loadgen.sustain, f"{app.url}/webhooks/generic", WEBHOOK_SECRET, SECONDS,
                                            CONNECTIONS, f"ingest-{kind}", teams=TEAMS)
                bare.append(loadgen.in_process(loadgen.sustain, f"{app.url}/bench/bare", None, REFERENCE_SECONDS,
                                               CONNECTIONS, "bare"))
                posted = sum(fake.top_level_count(f"C0BENCH{k:02d}") for k in range(TEAMS))
            analysis = analysed(url)
    finally:
        fake.stop()
    accepted = ingest["statuses"].get(202, 0)
    items_per_s = accepted / ingest["seconds"]
    bare_per_s = sum(sum(b["statuses"].values()) for b in bare) / sum(b["seconds"] for b in bare)
    return {"items_per_s": round(items_per_s, 1), "bare_per_s": round(bare_per_s, 1),
            "ratio": round(items_per_s / bare_per_s, 2), "accepted": accepted, "seconds": round(ingest["seconds"], 1),
            "statuses": ingest["statuses"], "latency_ms": {"p50": ms(statistics.median(ingest["latencies"])),
                                                           "p99": ms(percentile(ingest["latencies"], 0.99))},
            "posted_to_slack_meanwhile": posted, "analysed": analysis}


def run() -> dict:
    started = time.perf_counter()
    result: dict = {"name": f"webhook ingest, {SECONDS:.0f} s sustained, {CONNECTIONS} connections, "
                            "delivery worker running in a separate process",
                    "target": f"ratio >= 0.5 of the bare endpoint; >= {SQLITE_TARGET_PER_S} items/s on SQLite, "
                              "every item analysed",
                    "sqlite": measure("sqlite")}
    sqlite = result["sqlite"]
    result["sqlite_meets_items_per_s"] = sqlite["items_per_s"] >= SQLITE_TARGET_PER_S
    met = (sqlite["ratio"] >= 0.5 and result["sqlite_meets_items_per_s"]
           and sqlite["analysed"]["with_sentiment"] == sqlite["analysed"]["items"] >= sqlite["accepted"])
    if postgres_url():
        result["postgres"] = measure("postgres")
        met = met and result["postgres"]["ratio"] >= 0.5
    else:
        result["postgres"] = "skipped: set CXLOOP_BENCH_DATABASE_URL (or CXLOOP_TEST_DATABASE_URL) to measure it"
    result["met"] = met
    result["seconds_total"] = round(time.perf_counter() - started, 1)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
