"""Webhook → Slack post latency with no backlog.

The app under uvicorn in its own process with its in-process delivery worker (plain `cxloop serve`),
the load generator in another, the fake Slack here. Webhooks arrive at RATE per second spread over
10 channels, so no channel ever waits for Slack's 1 message/s pace: there is no backlog. Latency is
from the moment the webhook was sent to the message's timestamp in the fake Slack (same machine
clock). Target (issue 7): median under 1 s (p95 reported too).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from bench import loadgen
from bench.app_server import BOT_TOKEN, WEBHOOK_SECRET
from bench.harness import AppProcess, fresh_database, ms, percentile, teams_config
from bot.sandbox.fake_slack import FakeSlack

CHANNELS = 10
RATE = 4.0  # webhooks/s in all: 0.4/s per channel, well under Slack's 1/s
ITEMS = 80


def run() -> dict:
    started = time.perf_counter()
    fake = FakeSlack(token=BOT_TOKEN).start()
    try:
        with tempfile.TemporaryDirectory() as folder, fresh_database("sqlite", Path(folder)) as url, \
                AppProcess(database_url=url, slack_api_url=fake.base_url, config=teams_config(CHANNELS),
                           worker=True) as app:
            sent = loadgen.in_process(loadgen.sustain, f"{app.url}/webhooks/generic", WEBHOOK_SECRET, 600, 2, "e2e",
                                      teams=CHANNELS, rate=RATE, limit=ITEMS)
            deadline = time.monotonic() + 30
            posted: dict[int, float] = {}
            while time.monotonic() < deadline and len(posted) < len(sent["accepted"]):
                time.sleep(0.5)
                posted = {m["metadata"]["event_payload"]["item_id"]: float(m["ts"])
                          for k in range(CHANNELS) for m in fake.messages(f"C0BENCH{k:02d}") if m.get("metadata")}
    finally:
        fake.stop()
    latencies = [posted[item_id] - sent_at for item_id, sent_at, _answered in sent["accepted"] if item_id in posted]
    acks = [answered - sent_at for _item_id, sent_at, answered in sent["accepted"]]
    median = statistics.median(latencies)
    return {"name": f"webhook sent -> message in (fake) Slack, {ITEMS} webhooks at {RATE:g}/s over {CHANNELS} "
                    "channels, no backlog, worker in the serving process",
            "target": "median < 1 s", "median_ms": ms(median), "p95_ms": ms(percentile(latencies, 0.95)),
            "max_ms": ms(max(latencies)), "webhook_answer_p50_ms": ms(statistics.median(acks)),
            "accepted": len(sent["accepted"]), "posted": len(latencies),
            "met": median < 1.0 and len(latencies) == ITEMS,
            "seconds": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
