"""Composition root: the HTTP app (webhooks, Slack, health) and what runs beside it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.db import current_revision, head_revision
from bot.delivery.outbound import ProviderAPIs
from bot.delivery.outbox import outbox_backlog
from bot.delivery.worker import DeliveryWorker
from bot.intake.group_commit import GroupCommitWriter
from bot.intake.payload import MAX_BODY_BYTES
from bot.metrics import exposition
from bot.request_bounds import BODY_TIMEOUT_SECONDS, RequestBounds
from bot.runtime import Runtime
from bot.slack.app import MAX_SLACK_BODY_BYTES, create_bolt_app, dispatch_to_bolt
from bot.slack.replays import ReplayGuard
from handlers.dashboard import dashboard_routes
from handlers.product_webhooks import tracker_routes
from handlers.webhooks import make_webhook_endpoint

log = logging.getLogger(__name__)

# Everything else posted to cxloop is a small form (dashboard sign-in, the sandbox's buttons).
MAX_OTHER_BODY_BYTES = 64 * 1024
# /readyz answers 503 when this many rows wait to be delivered: something is stuck, someone should look.
BACKLOG_LIMIT = 1000


class Readiness:
    """GET /readyz: database reachable, schema at the code's migration head, outbox backlog in bounds."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.head = head_revision()  # read once: the code's migrations do not change while it runs

    def check(self) -> tuple[int, dict]:
        try:
            with self.runtime.session() as session:
                counts = outbox_backlog(session)
            current = current_revision(self.runtime.engine)
        except Exception as exc:  # noqa: BLE001 — readiness reports, it does not raise
            return 503, {"status": "unavailable", "database": f"error: {type(exc).__name__}"}
        problems = []
        if current != self.head:
            problems.append(f"database at migration {current}, code expects {self.head}: run `cxloop db upgrade`")
        if counts["pending"] >= BACKLOG_LIMIT:
            problems.append(f"outbox backlog {counts['pending']} ≥ {BACKLOG_LIMIT}")
        body = {"status": "ready" if not problems else "not ready", "database": "ok",
                "migrations": {"current": current, "head": self.head},
                "outbox": {"backlog": counts["pending"], "dead": counts["dead"]}}
        if problems:
            body["problems"] = problems
        return (200 if not problems else 503), body


def create_app(runtime: Runtime, *, worker: DeliveryWorker | None = None, extra_routes: list | None = None,
               on_shutdown: list | None = None, providers: ProviderAPIs | None = None,
               body_timeout: float = BODY_TIMEOUT_SECONDS) -> Starlette:
    bolt_app = create_bolt_app(runtime)
    # Webhooks arriving together share one transaction (bot/intake/group_commit.py).
    intake_writer = GroupCommitWriter(runtime.factory)
    # Provider API calls: a pooled client and a bounded pool per source, apart from Slack's threads.
    provider_apis = providers or ProviderAPIs(runtime.config)
    if worker is not None:
        runtime.on_queued.append(worker.wake)

    replays = ReplayGuard(runtime.factory, lambda: runtime.now())  # tests may set a clock later

    async def slack_events(request: Request):
        return await dispatch_to_bolt(bolt_app, request, replays)

    readiness = Readiness(runtime)

    async def healthz(_request: Request) -> JSONResponse:
        # Liveness only: the process answers. A database outage must not get a healthy app restarted.
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        status, body = await run_in_threadpool(readiness.check)
        return JSONResponse(body, status_code=status)

    async def metrics(_request: Request) -> Response:
        text = await run_in_threadpool(exposition, runtime.factory)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    async def index(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("cxloop is running. Webhooks: POST /webhooks/<source>; Slack: POST /slack/events; "
                                 "health: GET /healthz, /readyz; metrics: GET /metrics\n")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            provider_apis.close()
            intake_writer.stop()
            for callback in on_shutdown or []:
                callback()
            runtime.dispose()

    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        # Each tracker's own route comes first: /webhooks/<tracker> (its names never collide with a source's).
        *tracker_routes(runtime),
        # HEAD: some providers (SurveyMonkey) check the URL answers before they subscribe it.
        Route("/webhooks/{source}", make_webhook_endpoint(runtime, intake_writer, provider_apis), methods=["POST", "HEAD"]),
        # One Request URL for events, interactivity and slash commands, as manifest.yml sets it.
        Route("/slack/events", slack_events, methods=["POST"]),
        # Always mounted: without CXLOOP_DASHBOARD_TOKEN (outside the sandbox) it answers 404, never opens.
        *dashboard_routes(runtime),
        *(extra_routes or []),
    ]
    # Size and time limits on every body, before any route (and so before any signature check) reads it.
    bounds = Middleware(RequestBounds, limits=[("/webhooks/", MAX_BODY_BYTES), ("/slack/", MAX_SLACK_BODY_BYTES)],
                        default_limit=MAX_OTHER_BODY_BYTES, body_timeout=body_timeout)
    return Starlette(routes=routes, lifespan=lifespan, middleware=[bounds])
