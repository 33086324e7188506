"""bot/followups/flows.py on SQLite and Postgres: one function per action does permission → compare-and-set →
side effects in one transaction, and says what to refresh after the commit. Slack is not involved: the
flows never call it (outbox rows carry what Slack must be told)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy import select

from bot.config import AppConfig
from bot.db import session_scope
from bot.followups import flows
from bot.intake.ingest import ingest_item
from bot.intake.payload import validate_payload
from bot.slack.directory import SlackDirectory
from models import FollowUp, OutboxMessage
from tests.conftest import TEST_CONFIG, make_config

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _config(**permissions) -> AppConfig:
    data = copy.deepcopy(TEST_CONFIG)
    data["teams"][0].update(members=["U0ANA"], permissions=permissions)
    data["sources"] = [
        {"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET",
         "resolved_url": "https://hooks.example/resolved"},
        {"name": "zendesk", "type": "zendesk", "secret_env": "ZD_SECRET", "api_url": "https://acme.zendesk.example",
         "api_user_env": "ZD_EMAIL", "api_token_env": "ZD_TOKEN"},
    ]
    return make_config(data, environ={"ZD_SECRET": "s", "ZD_EMAIL": "a@example.com", "ZD_TOKEN": "t"})


@dataclass
class Deps:
    config: AppConfig
    factory: object
    # Never asked: no rule here needs a channel or user-group look-up.
    directory: SlackDirectory = field(default_factory=lambda: SlackDirectory(WebClient(base_url="http://127.0.0.1:9/")))
    wakes: int = 0

    @contextmanager
    def session(self) -> Iterator:
        with session_scope(self.factory) as session:
            yield session

    def now(self) -> datetime:
        return NOW

    def queued(self) -> None:
        self.wakes += 1


def _zendesk_item(deps: Deps) -> int:
    payload = validate_payload({"id": "zd-1", "kind": "csat", "score": 1, "comment": "Still waiting",
                                "source_ref": {"zendesk_ticket_id": 4242}})
    with deps.session() as session:
        return ingest_item(session, source="zendesk", payload=payload, config=deps.config, now=NOW).item_id


def _rows(deps: Deps, item_id: int) -> list[tuple[str, str | None]]:
    with deps.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.item_id == item_id,
                                                           OutboxMessage.created_at == NOW).order_by(OutboxMessage.id))
        return [(row.kind, (row.payload or {}).get("purpose")) for row in rows]


def _status(deps: Deps, item_id: int) -> str:
    with deps.session() as session:
        return session.scalar(select(FollowUp.status).where(FollowUp.item_id == item_id))


def test_a_resolve_queues_the_zendesk_note_with_the_change(session_factory):
    deps = Deps(_config(), session_factory)
    item_id = _zendesk_item(deps)
    before = _rows(deps, item_id)

    outcome = flows.resolve(deps, item_id=item_id, user_id="U0ANA", outcome="fixed", note="Refunded")

    assert outcome.refusal is None and outcome.result.changed and outcome.refresh_homes == ("U0ANA",)
    assert outcome.channel == "C0SUCCESS" and deps.wakes == 1
    added = _rows(deps, item_id)[len(before):]
    assert ("http_call", "zendesk_note") in added and ("update_item", None) in added
    assert _status(deps, item_id) == "resolved"


def test_a_resolve_that_comes_second_keeps_the_note_and_calls_nobody(session_factory):
    deps = Deps(_config(), session_factory)
    item_id = _zendesk_item(deps)
    assert flows.resolve(deps, item_id=item_id, user_id="U0ANA", outcome="fixed", note=None).result.changed
    before = _rows(deps, item_id)

    late = flows.resolve(deps, item_id=item_id, user_id="U0BEN", outcome="contacted", note="I called them too")

    assert not late.result.changed and late.error is None and late.result.told_in_slack
    assert late.refresh_homes == ()
    added = _rows(deps, item_id)[len(before):]
    assert added == [("thread_reply", None)]  # the note, in the thread; no second call to Zendesk


def test_a_refused_resolve_changes_nothing_and_queues_nothing(session_factory):
    deps = Deps(_config(resolve=["members"]), session_factory)
    item_id = _zendesk_item(deps)
    before = _rows(deps, item_id)

    outcome = flows.resolve(deps, item_id=item_id, user_id="U0EVE", outcome="fixed", note="Refunded")

    assert outcome.refusal and "only" in outcome.refusal and outcome.result is None
    assert outcome.error == outcome.refusal  # shown under the modal's field
    assert _rows(deps, item_id) == before and _status(deps, item_id) == "open" and deps.wakes == 0


def test_an_unclaim_of_a_claim_taken_over_meanwhile_loses(session_factory):
    deps = Deps(_config(), session_factory)
    item_id = _zendesk_item(deps)
    shown = flows.claim(deps, item_id=item_id, user_id="U0ANA")
    assert shown.result.changed
    with deps.session() as session:
        version = session.scalar(select(FollowUp.version).where(FollowUp.item_id == item_id))
    assert flows.reassign(deps, item_id=item_id, user_id="U0LEAD", assignee="U0BEN").result.changed

    late = flows.unclaim(deps, item_id=item_id, user_id="U0ANA", shown_version=version)

    assert not late.result.changed
    with deps.session() as session:
        assert session.scalar(select(FollowUp.claimed_by).where(FollowUp.item_id == item_id)) == "U0BEN"


def test_a_feature_request_can_be_resolved_as_logged_for_product(session_factory):
    deps = Deps(_config(), session_factory)
    item_id = _zendesk_item(deps)
    outcome = flows.resolve(deps, item_id=item_id, user_id="U0ANA", outcome="logged_for_product",
                            note="Added to the roadmap board")
    assert outcome.refusal is None and outcome.result.changed
    with deps.session() as session:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        assert (follow_up.status, follow_up.outcome) == ("resolved", "logged_for_product")
        thread = session.scalars(select(OutboxMessage.payload).where(OutboxMessage.item_id == item_id)).all()
    assert any("Logged for product" in str(payload) for payload in thread)
