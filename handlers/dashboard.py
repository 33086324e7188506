"""GET /dashboard and its CSV exports, behind the dashboard token.

The token (CXLOOP_DASHBOARD_TOKEN; a random one in the sandbox) is accepted as `?token=` — answered
with an HttpOnly, SameSite=Lax cookie and a redirect to the same URL without it, so the token does
not stay in the address bar or history — as that cookie, or as `Authorization: Bearer`. Without a
configured token the dashboard is off (404), never open.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterator
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.dashboard import (
    ITEM_COLUMNS,
    TOUCH_COLUMNS,
    FilterError,
    Filters,
    csv_cell,
    dashboard_data,
    export_days,
    export_item_rows,
    export_touch_rows,
    parse_date_param,
    resolve_filters,
)
from bot.dashboard_page import SECURITY_HEADERS, render_dashboard, render_message
from bot.runtime import Runtime

COOKIE_NAME = "cxloop_dashboard"
COOKIE_MAX_AGE_SECONDS = 7 * 24 * 3600
DISABLED = "dashboard disabled: set CXLOOP_DASHBOARD_TOKEN"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _cookie_value(token: str) -> str:
    # The cookie carries a value derived from the token, not the token itself.
    return hmac.new(token.encode(), b"cxloop dashboard cookie", hashlib.sha256).hexdigest()


def _refuse(status: int, title: str, message: str, hint: str = "", *, html: bool = True) -> Response:
    headers = {**SECURITY_HEADERS}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="cxloop dashboard"'
    if not html:
        return PlainTextResponse(f"{message}\n", status_code=status, headers=headers)
    return HTMLResponse(render_message(title, message, hint), status_code=status, headers=headers)


def _gate(request: Request, runtime: Runtime, *, html: bool) -> Response | None:
    """None when the request may see the dashboard; otherwise the answer to send instead."""
    token = runtime.settings.dashboard_token
    if not token:
        return _refuse(404, "Dashboard disabled", DISABLED, "Set CXLOOP_DASHBOARD_TOKEN to a long random value "
                       "and restart cxloop serve.", html=html)
    given = request.query_params.get("token")
    if given is not None:
        if not _same(given, token):
            return _refuse(401, "Wrong dashboard token", "That token does not open this dashboard.",
                           "Use the URL that `cxloop serve` printed, or the value of CXLOOP_DASHBOARD_TOKEN.",
                           html=html)
        rest = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
        response = RedirectResponse(request.url.path + (f"?{urlencode(rest)}" if rest else ""), status_code=303)
        response.set_cookie(COOKIE_NAME, _cookie_value(token), max_age=COOKIE_MAX_AGE_SECONDS, path="/dashboard",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip() and _same(credentials.strip(), token):
        return None
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie and _same(cookie, _cookie_value(token)):
        return None
    return _refuse(401, "Dashboard token needed", "This dashboard needs its token.",
                   "Open /dashboard?token=… once (the sandbox prints the full URL when it starts; otherwise the "
                   "token is CXLOOP_DASHBOARD_TOKEN), or send Authorization: Bearer ….", html=html)


def _filter_params(request: Request) -> dict:
    """The GET filters as dashboard_data's arguments; FilterError for a malformed date."""
    params = request.query_params
    return {"team": params.get("team"), "kind": params.get("kind"),
            "start": parse_date_param(params.get("from"), "from"), "end": parse_date_param(params.get("to"), "to")}


def _csv_stream(runtime: Runtime, filters: Filters, columns: tuple[str, ...], read_rows) -> Iterator[str]:
    """The header, then each day's rows, each day read in its own short transaction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for start, end in export_days(filters):
        with runtime.session() as session:
            rows = read_rows(session, config=runtime.config, filters=filters, start=start, end=end)
        for row in rows:
            writer.writerow([csv_cell(value) for value in row])
        if buffer.tell():
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def dashboard_routes(runtime: Runtime) -> list[Route]:
    async def page(request: Request) -> Response:
        denied = _gate(request, runtime, html=True)
        if denied is not None:
            return denied
        try:
            params = _filter_params(request)

            def build():
                with runtime.session() as session:
                    return dashboard_data(session, config=runtime.config, now=runtime.now(), **params)

            data = await run_in_threadpool(build)
        except FilterError as exc:
            return _refuse(400, "Bad filter", str(exc), "Dates are written 2026-11-20; leave a field empty for "
                                                        "its default.")
        return HTMLResponse(render_dashboard(data, runtime.config), headers=SECURITY_HEADERS)

    def export(name: str, columns: tuple[str, ...], read_rows):
        async def endpoint(request: Request) -> Response:
            denied = _gate(request, runtime, html=False)
            if denied is not None:
                return denied
            try:
                filters = resolve_filters(config=runtime.config, now=runtime.now(), **_filter_params(request))
            except FilterError as exc:
                return _refuse(400, "Bad filter", str(exc), html=False)
            filename = f"cxloop-{name}-{filters.start.isoformat()}-to-{filters.end.isoformat()}.csv"
            return StreamingResponse(_csv_stream(runtime, filters, columns, read_rows),
                                     media_type="text/csv; charset=utf-8",
                                     headers={**SECURITY_HEADERS,
                                              "Content-Disposition": f'attachment; filename="{filename}"'})
        return endpoint

    return [
        Route("/dashboard", page, methods=["GET", "HEAD"]),
        Route("/dashboard/items.csv", export("items", ITEM_COLUMNS, export_item_rows), methods=["GET", "HEAD"]),
        Route("/dashboard/touches.csv", export("touches", TOUCH_COLUMNS, export_touch_rows),
              methods=["GET", "HEAD"]),
    ]
