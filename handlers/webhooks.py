"""POST /webhooks/<source>: size check → source → signature → parse → one intake call → JSON answer."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.intake import MAX_BODY_BYTES, PayloadError, ingest_item, parse_generic_payload
from bot.runtime import Runtime
from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_webhook

log = logging.getLogger(__name__)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (we stop reading rather than buffer a flood)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def make_webhook_endpoint(runtime: Runtime):
    async def receive_webhook(request: Request) -> JSONResponse:
        name = request.path_params["source"]
        source = runtime.config.source(name)
        if source is None:
            return JSONResponse({"error": f"unknown source {name[:64]!r}"}, status_code=404)
        body = await _read_limited(request, MAX_BODY_BYTES)
        if body is None:
            return JSONResponse({"error": f"body is larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            verify_webhook(runtime.config.source_secrets[source.name], body,
                           request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
        except SignatureError as exc:
            log.info("refused webhook for source %s: %s", source.name, exc)
            return JSONResponse({"error": f"invalid signature: {exc}"}, status_code=401)
        try:
            payload = parse_generic_payload(body)
        except PayloadError as exc:
            return JSONResponse(exc.as_json(), status_code=exc.status)

        def store():
            with runtime.session() as session:
                return ingest_item(session, source=source.name, payload=payload, config=runtime.config,
                                   now=runtime.now())

        try:
            result = await run_in_threadpool(store)
        except OperationalError:
            log.exception("database unavailable while storing a webhook")
            # 503 makes the provider retry later; nothing was stored.
            return JSONResponse({"error": "database unavailable, retry later"}, status_code=503,
                                headers={"Retry-After": "5"})
        runtime.queued()
        log.info("webhook %s/%s: %s item %s", source.name, payload.id[:40], result.status, result.item_id)
        return JSONResponse(result.as_json(), status_code=202 if result.status == "accepted" else 200)

    return receive_webhook
