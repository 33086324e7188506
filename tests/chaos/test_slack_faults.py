"""Slack misbehaves: a 500-item burst while a fifth of all Web API calls answer 429 or 500."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.chaos.harness import report, send_all, webhook_payload

BURST = 500
FAULT_RATE_429 = 0.10
# Half of the 500s come after Slack acted (the message is posted, the answer is lost), as a timeout
# or a proxy error does in production: only the history check keeps those from being posted twice.
FAULT_RATE_500_BEFORE = 0.05
FAULT_RATE_500_AFTER = 0.05
LATENCY_SECONDS = 0.3


@pytest.mark.chaos
def test_burst_is_delivered_once_each_while_slack_answers_429_and_500(chaos_stack):
    stack = chaos_stack()
    serve, workers = stack.serve(), [stack.worker("worker-1"), stack.worker("worker-2")]
    stack.started(serve, *workers)
    stack.fake.set_faults(rate_429=FAULT_RATE_429, rate_500=FAULT_RATE_500_BEFORE, latency_s=LATENCY_SECONDS,
                          rate_500_after_effect=FAULT_RATE_500_AFTER, retry_after_s=1, seed=6)

    started = time.monotonic()
    sent = send_all(lambda payload: stack.post_webhook(serve, payload),
                    [webhook_payload("slack", index) for index in range(BURST)])
    assert Counter(status for _, status, _ in sent) == {202: BURST}
    items = stack.items()
    assert len(items) == BURST
    posts = stack.wait_delivered(set(items.values()), timeout=180)
    elapsed = time.monotonic() - started

    duplicated = {item_id: count for item_id, count in posts.items() if count > 1}
    lost = set(items.values()) - set(posts)
    assert not duplicated, f"items posted more than once: {duplicated}"
    assert not lost, f"items never posted: {sorted(lost)}"
    assert stack.outbox() == {"sent": BURST}, "no row may be left pending or parked as dead"
    calls = stack.fake.calls()
    faults = Counter(call["status"] for call in calls if call["status"] in (429, 500))
    # The faults must really have hit the burst, or this proves nothing.
    fault_rate_500 = FAULT_RATE_500_BEFORE + FAULT_RATE_500_AFTER
    assert faults[429] >= BURST * FAULT_RATE_429 / 2 and faults[500] >= BURST * fault_rate_500 / 2, faults
    found = stack.query("SELECT count(*) FROM outbox WHERE last_error = 'found in history'")[0][0]
    assert found > 0, "some 500s after a post should have been resolved from the channel's history"
    report(f"chaos: {BURST}-item burst, 2 workers, Slack answering 429 on {FAULT_RATE_429:.0%} and 500 on "
           f"{fault_rate_500:.0%} of calls (half after posting) at {LATENCY_SECONDS * 1000:.0f} ms → "
           f"{len(posts)} delivered, 0 duplicated, 0 lost, 0 dead ({faults[429]} × 429 and {faults[500]} × 500 "
           f"retried, {found} posts whose answer was lost found in history, {len(calls)} Slack calls, "
           f"drained in {elapsed:.0f} s)")
