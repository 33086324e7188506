"""Postgres goes down (an immediate stop: no checkpoint, crash recovery on start) while webhooks keep
arriving, and comes back. The running processes are not restarted."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.chaos.harness import report, wait_for, webhook_payload

SENDERS = 4
SEND_INTERVAL_SECONDS = 0.25  # per sender: a steady trickle, not a flood that only makes the drain long
BEFORE_SECONDS = 3.0
OUTAGE_SECONDS = 4.0
AFTER_SECONDS = 4.0
# During the outage a webhook must be refused quickly (503), not held until the provider times out.
MAX_ANSWER_SECONDS = 5.0


@pytest.mark.chaos
def test_postgres_restart_refuses_with_503_and_loses_nothing_accepted(chaos_stack, private_postgres):
    # A row whose worker lost the database mid-delivery is retaken when its lease ends.
    stack = chaos_stack(extra_env={"CXLOOP_LEASE_SECONDS": "5"})
    serve, worker = stack.serve(), stack.worker()
    stack.started(serve, worker)

    answers: list[tuple[dict, int | str, float, float]] = []  # payload, status, seconds, sent at
    lock, stop, counter = threading.Lock(), threading.Event(), iter(range(100_000))
    begin = time.monotonic()

    def sender() -> None:
        while not stop.is_set():
            with lock:
                payload = webhook_payload("pg", next(counter))
            sent_at = time.monotonic()
            try:
                status: int | str = stack.post_webhook(serve, payload).status_code
            except Exception as exc:  # noqa: BLE001 — a timeout or reset is a result to report, not a crash
                status = type(exc).__name__
            with lock:
                answers.append((payload, status, time.monotonic() - sent_at, sent_at - begin))
            time.sleep(SEND_INTERVAL_SECONDS)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    time.sleep(BEFORE_SECONDS)
    down_at = time.monotonic() - begin
    private_postgres.stop("immediate")
    stopped_at = time.monotonic() - begin
    time.sleep(OUTAGE_SECONDS)
    restart_at = time.monotonic() - begin
    private_postgres.start()
    up_at = time.monotonic() - begin
    time.sleep(AFTER_SECONDS)
    stop.set()
    for thread in threads:
        thread.join()

    statuses = Counter(status for _, status, _, _ in answers)
    unexpected = [(p["id"], status) for p, status, _, _ in answers if status not in (200, 202, 503)]
    assert not unexpected, f"answers other than 2xx or 503: {unexpected[:10]} (all: {statuses})"
    refused = [payload for payload, status, _, _ in answers if status == 503]
    accepted = {payload["id"] for payload, status, _, _ in answers if status in (200, 202)}
    assert refused, f"no webhook arrived during the outage: {statuses}"
    slowest = max(seconds for _, _, seconds, _ in answers)
    assert slowest < MAX_ANSWER_SECONDS, f"a webhook waited {slowest:.1f} s for its answer"
    accepted_after = [at for payload, status, _, at in answers if status in (200, 202) and at > up_at]
    assert accepted_after, "serve never accepted a webhook again after Postgres came back"

    # A provider re-sends what was refused; each must now be stored (a 200 means it already was).
    resent = Counter()
    for payload in refused:
        resent[wait_for(lambda payload=payload: _accepted(stack, serve, payload), timeout=30,
                        what=f"{payload['id']} to be accepted on re-send")] += 1

    stored = Counter(external_id for (external_id,) in stack.query("SELECT external_id FROM items"))
    sent_ids = {payload["id"] for payload, _, _, _ in answers}
    assert set(stored) == sent_ids, (f"lost: {sorted(sent_ids - set(stored))[:10]}, "
                                     f"unexpected: {sorted(set(stored) - sent_ids)[:10]}")
    assert max(stored.values()) == 1
    items = stack.items()
    posts = stack.wait_delivered(set(items.values()), timeout=90)
    duplicated = {item_id: count for item_id, count in posts.items() if count > 1}
    assert not duplicated, f"items posted twice: {duplicated}"
    report(f"chaos: Postgres stopped (immediate: no checkpoint, crash recovery on start) under {SENDERS} webhook "
           f"senders, down {up_at - down_at:.1f} s (stop {stopped_at - down_at:.1f} s, pause {OUTAGE_SECONDS:.0f} s, "
           f"start {up_at - restart_at:.1f} s) → {len(accepted)} accepted, {len(refused)} answered 503 in at most "
           f"{slowest:.2f} s, 0 other errors; serve and worker recovered without a restart; re-sent 503s "
           f"stored ({resent[202]} new, {resent[200]} already stored); {len(items)} stored once each, "
           f"{len(posts)} posted once each, 0 lost")


def _accepted(stack, serve, payload: dict) -> int | None:
    status = stack.post_webhook(serve, payload).status_code
    assert status in (200, 202, 503), f"re-send of {payload['id']} answered {status}"
    return status if status in (200, 202) else None
