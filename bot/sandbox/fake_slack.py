"""A local, in-process fake of the Slack Web API.

Used by the test-suite and by sandbox mode (no real Slack is reachable there). It speaks HTTP so the
*real* ``slack_sdk.WebClient`` / Bolt code paths run unchanged: point the client at
:attr:`FakeSlack.base_url`. The point is to fail the way Slack fails -- HTTP 200 with
``{"ok": false, "error": ...}``, ``invalid_blocks`` with Slack-style JSON-pointer messages, 429 +
``Retry-After`` -- so bugs that would otherwise only show up in production (a comment that overflows
a section, a modal title one character too long) are caught locally.

File uploads follow Slack's external flow (``files.getUploadURLExternal``, a POST of the bytes to the
returned URL, ``files.completeUploadExternal``), which is what ``WebClient.files_upload_v2`` uses.

Standard library only, apart from slack_sdk's Block Kit models (the fields each block and element
type may have) and the scope table. All mutable state sits behind one lock because ``ThreadingHTTPServer``
serves every request on its own thread.
"""

from __future__ import annotations

import copy
import datetime as dt
import email.parser
import email.policy
import json
import math
import mimetypes
import random
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from slack_sdk.models.blocks import Block, BlockElement

from bot.slack.scopes import METHOD_SCOPES, manifest_scopes

BOT_USER_ID = "U0CXLOOPBOT"
BOT_ID = "B0CXLOOP"
TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Sandbox"
PERMALINK_BASE = "https://sandbox.slack.local/archives"

# Public (C), private (G) and DM (D) conversation ids are accepted; public channels and DMs spring into
# existence on first use so tests need no per-channel setup. A private channel is seen only once the
# bot was invited (join()), as in Slack: before that every method answers channel_not_found.
_CHANNEL_RE = re.compile(r"[CGD][A-Z0-9]+")
RESPONSE_URL_MAX_USES, RESPONSE_URL_TTL_S = 5, 30 * 60  # Slack: 5 uses within 30 minutes
TRIGGER_TTL_S = 3.0  # Slack: a trigger_id opens one view, within 3 seconds
# Form-encoded requests carry these as JSON strings; decode so recorded args compare as data.
_JSON_FIELDS = ("blocks", "metadata", "view", "attachments", "files")


def _user(uid: str, email: str, real_name: str, tz: str = "America/New_York") -> dict[str, Any]:
    return {"id": uid, "team_id": TEAM_ID, "name": email.split("@")[0], "real_name": real_name, "tz": tz,
            "is_bot": False, "deleted": False,
            "profile": {"email": email, "display_name": real_name.split()[0], "real_name": real_name}}


DEFAULT_USERS: list[dict[str, Any]] = [
    _user("U0ANA", "ana@example.com", "Ana Lima"),
    _user("U0BEN", "ben@example.com", "Ben Okafor"),
    _user("U0CARA", "cara@example.com", "Cara Singh"),
    _user("U0DAN", "dan@example.com", "Dan Weiss"),
]


def _normalize_user(u: dict[str, Any]) -> dict[str, Any]:
    """Accept terse dicts ({"id", "email", "real_name", "tz"}) as well as full user objects."""
    profile = u.get("profile") or {}
    out = _user(u["id"], u.get("email") or profile.get("email") or f"{u['id'].lower()}@example.com",
                u.get("real_name") or profile.get("real_name") or u["id"], u.get("tz", "America/New_York"))
    out.update({k: v for k, v in u.items() if k not in ("profile", "email")})
    out["profile"].update(profile)
    return out


# ------------------------------------------------------------------------------ Block Kit validation
# Limits follow Slack's Block Kit reference. Error strings mimic Slack's response_metadata.messages
# (minus the "[ERROR] " prefix), so a failing assertion reads like the real rejection would.

_BLOCK_LIMITS = {"message": 50, "modal": 100, "home": 100}
_INPUT_ONLY = {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input",
               "file_input"}
_SIMPLE_ELEMENTS = {"users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
                    "channels_select", "multi_channels_select", "external_select", "multi_external_select",
                    "timepicker", "datetimepicker", "workflow_button"} | _INPUT_ONLY




def _schema_fields(base: type) -> dict[str, frozenset[str]]:
    """type -> the fields Block Kit defines for it, read from slack_sdk's models (one class per block
    and element type; two classes may share a type, e.g. a link button, so their fields are merged)."""
    fields: dict[str, set[str]] = {}
    todo = [base]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        kind = getattr(cls, "type", None)
        if isinstance(kind, str):
            fields.setdefault(kind, set()).update(cls.__new__(cls).attributes)
    return {kind: frozenset(names) for kind, names in fields.items()}


_BLOCK_FIELDS = _schema_fields(Block)
_ELEMENT_FIELDS = _schema_fields(BlockElement)
# Composition objects slack_sdk serialises by hand (no `attributes` to read): Slack's reference.
_TEXT_FIELDS = {"plain_text": frozenset({"type", "text", "emoji"}),
                "mrkdwn": frozenset({"type", "text", "verbatim", "emoji"})}  # emoji: its own error below
_OPTION_FIELDS = frozenset({"text", "value", "description", "url"})
_OPTION_GROUP_FIELDS = frozenset({"label", "options"})

# The <…> tokens Slack's mrkdwn knows; anything else (e.g. a raw "Acme CX <cx@acme.example>") is a bug.
_MRKDWN_TOKEN_RE = re.compile(
    r"@[UW][A-Z0-9]+(\|[^>]*)?|#[CG][A-Z0-9]+(\|[^>]*)?|!subteam\^S[A-Z0-9]+(\|[^>]*)?"
    r"|!date\^-?\d+\^[^|>]*(\^[^|>]*)?\|[^>]*|!(here|channel|everyone)(\|[^>]*)?"
    r"|(https?://|mailto:)[^|>\s]+(\|[^>]*)?")


def mrkdwn_token_errors(text: str) -> list[str]:
    return [f"unknown mrkdwn token <{token[:60]}>" for token in re.findall(r"<([^<>]*)>", text or "")
            if not _MRKDWN_TOKEN_RE.fullmatch(token)]


