"""Two `cxloop serve` and two `cxloop worker` processes on one Postgres: a burst spread over both
web processes and drained by both workers, then two users claiming the same items at the same
instant through different web processes."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.chaos.harness import report, send_all, wait_for, webhook_payload

BURST = 300
CLAIM_RACES = 20
LATENCY_SECONDS = 0.1


@pytest.mark.chaos
def test_two_serves_and_two_workers_post_each_item_once_and_a_claim_race_has_one_winner(chaos_stack):
    stack = chaos_stack()
    serves = [stack.serve("serve-a"), stack.serve("serve-b")]
    workers = [stack.worker("worker-1"), stack.worker("worker-2")]
    stack.started(*serves, *workers)
    stack.fake.set_faults(latency_s=LATENCY_SECONDS)

    # Which worker holds which row: sampled while the burst drains, to show both workers took part.
    leases: set[tuple[str, int]] = set()
    sampling = threading.Event()

    def sample_leases() -> None:
        while not sampling.is_set():
            leases.update(stack.query("SELECT locked_by, id FROM outbox WHERE locked_by IS NOT NULL"))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample_leases)
    sampler.start()
    payloads = [webhook_payload("multi", index) for index in range(BURST)]
    started = time.monotonic()
    try:
        sent = send_all(lambda payload: stack.post_webhook(serves[int(payload["id"][-4:]) % 2], payload), payloads)
        assert Counter(status for _, status, _ in sent) == {202: BURST}
        items = stack.items()
        posts = stack.wait_delivered(set(items.values()), timeout=120)
    finally:
        sampling.set()
        sampler.join()
    drained = time.monotonic() - started
    duplicated = {item_id: count for item_id, count in posts.items() if count > 1}
    assert not duplicated, f"items posted by both workers: {duplicated}"
    assert set(posts) == set(items.values())
    rows_by_worker = Counter(worker for worker, _ in leases)
    assert len(rows_by_worker) == 2, f"both workers should have leased rows: {rows_by_worker}"
    workers_by_row = Counter(row for _, row in leases)
    assert max(workers_by_row.values()) == 1, "a row was leased by both workers"

    # One item per channel, so a user's ephemeral in that channel can only be about that item.
    messages = stack.query("SELECT DISTINCT ON (channel) item_id, channel, ts FROM slack_messages ORDER BY channel")
    races = messages[:CLAIM_RACES]
    assert len(races) == CLAIM_RACES
    contenders = {}
    for index, (item_id, channel, ts) in enumerate(races):
        users = ("U0ANA", "U0BEN") if index % 2 == 0 else ("U0BEN", "U0ANA")
        contenders[item_id] = users
        barrier = threading.Barrier(2)
        acks: list[int] = []

        def click(serve, user, item_id=item_id, channel=channel, ts=ts, barrier=barrier, acks=acks) -> None:
            barrier.wait()
            acks.append(stack.click_claim(serve, item_id=item_id, user=user, channel=channel, ts=ts).status_code)

        clickers = [threading.Thread(target=click, args=(serve, user)) for serve, user in zip(serves, users, strict=True)]
        for thread in clickers:
            thread.start()
        for thread in clickers:
            thread.join()
        assert acks == [200, 200]

    race_ids = list(contenders)
    owners = dict(wait_for(lambda: _all_claimed(stack, race_ids), timeout=30, what="every raced item to be claimed"))
    claim_events = Counter(item_id for (item_id,) in stack.query(
        "SELECT f.item_id FROM follow_up_events e JOIN follow_ups f ON f.id = e.follow_up_id "
        "WHERE e.action = 'claim' AND f.item_id = ANY(:ids)", ids=race_ids))
    assert claim_events == Counter(race_ids), f"claim events per item: {claim_events}"
    channel_of = {item_id: channel for item_id, channel, _ in races}
    ts_of = {item_id: ts for item_id, _, ts in races}
    for item_id, users in contenders.items():
        assert owners[item_id] in users
    losers = {item_id: next(u for u in users if u != owners[item_id]) for item_id, users in contenders.items()}

    def told() -> bool:
        return all(_ephemerals(stack, channel_of[i], losers[i]) for i in race_ids)

    wait_for(told, timeout=30, what="every loser to be told who claimed first")
    # The thread replies come through the outbox too: wait for them before counting.
    wait_for(lambda: stack.outbox().get("pending", 0) == 0, timeout=60, what="the claim updates to be delivered")
    for item_id in race_ids:
        winner, loser, channel = owners[item_id], losers[item_id], channel_of[item_id]
        told_loser = [e["text"] for e in _ephemerals(stack, channel, loser)]
        assert len(told_loser) == 1 and told_loser[0].startswith(f"Already claimed by <@{winner}>"), (
            f"item {item_id}: the loser should be told once who has it: {told_loser}")
        assert _ephemerals(stack, channel, winner) == [], f"item {item_id}: the winner needs no reply"
        replies = [m["text"] for m in stack.fake.thread(channel, ts_of[item_id]) if "claimed this" in m["text"]]
        assert replies == [f"🙋 <@{winner}> claimed this."], f"item {item_id}: thread replies {replies}"
    wins = Counter(serves[0].name if owners[i] == contenders[i][0] else serves[1].name for i in race_ids)
    report(f"chaos: 2 serve + 2 worker processes on one Postgres, {BURST} webhooks over both serves → "
           f"{len(posts)} posted, 0 duplicated, 0 lost in {drained:.0f} s (rows seen leased per worker: "
           f"{sorted(rows_by_worker.values())}, none by both); {CLAIM_RACES} simultaneous Claim pairs on different "
           f"serves → exactly 1 owner and 1 claim event each, every loser told 'Already claimed by …' "
           f"(wins: {dict(sorted(wins.items()))})")


def _all_claimed(stack, item_ids: list[int]) -> list[tuple[int, str]] | None:
    rows = stack.query("SELECT item_id, claimed_by FROM follow_ups WHERE item_id = ANY(:ids) AND status = 'claimed'",
                       ids=item_ids)
    return rows if len(rows) == len(item_ids) else None


def _ephemerals(stack, channel: str, user: str) -> list[dict]:
    return [e for e in stack.fake.ephemerals(channel) if e["user"] == user]
