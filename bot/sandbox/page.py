"""A tiny "fake Slack workspace" in the browser, for sandbox mode (`cxloop serve` without SLACK_BOT_TOKEN).

It reads what the app posted to :class:`FakeSlack` and renders it as Slack would; every click is turned
into the *genuine* signed request Slack would send (block_actions, view_submission, /cxloop) and POSTed
to the app's own ``/slack/events``. So the page exercises exactly the code path real Slack does, and the
app cannot tell the difference. Dependency-free on purpose: inline CSS, a few lines of vanilla JS.

Everything shown is escaped: messages carry customer text, and the page must not be an XSS vector.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.runtime import Runtime
from bot.sandbox.fake_slack import BOT_USER_ID, DEFAULT_USERS, TEAM_ID, FakeSlack
from bot.signing import sign_slack_request

API_APP_ID = "A0CXLOOP"
TEAM_DOMAIN = "sandbox"
VERIFICATION_TOKEN = "sandbox-verification-token"  # Slack's deprecated token; Bolt ignores it
LOCAL_EPHEMERALS_KEPT = 5
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64_000
# Where view_submission's state.values puts each input's value, by element type.
_STATE_KEYS = {"static_select": "selected_option", "users_select": "selected_user", "datepicker": "selected_date"}

_TOKEN_RE = re.compile(r"<([^<>\n]{1,2000})>")
_MARK_RE = re.compile(r"\x00(\d+)\x00")
# Applied to already-HTML-escaped text, which has no "*", "_" or "`" of its own inside entities.
_BOLD_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC_RE = re.compile(r"(?<![\w])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w])")
_CODE_RE = re.compile(r"`([^`\n]+)`")

esc = html.escape


def _unentity(text: str) -> str:
    # Slack mrkdwn escapes only & < >; undo that before HTML-escaping, or "&lt;" would show literally.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _safe_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _token(inner: str, names: dict[str, str]) -> str:
    """One <…> token of Slack mrkdwn: mention, channel, date, special mention or link."""
    body, _, label = inner.partition("|")
    if body.startswith("@"):
        return f'<span class="mention">@{esc(names.get(body[1:], body[1:]))}</span>'
    if body.startswith("#"):
        return f'<span class="mention">#{esc(_unentity(label or body[1:]))}</span>'
    if body.startswith("!date^"):
        return esc(_unentity(inner.rpartition("|")[2] if "|" in inner else ""))
    if body.startswith("!"):
        return f'<span class="mention">@{esc(_unentity(label or body[1:].partition("^")[0]))}</span>'
    url = _unentity(body)
    text = esc(_unentity(label or body))
    if _safe_url(url):
        return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{text}</a>'
    return text


def _inline(line: str, names: dict[str, str]) -> str:
    # Tokens are swapped for \x00n\x00 markers so emphasis can span them ("*Claimed by <@U1>*")
    # without ever touching the HTML they render to (a URL's "_" must not become <i>).
    rendered: list[str] = []

    def stash(match: re.Match[str]) -> str:
        rendered.append(_token(match.group(1), names))
        return f"\x00{len(rendered) - 1}\x00"

    out = esc(_unentity(_TOKEN_RE.sub(stash, line)))
    out = _CODE_RE.sub(r"<code>\1</code>", out)
    out = _ITALIC_RE.sub(r"<i>\1</i>", _BOLD_RE.sub(r"<b>\1</b>", out))
    return _MARK_RE.sub(lambda m: rendered[int(m.group(1))], out)


def render_mrkdwn(text: str, names: dict[str, str]) -> str:
    """Slack mrkdwn → safe HTML. A raw ">" opens a quote: customer ">" always arrives as "&gt;"."""
    parts: list[str] = []
    quote: list[str] = []
    for line in text.replace("\x00", "").split("\n"):
        if line.startswith(">"):
            quote.append(_inline(line[1:].removeprefix(" "), names))
            continue
        if quote:
            parts.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote = []
        parts.append(_inline(line, names) + "<br>")
    if quote:
        parts.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
    return "".join(parts).removesuffix("<br>")


def _text(obj: dict[str, Any] | None, names: dict[str, str]) -> str:
    if not obj:
        return ""
    raw = str(obj.get("text") or "")
    return render_mrkdwn(raw, names) if obj.get("type") == "mrkdwn" else esc(raw)


def _hidden(**fields: str) -> str:
    return "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields.items())


def _block_id(block: dict[str, Any], index: int) -> str:
    # Slack fills in a block_id when the app gives none; a stable stand-in keeps lookups working.
    return str(block.get("block_id") or f"blk{index}")


def _element(el: dict[str, Any], ctx: dict[str, str]) -> str:
    """A message's interactive element as a small POST form that becomes a block_actions payload."""
    kind, hidden = el.get("type"), _hidden(**ctx, action_id=str(el.get("action_id", "")))
    if kind == "button":
        label = esc((el.get("text") or {}).get("text", ""))
        if el.get("url") and _safe_url(str(el["url"])):
            return f'<a class="btn" href="{esc(el["url"])}" target="_blank" rel="noopener noreferrer">{label} ↗</a>'
        return (f'<form method="post" action="/sandbox/action">{hidden}'
                f'<button class="btn {esc(el.get("style", ""))}">{label}</button></form>')
    if kind in ("overflow", "static_select"):
        options = "".join(f'<option value="{esc(o.get("value", ""))}">{esc(o["text"]["text"])}</option>'
                          for o in el.get("options", []))
        first = "⋯" if kind == "overflow" else esc((el.get("placeholder") or {}).get("text", "Choose…"))
        return (f'<form method="post" action="/sandbox/action">{hidden}<select name="value" '
                f'onchange="this.form.submit()"><option value="">{first}</option>{options}</select>'
                '<noscript><button class="btn">Go</button></noscript></form>')
    return f'<span class="muted">[{esc(str(kind))}]</span>'