class _Validator:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, ptr: str, msg: str) -> None:
        self.errors.append(f"{msg} [json-pointer:{ptr}]")

    def known_fields(self, obj: dict[str, Any], ptr: str, known: frozenset[str] | None) -> None:
        """Slack rejects a field its schema does not define for that type (a typo, a field of another type)."""
        for name in sorted(set(obj) - known) if known is not None else ():
            self.err(f"{ptr}/{name}", f"unknown field {name!r} for this type")

    def maxlen(self, ptr: str, value: Any, n: int) -> None:
        if value is not None and not isinstance(value, str):
            self.err(ptr, "must be a string")
        elif value is not None and len(value) > n:
            self.err(ptr, f"must be less than {n + 1} characters")

    def text(self, obj: Any, ptr: str, n: int, *, plain: bool = False, required: bool = True) -> None:
        if obj is None and not required:
            return
        if not isinstance(obj, dict):
            return self.err(ptr, "must provide an object")
        allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.err(f"{ptr}/type", "must be one of: " + ", ".join(allowed))
        self.known_fields(obj, ptr, _TEXT_FIELDS.get(obj.get("type")))
        if obj.get("type") == "mrkdwn":
            if "emoji" in obj:
                self.err(f"{ptr}/emoji", "emoji is only allowed on plain_text")
            for problem in mrkdwn_token_errors(obj.get("text") if isinstance(obj.get("text"), str) else ""):
                self.err(f"{ptr}/text", problem)
        s = obj.get("text")
        if not isinstance(s, str):
            self.err(f"{ptr}/text", "must be a string")
        elif not s:
            self.err(f"{ptr}/text", "must be more than 0 characters")
        self.maxlen(f"{ptr}/text", s if isinstance(s, str) else None, n)

    def items(self, arr: Any, ptr: str, lo: int, hi: int) -> list[tuple[str, Any]]:
        """Check an array's size; return (pointer, item) pairs for per-item checks."""
        if not isinstance(arr, list):
            self.err(ptr, "must provide an array")
            return []
        if len(arr) < lo:
            self.err(ptr, f"must provide at least {lo} items")
        elif len(arr) > hi:
            self.err(ptr, f"no more than {hi} items allowed")
        return [(f"{ptr}/{i}", x) for i, x in enumerate(arr)]

    def options(self, opts: Any, ptr: str, lo: int, hi: int, *, plain: bool = True) -> None:
        for p, o in self.items(opts, ptr, lo, hi):
            if not isinstance(o, dict):
                self.err(p, "must provide an object")
                continue
            self.known_fields(o, p, _OPTION_FIELDS)
            self.text(o.get("text"), f"{p}/text", 75, plain=plain)
            self.maxlen(f"{p}/value", o.get("value"), 150)
            self.text(o.get("description"), f"{p}/description", 75, plain=plain, required=False)
            self.maxlen(f"{p}/url", o.get("url"), 3000)

    def element(self, el: Any, ptr: str, where: str) -> None:
        """``where`` is actions|accessory|input: Slack restricts which elements may go where."""
        if not isinstance(el, dict):
            return self.err(ptr, "must provide an object")
        t = el.get("type")
        misplaced = {"actions": _INPUT_ONLY | {"image"}, "accessory": _INPUT_ONLY,
                     "input": {"button", "overflow", "image"}}[where]
        if t in misplaced:
            return self.err(f"{ptr}/type", f"{t} is not allowed in {where}")
        self.known_fields(el, ptr, _ELEMENT_FIELDS.get(t))
        self.maxlen(f"{ptr}/action_id", el.get("action_id"), 255)
        self.text(el.get("placeholder"), f"{ptr}/placeholder", 150, plain=True, required=False)
        if t == "button":
            self.text(el.get("text"), f"{ptr}/text", 75, plain=True)
            self.maxlen(f"{ptr}/value", el.get("value"), 2000)
            self.maxlen(f"{ptr}/url", el.get("url"), 3000)
            if el.get("style") not in (None, "primary", "danger"):
                self.err(f"{ptr}/style", "must be one of: primary, danger")
        elif t == "overflow":
            self.options(el.get("options"), f"{ptr}/options", 2, 5)
        elif t in ("static_select", "multi_static_select"):
            if "option_groups" not in el:
                self.options(el.get("options"), f"{ptr}/options", 1, 100)
                if el.get("initial_option") is not None and el["initial_option"] not in (el.get("options") or []):
                    self.err(f"{ptr}/initial_option", "must match one of the provided options")
            for p, g in self.items(el.get("option_groups", []), f"{ptr}/option_groups", 0, 100):
                g = g if isinstance(g, dict) else {}
                self.known_fields(g, p, _OPTION_GROUP_FIELDS)
                self.text(g.get("label"), f"{p}/label", 75, plain=True)
                self.options(g.get("options"), f"{p}/options", 1, 100)
        elif t in ("checkboxes", "radio_buttons"):
            self.options(el.get("options"), f"{ptr}/options", 1, 10, plain=False)
        elif t == "plain_text_input":
            initial, most = el.get("initial_value"), el.get("max_length")
            if isinstance(initial, str) and isinstance(most, int) and len(initial) > most:
                self.err(f"{ptr}/initial_value", f"must be less than {most + 1} characters (max_length)")
        elif t == "datepicker":
            if el.get("initial_date") is not None and not _is_date(el["initial_date"]):
                self.err(f"{ptr}/initial_date", "must be a valid date in the format YYYY-MM-DD")
        elif t == "image":
            self.image(el, ptr)
        elif t not in _SIMPLE_ELEMENTS:
            self.err(f"{ptr}/type", f"unknown element type: {t!r}")

    def image(self, obj: dict[str, Any], ptr: str) -> None:
        if not obj.get("image_url") and not obj.get("slack_file"):
            self.err(ptr, "must provide image_url or slack_file")
        self.maxlen(f"{ptr}/image_url", obj.get("image_url"), 3000)
        if not obj.get("alt_text"):
            self.err(f"{ptr}/alt_text", "must provide a non-empty string")
        self.maxlen(f"{ptr}/alt_text", obj.get("alt_text"), 2000)

    def block(self, b: dict[str, Any], p: str) -> None:
        t = b.get("type")
        self.known_fields(b, p, _BLOCK_FIELDS.get(t))
        if t == "section":
            if b.get("text") is None and b.get("fields") is None:
                self.err(p, "must provide text or fields")
            self.text(b.get("text"), f"{p}/text", 3000, required=False)
            for fp, f in self.items(b.get("fields", []), f"{p}/fields", 0, 10):
                self.text(f, fp, 2000)
            if b.get("accessory") is not None:
                self.element(b["accessory"], f"{p}/accessory", "accessory")
        elif t == "header":
            self.text(b.get("text"), f"{p}/text", 150, plain=True)
        elif t == "context":
            for ep, e in self.items(b.get("elements"), f"{p}/elements", 1, 10):
                if isinstance(e, dict) and e.get("type") == "image":
                    self.known_fields(e, ep, _ELEMENT_FIELDS["image"])
                    self.image(e, ep)
                else:  # Slack doesn't document a limit here; 2000 is the conservative guess
                    self.text(e, ep, 2000)
        elif t == "actions":
            ids: set[Any] = set()
            for ep, e in self.items(b.get("elements"), f"{p}/elements", 1, 25):
                self.element(e, ep, "actions")
                aid = e.get("action_id") if isinstance(e, dict) else None
                if aid is not None and aid in ids:  # Slack requires unique action_ids within a block
                    self.err(f"{ep}/action_id", f"duplicate action_id: {aid}")
                ids.add(aid)
        elif t == "image":
            self.image(b, p)
            self.text(b.get("title"), f"{p}/title", 2000, plain=True, required=False)
        elif t == "input":
            self.text(b.get("label"), f"{p}/label", 2000, plain=True)
            self.text(b.get("hint"), f"{p}/hint", 2000, plain=True, required=False)
            if b.get("element") is None:
                self.err(f"{p}/element", "must provide an object")
            else:
                self.element(b["element"], f"{p}/element", "input")
        elif t == "rich_text":
            self.items(b.get("elements"), f"{p}/elements", 0, 10**6)
        elif t == "video" and not all(b.get(k) for k in ("video_url", "thumbnail_url", "alt_text", "title")):
            self.err(p, "must provide video_url, thumbnail_url, alt_text and title")
        elif t == "file" and not (b.get("external_id") and b.get("source") == "remote"):
            self.err(p, "must provide external_id and source=remote")
        elif t not in ("divider", "video", "file"):
            self.err(f"{p}/type", f"unknown block type: {t!r}")


