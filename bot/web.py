"""Composition root: the HTTP app (webhooks, Slack, health) and what runs beside it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bot.delivery import outbox_counts
from bot.runtime import Runtime
from bot.slack.app import create_bolt_app, dispatch_to_bolt
from bot.worker import DeliveryWorker
from handlers.webhooks import make_webhook_endpoint

log = logging.getLogger(__name__)

# /healthz turns unhealthy when this many rows wait or any is dead: someone should look.
BACKLOG_WARNING = 1000


def health(runtime: Runtime) -> tuple[int, dict]:
    try:
        with runtime.session() as session:
            session.execute(text("SELECT 1"))
            counts = outbox_counts(session)
    except Exception as exc:  # noqa: BLE001 — health reports, it does not raise
        return 503, {"status": "unavailable", "database": f"error: {type(exc).__name__}"}
    ok = counts["pending"] < BACKLOG_WARNING
    return (200 if ok else 503), {
        "status": "ok" if ok else "degraded", "database": "ok",
        "outbox": {"backlog": counts["pending"], "dead": counts["dead"], "sent": counts["sent"]},
    }


def create_app(runtime: Runtime, *, worker: DeliveryWorker | None = None, extra_routes: list | None = None,
               on_shutdown: list | None = None) -> Starlette:
    bolt_app = create_bolt_app(runtime)
    if worker is not None:
        runtime.on_queued.append(worker.wake)

    async def slack_events(request: Request):
        return await dispatch_to_bolt(bolt_app, request)

    async def healthz(_request: Request) -> JSONResponse:
        status, body = await run_in_threadpool(health, runtime)
        return JSONResponse(body, status_code=status)

    async def index(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("cxloop is running. Webhooks: POST /webhooks/<source>; Slack: POST /slack/events; "
                                 "health: GET /healthz\n")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            for callback in on_shutdown or []:
                callback()
            runtime.engine.dispose()

    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        # HEAD: some providers (SurveyMonkey) check the URL answers before they subscribe it.
        Route("/webhooks/{source}", make_webhook_endpoint(runtime), methods=["POST", "HEAD"]),
        # One Request URL for events, interactivity and slash commands, as manifest.yml sets it.
        Route("/slack/events", slack_events, methods=["POST"]),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
