"""Memory of `cxloop serve` while it ingests 100 000 webhooks.

The real command (`cxloop serve --sandbox --no-worker`: its own fake Slack, the
sample configuration, a fresh SQLite file) in its own process; the load generator in another. The
web process is measured alone, without its in-process delivery worker: delivery would post 100 000
messages into the sandbox's in-memory fake Slack, in the same process, and its growth is not the
app's. RSS (VmRSS from /proc) after a warm-up of WARMUP webhooks is the start; it is sampled every
SAMPLE_EVERY webhooks up to ITEMS. Target (issue 7): growth under 50 MB after 100 000 items.
CXLOOP_BENCH_MEMORY_ITEMS changes the count (the result says so).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import loadgen
from bench.harness import free_port
from bot.config import SANDBOX_WEBHOOK_SECRET
from bot.db import upgrade

ITEMS = int(os.environ.get("CXLOOP_BENCH_MEMORY_ITEMS", "100000"))
WARMUP = 2_000
SAMPLE_EVERY = 10_000
CONNECTIONS = 8
LIMIT_MB = 50


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def run() -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'memory.db'}"
        upgrade(url)
        port = free_port()
        env = {key: value for key, value in os.environ.items()
               if key not in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "CXLOOP_CONFIG",
                              "GENERIC_WEBHOOK_SECRET")}
        env.update(DATABASE_URL=url, LOG_LEVEL="WARNING")
        cxloop = str(Path(sys.executable).with_name("cxloop"))
        server = subprocess.Popen([cxloop, "serve", "--sandbox", "--no-worker", "--host", "127.0.0.1",
                                   "--port", str(port)], cwd=folder, env=env, stdout=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("cxloop serve did not start")
                time.sleep(0.2)
            target = f"{base}/webhooks/generic"

            def send(count: int, name: str) -> int:
                done = loadgen.in_process(loadgen.sustain, target, SANDBOX_WEBHOOK_SECRET, 3600, CONNECTIONS, name,
                                          limit=count)
                return done["statuses"].get(202, 0)
            accepted = send(WARMUP, "memory-warmup")
            start_mb = rss_mb(server.pid)
            samples = [(0, round(start_mb, 1))]
            ingest_started = time.perf_counter()
            sent = 0
            while sent < ITEMS:
                chunk = min(SAMPLE_EVERY, ITEMS - sent)
                accepted += send(chunk, f"memory-{sent}")
                sent += chunk
                samples.append((sent, round(rss_mb(server.pid), 1)))
            ingest_seconds = time.perf_counter() - ingest_started
            end_mb = samples[-1][1]
        finally:
            server.terminate()
            server.wait(15)
    growth = end_mb - start_mb
    return {"name": f"RSS of `cxloop serve --no-worker` (sandbox, SQLite) over {ITEMS} ingested webhooks",
            "target": f"growth < {LIMIT_MB} MB after 100000 items", "items": ITEMS, "accepted": accepted,
            "start_mb": round(start_mb, 1), "end_mb": end_mb, "growth_mb": round(growth, 1),
            "samples_items_mb": samples, "items_per_s": round(sent / ingest_seconds, 1),
            "met": growth < LIMIT_MB and ITEMS >= 100_000 and accepted == ITEMS + WARMUP,
            "seconds": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
