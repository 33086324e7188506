"""Every HTTP request is bounded before anything trusts it: headers in time, a body of limited size, in time.

`RequestBounds` is pure ASGI middleware in front of every route (webhooks, Slack, dashboard, sandbox).
It reads the body as it streams, before authentication: a declared Content-Length over the route's limit
is answered 413 at once, a chunked body is counted chunk by chunk and refused (413) as soon as it passes
the limit, without reading the rest; a body that does not finish within `body_timeout` seconds gets 408.
Only a body within its limit reaches the app, which reads it from memory. A client that disconnects
mid-body is one log line, not a traceback.

`uvicorn_options` gives `cxloop serve` the matching server settings: uvicorn bounds idle keep-alive
connections (`timeout_keep_alive`) but has no deadline for a request's headers, so a client trickling
header bytes would hold a connection forever; `header_deadline_protocol` adds one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Webhooks: 1 MB, as documented (bot/intake/payload.py MAX_BODY_BYTES). Slack's own payloads are far smaller
# (a view submission with every input full is tens of kB); 1 MB leaves room and stays cheap.
DEFAULT_MAX_BODY_BYTES = 1_000_000
# A body that has not arrived in this long is a slow (or stalled) client: Slack itself gives up after 3 s.
BODY_TIMEOUT_SECONDS = 15.0
# From the connection's first byte (or the end of the previous response) to the end of the headers.
HEADER_TIMEOUT_SECONDS = 10.0
# An idle kept-alive connection is closed after this long (uvicorn's default is 5).
KEEP_ALIVE_SECONDS = 5


class _Refused(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


class _Disconnected(Exception):
    pass


class RequestBounds:
    """ASGI middleware: size and time limits on every request body, before the app sees the request.

    `limits` maps a path prefix to its byte limit (the longest matching prefix wins); other paths get
    `default_limit`."""

    def __init__(self, app: ASGIApp, *, limits: Sequence[tuple[str, int]] = (),
                 default_limit: int = DEFAULT_MAX_BODY_BYTES, body_timeout: float = BODY_TIMEOUT_SECONDS):
        self.app = app
        self.limits = sorted(limits, key=lambda pair: len(pair[0]), reverse=True)
        self.default_limit = default_limit
        self.body_timeout = body_timeout

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        try:
            body = await self._read(scope, receive, limit)
        except _Refused as refused:
            log.info("refused %s %s: %s", scope.get("method"), scope.get("path", "")[:100], refused.text)
            await _answer(send, refused.status, refused.text)
            return
        except _Disconnected:
            log.info("client disconnected before sending the whole body of %s %s", scope.get("method"),
                     scope.get("path", "")[:100])
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, scope: Scope, receive: Receive, limit: int) -> bytes:
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            raise _Refused(413, f"request body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Disconnected
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise _Refused(413, f"request body is larger than {limit} bytes")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise _Refused(408, f"request body did not arrive within {self.body_timeout:g} seconds") from None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then passes on (a later disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


async def _answer(send: Send, status: int, text: str) -> None:
    # JSON {"error": …}, as every other refusal of the webhook and Slack endpoints.
    payload = json.dumps({"error": text}).encode()
    # Connection: close — the rest of an oversized or stalled body is never read, so the connection
    # cannot carry another request.
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


def header_deadline_protocol(base: type, seconds: float) -> type:
    """`base` (uvicorn's h11 or httptools protocol) with a deadline for each request's headers.

    The deadline starts when the connection opens and again after each response; a request whose
    headers are not complete by then has its connection closed (one log line)."""

    class HeaderDeadline(base):  # type: ignore[misc, valid-type]
        header_timeout = seconds

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm_header_deadline()

        def _arm_header_deadline(self) -> None:
            self._awaited_cycle = self.cycle  # a new cycle object appears once the next headers are in
            self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

        def _cancel_header_deadline(self) -> None:
            deadline = getattr(self, "_header_deadline", None)
            if deadline is not None:
                deadline.cancel()
                self._header_deadline = None

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._awaited_cycle:
                self._cancel_header_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._cancel_header_deadline()
                self._arm_header_deadline()

        def _headers_too_slow(self) -> None:
            self._header_deadline = None
            if self.cycle is self._awaited_cycle and not self.transport.is_closing():
                client = "{}:{}".format(*self.client) if self.client else "a client"
                log.info("closed the connection of %s: no complete request headers within %g seconds",
                         client, self.header_timeout)
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_deadline()
            super().connection_lost(exc)

    HeaderDeadline.__name__ = f"HeaderDeadline{base.__name__}"
    return HeaderDeadline


def uvicorn_options(*, header_timeout: float = HEADER_TIMEOUT_SECONDS,
                    keep_alive: int = KEEP_ALIVE_SECONDS) -> dict[str, Any]:
    """The server settings `cxloop serve` runs with (tests start uvicorn with the same)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:  # httptools is optional for uvicorn; its pure-Python h11 protocol is the fallback
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    return {"http": header_deadline_protocol(base, header_timeout), "timeout_keep_alive": keep_alive,
            # Headers larger than this are answered 400 by h11 (httptools has its own fixed limit).
            "h11_max_incomplete_event_size": 64 * 1024}
