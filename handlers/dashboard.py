"""GET /dashboard and its CSV exports, behind the dashboard token.

The token (CXLOOP_DASHBOARD_TOKEN; a random one in the sandbox) is accepted as `?token=` — answered
with an HttpOnly, SameSite=Lax cookie and a redirect to the same URL without it, so the token does
not stay in the address bar or history — as that cookie, or as `Authorization: Bearer`. Without a
configured token the dashboard is off (404), never open.

The cookie carries its expiry, signed with the token (CXLOOP_DASHBOARD_SESSION_HOURS, 12 h by default),
and is `Secure` when the request came over https (behind a proxy: uvicorn's forwarded headers, see
`cxloop serve --forwarded-allow-ips`). Wrong tokens are throttled per client (bot/throttle.py): after 10
in a minute the client gets 429 for a while, even with the right token. A database that is locked or
unreachable is a 503 page within a couple of seconds (Runtime.read_session), never a 500.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import logging
import sqlite3
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.insights.comments import (
    COMMENT_FILTERS,
    comment_counts,
    comment_page,
    comment_query,
    export_comment_rows,
)
from bot.insights.comments_page import render_comments
from bot.insights.dashboard import (
    ITEM_COLUMNS,
    TOUCH_COLUMNS,
    FilterError,
    Filters,
    checked_filters,
    dashboard_cut,
    dashboard_data,
    export_cells,
    export_days,
    export_item_rows,
    export_people,
    export_touch_rows,
    known_owners,
    parse_date_param,
)
from bot.insights.page import SECURITY_HEADERS, render_dashboard, render_message
from bot.runtime import Runtime
from bot.throttle import SIGN_IN_FAILURES, SIGN_IN_WINDOW_SECONDS, FailureThrottle

log = logging.getLogger(__name__)

COOKIE_NAME = "cxloop_dashboard"
DISABLED = "dashboard disabled: set CXLOOP_DASHBOARD_TOKEN"
# What a client is told to wait when the database is busy.
UNAVAILABLE_RETRY_SECONDS = 5
# Errors of a database that is locked, down or out of connections: the page says so (503).
UNAVAILABLE_ERRORS = (OperationalError, PoolTimeoutError)
# SQLite raises OperationalError for a locked file and for a malformed statement alike; only these are a
# database that is busy or away. Anything else is a bug: it must surface as one (500, logged with its
# traceback), never as "try again in a few seconds".
SQLITE_UNAVAILABLE_WORDS = ("locked", "busy", "unable to open", "disk i/o")


def _really_unavailable(exc: Exception) -> bool:
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        return any(word in str(orig).lower() for word in SQLITE_UNAVAILABLE_WORDS)
    return True


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _cookie_value(token: str, expires: int) -> str:
    # The cookie carries its expiry and a MAC of it keyed with the token, never the token itself: a
    # copied cookie stops working when it expires, whatever the browser does with Max-Age.
    mac = hmac.new(token.encode(), f"cxloop dashboard cookie {expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def _check_cookie(cookie: str, token: str, now: int) -> str:
    """'ok', 'expired' (genuine but too old) or 'forged'."""
    expires_text, _, _mac = cookie.partition(".")
    if not (expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= 12):
        return "forged"
    if not _same(cookie, _cookie_value(token, int(expires_text))):
        return "forged"
    return "ok" if int(expires_text) > now else "expired"


def _refuse(status: int, title: str, message: str, hint: str = "", *, html: bool = True,
            headers: dict[str, str] | None = None) -> Response:
    headers = {**SECURITY_HEADERS, **(headers or {})}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="cxloop dashboard"'
    if not html:
        return PlainTextResponse(f"{message}\n", status_code=status, headers=headers)
    return HTMLResponse(render_message(title, message, hint), status_code=status, headers=headers)


def _unavailable(exc: Exception, *, html: bool) -> Response:
    # One line, no traceback: while the database is locked every dashboard request lands here.
    if not _really_unavailable(exc):
        raise exc
    orig = getattr(exc, "orig", None)
    log.warning("dashboard: database unavailable: %s",
                str(orig).splitlines()[0][:200] if orig is not None and str(orig) else type(exc).__name__)
    return _refuse(503, "Database busy", "The dashboard could not read the database: it is locked or "
                   "unreachable right now. Nothing was changed.",
                   "Try again in a few seconds; GET /readyz shows the database's state.", html=html,
                   headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)})


def _client(request: Request) -> str:
    # Behind a trusted proxy uvicorn puts the client's own address here (X-Forwarded-For).
    return request.client.host if request.client else "unknown"


class DashboardGate:
    """Who may see the dashboard: the token, its cookie, and the per-client throttle of wrong tokens."""

    def __init__(self, runtime: Runtime, throttle: FailureThrottle | None = None):
        self.runtime = runtime
        self.throttle = throttle or FailureThrottle()

    def _failed(self, request: Request) -> None:
        client = _client(request)
        if self.throttle.failed(client):
            log.warning("dashboard: %d wrong tokens within %d s from %s: its sign-ins are refused for a while",
                        SIGN_IN_FAILURES, SIGN_IN_WINDOW_SECONDS, client)

    def _locked(self, request: Request, *, html: bool) -> Response | None:
        wait = self.throttle.retry_after(_client(request))
        if not wait:
            return None
        self._failed(request)  # a client that keeps guessing stays locked
        return _refuse(429, "Too many wrong tokens",
                       f"Too many wrong dashboard tokens came from your address ({SIGN_IN_FAILURES} within "
                       f"{SIGN_IN_WINDOW_SECONDS:g} s), so sign-ins from it are refused for {wait} s — even "
                       "with the right token.",
                       "Wait, then use the URL that `cxloop serve` printed or the value of "
                       "CXLOOP_DASHBOARD_TOKEN. A browser already signed in is not affected.",
                       html=html, headers={"Retry-After": str(wait)})

    def check(self, request: Request, *, html: bool) -> Response | None:
        """None when the request may see the dashboard; otherwise the answer to send instead."""
        settings = self.runtime.settings
        token = settings.dashboard_token
        if not token:
            return _refuse(404, "Dashboard disabled", DISABLED, "Set CXLOOP_DASHBOARD_TOKEN to a long random "
                           "value and restart cxloop serve.", html=html)
        now = int(self.runtime.now().timestamp())
        cookie = request.cookies.get(COOKIE_NAME)
        cookie_state = _check_cookie(cookie, token, now) if cookie else None
        given = request.query_params.get("token")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        bearer = credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None
        if given is None and bearer is None and cookie_state == "ok":
            return None  # signed in already: no token checked, the throttle does not apply
        if given is not None or bearer is not None:
            locked = self._locked(request, html=html)
            if locked is not None:
                return locked
        if given is not None:
            if not _same(given, token):
                self._failed(request)
                return _refuse(401, "Wrong dashboard token", "That token does not open this dashboard.",
                               "Use the URL that `cxloop serve` printed, or the value of "
                               "CXLOOP_DASHBOARD_TOKEN.", html=html)
            rest = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
            response = RedirectResponse(request.url.path + (f"?{urlencode(rest)}" if rest else ""),
                                        status_code=303)
            max_age = int(settings.dashboard_session_hours * 3600)
            response.set_cookie(COOKIE_NAME, _cookie_value(token, now + max_age), max_age=max_age,
                                path="/dashboard", httponly=True, samesite="lax",
                                secure=request.url.scheme == "https")
            return response
        if bearer is not None:
            if _same(bearer, token):
                return None
            self._failed(request)
            return _refuse(401, "Wrong dashboard token", "That token does not open this dashboard.", html=html)
        if cookie_state == "expired":
            return _refuse(401, "Sign-in expired", "Your dashboard sign-in has expired.",
                           "Open /dashboard?token=… again (the token is CXLOOP_DASHBOARD_TOKEN).", html=html)
        if cookie_state == "forged":
            self._failed(request)
        return _refuse(401, "Dashboard token needed", "This dashboard needs its token.",
                       "Open /dashboard?token=… once (the sandbox prints the full URL when it starts; otherwise "
                       "the token is CXLOOP_DASHBOARD_TOKEN), or send Authorization: Bearer ….", html=html)


def _filter_params(request: Request) -> dict:
    """The GET filters (the names the page's form sends) as dashboard_data's arguments; FilterError for a
    malformed date."""
    params = request.query_params
    return {"team": params.get("team"), "kind": params.get("kind"), "category": params.get("category"),
            "vip": params.get("vip"), "theme": params.get("theme"), "owner": params.get("owner"),
            "start": parse_date_param(params.get("from"), "from"), "end": parse_date_param(params.get("to"), "to")}


def _comment_query(session, runtime: Runtime, request: Request):
    """The comments view's query: the dashboard's filters, the comment filters and the page."""
    params = request.query_params
    return comment_query(session, config=runtime.config, now=runtime.now(), params=_filter_params(request),
                         extra={spec.name: params.get(spec.name) for spec in COMMENT_FILTERS},
                         page=params.get("page"))


def _csv_stream(runtime: Runtime, filters: Filters, columns: tuple[str, ...], read_rows) -> Iterator[str]:
    """The header, then each day's rows, each day read in its own short transaction; people's names are
    asked of Slack after it (cached, once per person)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for start, end in export_days(filters):
        with runtime.read_session() as session:
            rows = read_rows(session, config=runtime.config, filters=filters, start=start, end=end)
        names = runtime.user_names.names(export_people(columns, rows)) if rows else {}
        for row in rows:
            writer.writerow(export_cells(columns, row, names=names, timezone=filters.timezone))
        if buffer.tell():
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def dashboard_routes(runtime: Runtime) -> list[Route]:
    gate = DashboardGate(runtime)

    async def page(request: Request) -> Response:
        denied = gate.check(request, html=True)
        if denied is not None:
            return denied
        try:
            params = _filter_params(request)

            def build():
                with runtime.read_session() as session:
                    data = dashboard_data(session, config=runtime.config, now=runtime.now(), **params)
                    cut = dashboard_cut(session, config=runtime.config, filters=data.filters,
                                        by=request.query_params.get("by"))
                    counts = comment_counts(session, config=runtime.config, filters=data.filters)
                # Names are asked of Slack after the read transaction, once per person (cached), never per row.
                people = [*data.owners, data.filters.owner, *(item.claimed_by for item in data.open_items)]
                return data, runtime.user_names.names(people), cut, counts

            data, names, cut, counts = await run_in_threadpool(build)
        except FilterError as exc:
            return _refuse(400, "Bad filter", str(exc), "Dates are written 2026-11-20; leave a field empty for "
                                                        "its default (all, or the last 12 weeks).")
        except UNAVAILABLE_ERRORS as exc:
            return _unavailable(exc, html=True)
        return HTMLResponse(render_dashboard(data, runtime.config, names, cut, counts), headers=SECURITY_HEADERS)

    async def comments(request: Request) -> Response:
        denied = gate.check(request, html=True)
        if denied is not None:
            return denied
        try:
            def build():
                with runtime.read_session() as session:
                    listed = comment_page(session, config=runtime.config,
                                          query=_comment_query(session, runtime, request))
                    owners = known_owners(session, runtime.config)
                people = [*owners, listed.query.filters.owner, *listed.people()]
                return listed, owners, runtime.user_names.names(people)

            listed, owners, names = await run_in_threadpool(build)
        except FilterError as exc:
            return _refuse(400, "Bad filter", str(exc), "Dates are written 2026-11-20; leave a field empty for "
                                                        "its default (all, or the last 12 weeks).")
        except UNAVAILABLE_ERRORS as exc:
            return _unavailable(exc, html=True)
        return HTMLResponse(render_comments(listed, runtime.config, names, owners), headers=SECURITY_HEADERS)

    def checked(session, request: Request, read_rows):
        """The dashboard's filters and the rows they export."""
        return checked_filters(session, config=runtime.config, now=runtime.now(), **_filter_params(request)), read_rows

    def comment_rows(session, request: Request, _read_rows):
        """The comments view's query: the dashboard's filters, and its items' rows."""
        query = _comment_query(session, runtime, request)
        return query.filters, export_comment_rows(query)

    def export(name: str, columns: tuple[str, ...], read_rows, prepare=checked):
        async def endpoint(request: Request) -> Response:
            denied = gate.check(request, html=False)
            if denied is not None:
                return denied
            try:
                def check() -> tuple[Filters, Callable]:
                    with runtime.read_session() as session:
                        return prepare(session, request, read_rows)

                filters, rows_of = await run_in_threadpool(check)
            except FilterError as exc:
                return _refuse(400, "Bad filter", str(exc), html=False)
            except UNAVAILABLE_ERRORS as exc:
                return _unavailable(exc, html=False)
            rows = _csv_stream(runtime, filters, columns, rows_of)
            try:
                # The first day is read before the answer starts: a busy database is still a 503 then
                # (once streaming, the status is sent and a failure can only cut the file short).
                first = await run_in_threadpool(next, rows, None)
            except UNAVAILABLE_ERRORS as exc:
                return _unavailable(exc, html=False)
            rows = itertools.chain([first] if first is not None else [], rows)
            filename = f"cxloop-{name}-{filters.start.isoformat()}-to-{filters.end.isoformat()}.csv"
            return StreamingResponse(rows,
                                     media_type="text/csv; charset=utf-8",
                                     headers={**SECURITY_HEADERS,
                                              "Content-Disposition": f'attachment; filename="{filename}"'})
        return endpoint

    return [
        Route("/dashboard", page, methods=["GET", "HEAD"]),
        Route("/dashboard/items.csv", export("items", ITEM_COLUMNS, export_item_rows), methods=["GET", "HEAD"]),
        Route("/dashboard/touches.csv", export("touches", TOUCH_COLUMNS, export_touch_rows),
              methods=["GET", "HEAD"]),
        Route("/dashboard/comments", comments, methods=["GET", "HEAD"]),
        Route("/dashboard/comments.csv", export("comments", ITEM_COLUMNS, export_item_rows, comment_rows),
              methods=["GET", "HEAD"]),
    ]
