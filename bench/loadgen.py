"""The load generator: plain httpx + asyncio in a process of its own, importing nothing of cxloop.

It signs webhooks itself (HMAC-SHA256 over "<timestamp>.<body>", as a sender would) and reports
status codes and latencies; the benchmark process owns the fake Slack and reads the outcome there.
Run a function here through `in_process(...)`: a fresh interpreter (spawn), so the app's server, the
fake Slack and this client never share a GIL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import httpx


def in_process(function, *args, **kwargs):
    """Run `function(*args, **kwargs)` in a separate, freshly spawned process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args, **kwargs).result()


def sign(secret: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Cxloop-Timestamp": timestamp, "X-Cxloop-Signature": f"sha256={digest}",
            "Content-Type": "application/json"}


def webhook_body(run: str, n: int, *, teams: int = 1) -> bytes:
    """A generic webhook: a detractor with a comment, tagged for one of `teams` routes."""
    return json.dumps({"id": f"{run}-{n}", "kind": "nps", "score": n % 7,
                       "comment": f"Export number {n} was slow and support took a while to answer.",
                       "customer": {"email": f"c{n}@bench.example", "name": f"Customer {n}",
                                    "account": f"Account {n % 500}", "plan": "growth"},
                       "tags": [f"t{n % teams}"]}).encode()


def burst(requests: list[tuple[str, str, dict[str, str]]], connections: int) -> list[tuple[int, float]]:
    """Send every (url, body, headers) at once over `connections` connections: [(status, seconds)]."""
    async def go() -> list[tuple[int, float]]:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            await asyncio.gather(*(client.get(requests[0][0].rsplit("/", 2)[0] + "/healthz")
                                   for _ in range(connections)))  # open the connections first

            async def one(url: str, body: str, headers: dict[str, str]) -> tuple[int, float]:
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                return response.status_code, time.perf_counter() - started
            return await asyncio.gather(*(one(*request) for request in requests))
    return asyncio.run(go())


def sustain(url: str, secret: str | None, seconds: float, connections: int, run: str, *, teams: int = 1,
            rate: float | None = None, limit: int | None = None) -> dict:
    """POST signed webhooks (or, without a secret, the same bodies unsigned) for `seconds` (or until
    `limit` were sent) from `connections` concurrent connections, each sending its next request when
    the last is answered (with `rate`, at most `rate` requests per second in all). Returns counts, latencies and, per
    accepted request, (item id, wall-clock time sent, wall-clock time answered) for end-to-end timing."""
    async def go() -> dict:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        statuses: dict[int, int] = {}
        latencies: list[float] = []
        accepted: list[tuple[int, float, float]] = []
        counter = iter(range(10**9))
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            deadline = time.monotonic() + seconds

            async def connection(k: int) -> None:
                while time.monotonic() < deadline:
                    n = next(counter)
                    if limit is not None and n >= limit:
                        return
                    if rate:
                        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
                    body = webhook_body(run, n, teams=teams)
                    headers = sign(secret, body) if secret else {"Content-Type": "application/json"}
                    sent = time.time()
                    response = await client.post(url, content=body, headers=headers)
                    answered = time.time()
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    latencies.append(answered - sent)
                    if response.status_code == 202 and secret:
                        accepted.append((response.json()["id"], sent, answered))
            start = time.monotonic()
            await asyncio.gather(*(connection(k) for k in range(connections)))
            elapsed = time.monotonic() - start
        return {"statuses": statuses, "latencies": latencies, "accepted": accepted, "seconds": elapsed}
    return asyncio.run(go())
