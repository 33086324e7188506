"""POST /webhooks/<source>: (size and time bounded in front) → source → signature → parse → one intake call → JSON answer."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.common.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_webhook
from bot.config import SourceConfig
from bot.delivery.outbound import PROVIDER_RETRY_AFTER_SECONDS, ProviderAPI, ProviderAPIs
from bot.intake import webhook_events
from bot.intake.group_commit import GroupCommitWriter
from bot.intake.ingest import IngestResult, ingest_item
from bot.intake.payload import PayloadError, parse_generic_payload, validate_payload
from bot.intake.providers import adapter_for
from bot.intake.providers.base import Ignored, ProviderUnavailable
from bot.logs import REQUEST_ID_HEADER, new_request_id, request_id_var
from bot.metrics import ITEMS_INGESTED, WEBHOOKS
from bot.runtime import Runtime
from models import Item

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Stored:
    """Every item the webhook names is stored already: a replay, answered without calling the API."""

    item_ids: list[int]


def _parse_provider(runtime: Runtime, api: ProviderAPI, source: SourceConfig, body: bytes,
                    headers: dict[str, str]) -> list[dict[str, Any]] | Ignored | _Stored:
    """On the source's own pool: the replay check, then the adapter's parse (which may call the API)."""
    adapter = adapter_for(source.type)
    item_ids = getattr(adapter, "item_ids", None)
    event_id = getattr(adapter, "event_id", None)
    ids = item_ids(source, body, headers) if item_ids else None
    event = event_id(source, body, headers) if event_id else None
    if ids and event:
        with runtime.session() as session:
            applied = webhook_events.seen(session, source=source.name, event_id=event)
            found = dict(session.execute(select(Item.external_id, Item.id).where(
                Item.source == source.name, Item.external_id.in_(set(ids)))).all())
        if applied and all(external_id in found for external_id in ids):
            return _Stored([found[external_id] for external_id in ids])
        if found:
            # A new event about a stored response is an edit: ask the API again, never a cached copy.
            return adapter.parse(source, body, headers, partial(_fresh, api.fetch))
    return adapter.parse(source, body, headers, api.fetch)


def _fresh(fetch: Callable[..., dict[str, Any]], path: str, *, fresh: bool = False) -> dict[str, Any]:
    return fetch(path, fresh=True)


def make_webhook_endpoint(runtime: Runtime, writer: GroupCommitWriter, providers: ProviderAPIs):
    async def endpoint(request: Request) -> Response:
        """Give the request its id (logged with every line, stored for the Slack post) and count it."""
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = request_id_var.set(request_id)
        try:
            response = await receive_webhook(request)
        finally:
            request_id_var.reset(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        # An unknown name is counted as "unknown": label values must not come from strangers.
        name = request.path_params["source"]
        WEBHOOKS.labels(source=name if runtime.config.source(name) else "unknown",
                        code=str(response.status_code)).inc()
        return response

    async def receive_webhook(request: Request) -> Response:
        name = request.path_params["source"]
        source = runtime.config.source(name)
        if source is None:
            return JSONResponse({"error": f"unknown source {name[:64]!r}"}, status_code=404)
        if request.method == "HEAD":
            return Response(status_code=200)
        # Already bounded in size and time by bot/request_bounds.py, before this endpoint runs.
        body = await request.body()
        secret = runtime.config.source_secrets.get(source.name, "")
        if not secret.strip():
            # Start-up refuses this outside the sandbox; if it ever happens, an empty key verifies nothing.
            log.error("refused webhook for source %s: no signing secret is configured", source.name)
            return JSONResponse({"error": "invalid signature: no secret is configured for this source"},
                                status_code=401)
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            if source.type == "generic":
                verify_webhook(secret, body, headers.get(TIMESTAMP_HEADER.lower()),
                               headers.get(SIGNATURE_HEADER.lower()))
            else:
                adapter_for(source.type).verify(source, secret, body, headers, time.time())
        except SignatureError as exc:
            log.info("refused webhook for source %s: %s", source.name, exc)
            return JSONResponse({"error": f"invalid signature: {exc}"}, status_code=401)
        if log.isEnabledFor(logging.DEBUG):  # not even decoded otherwise: this is every webhook's path
            log.debug("webhook %s body (%d bytes): %s", source.name, len(body), body[:4000].decode("utf-8", "replace"))
        try:
            if source.type == "generic":
                payloads = [parse_generic_payload(body)]
            else:
                # Adapters may call the provider's API (SurveyMonkey sends ids only): on the source's own
                # bounded pool, never on the threads Slack requests and the dashboard share.
                api = providers.get(source)
                work = api.submit(partial(contextvars.copy_context().run, _parse_provider, runtime, api,
                                          source, body, headers))
                if work is None:
                    log.warning("webhook for %s refused: %d already running or waiting for its API",
                                source.name, api.admitted)
                    return JSONResponse({"error": f"too many {source.name} webhooks in progress, retry later"},
                                        status_code=503, headers={"Retry-After": str(PROVIDER_RETRY_AFTER_SECONDS)})
                parsed = await asyncio.wrap_future(work)
                if isinstance(parsed, _Stored):
                    log.info("webhook %s: already stored as item(s) %s, no API call", source.name, parsed.item_ids)
                    answers = [IngestResult(item_id=i, status="duplicate").as_json() for i in parsed.item_ids]
                    return JSONResponse(answers[0] if len(answers) == 1 else
                                        {"status": "duplicate", "items": answers}, status_code=200)
                if isinstance(parsed, Ignored):
                    return JSONResponse({"status": "ignored", "reason": parsed.reason}, status_code=202)
                payloads = [validate_payload(data) for data in parsed]
        except PayloadError as exc:
            return JSONResponse(exc.as_json(), status_code=exc.status)
        except ProviderUnavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "30"})
        except OperationalError as exc:  # the duplicate check could not read the database
            log.warning("database unavailable while checking a webhook for %s: %s", source.name, type(exc).__name__)
            return JSONResponse({"error": "database unavailable, retry later"}, status_code=503,
                                headers={"Retry-After": "5"})
        if not payloads:
            return JSONResponse({"status": "ignored", "reason": "nothing to store in this event"}, status_code=202)

        request_id = request_id_var.get()

        event = None if source.type == "generic" else getattr(adapter_for(source.type), "event_id", None)
        event = event(source, body, headers) if event else None

        def store(session):
            now = runtime.now()
            results = [ingest_item(session, source=source.name, payload=payload, config=runtime.config,
                                   now=now, request_id=request_id) for payload in payloads]
            if event:
                webhook_events.record(session, source=source.name, event_id=event, now=now)
            return results

        try:
            results = await asyncio.wrap_future(writer.submit(store))
        except OperationalError as exc:
            # One line, not a traceback per request: during an outage every webhook lands here.
            log.warning("database unavailable while storing a webhook for %s: %s", source.name,
                        str(exc.orig).splitlines()[0][:200] if exc.orig else type(exc).__name__)
            # 503 makes the provider retry later; nothing was stored.
            return JSONResponse({"error": "database unavailable, retry later"}, status_code=503,
                                headers={"Retry-After": "5"})
        runtime.queued()
        for payload, result in zip(payloads, results, strict=True):
            ITEMS_INGESTED.labels(source=source.name, kind=payload.kind, status=result.status).inc()
            log.info("webhook %s/%s: %s item %s", source.name, payload.id[:40], result.status, result.item_id)
        accepted = any(result.status == "accepted" for result in results)
        body_json = results[0].as_json() if len(results) == 1 else {
            "status": "accepted" if accepted else "duplicate", "items": [r.as_json() for r in results]}
        return JSONResponse(body_json, status_code=202 if accepted else 200)

    return endpoint
