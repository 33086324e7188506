"""Receiving one webhook: signature → parse (the source's adapter, "generic" included) → one intake call.

The endpoint (handlers/webhooks.py) resolves the source and hands the raw body here; the answer is a
status, a JSON body and headers. Adapters that call their provider's API (SurveyMonkey sends ids only)
parse on the source's own bounded pool, never on the threads Slack requests and the dashboard share.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.common.signing import SignatureError
from bot.config import AppConfig, SourceConfig
from bot.delivery.outbound import PROVIDER_RETRY_AFTER_SECONDS, ProviderAPI, ProviderAPIs
from bot.intake import webhook_events
from bot.intake.group_commit import GroupCommitWriter
from bot.intake.ingest import IngestResult, analyse_payload, ingest_item
from bot.intake.payload import GenericPayload, PayloadError, validate_payload
from bot.intake.providers import adapter_for
from bot.intake.providers.base import Adapter, Ignored, ProviderUnavailable
from bot.intake.scoring import Scored
from bot.logs import request_id_var
from bot.metrics import ITEMS_INGESTED
from models import Item

log = logging.getLogger(__name__)


class Deps(Protocol):
    """What receiving needs from the running app (bot/runtime.py's Runtime has all of it)."""

    config: AppConfig

    def session(self) -> AbstractContextManager[Session]: ...

    def now(self) -> datetime: ...

    def queued(self) -> None: ...


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | None = None  # None: no body (HEAD)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    """What a webhook carries, read once: its payloads (or why there are none to store) and the
    provider's id of the event (recorded with the items, so a redelivery is known without the API)."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    event_id: str | None = None
    ignored: str | None = None
    stored: list[int] | None = None  # every item it names is stored and the event applied: a replay


def _unavailable(what: str, retry_after: int) -> Answer:
    return Answer(503, {"error": what}, {"Retry-After": str(retry_after)})


# Threads that analyse comments (sentiment, themes) before their webhook joins a group commit.
ANALYSIS_THREADS = 2


class Receiver:
    def __init__(self, deps: Deps, writer: GroupCommitWriter, providers: ProviderAPIs):
        self.deps, self.writer, self.providers = deps, writer, providers
        # Apart from the threads Slack requests and the dashboard share; the analysis is pure CPU work.
        self._analysis = ThreadPoolExecutor(max_workers=ANALYSIS_THREADS, thread_name_prefix="cxloop-analysis")

    async def receive(self, source: SourceConfig, body: bytes, headers: dict[str, str]) -> Answer:
        """`headers` with lower-case names. The body is already bounded in size and time (bot/request_bounds.py)."""
        secret = self.deps.config.source_secrets.get(source.name, "")
        if not secret.strip():
            # Start-up refuses this outside the sandbox; if it ever happens, an empty key verifies nothing.
            log.error("refused webhook for source %s: no signing secret is configured", source.name)
            return Answer(401, {"error": "invalid signature: no secret is configured for this source"})
        adapter = adapter_for(source.type)
        try:
            adapter.verify(source, secret, body, headers, time.time())
        except SignatureError as exc:
            log.info("refused webhook for source %s: %s", source.name, exc)
            return Answer(401, {"error": f"invalid signature: {exc}"})
        if log.isEnabledFor(logging.DEBUG):  # not even decoded otherwise: this is every webhook's path
            log.debug("webhook %s body (%d bytes): %s", source.name, len(body), body[:4000].decode("utf-8", "replace"))
        try:
            parsed = await self._parse(adapter, source, body, headers)
            if isinstance(parsed, Answer):
                return parsed
            if parsed.stored is not None:
                log.info("webhook %s: already stored as item(s) %s, no API call", source.name, parsed.stored)
                answers = [IngestResult(item_id=i, status="duplicate").as_json() for i in parsed.stored]
                return Answer(200, answers[0] if len(answers) == 1 else {"status": "duplicate", "items": answers})
            if parsed.ignored is not None:
                return Answer(202, {"status": "ignored", "reason": parsed.ignored})
            payloads = [validate_payload(data) for data in parsed.payloads]
        except PayloadError as exc:
            return Answer(exc.status, exc.as_json())
        except ProviderUnavailable as exc:
            return _unavailable(str(exc), 30)
        except OperationalError as exc:  # the duplicate check could not read the database
            log.warning("database unavailable while checking a webhook for %s: %s", source.name, type(exc).__name__)
            return _unavailable("database unavailable, retry later", 5)
        if not payloads:
            return Answer(202, {"status": "ignored", "reason": "nothing to store in this event"})
        return await self._store(source, payloads, parsed.event_id)

    async def _parse(self, adapter: Adapter, source: SourceConfig, body: bytes,
                     headers: dict[str, str]) -> Parsed | Answer:
        if not getattr(adapter, "calls_api", True):
            return Parsed(payloads=adapter.parse(source, body, headers, _no_fetch))
        api = self.providers.get(source)
        work = api.submit(partial(contextvars.copy_context().run, self._parse_on_pool, adapter, api, source, body,
                                  headers))
        if work is None:
            log.warning("webhook for %s refused: %d already running or waiting for its API", source.name, api.admitted)
            return _unavailable(f"too many {source.name} webhooks in progress, retry later",
                                PROVIDER_RETRY_AFTER_SECONDS)
        return await asyncio.wrap_future(work)

    def _parse_on_pool(self, adapter: Adapter, api: ProviderAPI, source: SourceConfig, body: bytes,
                       headers: dict[str, str]) -> Parsed:
        """On the source's own pool: the replay check, then the adapter's parse (which may call the API)."""
        item_ids = getattr(adapter, "item_ids", None)
        event_id = getattr(adapter, "event_id", None)
        ids = item_ids(source, body, headers) if item_ids else None
        event = event_id(source, body, headers) if event_id else None
        fetch: Callable[..., dict[str, Any]] = api.fetch
        if ids and event:
            with self.deps.session() as session:
                # Items first, then the event: both are committed together, so reading in this order an
                # item stored by this very event always finds the event too. (The other order, racing
                # that commit, saw "not applied" then "stored" and fetched again as if it were an edit.)
                found = dict(session.execute(select(Item.external_id, Item.id).where(
                    Item.source == source.name, Item.external_id.in_(set(ids)))).all())
                applied = webhook_events.seen(session, source=source.name, event_id=event)
            if applied and all(external_id in found for external_id in ids):
                return Parsed(event_id=event, stored=[found[external_id] for external_id in ids])
            if found:
                # A new event about a stored response is an edit: ask the API again, never a cached copy.
                fetch = partial(_fresh, api.fetch)
        parsed = adapter.parse(source, body, headers, fetch)
        if isinstance(parsed, Ignored):
            return Parsed(event_id=event, ignored=parsed.reason)
        return Parsed(payloads=parsed, event_id=event)

    async def _store(self, source: SourceConfig, payloads: list[GenericPayload], event: str | None) -> Answer:
        request_id = request_id_var.get()
        deps = self.deps
        config = deps.config
        # The analysis runs here, before the transaction: inside it, it held the database's write lock (on
        # SQLite the one lock the delivery worker needs too) for ~1 ms per webhook of a batch.
        analyses = await asyncio.wrap_future(self._analysis.submit(_analyse, payloads, config))

        def store(session: Session) -> list[IngestResult]:
            now = deps.now()
            results = [ingest_item(session, source=source.name, payload=payload, config=config,
                                   now=now, request_id=request_id, scored=scored)
                       for payload, scored in zip(payloads, analyses, strict=True)]
            if event:
                webhook_events.record(session, source=source.name, event_id=event, now=now)
            return results

        try:
            results = await asyncio.wrap_future(self.writer.submit(store))
        except OperationalError as exc:
            # One line, not a traceback per request: during an outage every webhook lands here.
            log.warning("database unavailable while storing a webhook for %s: %s", source.name,
                        str(exc.orig).splitlines()[0][:200] if exc.orig else type(exc).__name__)
            # 503 makes the provider retry later; nothing was stored.
            return _unavailable("database unavailable, retry later", 5)
        deps.queued()
        for payload, result in zip(payloads, results, strict=True):
            ITEMS_INGESTED.labels(source=source.name, kind=payload.kind, status=result.status).inc()
            log.info("webhook %s/%s: %s item %s", source.name, payload.id[:40], result.status, result.item_id)
        accepted = any(result.status == "accepted" for result in results)
        body = results[0].as_json() if len(results) == 1 else {
            "status": "accepted" if accepted else "duplicate", "items": [r.as_json() for r in results]}
        return Answer(202 if accepted else 200, body)


def _analyse(payloads: list[GenericPayload], config: AppConfig) -> list[Scored | None]:
    """Each payload's analysis; None where it fails (ingest_item then computes it and raises, as before)."""
    analyses: list[Scored | None] = []
    for payload in payloads:
        try:
            analyses.append(analyse_payload(payload, config))
        except ValueError:
            analyses.append(None)
    return analyses


def _fresh(fetch: Callable[..., dict[str, Any]], path: str, *, fresh: bool = False) -> dict[str, Any]:
    return fetch(path, fresh=True)


def _no_fetch(path: str, *, fresh: bool = False) -> dict[str, Any]:
    raise ProviderUnavailable("this source has no API to call")
