"""POST /webhooks/<tracker>: a tracker's issue events (bounded in size and time in front) → signature →
decode → one flow call in one transaction → JSON answer. One route per configured tracker, ahead of
the sources' /webhooks/{source} (names are checked not to collide)."""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.common.signing import SignatureError
from bot.config import TrackerConfig
from bot.product.adapters import adapter_for
from bot.product.flows import EventOutcome, apply_issue_event
from bot.product.trackers import EventError, Ignored, IssueEvent
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def tracker_routes(runtime: Runtime) -> list[Route]:
    return [Route(f"/webhooks/{tracker.name}", _endpoint(runtime, tracker), methods=["POST"])
            for tracker in runtime.config.trackers]


def _endpoint(runtime: Runtime, tracker: TrackerConfig):
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        secret = runtime.config.tracker_credentials.get(tracker.name, {}).get("secret", "")
        if not secret.strip():
            return JSONResponse({"error": "invalid signature: no secret is configured for this tracker"}, status_code=401)
        adapter = adapter_for(tracker.type)
        try:
            adapter.verify(secret, body, headers, time.time())
        except SignatureError as exc:
            log.info("refused webhook for tracker %s: %s", tracker.name, exc)
            return JSONResponse({"error": f"invalid signature: {exc}"}, status_code=401)
        try:
            event = adapter.parse_event(tracker, body, headers, time.time())
        except EventError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if isinstance(event, Ignored):
            return JSONResponse({"status": "ignored", "reason": event.reason}, status_code=202)
        try:
            outcome = await run_in_threadpool(_apply, runtime, tracker, event)
        except OperationalError as exc:
            log.warning("database unavailable while applying a %s event: %s", tracker.name, type(exc).__name__)
            return JSONResponse({"error": "database unavailable, retry later"}, status_code=503,
                                headers={"Retry-After": "5"})
        log.info("tracker %s delivery %s: issue %s %s → %s", tracker.name, event.delivery_id[:40], event.key,
                 event.action, outcome.status)
        return JSONResponse(outcome.as_json(), status_code=200)

    return endpoint


def _apply(runtime: Runtime, tracker: TrackerConfig, event: IssueEvent) -> EventOutcome:
    with runtime.session() as session:
        outcome = apply_issue_event(session, tracker=tracker.name, event=event, config=runtime.config,
                                    now=runtime.now())
    runtime.queued()
    return outcome