def render_blocks(blocks: list[dict[str, Any]], names: dict[str, str], ctx: dict[str, str] | None) -> str:
    """Message blocks → HTML. With ctx (as, channel, ts) buttons are live forms; without, inert."""
    out: list[str] = []
    for index, block in enumerate(blocks):
        kind = block.get("type")
        el_ctx = {**ctx, "block_id": _block_id(block, index)} if ctx else None
        if kind == "header":
            out.append(f"<h3>{_text(block.get('text'), names)}</h3>")
        elif kind == "section":
            fields = "".join(f"<div>{_text(f, names)}</div>" for f in block.get("fields") or [])
            accessory = block.get("accessory")
            out.append(f'<div class="section">{_text(block.get("text"), names)}'
                       + (f'<div class="fields">{fields}</div>' if fields else "")
                       + (_element(accessory, el_ctx) if accessory and el_ctx else "") + "</div>")
        elif kind == "context":
            parts = (_text(e, names) for e in block.get("elements", []) if e.get("type") != "image")
            out.append(f'<div class="context">{" · ".join(parts)}</div>')
        elif kind == "actions" and el_ctx:
            out.append(f'<div class="actions">{"".join(_element(e, el_ctx) for e in block.get("elements", []))}</div>')
        elif kind == "divider":
            out.append("<hr>")
    return "".join(out)


CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f2f5;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header form{margin:0}main{max-width:900px;margin:0 auto;padding:12px}
.channel{background:#fff;border-radius:8px;margin:12px 0;padding:8px 16px}
.msg{border-top:1px solid #eee;padding:8px 0}.who{font-weight:700}.muted,.context{color:#616061;font-size:12px}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px;margin:6px 0}
blockquote{border-left:4px solid #ddd;margin:4px 0;padding-left:8px}h3{margin:4px 0}
.actions{display:flex;gap:6px;margin:6px 0;align-items:center}.actions form,.section form{display:inline;margin:0}
.btn{border:1px solid #bbb;background:#fff;border-radius:4px;padding:3px 10px;cursor:pointer;
color:inherit;text-decoration:none;font-size:13px}.primary{background:#007a5a;color:#fff;border-color:#007a5a}
.danger{background:#e01e5a;color:#fff}.thread{margin-left:24px;border-left:2px solid #e8e8e8;padding-left:10px}
.eph{background:#f8f8fb;border:1px dashed #c9c9d9;border-radius:6px;padding:6px 10px;margin:6px 0}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
.composer input{width:70%;padding:6px}.modal-bg{position:fixed;inset:0;background:#0008;display:flex;
align-items:center;justify-content:center}.modal{background:#fff;border-radius:8px;padding:16px 20px;
width:480px;max-height:90vh;overflow:auto}.modal label{display:block;font-weight:700;margin-top:10px}
.modal select,.modal textarea,.modal input{width:100%;box-sizing:border-box;padding:6px}
.err{color:#e01e5a;font-size:12px}"""

# Reload every 3 s to show deliveries, but never while a modal is open or the user is typing.
EPHEMERAL_PREFIX = "eph:"

REFRESH_JS = """setInterval(function(){var a=document.activeElement;
if(!document.querySelector('.modal')&&!(a&&/INPUT|TEXTAREA|SELECT/.test(a.tagName)))location.reload()},3000);"""


class SandboxPage:
    """The page's own memory: which modals it triggered, their errors, and /cxloop answers."""

    def __init__(self, fake: FakeSlack, runtime: Runtime, app_url: str) -> None:
        self.fake, self.runtime, self.app_url = fake, runtime, app_url.rstrip("/")
        self.users = {u["id"]: u for u in DEFAULT_USERS}
        self.names = {uid: u["real_name"] for uid, u in self.users.items()} | {BOT_USER_ID: "cxloop"}
        self._lock = threading.Lock()
        self._triggers: dict[str, str] = {}  # trigger_id → user; views.open carries no user id
        self._done_views: set[str] = set()  # submitted or cancelled modals
        self._view_errors: dict[str, tuple[dict[str, str], dict[str, str]]] = {}  # view id → (errors, form)
        self._local: dict[str, deque[dict[str, Any]]] = {}  # user → last command answers / notices

    # ---- helpers
    def user(self, uid: str | None) -> dict[str, Any]:
        return self.users.get(uid or "", DEFAULT_USERS[0])

    def channels(self) -> dict[str, str]:
        return {team.channel: team.name for team in self.runtime.config.teams}

    def slack_user(self, uid: str) -> dict[str, str]:
        u = self.user(uid)
        return {"id": u["id"], "username": u["name"], "name": u["name"], "team_id": TEAM_ID}

    def note(self, uid: str, channel: str | None, text: str, blocks: list | None = None) -> None:
        with self._lock:
            box = self._local.setdefault(uid, deque(maxlen=LOCAL_EPHEMERALS_KEPT))
            box.append({"ts": f"{time.time():.6f}", "channel": channel, "text": text, "blocks": blocks or []})

    def new_trigger(self, uid: str) -> str:
        trigger = f"trig-{uuid.uuid4()}"
        with self._lock:
            self._triggers[trigger] = uid
        return trigger

    def post(self, body: str) -> httpx.Response:
        """A genuine Slack request: form-encoded, v0-signed, to the app's one Request URL."""
        headers = {**sign_slack_request(self.runtime.signing_secret, body), "Content-Type": FORM}
        with httpx.Client(timeout=15) as client:
            return client.post(f"{self.app_url}/slack/events", content=body.encode(), headers=headers)

    def open_modal(self, uid: str) -> dict[str, Any] | None:
        """The newest modal the app opened from one of this user's clicks, as last updated."""
        views = self.fake.views()
        with self._lock:
            opened = [v for v in views if v["action"] == "open" and self._triggers.get(v["trigger_id"] or "") == uid
                      and v["id"] not in self._done_views]
        if not opened:
            return None
        view_id = opened[-1]["id"]
        return next(v["view"] for v in reversed(views) if v["id"] == view_id)

    # ---- actions (run in a worker thread: they call the app, which is served by this same process)
    def ephemeral(self, uid: str, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            local = list(self._local.get(uid, ()))
        candidates = local + [e for e in self.fake.ephemerals(channel) if e["user"] in (uid, None)]
        found = next((e for e in candidates if e["ts"] == ts), None)
        return None if found is None else {"user": BOT_USER_ID, "text": found["text"], "blocks": found["blocks"]}

    def action(self, form: dict[str, str]) -> None:
        uid, channel, ts = self.user(form.get("as"))["id"], form.get("channel", ""), form.get("ts", "")
        is_ephemeral = ts.startswith(EPHEMERAL_PREFIX)
        if is_ephemeral:
            ts = ts.removeprefix(EPHEMERAL_PREFIX)
        message = self.ephemeral(uid, channel, ts) if is_ephemeral else self.fake.message(channel, ts)
        found = None
        for index, block in enumerate((message or {}).get("blocks") or []):
            if _block_id(block, index) == form.get("block_id"):
                elements = block.get("elements") or ([block["accessory"]] if block.get("accessory") else [])
                found = next((e for e in elements if e.get("action_id") == form.get("action_id")), None)
        if message is None or found is None:
            self.note(uid, channel, "That message has changed since the page loaded; try again.")
            return
        action: dict[str, Any] = {"action_id": found["action_id"], "block_id": form["block_id"],
                                  "type": found["type"], "action_ts": f"{time.time():.6f}"}
        if found["type"] == "button":
            action.update(value=found.get("value", ""), text=found.get("text"))
        else:
            option = next((o for o in found.get("options", []) if o.get("value") == form.get("value")), None)
            if option is None:
                return  # the "⋯" placeholder: nothing chosen
            action["selected_option"] = {"text": option["text"], "value": option["value"]}
        payload = {
            "type": "block_actions", "user": self.slack_user(uid), "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN, "trigger_id": self.new_trigger(uid),
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": is_ephemeral},
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "enterprise": None, "is_enterprise_install": False,
            "channel": {"id": channel, "name": self.channels().get(channel, channel)},
            "message": {"type": "message", "user": message["user"], "ts": ts, "text": message["text"],
                        "blocks": message["blocks"]},
            "state": {"values": {}}, "actions": [action],
            # An ephemeral's response_url answers into the channel (a new ephemeral, or in_channel when shared).
            "response_url": self.fake.response_url(channel if is_ephemeral else f"{channel}:{ts}"),
        }
        self.send(uid, channel, urlencode({"payload": json.dumps(payload)}))

    def submit_view(self, form: dict[str, str]) -> None:
        uid, view_id = self.user(form.get("as"))["id"], form.get("view_id", "")
        view = self.open_modal(uid)
        if view is None or view["id"] != view_id:
            return
        if form.get("cancel"):  # the app sets no notify_on_close, so Slack would send nothing either
            with self._lock:
                self._done_views.add(view_id)
            return
        values: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            el, raw = block["element"], form.get(f"in_{block['block_id']}", "")
            key = _STATE_KEYS.get(el["type"], "value")
            option = next((o for o in el.get("options", []) if o["value"] == raw), None)
            chosen = {"text": option["text"], "value": option["value"]} if option else None
            # Slack reports every input, empty ones as null.
            values[block["block_id"]] = {el["action_id"]: {"type": el["type"],
                                                           key: chosen if key == "selected_option" else raw or None}}
        payload = {
            "type": "view_submission", "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self.slack_user(uid), "api_app_id": API_APP_ID, "token": VERIFICATION_TOKEN,
            "trigger_id": self.new_trigger(uid), "is_enterprise_install": False, "enterprise": None,
            "view": {**view, "type": "modal", "state": {"values": values}}, "response_urls": [],
        }
        response = self.send(uid, None, urlencode({"payload": json.dumps(payload)}))
        answer = _json(response)
        with self._lock:
            if answer.get("response_action") == "errors":
                self._view_errors[view_id] = (answer.get("errors") or {}, form)
            elif response is not None and response.status_code == 200:
                self._done_views.add(view_id)
                self._view_errors.pop(view_id, None)

    def command(self, form: dict[str, str]) -> None:
        uid, channel = self.user(form.get("as"))["id"], form.get("channel", "")
        raw = form.get("text", "").strip()
        command = "/vip" if raw.split(" ", 1)[0] == "/vip" else "/cxloop"
        text = raw.removeprefix(command).strip()
        if command == "/vip":
            # /vip is declared with should_escape in manifest.yml: Slack sends "@ana" as "<@U0ANA|ana>".
            text = " ".join(self.escape_mention(word) for word in text.split(" "))
        fields = {"token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "team_domain": TEAM_DOMAIN,
                  "channel_id": channel, "channel_name": self.channels().get(channel, channel), "user_id": uid,
                  "user_name": self.user(uid)["name"], "command": command, "text": text,
                  "response_url": self.fake.response_url(channel), "trigger_id": self.new_trigger(uid),
                  "api_app_id": API_APP_ID}
        answer = _json(self.send(uid, channel, urlencode(fields)))
        if answer.get("text") or answer.get("blocks"):  # /cxloop answers in the HTTP response itself
            self.note(uid, channel, str(answer.get("text") or ""), answer.get("blocks"))

    def escape_mention(self, word: str) -> str:
        if word.startswith("@"):
            for user in self.users.values():
                if word[1:].lower() in (user["name"].lower(), user["id"].lower()):
                    return f"<@{user['id']}|{user['name']}>"
        return word

    def send(self, uid: str, channel: str | None, body: str) -> httpx.Response | None:
        try:
            response = self.post(body)
        except httpx.HTTPError as exc:
            self.note(uid, channel, f"Could not reach the app at {self.app_url}: {exc}")
            return None
        if response.status_code != 200:
            self.note(uid, channel, f"The app answered HTTP {response.status_code}: {response.text[:200]}")
        return response

    # ---- the page
    def page(self, uid: str) -> str:
        users = "".join(f'<option value="{esc(u)}"{" selected" if u == uid else ""}>{esc(self.names[u])}</option>'
                        for u in self.users)
        channels = self.channels()
        if self.fake.messages(f"D{uid}"):
            channels[f"D{uid}"] = "direct messages"  # the app's DM to this user, if it ever sends one
        body = "".join(self.channel_html(uid, channel, name) for channel, name in channels.items())
        modal = self.open_modal(uid)
        return (f'<!doctype html><html><head><meta charset="utf-8"><title>cxloop sandbox</title>'
                f"<style>{CSS}</style></head><body><header><b>cxloop sandbox</b>"
                f'<form method="get" action="/sandbox">You are <select name="as" onchange="this.form.submit()">'
                f"{users}</select><noscript><button>Switch</button></noscript></form>"
                f'<span class="muted" style="color:#ddd">Fake Slack at {esc(self.fake.url)}</span></header>'
                f"<main>{body}</main>{self.modal_html(uid, modal) if modal else ''}"
                f"<script>{'' if modal else REFRESH_JS}</script></body></html>")

    def channel_html(self, uid: str, channel: str, name: str) -> str:
        messages = self.fake.messages(channel)
        replies: dict[str, list[dict[str, Any]]] = {}
        for m in messages:
            if m.get("thread_ts") and m["thread_ts"] != m["ts"]:
                replies.setdefault(m["thread_ts"], []).append(m)
        parts = [f'<section class="channel"><h2>#{esc(name)} <span class="muted">{esc(channel)}</span></h2>']
        for m in messages:
            if m.get("thread_ts") in (None, m["ts"]):
                thread = "".join(self.message_html(uid, channel, r) for r in replies.get(m["ts"], []))
                parts.append(self.message_html(uid, channel, m) + (f'<div class="thread">{thread}</div>' * bool(thread)))
        if len(parts) == 1:
            parts.append('<p class="muted">No messages yet. Send some with <code>cxloop simulate</code>.</p>')
        ephemerals = [e for e in self.fake.ephemerals(channel) if e["user"] in (uid, None)]
        with self._lock:
            ephemerals += [e for e in self._local.get(uid, ()) if e["channel"] in (channel, None)]
        for e in sorted(ephemerals, key=lambda e: float(e["ts"]))[-LOCAL_EPHEMERALS_KEPT:]:
            # Buttons in ephemerals work too (e.g. /vip's Open and Log touch), as in Slack.
            ctx = {"as": uid, "channel": channel, "ts": EPHEMERAL_PREFIX + e["ts"]}
            content = render_blocks(e["blocks"], self.names, ctx) or render_mrkdwn(e["text"], self.names)
            parts.append(f'<div class="eph"><span class="muted">Only visible to you</span>{content}</div>')
        parts.append(f'<form class="composer" method="post" action="/sandbox/command">'
                     f"{_hidden(**{'as': uid, 'channel': channel})}"
                     f'<input name="text" placeholder="/cxloop help  or  /vip acme" value="/cxloop ">'
                     f' <button class="btn">Send</button></form></section>')
        return "".join(parts)

    def message_html(self, uid: str, channel: str, m: dict[str, Any]) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(float(m["ts"])))
        ctx = {"as": uid, "channel": channel, "ts": m["ts"]}
        content = render_blocks(m.get("blocks") or [], self.names, ctx) or render_mrkdwn(m.get("text", ""), self.names)
        edited = ' <span class="muted">(edited)</span>' if m.get("edited") else ""
        return (f'<div class="msg"><span class="who">{esc(self.names.get(m.get("user", ""), m.get("user", "")))}'
                f'</span> <span class="muted">{when}</span>{edited}{content}</div>')

    def modal_html(self, uid: str, view: dict[str, Any]) -> str:
        with self._lock:
            errors, previous = self._view_errors.get(view["id"], ({}, {}))
        fields: list[str] = []
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                fields.append(render_blocks([block], self.names, None))
                continue
            el, name = block["element"], f"in_{block['block_id']}"
            label = esc(block["label"]["text"]) + ' <span class="muted">(optional)</span>' * bool(block.get("optional"))
            fields.append(f"<label>{label}</label>" + self.input_html(el, name, previous.get(name)))
            if block["block_id"] in errors:
                fields.append(f'<div class="err">{esc(str(errors[block["block_id"]]))}</div>')
        title = esc(view.get("title", {}).get("text", ""))
        submit = esc((view.get("submit") or {}).get("text", "Submit"))
        close = esc((view.get("close") or {}).get("text", "Cancel"))
        hidden = _hidden(**{"as": uid, "view_id": view["id"]})
        return (f'<div class="modal-bg"><form class="modal" method="post" action="/sandbox/view">{hidden}'
                f'<h3>{title}</h3>{"".join(fields)}<p style="text-align:right">'
                f'<button class="btn" name="cancel" value="1" formnovalidate>{close}</button> '
                f'<button class="btn primary">{submit}</button></p></form></div>')

    def input_html(self, el: dict[str, Any], name: str, previous: str | None) -> str:
        kind = el.get("type")
        if kind in ("static_select", "users_select"):
            options = ([(u, self.names[u]) for u in self.users] if kind == "users_select"
                       else [(o["value"], o["text"]["text"]) for o in el.get("options", [])])
            initial = el.get("initial_user") or (el.get("initial_option") or {}).get("value")
            chosen = initial if previous is None else previous
            opts = "".join(f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(t)}</option>'
                           for v, t in options)
            placeholder = esc((el.get("placeholder") or {}).get("text", "Choose…"))
            return f'<select name="{esc(name)}"><option value="">{placeholder}</option>{opts}</select>'
        if kind == "datepicker":
            value = el.get("initial_date", "") if previous is None else previous
            return f'<input type="date" name="{esc(name)}" value="{esc(value)}">'
        value = el.get("initial_value", "") if previous is None else previous
        limit = f' maxlength="{int(el["max_length"])}"' if el.get("max_length") else ""
        return f'<textarea name="{esc(name)}" rows="{4 if el.get("multiline") else 1}"{limit}>{esc(value)}</textarea>'


def _json(response: httpx.Response | None) -> dict[str, Any]:
    try:
        answer = response.json() if response is not None and response.content else {}
    except ValueError:  # e.g. Bolt's plain-text 401 for a bad signature
        answer = {}
    return answer if isinstance(answer, dict) else {}


def sandbox_routes(fake: FakeSlack, runtime: Runtime, *, app_url: str) -> list[Route]:
    """GET /sandbox and the three POST endpoints that turn clicks into signed Slack requests."""
    sandbox = SandboxPage(fake, runtime, app_url)

    async def show(request: Request) -> HTMLResponse:
        uid = sandbox.user(request.query_params.get("as"))["id"]
        return HTMLResponse(await run_in_threadpool(sandbox.page, uid))

    def endpoint(handler: Callable[[dict[str, str]], None]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            # Our forms are urlencoded; parsing them here avoids Starlette's python-multipart dependency.
            body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
            form = dict(parse_qsl(body, keep_blank_values=True))
            # The handler calls the app over HTTP, and the app is served by this event loop: off-loop.
            await run_in_threadpool(handler, form)
            # 303 so a reload doesn't re-submit the click.
            return RedirectResponse(f"/sandbox?{urlencode({'as': sandbox.user(form.get('as'))['id']})}", 303)
        return run

    return [
        Route("/sandbox", show, methods=["GET"]),
        Route("/sandbox/action", endpoint(sandbox.action), methods=["POST"]),
        Route("/sandbox/view", endpoint(sandbox.submit_view), methods=["POST"]),
        Route("/sandbox/command", endpoint(sandbox.command), methods=["POST"]),
    ]