def _is_date(s: Any) -> bool:
    try:  # the regex because fromisoformat alone also accepts "20240101"
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s)) and bool(dt.date.fromisoformat(s))
    except (TypeError, ValueError):
        return False


def _validate_blocks(blocks: Any, surface: str, root: str) -> list[str]:
    v = _Validator()
    limit = _BLOCK_LIMITS.get(surface, 50)
    seen: set[Any] = set()
    for p, b in v.items(blocks, root, 0, limit):
        if not isinstance(b, dict):
            v.err(p, "must provide an object")
            continue
        bid = b.get("block_id")
        v.maxlen(f"{p}/block_id", bid, 255)
        if bid is not None and bid in seen:  # Slack rejects duplicates; easy to hit when builders reuse ids
            v.err(f"{p}/block_id", f"duplicate block_id: {bid}")
        seen.add(bid)
        v.block(b, p)
    return v.errors


def validate_blocks(blocks: list, *, surface: str = "message") -> list[str]:
    """Validate a Block Kit ``blocks`` array like Slack does; ``[]`` means valid.

    ``surface`` is ``message`` (50 blocks max), ``modal`` or ``home`` (100 max). A pure function so
    unit tests of Block Kit builders can call it without a server.
    """
    return _validate_blocks(blocks, surface, "/blocks")


def validate_view(view: Any, *, allowed_types: tuple[str, ...] = ("modal", "home")) -> list[str]:
    """Validate a views.* ``view`` payload like Slack does; ``[]`` means valid."""
    v = _Validator()
    if not isinstance(view, dict) or view.get("type") not in allowed_types:
        v.err("/view/type", "must be one of: " + ", ".join(allowed_types))
        return v.errors
    if view["type"] == "modal":
        v.text(view.get("title"), "/view/title", 24, plain=True)
        v.text(view.get("submit"), "/view/submit", 24, plain=True, required=False)
        v.text(view.get("close"), "/view/close", 24, plain=True, required=False)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            v.err("/view", "must provide a submit property when using input blocks")
    v.maxlen("/view/private_metadata", view.get("private_metadata"), 3000)
    v.maxlen("/view/callback_id", view.get("callback_id"), 255)
    v.maxlen("/view/external_id", view.get("external_id"), 255)
    return v.errors + _validate_blocks(view.get("blocks"), view["type"], "/view/blocks")


# ------------------------------------------------------------------------------ the fake server


