"""The Bolt App and the bridge that serves it from Starlette."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.metrics import SLACK_ACK_SECONDS
from bot.runtime import Runtime
from bot.slack.guards import SIGNATURE_VERIFIED, RetryFilter, malformed, refusal, unverified
from bot.slack.replays import ReplayGuard
from handlers import register_listeners

# Bolt runs listeners (and the work after ack) in this pool; its default of 5 threads lets slow
# post-ack work delay other users' acks.
LISTENER_THREADS = 32
# Slack's own payloads are far smaller; bot/request_bounds.py enforces this while the body streams in.
MAX_SLACK_BODY_BYTES = 1_000_000


log = logging.getLogger(__name__)


class BotIdentity:
    """Bolt's default single-workspace authorization calls auth.test before the first listener runs,
    so the first click after a start would wait on Slack (and fail while Slack is unreachable).
    We authorize from the configured token instead, and learn the bot's ids in the background."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None

    def learn(self) -> None:
        try:
            result = self.runtime.client.auth_test()
        except Exception as exc:  # noqa: BLE001 — Slack may be down at start; delivery will wait for it
            log.warning("auth.test failed (%s); the bot's own events cannot be recognised until it succeeds",
                        type(exc).__name__)
            return
        self.bot_user_id, self.bot_id = result.get("user_id"), result.get("bot_id")
        log.info("Slack: connected as bot user %s of team %s", self.bot_user_id, result.get("team_id"))

    def authorizer(self):
        # A plain function: Bolt passes arguments by the names in its signature (a bound method's
        # 'self' confuses it).
        def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                                   bot_token=self.runtime.bot_token, bot_user_id=self.bot_user_id,
                                   bot_id=self.bot_id)
        return authorize


# Interactions whose ack carries nothing: acked here, in the request's own thread, before the listener
# is queued. Bolt otherwise answers Slack only once a listener thread has run ack(), so when every
# listener thread is busy with post-ack Slack calls (views.publish, ephemerals), a click's ack would
# wait for Slack after all. View submissions and slash commands answer in their ack, so they keep it.
ACK_FIRST_TYPES = frozenset({"block_actions", "message_action", "shortcut"})


def ack_clicks_first(body: dict, ack, next) -> None:  # noqa: A002 — Bolt passes arguments by these names
    if isinstance(body, dict) and body.get("type") in ACK_FIRST_TYPES:
        ack()
    next()


def create_bolt_app(runtime: Runtime, *, socket_mode: bool = False) -> App:
    identity = BotIdentity(runtime)
    threading.Thread(target=identity.learn, name="cxloop-auth-test", daemon=True).start()
    app = App(
        # The name Bolt would find itself (its caller's file name) with inspect.stack(), ~50 ms per app.
        name=Path(__file__).name,
        signing_secret=runtime.signing_secret or None,
        # Token-less: Bolt gives each request a client with the token our authorize returns.
        client=WebClient(base_url=runtime.client.base_url, timeout=runtime.client.timeout, retry_handlers=[]),
        authorize=identity.authorizer(),
        # Ack first, work after: Slack gets its answer before any Slack API call is made.
        process_before_response=False,
        # Start even if Slack is unreachable; delivery waits in the outbox.
        token_verification_enabled=False,
        request_verification_enabled=not socket_mode,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="cxloop-listener"),
        raise_error_for_unhandled_request=False,
    )
    # Before any listener: a retry of a delivery already taken is acked again, not run again (guards.py).
    app.use(RetryFilter().middleware())
    app.use(ack_clicks_first)
    register_listeners(app, runtime)
    return app


def _request_kind(body: bytes) -> str:
    """interaction | command | event | other — a fixed set, for the ack latency histogram's label."""
    if body.startswith(b"payload="):
        return "interaction"
    if body.startswith(b"{"):
        return "event"
    return "command" if b"command=" in body else "other"


def replay_kind(raw_body: bytes, body: object) -> str | None:
    """What a replay guard records for this request: interactions and slash commands (form-encoded),
    not Events API deliveries (JSON, retried by Slack on purpose and keyed by event_id instead)."""
    if raw_body.lstrip()[:1] == b"{" or not isinstance(body, dict):
        return None
    if isinstance(body.get("command"), str):
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind else "other"


def _dispatch(app: App, bolt_request: BoltRequest, replays: ReplayGuard | None, raw_body: bytes,
              kind: str | None) -> BoltResponse:
    """In a worker thread: the replay check (its own transaction), then Bolt."""
    if replays is not None and kind is not None:
        timestamp = bolt_request.headers.get("x-slack-request-timestamp", [""])[0].strip()
        try:
            first = replays.first_time(timestamp=timestamp, raw_body=raw_body, kind=kind)
        except SQLAlchemyError as exc:
            # Nothing fails open: without the record, a replay could not be told apart.
            log.warning("database unavailable while checking a Slack %s for replay: %s", kind, type(exc).__name__)
            return BoltResponse(status=503, body='{"error": "database unavailable, try again"}',
                                headers={"content-type": "application/json"})
        if not first:
            # A normal ack (with RetryFilter's "stop retrying"): nothing to retry, and nothing runs.
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
    return app.dispatch(bolt_request)


async def dispatch_to_bolt(app: App, request: Request, replays: ReplayGuard | None = None) -> Response:
    """Starlette request → signature check → shape check → replay check → Bolt → Starlette response.

    The body is already bounded in size and time (bot/request_bounds.py). Nothing reads the payload
    before its signature holds, so an unverified request is a 401 and nothing at all (no error
    handler, no ephemeral) acts on what it names."""
    body = await request.body()
    if len(body) > MAX_SLACK_BODY_BYTES:
        return Response("request body too large", status_code=413)
    reason = unverified(app._signing_secret, body, request.headers, time.time())
    if reason is not None:
        log.info("refused a request to /slack/events: %s", reason)
        return JSONResponse({"error": "invalid request"}, status_code=401)
    try:
        bolt_request = BoltRequest(body=body.decode("utf-8", errors="replace"), query=request.url.query,
                                   headers={k: [v] for k, v in request.headers.items()})
        problem = malformed(bolt_request.body)
    except Exception:  # noqa: BLE001 — Bolt reads the payload (e.g. "user": true) before the signature
        problem = "(body)"
    if problem is not None:  # a clear 400, not a 500 from inside Bolt
        status, answer = refusal(body, problem)
        return JSONResponse(answer, status_code=status)
    bolt_request.context[SIGNATURE_VERIFIED] = True
    started = time.perf_counter()
    bolt_response: BoltResponse = await run_in_threadpool(_dispatch, app, bolt_request, replays, body,
                                                          replay_kind(body, bolt_request.body))
    SLACK_ACK_SECONDS.labels(kind=_request_kind(body)).observe(time.perf_counter() - started)
    headers = {k: v[0] for k, v in bolt_response.headers.items() if v}
    headers.pop("content-length", None)
    return Response(bolt_response.body, status_code=bolt_response.status, headers=headers)
