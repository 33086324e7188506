"""Interaction ack latency: 50 concurrent Claim clicks while every fake Slack call takes 300 ms.

The app runs under uvicorn in its own process (with its delivery worker), the load generator in
another (bench/loadgen.py, aiohttp), the fake Slack here. Each round sends 50 signed Claim clicks at
once (50 distinct items, 50 distinct users), and just before and after it the same 50 request bodies
to the bench-only bare endpoint of the same server: the reference. Target (issue 7): claim p99 under
100 ms, and the ack never waits on Slack (with 300 ms per Slack call, an ack that waited could not be
under 300 ms). Afterwards every claim must show in Slack, via the outbox. One more round of clicks
(on items of its own) runs first and is not counted: it pays the process's one-off costs (the first
request through Bolt, the listener threads being created), which are not what a burst costs.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench import loadgen
from bench.app_server import BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET
from bench.harness import AppProcess, fresh_database, ms, percentile, teams_config
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import button_action, message_block_actions, signed_payload
from bot.slack.ids import ActionId

CLICKS = 50
ROUNDS = 3
WARM_UP_ROUNDS = 1
CHANNELS = 25  # the setup posts CLICKS * (ROUNDS + 1) items; the worker paces each channel at 1 message/s
SLACK_LATENCY_S = 0.3


def _claim_value(message: dict) -> str:
    return next(element["value"] for block in message["blocks"] if block["type"] == "actions"
                for element in block["elements"] if element["action_id"] == ActionId.CLAIM)


def _click(url: str, *, value: str, user: str, channel: str, ts: str, fake: FakeSlack) -> tuple[str, str, dict]:
    payload = message_block_actions(button_action(ActionId.CLAIM, value), user=user, channel=channel, ts=ts,
                                    response_url=fake.response_url(f"{channel}:{ts}"),
                                    trigger_id=f"trigger-{user}-{ts}")
    body, headers = signed_payload(SIGNING_SECRET, payload)
    return url, body, headers


def _user(k: int) -> str:
    return f"U0B{k:03d}"


def _posted(fake: FakeSlack) -> list[tuple[str, dict]]:
    return [(f"C0BENCH{k:02d}", m) for k in range(CHANNELS) for m in fake.messages(f"C0BENCH{k:02d}")
            if m.get("metadata") and not m.get("thread_ts")]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def run() -> dict:
    started = time.perf_counter()
    total = CLICKS * (WARM_UP_ROUNDS + ROUNDS)  # items posted and clicked, warm-up round included
    fake = FakeSlack(token=BOT_TOKEN, users=[{"id": _user(k)} for k in range(CLICKS)]).start()
    try:
        with tempfile.TemporaryDirectory() as folder, fresh_database("sqlite", Path(folder)) as url, \
                AppProcess(database_url=url, slack_api_url=fake.base_url, config=teams_config(CHANNELS),
                           worker=True) as app:
            with httpx.Client(timeout=30) as client:
                for n in range(total):
                    body = loadgen.webhook_body("ack", n, teams=CHANNELS)
                    assert client.post(f"{app.url}/webhooks/generic", content=body,
                                       headers=loadgen.sign(WEBHOOK_SECRET, body)).status_code == 202
            posts = _wait(lambda: len(p := _posted(fake)) >= total and p, 120, "the items to be posted")
            fake.set_faults(latency_s=SLACK_LATENCY_S)
            claim_s: list[float] = []
            bare_s: list[float] = []
            statuses: set[int] = set()
            for round_ in range(WARM_UP_ROUNDS + ROUNDS):
                chosen = posts[round_ * CLICKS:(round_ + 1) * CLICKS]
                clicks = [_click(f"{app.url}/slack/events", value=_claim_value(m),
                                 user=_user(k), channel=channel, ts=m["ts"], fake=fake)
                          for k, (channel, m) in enumerate(chosen)]
                bare = [(f"{app.url}/bench/bare", body, headers) for _url, body, headers in clicks]
                counted = round_ >= WARM_UP_ROUNDS
                for requests, into in ((bare, bare_s), (clicks, claim_s), (bare, bare_s)):
                    answers = loadgen.in_process(loadgen.burst, requests, CLICKS)
                    statuses |= {status for status, _ in answers}
                    if counted:
                        into.extend(seconds for _, seconds in answers)

            def shown() -> int:
                return sum(1 for _channel, m in _posted(fake) if "Claimed by" in json.dumps(m["blocks"]))
            try:
                _wait(lambda: shown() >= total, 60, "every claim to show in Slack")
            except RuntimeError:
                pass
            claimed = shown()
            fake.set_faults()
    finally:
        fake.stop()
    p99_claim, p99_bare = percentile(claim_s, 0.99), percentile(bare_s, 0.99)
    return {"name": f"Claim click ack latency, {CLICKS} concurrent clicks x {ROUNDS} rounds, fake Slack +300 ms/call",
            "target": "claim p99 < 100 ms; no ack waits on Slack (all < 300 ms)",
            "claim_ms": {"p50": ms(statistics.median(claim_s)), "p99": ms(p99_claim), "max": ms(max(claim_s))},
            "bare_ms": {"p50": ms(statistics.median(bare_s)), "p99": ms(p99_bare), "max": ms(max(bare_s))},
            "ratio_p99": round(p99_claim / p99_bare, 2), "ratio_p50": round(statistics.median(claim_s)
                                                                              / statistics.median(bare_s), 2),
            "statuses": sorted(statuses), "claims_shown_in_slack": claimed, "clicks_counted": len(claim_s),
            "warm_up_clicks": CLICKS * WARM_UP_ROUNDS,
            "met": p99_claim < 0.1 and max(claim_s) < SLACK_LATENCY_S and statuses == {200, 202}
            and claimed == total,
            "seconds": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
