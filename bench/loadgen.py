"""The load generator: aiohttp's client + asyncio in a process of its own, importing nothing of cxloop.

Why aiohttp and not httpx (which the app itself uses): measured on this machine, 50 concurrent POSTs
to the bare endpoint took p99 ~300 ms through httpx.AsyncClient and ~13 ms through aiohttp (or a raw
socket client): httpx's client, not the server, was the bottleneck, so it hid what is measured.

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

import aiohttp


def in_process(function, *args, **kwargs):
    """Run `function(*args, **kwargs)` in a separate, freshly spawned process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args, **kwargs).result()


def sign(secret: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Cxloop-Timestamp": timestamp, "X-Cxloop-Signature": f"sha256={digest}",
            "Content-Type": "application/json"}


# Comments as customers write them (complaints, praise, mixed, a team's cue words, not English): each one
# different (its number is in it), so the whole analysis — language, VADER, TextBlob, complaint cues,
# themes — runs on every webhook, as it does in production.
COMMENTS = (
    "Export number {n} was slow and support took a while to answer.",
    "Support was great but the app keeps crashing when I open report {n}; still waiting for a fix.",
    "Love the new dashboard, saved us hours on project {n}. Thanks to the whole team!",
    "We were charged twice on invoice {n} and nobody replied to our ticket. Thinking about switching to another tool.",
    "Onboarding took weeks, the docs for the API are outdated and the Salesforce integration broke after update {n}.",
    "Es ist zu teuer und der Support antwortet nie auf Ticket {n}.",
    "ok {n}",
    "Can't export invoices since Monday (case {n}). This is blocking our month-end close, please fix it asap.",
)


def webhook_body(run: str, n: int, *, teams: int = 1) -> bytes:
    """A generic webhook: a detractor with a comment (COMMENTS in turn), tagged for one of `teams` routes."""
    return json.dumps({"id": f"{run}-{n}", "kind": "nps", "score": n % 7,
                       "comment": COMMENTS[n % len(COMMENTS)].format(n=n),
                       "customer": {"email": f"c{n}@bench.example", "name": f"Customer {n}",
                                    "account": f"Account {n % 500}", "plan": "growth"},
                       "tags": [f"t{n % teams}"]}).encode()


def _session(connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections),
                                 timeout=aiohttp.ClientTimeout(total=30))


def burst(requests: list[tuple[str, str, dict[str, str]]], connections: int) -> list[tuple[int, float]]:
    """Send every (url, body, headers) at once over `connections` connections: [(status, seconds)]."""
    async def go() -> list[tuple[int, float]]:
        async with _session(connections) as client:
            async def warm() -> None:
                async with client.get(requests[0][0].rsplit("/", 2)[0] + "/healthz") as response:
                    await response.read()
            await asyncio.gather(*(warm() for _ in range(connections)))  # open the connections first

            async def one(url: str, body: str, headers: dict[str, str]) -> tuple[int, float]:
                started = time.perf_counter()
                async with client.post(url, data=body, headers=headers) as response:
                    await response.read()
                return response.status, time.perf_counter() - started
            return await asyncio.gather(*(one(*request) for request in requests))
    return asyncio.run(go())


def sustain(url: str, secret: str | None, seconds: float, connections: int, run: str, *, teams: int = 1,
            rate: float | None = None, limit: int | None = None) -> dict:
    """POST signed webhooks (or, without a secret, the same bodies unsigned) for `seconds` (or until
    `limit` were sent) from `connections` concurrent connections, each sending its next request when
    the last is answered (with `rate`, at most `rate` requests per second in all). Returns counts, latencies and, per
    accepted request, (item id, wall-clock time sent, wall-clock time answered) for end-to-end timing."""
    async def go() -> dict:
        statuses: dict[int, int] = {}
        latencies: list[float] = []
        accepted: list[tuple[int, float, float]] = []
        counter = iter(range(10**9))
        async with _session(connections) as client:
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
                    async with client.post(url, data=body, headers=headers) as response:
                        answer = await response.read()
                    answered = time.time()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    latencies.append(answered - sent)
                    if response.status == 202 and secret:
                        accepted.append((json.loads(answer)["id"], sent, answered))
            start = time.monotonic()
            await asyncio.gather(*(connection(k) for k in range(connections)))
            elapsed = time.monotonic() - start
        return {"statuses": statuses, "latencies": latencies, "accepted": accepted, "seconds": elapsed}
    return asyncio.run(go())