class _ApiError(Exception):
    """Raised by method handlers; carries Slack's error body and, for 429/500, the HTTP bits."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(error)
        self.status, self.headers = status, headers or {}
        self.body: dict[str, Any] = {"ok": False, "error": error, **extra}


def _invalid(error: str, errors: list[str]) -> _ApiError:
    return _ApiError(error, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() in ("1", "true")


def _ts_key(ts: Any) -> tuple[int, int]:
    # Compare ts as integers: a float loses microsecond precision at 1.7e9 seconds.
    sec, _, frac = str(ts).partition(".")
    return int(sec or 0), int((frac + "000000")[:6])


def _decode(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    text = raw.decode("utf-8", "replace")
    if "json" in content_type and text:
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = None
        args.update(body if isinstance(body, dict) else {})
    else:
        args.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
    for key in _JSON_FIELDS:
        if isinstance(args.get(key), str) and args[key]:
            try:
                args[key] = json.loads(args[key])
            except json.JSONDecodeError:
                pass  # left as a string; validation then rejects it the way Slack would
    return args


def _upload_body(raw: bytes, content_type: str) -> bytes:
    """The file content of a POST to an upload URL: Slack takes the raw bytes or a multipart form."""
    if not content_type.lower().startswith("multipart/form-data"):
        return raw  # urllib labels raw bytes x-www-form-urlencoded; the upload host ignores that
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    parts = [p for p in msg.iter_parts() if p.get_param("name", header="content-disposition")]
    part = next((p for p in parts if p.get_filename() is not None), None) or next(
        (p for p in parts if p.get_param("name", header="content-disposition") == "file"), None)
    payload = part.get_payload(decode=True) if part is not None else None
    return payload if isinstance(payload, bytes) else b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        try:
            self.server.fake._handle(self)
        finally:
            for callback in self.server.fake.on_request:
                callback()

    do_GET = do_POST  # slack_sdk's aiohttp client really GETs some read methods; Slack accepts both

    def reply(self, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for k, v in {"Content-Type": ctype, "Content-Length": str(len(body)), **headers}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, e.g. its timeout fired during injected latency


class FakeSlack:
    """A fake Slack workspace reachable over HTTP; see the module docstring."""

    def __init__(self, *, token: str = "xoxb-sandbox", host: str = "127.0.0.1", port: int = 0,
                 users: list[dict] | None = None, scopes: set[str] | None = None) -> None:
        self.token, self._host, self._port = token, host, port
        # The token's scopes: what manifest.yml grants, unless a test installs the app mis-scoped.
        self.scopes: set[str] = set(manifest_scopes() if scopes is None else scopes)
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._users = {u["id"]: copy.deepcopy(u) for u in DEFAULT_USERS}
        self._users.update({u["id"]: _normalize_user(u) for u in users or []})
        self._response_url_seq = 0
        self._last_ts_us = 0  # survives reset() so ts keep strictly increasing for this instance
        self._in_flight: dict[str, int] = {}  # Web API calls received and not yet answered, by method
        # Called after each request is answered (its effects recorded): tests wait on these instead
        # of polling for what reached Slack.
        self.on_request: list[Callable[[], None]] = []
        self._methods = {
            "auth.test": self._auth_test, "chat.postMessage": self._post_message, "chat.update": self._update,
            "chat.delete": self._delete, "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink, "conversations.open": self._conv_open,
            "conversations.history": self._history, "conversations.replies": self._replies,
            "conversations.join": self._conv_join, "conversations.info": self._conv_info,
            "users.info": self._users_info, "users.lookupByEmail": self._lookup_by_email,
            "conversations.members": self._conv_members, "usergroups.users.list": self._usergroup_users,
            "files.getUploadURLExternal": self._get_upload_url, "files.completeUploadExternal": self._complete_upload,
            **{f"views.{a}": (lambda args, a=a: self._view_op(a, args)) for a in ("open", "push", "update", "publish")},
        }
        self.reset()

    # ---- lifecycle
    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        # HTTPServer sets SO_REUSEADDR, so re-binding the remembered port right after stop() works.
        srv = _Server((self._host, self._port), _Handler)
        srv.fake = self
        self._port, self._server = srv.server_address[1], srv
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-slack:{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()  # closing the listening socket is what makes clients see "refused"
            if self._thread is not None:
                self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeSlack has no port yet; call start() first")
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def upload_url(self, file_id: str) -> str:
        """Where files.getUploadURLExternal sends the bytes (files.slack.com in real Slack)."""
        return f"{self.url}/upload/{quote(file_id, safe='')}"

    def trigger_id(self) -> str:
        """A trigger_id as Slack puts in an interaction: single use, expiring 3 s after it is issued."""
        with self._lock:
            self._response_url_seq += 1
            trigger = f"{self._response_url_seq}.{int(time.time())}.sandbox"
            self._triggers[trigger] = time.monotonic()
            return trigger

    def response_url(self, key: str = "", *, user: str | None = None) -> str:
        """A Slack-like response_url. With ``key`` "C123", in_channel replies land in C123; with
        "C123:<ts>", replace_original/delete_original also act on that message. ``user`` is who
        interacted: Slack shows the URL's ephemeral answers to that person only."""
        with self._lock:
            self._response_url_seq += 1  # each URL is its own: Slack allows 5 uses of one in 30 minutes
            self._response_url_users[f"{key}?{self._response_url_seq}"] = user
            return f"{self.url}/response_url/{quote(key, safe='')}?u={self._response_url_seq}"

    # ---- configuration
    def set_faults(self, *, rate_429: float = 0.0, rate_500: float = 0.0, latency_s: float = 0.0,
                   retry_after_s: int = 1, seed: int | None = None, rate_500_after_effect: float = 0.0) -> None:
        """Fail that share of Web API calls. `rate_500` fails before the call acts; `rate_500_after_effect`
        after (the message is posted, the answer is lost), as a timeout or a proxy error does."""
        with self._lock:
            self._faults = {"rate_429": rate_429, "rate_500": rate_500, "latency_s": latency_s,
                            "retry_after_s": retry_after_s, "rate_500_after_effect": rate_500_after_effect}
            self._rng = random.Random(seed)

    def enforce_channel_rate(self, per_second: float | None) -> None:
        with self._lock:
            self._channel_rate, self._last_post_at = per_second, {}

    def reset(self) -> None:
        """Forget calls, messages, ephemerals, views, files, faults and the channel rate limit."""
        with self._lock:
            self._calls: list[dict[str, Any]] = []
            self._messages: dict[str, list[dict[str, Any]]] = {}
            self._ephemerals: list[dict[str, Any]] = []
            self._views: list[dict[str, Any]] = []
            self._live_views: dict[str, dict[str, Any]] = {}
            self._view_owner: dict[str, str | None] = {}
            self._home_ids: dict[str, str] = {}
            self._view_seq = 0
            self._uploads: dict[str, dict[str, Any]] = {}  # file id -> upload, pending or completed
            self._response_url_uses: dict[str, list[float]] = {}  # url -> when each use came
            self._response_url_users: dict[str, str | None] = {}  # url -> who interacted
            self._triggers: dict[str, float] = {}  # trigger_id -> when issued (or first seen)
            self._used_triggers: set[str] = set()
            self._file_seq = 0
            # Channel membership and user groups; a channel nobody set has every user in it.
            self._channel_members: dict[str, list[str]] = {}
            # Public channels the bot joined: chat:write.public posts anywhere, but reading history needs this.
            self._joined: set[str] = set()
            self._missing: set[str] = set()  # channels that do not exist (deleted, or a typo in the config)
            self._usergroups: dict[str, list[str]] = {}
            self.enforce_channel_rate(None)
            self.set_faults()

    # ---- inspection; deep copies so callers can't mutate server state behind the lock
    def calls(self, method: str | None = None) -> list[dict]:
        with self._lock:
            return copy.deepcopy([c for c in self._calls if method in (None, c["method"])])

    def in_flight(self, method: str | None = None) -> int:
        """Calls received and not yet answered (e.g. still in injected latency): a client killed now
        leaves them to complete on Slack's side without ever seeing the answer."""
        with self._lock:
            return sum(n for m, n in self._in_flight.items() if method in (None, m))

    def messages(self, channel: str) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def last_call_at(self) -> float | None:
        """When the newest recorded call arrived (time.time()); cheap, unlike calls()."""
        with self._lock:
            return self._calls[-1]["at"] if self._calls else None

    def top_level_count(self, channel: str) -> int:
        with self._lock:
            return sum(1 for m in self._messages.get(channel, []) if m["thread_ts"] in (None, m["ts"]))

    def restore_message(self, channel: str, ts: str, *, text: str, blocks: list | None = None,
                        metadata: dict | None = None, thread_ts: str | None = None) -> None:
        """Put back a message the app posted before this fake started (the sandbox rebuilds its channels
        from the database); kept in ts order, and later posts get a newer ts."""
        with self._lock:
            msg = {"ts": ts, "channel": channel, "text": text, "blocks": blocks or [], "thread_ts": thread_ts,
                   "metadata": metadata, "user": BOT_USER_ID}
            history = self._messages.setdefault(channel, [])
            history.append(msg)
            if len(history) > 1 and _ts_key(history[-2]["ts"]) > _ts_key(ts):
                history.sort(key=lambda m: _ts_key(m["ts"]))
            sec, usec = _ts_key(ts)
            self._last_ts_us = max(self._last_ts_us, sec * 1_000_000 + usec)

    def replace_message(self, channel: str, ts: str, *, text: str, blocks: list | None = None) -> bool:
        """Re-draw a restored message in place (the sandbox renders an old one fully when it is linked to)."""
        with self._lock:
            msg = self._find(channel, ts)
            if msg is None:
                return False
            msg["text"], msg["blocks"] = text, blocks or []
            return True

    def message(self, channel: str, ts: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._find(channel, ts))

    def thread(self, channel: str, thread_ts: str) -> list[dict]:
        with self._lock:
            return copy.deepcopy([m for m in self._messages.get(channel, [])
                                  if m["thread_ts"] == thread_ts and m["ts"] != thread_ts])

    def ephemerals(self, channel: str | None = None) -> list[dict]:
        with self._lock:
            return copy.deepcopy([e for e in self._ephemerals if channel in (None, e["channel"])])

    def views(self) -> list[dict]:
        """One entry per open/push/update/publish, so an updated view appears once per change."""
        with self._lock:
            return copy.deepcopy(self._views)

    def files(self) -> list[dict]:
        """Completed uploads, oldest first: id, filename, title, bytes (the raw content), size, mimetype,
        alt_txt, channel (the first one it was shared to; None if private) and channels."""
        with self._lock:
            return [{"id": u["id"], "filename": u["filename"], "title": u["title"], "bytes": u["data"],
                     "size": len(u["data"]), "mimetype": u["mimetype"], "alt_txt": u["alt_txt"],
                     "channel": (u["channels"] or [None])[0], "channels": list(u["channels"])}
                    for u in self._uploads.values() if u["completed"]]

    # ---- HTTP plumbing
    def _handle(self, req: _Handler) -> None:
        parts = urlsplit(req.path)
        raw = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        if parts.path.startswith("/upload/"):  # binary body: must not go through _decode
            data = _upload_body(raw, req.headers.get("Content-Type", ""))
            status, text = self._upload_post(unquote(parts.path[len("/upload/"):]), data)
            req.reply(status, text.encode(), "text/plain; charset=utf-8", {})
            return
        args = _decode(raw, req.headers.get("Content-Type", ""), parts.query)
        if parts.path.startswith("/response_url/"):
            status, text = self._response_url_post(unquote(parts.path[len("/response_url/"):]), args)
            req.reply(status, text.encode(), "text/plain; charset=utf-8", {})
        elif parts.path.startswith("/api/"):
            status, body, headers = self._api(parts.path[len("/api/"):], args, req.headers.get("Authorization", ""))
            req.reply(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)
        else:
            req.reply(404, b"not found", "text/plain", {})

    def _api(self, method: str, args: dict[str, Any], auth: str) -> tuple[int, dict, dict]:
        with self._lock:
            self._in_flight[method] = self._in_flight.get(method, 0) + 1
        try:
            return self._api_call(method, args, auth)
        finally:
            with self._lock:
                self._in_flight[method] -= 1

    def _api_call(self, method: str, args: dict[str, Any], auth: str) -> tuple[int, dict, dict]:
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else args.get("token")
        args.pop("token", None)  # keep secrets out of the recorded args
        if self._faults["latency_s"]:
            time.sleep(self._faults["latency_s"])  # outside the lock so concurrent calls overlap
        with self._lock:
            try:
                roll, f = self._rng.random(), self._faults
                if roll < f["rate_429"]:
                    raise _ApiError("ratelimited", status=429, headers={"Retry-After": str(f["retry_after_s"])})
                if roll < f["rate_429"] + f["rate_500"]:
                    raise _ApiError("fatal_error", status=500)
                fn = self._methods.get(method)
                if fn is None or token != self.token:
                    raise _ApiError("unknown_method" if fn is None else "invalid_auth" if token else "not_authed")
                self._scope_check(method, args)
                status, body, headers = 200, {"ok": True, **fn(args)}, {}
                if roll < f["rate_429"] + f["rate_500"] + f["rate_500_after_effect"]:
                    raise _ApiError("fatal_error", status=500)
            except _ApiError as e:
                status, body, headers = e.status, e.body, e.headers
            except (TypeError, ValueError, AttributeError) as e:  # malformed args, e.g. limit="abc"
                status, body, headers = 200, {"ok": False, "error": "invalid_arguments", "detail": str(e)}, {}
            self._record(method, args, status, body.get("error"))
            # Slack names the token's scopes on every Web API answer; `cxloop doctor` reads them here.
            headers = {**headers, "X-OAuth-Scopes": ",".join(sorted(self.scopes)),
                       "X-Accepted-OAuth-Scopes": ",".join(METHOD_SCOPES.get(method, ()))}
            return status, body, headers

    def _record(self, method: str, args: dict[str, Any], status: int, error: str | None) -> None:
        self._calls.append({"method": method, "args": copy.deepcopy(args), "status": status, "error": error,
                            "at": time.time()})

    # ---- helpers; called with the lock held
    def _new_ts(self) -> str:
        # Wall-clock based like Slack's, bumped by 1µs on collision so every ts is unique.
        self._last_ts_us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        sec, us = divmod(self._last_ts_us, 1_000_000)
        return f"{sec}.{us:06d}"

    def _channel(self, args: dict[str, Any]) -> str:
        ch = args.get("channel")
        if not isinstance(ch, str) or not _CHANNEL_RE.fullmatch(ch) or ch in self._missing:
            raise _ApiError("channel_not_found")
        if ch[0] == "G" and ch not in self._joined:
            raise _ApiError("channel_not_found")  # a private channel is invisible to a bot never invited
        return ch

    def _user_in(self, channel: str, user: str) -> bool:
        """Is the user a member? A DM D<user> has that user; a channel nobody set has everyone."""
        if channel[0] == "D" and channel[1:] in self._users:
            return user == channel[1:]
        return user in self._channel_members.get(channel, self._users)

    def _find(self, channel: str, ts: Any) -> dict[str, Any] | None:
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    def _existing(self, args: dict[str, Any], ts_key: str) -> tuple[str, dict[str, Any]]:
        channel = self._channel(args)
        msg = self._find(channel, args.get(ts_key))
        if msg is None:
            raise _ApiError("message_not_found")
        return channel, msg

    def _check_content(self, args: dict[str, Any]) -> None:
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        if isinstance(text, str) and len(text) > 40000:
            raise _ApiError("msg_too_long")
        if blocks is not None and not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if errors := validate_blocks(blocks or []):
            raise _invalid("invalid_blocks", errors)

    def _thread_root(self, channel: str, thread_ts: str | None) -> str | None:
        parent = self._find(channel, thread_ts)
        if parent is not None and parent["thread_ts"]:
            return parent["thread_ts"]  # replying to a reply threads under the root, as in Slack
        return thread_ts

    def _public(self, m: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
        """Shape a stored message the way chat.* and conversations.* return it."""
        out = {"type": "message", "user": m["user"], "bot_id": BOT_ID, "text": m["text"], "ts": m["ts"]}
        out.update({k: m[k] for k in ("blocks", "thread_ts", "edited", "files") if m.get(k)})
        replies = [r for r in self._messages.get(m["channel"], []) if r["thread_ts"] == m["ts"] and r is not m]
        if replies:
            out.update(thread_ts=m["ts"], reply_count=len(replies), latest_reply=replies[-1]["ts"])
        if with_metadata and m["metadata"]:
            out["metadata"] = m["metadata"]  # Slack only includes it when include_all_metadata is set
        return copy.deepcopy(out)

    def _store(self, channel: str, args: dict[str, Any], thread_ts: str | None) -> dict[str, Any]:
        msg = {"ts": self._new_ts(), "channel": channel, "text": args.get("text") or "",
               "blocks": args.get("blocks") or [], "thread_ts": thread_ts, "metadata": args.get("metadata"),
               "user": BOT_USER_ID}
        self._messages.setdefault(channel, []).append(msg)
        return msg

    # ---- API methods: each returns the success body (minus "ok") or raises _ApiError
    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://sandbox.slack.local/", "team": TEAM_NAME, "user": "cxloop", "team_id": TEAM_ID,
                "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        if isinstance(args.get("channel"), str) and args["channel"] in self._users:
            args = {**args, "channel": f"D{args['channel']}"}  # a user id posts in the app's DM with them
        channel = self._channel(args)
        if channel[0] == "C" and channel not in self._joined and "chat:write.public" not in self.scopes:
            raise _ApiError("not_in_channel")  # only chat:write.public posts where the bot was not invited
        if self._channel_rate:
            # Slack's special chat.postMessage limit (about 1/s per channel); a rejected post doesn't
            # reset the window, only successful ones do.
            now, last = time.monotonic(), self._last_post_at.get(channel)
            wait = 1.0 / self._channel_rate - (now - last) if last is not None else 0.0
            if wait > 0:
                raise _ApiError("ratelimited", status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
        self._check_content(args)
        meta = args.get("metadata")
        if meta is not None and not (isinstance(meta, dict) and meta.get("event_type")
                                     and isinstance(meta["event_type"], str)
                                     and re.fullmatch(r"[a-z0-9_]{1,255}", meta["event_type"])
                                     and isinstance(meta.get("event_payload"), dict)):
            raise _ApiError("invalid_metadata_format")
        thread_ts = self._thread_root(channel, args.get("thread_ts") or None)
        if self._channel_rate:
            self._last_post_at[channel] = time.monotonic()
        msg = self._store(channel, args, thread_ts)
        return {"channel": channel, "ts": msg["ts"], "message": self._public(msg, True)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, msg = self._existing(args, "ts")
        merged = {"text": args.get("text", msg["text"]), "blocks": args.get("blocks", msg["blocks"])}
        self._check_content(merged)
        msg.update(merged, edited={"user": BOT_USER_ID, "ts": self._new_ts()})
        if "metadata" in args:
            msg["metadata"] = args["metadata"]
        return {"channel": channel, "ts": msg["ts"], "text": msg["text"], "message": self._public(msg, True)}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, msg = self._existing(args, "ts")
        self._messages[channel].remove(msg)
        return {"channel": channel, "ts": msg["ts"]}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel[0] == "C" and channel not in self._joined and "chat:write.public" not in self.scopes:
            raise _ApiError("not_in_channel")
        if not args.get("user"):
            raise _ApiError("invalid_arguments")
        if args["user"] not in self._users or not self._user_in(channel, args["user"]):
            raise _ApiError("user_not_in_channel")  # Slack shows an ephemeral only to a member of the channel
        self._check_content(args)
        ts = self._new_ts()
        self._ephemerals.append({"ts": ts, "channel": channel, "user": args["user"], "text": args.get("text") or "",
                                 "blocks": args.get("blocks") or [], "thread_ts": args.get("thread_ts"),
                                 "source": "chat.postEphemeral"})
        return {"message_ts": ts}

    def _permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, msg = self._existing(args, "message_ts")
        return {"channel": channel, "permalink": f"{PERMALINK_BASE}/{channel}/p{msg['ts'].replace('.', '')}"}

    def _conv_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"channel": {"id": self._channel(args)}, "already_open": True}
        users = args.get("users")
        ids = [u.strip() for u in (users.split(",") if isinstance(users, str) else users or []) if u.strip()]
        if len(ids) != 1:  # group DMs aren't modelled; cxloop only DMs one person at a time
            raise _ApiError("users_list_not_supplied" if not ids else "not_supported")
        if ids[0] not in self._users:
            raise _ApiError("user_not_found")
        return {"channel": {"id": f"D{ids[0]}", "is_im": True, "user": ids[0]}}  # stable: tests can predict it

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._member_of(channel)
        inclusive = _truthy(args.get("inclusive"))
        lo, hi = _ts_key(args.get("oldest") or "0"), _ts_key(args.get("latest") or "9999999999")
        top = [m for m in reversed(self._messages.get(channel, []))  # newest first, as Slack returns them
               if m["thread_ts"] in (None, m["ts"])
               and (lo <= _ts_key(m["ts"]) <= hi if inclusive else lo < _ts_key(m["ts"]) < hi)]
        start, limit = int(args.get("cursor") or 0), max(1, min(int(args.get("limit") or 100), 999))
        more, meta = start + limit < len(top), _truthy(args.get("include_all_metadata"))
        return {"messages": [self._public(m, meta) for m in top[start:start + limit]], "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._member_of(channel)
        parent = self._find(channel, args.get("ts"))
        if parent is None:
            raise _ApiError("thread_not_found")
        root, meta = parent["thread_ts"] or parent["ts"], _truthy(args.get("include_all_metadata"))
        msgs = [m for m in self._messages[channel] if root in (m["ts"], m["thread_ts"])]
        return {"messages": [self._public(m, meta) for m in msgs], "has_more": False}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("user") not in self._users:
            raise _ApiError("user_not_found")
        return {"user": copy.deepcopy(self._users[args["user"]])}

    def set_scopes(self, scopes: set[str]) -> None:
        """Reinstall the app with these bot scopes (e.g. without files:write)."""
        with self._lock:
            self.scopes = set(scopes)

    def join(self, channel: str) -> None:
        """The bot is invited to a channel, public or private (as /invite @cxloop does)."""
        with self._lock:
            self._joined.add(channel)

    def remove_channel(self, channel: str) -> None:
        """The channel does not exist: every method answers channel_not_found."""
        with self._lock:
            self._missing.add(channel)

    def joined(self) -> set[str]:
        with self._lock:
            return set(self._joined)

    def _conv_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel[0] != "C":
            raise _ApiError("method_not_supported_for_channel_type")
        already = channel in self._joined
        self._joined.add(channel)
        return {"channel": {"id": channel, "is_channel": True, "is_member": True},
                **({"warning": "already_in_channel"} if already else {})}

    def _conv_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        return {"channel": {"id": channel, "is_channel": channel[0] == "C", "is_private": channel[0] == "G",
                            "is_im": channel[0] == "D", "is_archived": False,
                            "is_member": channel[0] != "C" or channel in self._joined}}

    def _member_of(self, channel: str) -> None:
        """History and replies: Slack answers not_in_channel where the bot is not a member."""
        if channel[0] == "C" and channel not in self._joined:
            raise _ApiError("not_in_channel")

    def _scope_check(self, method: str, args: dict[str, Any]) -> None:
        needed = METHOD_SCOPES.get(method, ())
        channel = str(args.get("channel") or "")
        if method in ("conversations.history", "conversations.replies", "conversations.members") and channel:
            kind = {"C": "channels", "G": "groups", "D": "im"}.get(channel[0], "channels")
            needed = (f"{kind}:{'read' if method.endswith('members') else 'history'}",)
        if needed and not set(needed) & self.scopes:
            raise _ApiError("missing_scope", needed=needed[0], provided=",".join(sorted(self.scopes)))

    def set_channel_members(self, channel: str, users: list[str]) -> None:
        with self._lock:
            self._channel_members[channel] = list(users)

    def set_usergroup(self, usergroup: str, users: list[str]) -> None:
        with self._lock:
            self._usergroups[usergroup] = list(users)

    def _conv_members(self, args: dict[str, Any]) -> dict[str, Any]:
        # Paginated as Slack does: `limit` per page, `cursor` an offset we hand out.
        channel = self._channel(args)
        members = self._channel_members.get(channel, list(self._users))
        start = int(args.get("cursor") or 0)
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        page, rest = members[start:start + limit], members[start + limit:]
        return {"members": page, "response_metadata": {"next_cursor": str(start + limit) if rest else ""}}

    def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        if group not in self._usergroups:
            raise _ApiError("no_such_subteam")
        return {"users": list(self._usergroups[group])}

    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for u in self._users.values():
            if (u["profile"].get("email") or "").lower() == email:
                return {"user": copy.deepcopy(u)}
        raise _ApiError("users_not_found")

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length, alt = args.get("filename"), args.get("length"), args.get("alt_txt")
        if not isinstance(filename, str) or not filename.strip():
            raise _invalid("invalid_arguments", ["missing required field: filename"])
        if length is None or length == "":
            raise _invalid("invalid_arguments", ["missing required field: length"])
        if isinstance(length, bool) or not re.fullmatch(r"\d+", str(length)) or int(length) <= 0:
            raise _invalid("invalid_arguments", ["length must be a positive integer"])
        if isinstance(alt, str) and len(alt) > 1000:
            raise _ApiError("alt_txt_too_large")
        self._file_seq += 1
        file_id = f"F0SBX{self._file_seq:05d}"
        self._uploads[file_id] = {
            "id": file_id, "filename": filename, "length": int(length), "alt_txt": alt or None, "data": None,
            "title": filename, "mimetype": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "channels": [], "completed": False, "created": int(time.time())}
        return {"upload_url": self.upload_url(file_id), "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        items = args.get("files")
        if not isinstance(items, list) or not items or not all(isinstance(f, dict) and f.get("id") for f in items):
            raise _invalid("invalid_arguments", ["files must be a non-empty array of objects with an id"])
        wanted = [args["channel_id"]] if args.get("channel_id") else []
        chans = args.get("channels")
        wanted += [c.strip() for c in (chans.split(",") if isinstance(chans, str) else chans or []) if c.strip()]
        channels = list(dict.fromkeys(self._channel({"channel": c}) for c in wanted))  # no channel: private
        thread_ts = args.get("thread_ts") or None
        if thread_ts and len(channels) != 1:
            raise _invalid("invalid_arguments", ["thread_ts requires exactly one channel"])
        uploads = []
        for f in items:
            u = self._uploads.get(f["id"])
            if u is None or u["data"] is None or u["completed"]:  # never issued, never uploaded, or done
                raise _ApiError("file_not_found")
            uploads.append((u, f.get("title") or u["filename"]))
        comment = args.get("initial_comment") or ""
        blocks = None if comment else args.get("blocks")  # Slack ignores blocks when a comment is given
        if blocks is not None and not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if errors := validate_blocks(blocks or []):
            raise _invalid("invalid_blocks", errors)
        for u, title in uploads:
            u.update(title=title, completed=True, channels=channels)
        shared = [self._file_public(u) for u, _ in uploads]
        for channel in channels:
            msg = self._store(channel, {"text": comment, "blocks": blocks}, self._thread_root(channel, thread_ts))
            msg["files"] = copy.deepcopy(shared)
        return {"files": copy.deepcopy(shared)}

    def _file_public(self, u: dict[str, Any]) -> dict[str, Any]:
        """A file object the way files.* return it and file-share messages embed it."""
        out = {"id": u["id"], "created": u["created"], "name": u["filename"], "title": u["title"],
               "mimetype": u["mimetype"], "filetype": u["filename"].rpartition(".")[2].lower() or "binary",
               "size": len(u["data"]), "user": BOT_USER_ID, "is_public": bool(u["channels"])}
        if u["alt_txt"]:
            out["alt_txt"] = u["alt_txt"]
        return out

    def _view_op(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        types = {"publish": ("home",), "update": ("modal", "home")}.get(action, ("modal",))
        if errors := validate_view(view, allowed_types=types):
            raise _invalid("invalid_arguments", errors)  # Slack reports bad views this way, not invalid_blocks
        assert isinstance(view, dict)
        user, trigger, ext = args.get("user_id"), args.get("trigger_id"), view.get("external_id") or ""
        if action in ("open", "push") and not trigger:
            raise _invalid("invalid_arguments", ["missing required field: trigger_id"])
        if action in ("open", "push"):
            issued = self._triggers.setdefault(trigger, time.monotonic())  # ids made elsewhere: seen now
            if trigger in self._used_triggers:
                raise _ApiError("exchanged_trigger_id")
            if time.monotonic() - issued > TRIGGER_TTL_S:
                raise _ApiError("expired_trigger_id")
            self._used_triggers.add(trigger)
        if action == "update":
            vid, ext_arg = args.get("view_id"), args.get("external_id")
            prev = self._live_views.get(vid) if vid else next(
                (v for v in self._live_views.values() if ext_arg and v["external_id"] == ext_arg), None)
            if prev is None:
                raise _ApiError("not_found")
            if args.get("hash") and args["hash"] != prev["hash"]:
                raise _ApiError("hash_conflict")  # Slack's optimistic-concurrency guard
            view_id, user, ext = prev["id"], self._view_owner.get(prev["id"]), ext or prev["external_id"]
        elif action == "publish":
            if user not in self._users:
                raise _ApiError("user_not_found")
            view_id = self._home_ids.get(user) or self._next_view_id()  # one Home tab per user
            self._home_ids[user] = view_id
        else:
            if ext and any(v["external_id"] == ext for v in self._live_views.values()):
                raise _ApiError("duplicate_external_id")
            view_id = self._next_view_id()
        stored = {**copy.deepcopy(view), "id": view_id, "team_id": TEAM_ID, "app_id": "A0CXLOOP",
                  "bot_id": BOT_ID, "private_metadata": view.get("private_metadata", ""),
                  "callback_id": view.get("callback_id", ""), "external_id": ext, "state": {"values": {}},
                  "hash": f"{time.time():.6f}.{view_id}", "root_view_id": view_id, "previous_view_id": None}
        self._live_views[view_id], self._view_owner[view_id] = stored, user
        self._views.append({"action": action, "id": view_id, "type": view["type"], "user": user,
                            "trigger_id": trigger, "external_id": ext, "callback_id": stored["callback_id"],
                            "view": copy.deepcopy(stored)})
        return {"view": copy.deepcopy(stored)}

    def _next_view_id(self) -> str:
        self._view_seq += 1
        return f"V0SBX{self._view_seq:05d}"

    # ---- response_url: a different Slack service, so injected faults don't apply
    def _response_url_post(self, key: str, body: dict[str, Any]) -> tuple[int, str]:
        with self._lock:
            url, now = f"{key}?{body.pop('u', '')}", time.monotonic()
            uses = self._response_url_uses.setdefault(url, [])
            if uses and now - uses[0] > RESPONSE_URL_TTL_S:
                status, text = 404, "expired_url"
            elif len(uses) >= RESPONSE_URL_MAX_USES:
                status, text = 404, "used_url"
            else:
                uses.append(now)
                status, text = self._response_url_apply(key, body, self._response_url_users.get(url))
            self._record("response_url", {**body, "key": key}, status, None if status == 200 else text)
            return status, text

    def _response_url_apply(self, key: str, body: dict[str, Any], user: str | None) -> tuple[int, str]:
        channel, _, ts = key.partition(":")
        is_channel = bool(_CHANNEL_RE.fullmatch(channel))
        original = self._find(channel, ts) if is_channel and ts else None
        if _truthy(body.get("delete_original")):
            if original is not None:
                self._messages[channel].remove(original)
            return 200, "ok"
        try:
            self._check_content(body)
        except _ApiError as e:  # Slack answers response_url errors as plain text with a 4xx
            return (404 if e.body["error"] == "no_text" else 400), e.body["error"]
        if _truthy(body.get("replace_original")) and original is not None:
            original.update(text=body.get("text") or "", blocks=body.get("blocks") or [],
                            edited={"user": BOT_USER_ID, "ts": self._new_ts()})
        elif body.get("response_type") == "in_channel" and is_channel:
            self._store(channel, body, body.get("thread_ts"))
        else:
            self._ephemerals.append({
                "ts": self._new_ts(), "channel": channel if is_channel else None, "user": user,
                "text": body.get("text") or "", "blocks": body.get("blocks") or [], "thread_ts": body.get("thread_ts"),
                "source": "response_url", "key": key, "replace_original": _truthy(body.get("replace_original"))})
        return 200, "ok"

    # ---- file upload URLs: Slack's upload host (files.slack.com), so injected faults don't apply either
    def _upload_post(self, file_id: str, data: bytes) -> tuple[int, str]:
        with self._lock:
            u = self._uploads.get(file_id)
            if u is None or u["completed"]:
                status, text = 404, "file not found"
            else:  # re-posting before completion replaces the content, as retrying the upload would
                u["data"] = data
                status, text = 200, f"OK - {len(data)}"
            self._record("upload_url", {"file_id": file_id, "size": len(data)}, status,
                         None if status == 200 else text)
            return status, text
