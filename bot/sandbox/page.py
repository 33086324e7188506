"""A tiny "fake Slack workspace" in the browser, for the sandbox (`cxloop serve --sandbox`, `cxloop demo`).

It reads what the app posted to :class:`FakeSlack` and renders it as Slack would; every click is turned
into the *genuine* signed request Slack would send (block_actions, view_submission, /cxloop) and POSTed
to the app's own ``/slack/events``. So the page exercises exactly the code path real Slack does, and the
app cannot tell the difference. Dependency-free on purpose: inline CSS, a few lines of vanilla JS.

Everything shown is escaped: messages carry customer text, and the page must not be an XSS vector.
"""

from __future__ import annotations

import html
import json
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.common.signing import sign_slack_request, sign_webhook
from bot.delivery.handlers import METADATA_EVENT_TYPE, OUTBOX_EVENT_TYPE, item_view, similar_or_none
from bot.delivery.outbox import outbox_counts
from bot.insights.scheduled import send_digest
from bot.runtime import Runtime
from bot.sandbox import samples
from bot.sandbox.fake_slack import BOT_USER_ID, DEFAULT_USERS, TEAM_ID, FakeSlack
from bot.slack.blocks import item_message
from models import FollowUp, Item, OutboxMessage, SlackMessage
from models.delivery import POST_MESSAGE, SENT, THREAD_REPLY

API_APP_ID = "A0CXLOOP"
TEAM_DOMAIN = "sandbox"
VERIFICATION_TOKEN = "sandbox-verification-token"  # Slack's deprecated token; Bolt ignores it
LOCAL_EPHEMERALS_KEPT = 5
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64_000
USER_COOKIE = "cxloop_sandbox_as"
# Where view_submission's state.values puts each input's value, by element type.
_STATE_KEYS = {"static_select": "selected_option", "users_select": "selected_user", "datepicker": "selected_date"}

_TOKEN_RE = re.compile(r"<([^<>\n]{1,2000})>")
_MARK_RE = re.compile(r"\x00(\d+)\x00")
# Applied to already-HTML-escaped text, which has no "*", "_" or "`" of its own inside entities.
_BOLD_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC_RE = re.compile(r"(?<![\w])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w])")
_CODE_RE = re.compile(r"`([^`\n]+)`")
# What bot.slack.links.message_link makes of a message; the sandbox shows that message itself.
_ARCHIVE_RE = re.compile(r"https://slack\.com/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6})")

esc = html.escape

# Whose page is being drawn: Slack shows a date token in the reader's own timezone, relative to today.
_READER: ContextVar[tuple[ZoneInfo, datetime] | None] = ContextVar("sandbox_reader", default=None)
# Who the page is drawn for: message links keep it, so a link opens the channel as the same person.
_READER_ID: ContextVar[str | None] = ContextVar("sandbox_reader_id", default=None)
_DATE_FIELD_RE = re.compile(r"\{(date_num|date|date_short|date_long|date_pretty|date_short_pretty|date_long_pretty"
                            r"|time|time_secs|ago)\}")
_RELATIVE_DAYS = {0: "Today", -1: "Yesterday", 1: "Tomorrow"}


def _ordinal(day: int) -> str:
    return f"{day}{'th' if 11 <= day % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def _clock_time(moment: datetime, *, seconds: bool = False) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M}{f':{moment:%S}' if seconds else ''} {'AM' if moment.hour < 12 else 'PM'}"


def _ago(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if abs(seconds) >= size:
            count = int(abs(seconds) // size)
            return f"{count} {unit}{'s' if count != 1 else ''} {'ago' if seconds >= 0 else 'from now'}"
    return "just now"


def render_date(epoch: int, fmt: str, tz: ZoneInfo, now: datetime) -> str:
    """A Slack date token's text, as Slack formats it for a reader in `tz` (12-hour clock)."""
    moment = datetime.fromtimestamp(epoch, UTC).astimezone(tz)
    local_today = now.astimezone(tz).date()
    plain = {"date_num": f"{moment:%Y-%m-%d}", "date": f"{moment:%B} {_ordinal(moment.day)}, {moment.year}",
             "date_short": f"{moment:%b} {moment.day}, {moment.year}",
             "date_long": f"{moment:%A}, {moment:%B} {_ordinal(moment.day)}, {moment.year}",
             "time": _clock_time(moment), "time_secs": _clock_time(moment, seconds=True),
             "ago": _ago((now - moment).total_seconds())}
    relative = _RELATIVE_DAYS.get((moment.date() - local_today).days)
    for name in ("date", "date_short", "date_long"):
        plain[f"{name}_pretty"] = relative or plain[name]
    return _DATE_FIELD_RE.sub(lambda m: plain[m.group(1)], fmt)


def _date_token(body: str, fallback: str) -> str:
    # <!date^EPOCH^FORMAT(^LINK)|fallback>: Slack renders FORMAT in the reader's timezone.
    parts = body.split("^")
    reader = _READER.get()
    if len(parts) < 3 or not parts[1].lstrip("-").isdigit() or reader is None:
        return esc(_unentity(fallback))
    try:
        text = render_date(int(parts[1]), _unentity(parts[2]), *reader)
    except (OverflowError, OSError, ValueError):
        return esc(_unentity(fallback))
    return f'<time class="date" title="{esc(_unentity(fallback))}">{esc(text)}</time>'


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
        return f'<span class="mention">#{esc(_unentity(label or names.get(body[1:], body[1:])))}</span>'
    if body.startswith("!date^"):
        return _date_token(body, inner.rpartition("|")[2] if "|" in inner else "")
    if body.startswith("!"):
        return f'<span class="mention">@{esc(_unentity(label or body[1:].partition("^")[0]))}</span>'
    url = _unentity(body)
    text = esc(_unentity(label or body))
    local = _ARCHIVE_RE.fullmatch(url)
    if local:  # a message link (App Home, /cxloop open, digests): open it here, in the sandbox
        channel, sec, usec = local.groups()
        query = {"c": channel, "m": f"{sec}.{usec}"} | ({"as": reader} if (reader := _READER_ID.get()) else {})
        return f'<a href="/sandbox?{esc(urlencode(query))}#m-{sec}.{usec}">{text}</a>'
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
    code: list[str] | None = None  # inside a ``` block: shown as it is, monospaced (the weekly report's table)
    for line in text.replace("\x00", "").split("\n"):
        if code is None and line.startswith("```"):
            code, line = [], line[3:]
        if code is not None:
            closed = line.endswith("```")
            code.append(esc(_unentity(line.removesuffix("```"))))
            if closed:
                parts.append(f"<pre>{chr(10).join(code).strip(chr(10))}</pre>")
                code = None
            continue
        if line.startswith(">"):
            quote.append(_inline(line[1:].removeprefix(" "), names))
            continue
        if quote:
            parts.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote = []
        parts.append(_inline(line, names) + "<br>")
    if quote:
        parts.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
    if code is not None:
        parts.append(f"<pre>{chr(10).join(code)}</pre>")
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


def _image(obj: dict[str, Any], css_class: str) -> str:
    """An image block or element: shown from its URL when it is http(s), else its alt text only."""
    url, alt = str(obj.get("image_url") or ""), esc(str(obj.get("alt_text") or ""))
    if not _safe_url(url):
        return f'<span class="muted">[image: {alt}]</span>'
    return f'<img class="{css_class}" src="{esc(url)}" alt="{alt}" loading="lazy" referrerpolicy="no-referrer">'


def _element(el: dict[str, Any], ctx: dict[str, str]) -> str:
    """A message's interactive element as a small POST form that becomes a block_actions payload."""
    kind, hidden = el.get("type"), _hidden(**ctx, action_id=str(el.get("action_id", "")))
    if kind == "button":
        label = esc((el.get("text") or {}).get("text", ""))
        if el.get("url") and _safe_url(str(el["url"])):
            return f'<a class="btn" href="{esc(el["url"])}" target="_blank" rel="noopener noreferrer">{label} ↗</a>'
        # The button as this page shows it: a click on a message that has changed since still reaches the app
        # with it, as Slack sends the click on the copy the person saw (the app says what happened meanwhile).
        shown = _hidden(button_value=str(el.get("value", "")), button_text=(el.get("text") or {}).get("text", ""))
        return (f'<form method="post" action="/sandbox/action">{hidden}{shown}'
                f'<button class="btn {esc(el.get("style", ""))}">{label}</button></form>')
    if kind == "image":
        return _image(el, "ctx-img")
    if kind in ("overflow", "static_select"):
        options = "".join(f'<option value="{esc(o.get("value", ""))}">{esc(o["text"]["text"])}</option>'
                          for o in el.get("options", []))
        first = "⋯" if kind == "overflow" else esc((el.get("placeholder") or {}).get("text", "Choose…"))
        label = "More actions" if kind == "overflow" else first
        return (f'<form method="post" action="/sandbox/action">{hidden}<select name="value" class="{esc(kind)}" '
                f'aria-label="{label}" onchange="this.form.submit()"><option value="">{first}</option>{options}'
                '</select><noscript><button class="btn">Go</button></noscript></form>')
    return f'<span class="muted">[{esc(str(kind))}]</span>'


def render_blocks(blocks: list[dict[str, Any]], names: dict[str, str], ctx: dict[str, str] | None) -> str:
    """Message blocks → HTML. With ctx (as, channel, ts) buttons are live forms; without, inert."""
    out: list[str] = []
    for index, block in enumerate(blocks):
        kind = block.get("type")
        el_ctx = {**ctx, "block_id": _block_id(block, index)} if ctx else None
        if kind == "header":
            out.append(f'<h3 class="header">{_text(block.get("text"), names)}</h3>')
        elif kind == "section":
            fields = "".join(f"<div>{_text(f, names)}</div>" for f in block.get("fields") or [])
            accessory = block.get("accessory")
            out.append(f'<div class="section">{_text(block.get("text"), names)}'
                       + (f'<div class="fields">{fields}</div>' if fields else "")
                       + (_element(accessory, el_ctx) if accessory and el_ctx else "") + "</div>")
        elif kind == "context":
            parts = (_image(e, "ctx-img") if e.get("type") == "image" else _text(e, names)
                     for e in block.get("elements", []))
            out.append(f'<div class="context">{" · ".join(parts)}</div>')
        elif kind == "image":
            title = _text(block.get("title"), names)
            out.append(f'<figure class="image">{_image(block, "block-img")}'
                       + (f"<figcaption>{title}</figcaption>" if title else "") + "</figure>")
        elif kind == "actions" and el_ctx:
            out.append(f'<div class="actions">{"".join(_element(e, el_ctx) for e in block.get("elements", []))}</div>')
        elif kind == "divider":
            out.append("<hr>")
    return "".join(out)


CSS = """*{box-sizing:border-box}body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f2f5;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:8px 16px;display:flex;gap:14px;align-items:center;flex-wrap:wrap}
header form{margin:0;display:flex;gap:6px;align-items:center}header a{color:#fff}
header select,header input{font-size:13px;padding:2px 4px}header .btn{color:#1d1c1d}
.layout{display:flex;min-height:calc(100vh - 48px)}
nav{width:220px;flex:none;background:#4a154b;color:#e9dfea;padding:12px 0}
nav h4{margin:14px 16px 4px;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#cdb8ce}
nav a,nav button{display:block;width:100%;text-align:left;color:#e9dfea;text-decoration:none;padding:4px 16px;
background:none;border:0;font:inherit;cursor:pointer}nav form{margin:0}
nav a.on,nav button.on{background:#1164a3;color:#fff}nav .count{float:right;opacity:.7;font-size:12px}
main{flex:1;min-width:0;padding:12px 20px;max-width:980px}
.conv{background:#fff;border-radius:8px;padding:8px 16px}
.msg{border-top:1px solid #eee;padding:8px 0}.msg:target{background:#fff8db}.who{font-weight:700}
.muted,.context{color:#616061;font-size:12px}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px;margin:6px 0}
blockquote{border-left:4px solid #ddd;margin:4px 0;padding-left:8px}pre{background:#f6f6f6;border:1px solid #ddd;border-radius:4px;padding:6px;margin:4px 0;overflow-x:auto}h3{margin:4px 0}
.actions{display:flex;gap:6px;margin:6px 0;align-items:center;flex-wrap:wrap}
.actions form,.section form{display:inline;margin:0}.section form{margin-left:8px}
.btn{border:1px solid #bbb;background:#fff;border-radius:4px;padding:3px 10px;cursor:pointer;
color:inherit;text-decoration:none;font-size:13px}.primary{background:#007a5a;color:#fff;border-color:#007a5a}
.danger{background:#e01e5a;color:#fff}details.thread{margin:4px 0 0 24px;border-left:2px solid #e8e8e8;
padding-left:10px}details.thread summary{color:#1264a3;cursor:pointer;font-size:12px}
.eph{background:#f8f8fb;border:1px dashed #c9c9d9;border-radius:6px;padding:6px 10px;margin:6px 0}
.eph>.muted:first-child{display:block}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
.composer{display:flex;gap:6px;margin:10px 0}.composer input{flex:1;padding:6px}
.modal-bg{position:fixed;inset:0;background:#0008;display:flex;align-items:center;justify-content:center}
.modal{background:#fff;border-radius:8px;padding:16px 20px;width:480px;max-height:90vh;overflow:auto}
.modal label{display:block;font-weight:700;margin-top:10px}
.modal select,.modal textarea,.modal input{width:100%;padding:6px}
.err{color:#e01e5a;font-size:12px}.block-img{max-width:100%;max-height:360px;border-radius:4px}
.ctx-img{height:16px;vertical-align:middle}.file img{max-width:100%;border:1px solid #ddd;border-radius:4px}
figure{margin:6px 0}.home .section{display:flex;justify-content:space-between;gap:8px;padding:4px 0}"""

# Reload every 3 s to show deliveries, but never while a modal is open or the user is typing.
EPHEMERAL_PREFIX = "eph:"
HOME_PREFIX = "home:"
HOME = "home"
MESSAGES_SHOWN = 50
# After a click, wait until the app has stopped calling Slack (or this long) before showing the page,
# so the result of the click is on the page the browser gets back.
SETTLE_SECONDS = 4.0
SETTLE_QUIET_SECONDS = 0.35
# How many item messages per channel the sandbox rebuilds with their threads when it starts.
RESTORED_PER_CHANNEL = MESSAGES_SHOWN

# Newest messages are at the bottom, as in Slack: open a conversation there, and keep the reader's place
# across the 3-second reloads (never while a modal is open or the user is typing): the threads they opened
# stay open (each <details> has the id of its message), then the scroll position comes back.
SCROLL_JS = """(function(){var k='threads:'+location.pathname+location.search;
function opened(){try{return JSON.parse(sessionStorage.getItem(k)||'[]')}catch(e){return []}}
opened().forEach(function(id){var d=document.getElementById(id);if(d)d.open=true});
document.addEventListener('toggle',function(e){var d=e.target,ids=opened().filter(function(i){return i!==d.id});
if(!d.id||d.tagName!=='DETAILS')return;if(d.open)ids.push(d.id);sessionStorage.setItem(k,JSON.stringify(ids))},true);
})();
(function(){var key='scroll:'+location.pathname+location.search,y=sessionStorage.getItem(key);
if(!location.hash){window.scrollTo(0,y===null?document.body.scrollHeight:+y)}
addEventListener('pagehide',function(){sessionStorage.setItem(key,window.scrollY)});})();"""
# "Live" (on unless the reader unticks it, remembered in localStorage) reloads every 3 s for new posts.
REFRESH_JS = """(function(){var box=document.getElementById('live'),on=localStorage.getItem(LIVE)!=='off';
box.checked=on;box.onchange=function(){localStorage.setItem(LIVE,box.checked?'on':'off')};
setInterval(function(){var a=document.activeElement;if(localStorage.getItem(LIVE)!=='off'&&
!document.querySelector('.modal')&&!(a&&/INPUT|TEXTAREA|SELECT/.test(a.tagName)))location.reload()},3000);
})();""".replace("LIVE", "'cxloop-sandbox-live'")

SAMPLE_KINDS = {"detractor": "NPS detractor", "passive": "CSAT passive", "promoter": "NPS promoter",
                "escalation": "Escalation", "random": "Random"}


def sample_response(kind: str, rng: random.Random) -> dict[str, Any]:
    """A realistic webhook body of the chosen kind (the same customers and comments as `cxloop simulate`)."""
    if kind not in SAMPLE_KINDS or kind == "random":
        return samples.sample_payload(rng)
    name, email, account, plan, vip = rng.choice(samples.CUSTOMERS)
    customer = {"name": name, "email": email, "account": account, "plan": plan, "vip": vip}
    if kind == "escalation":
        subject, priority, comment = rng.choice(samples.ESCALATIONS)
        return {"id": f"esc-{uuid.uuid4().hex[:10]}", "kind": "escalation", "subject": subject, "priority": priority,
                "comment": comment, "customer": customer}
    survey, score = {"detractor": ("nps", rng.randint(0, 6)), "passive": ("csat", 3),
                     "promoter": ("nps", rng.choice([9, 10]))}[kind]
    return {"id": f"resp-{uuid.uuid4().hex[:10]}", "kind": survey, "score": score, "customer": customer,
            "comment": rng.choice(samples.COMMENTS[kind])}


class SandboxPage:
    """The page's own memory: which modals it triggered, their errors, and /cxloop answers."""

    def __init__(self, fake: FakeSlack, runtime: Runtime, app_url: str) -> None:
        self.fake, self.runtime, self.app_url = fake, runtime, app_url.rstrip("/")
        self.users = {u["id"]: u for u in DEFAULT_USERS}
        # People by user id, and the team channels by id: <@U…> and <#C…> read as Slack shows them.
        self.names = ({uid: u["real_name"] for uid, u in self.users.items()} | {BOT_USER_ID: "cxloop"}
                      | self.channels())
        self._lock = threading.Lock()
        self._triggers: dict[str, str] = {}  # trigger_id → user; views.open carries no user id
        self._done_views: set[str] = set()  # submitted or cancelled modals
        self._view_errors: dict[str, tuple[dict[str, str], dict[str, str]]] = {}  # view id → (errors, form)
        self._local: dict[str, deque[dict[str, Any]]] = {}  # user → last command answers / notices
        self._rng = random.Random()

    # ---- helpers
    def user(self, uid: str | None) -> dict[str, Any]:
        return self.users.get(uid or "", DEFAULT_USERS[0])

    def channels(self) -> dict[str, str]:
        return {team.channel: team.name for team in self.runtime.config.teams}

    def conversation(self, uid: str, wanted: str | None) -> str:
        """The conversation to show: a team channel, the user's DM with the app, or the App Home."""
        if wanted == HOME or wanted == f"D{uid}" or wanted in self.channels():
            return str(wanted)
        return next(iter(self.channels()))

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

    def post(self, body: str, content_type: str = FORM) -> httpx.Response:
        """A genuine Slack request: v0-signed, to the app's one Request URL."""
        headers = {**sign_slack_request(self.runtime.signing_secret, body), "Content-Type": content_type}
        with httpx.Client(timeout=15) as client:
            return client.post(f"{self.app_url}/slack/events", content=body.encode(), headers=headers)

    def settle(self) -> None:
        """Wait until the app's work from a click has reached the fake Slack: nothing due in the outbox
        and no Web API call for a moment (views.open, chat.update, views.publish …), at most SETTLE_SECONDS."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            last = self.fake.last_call_at()
            quiet = last is None or time.time() - last >= SETTLE_QUIET_SECONDS
            if quiet:
                with self.runtime.session() as session:
                    if outbox_counts(session)["pending"] == 0:
                        return

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

    def home_view(self, uid: str) -> dict[str, Any] | None:
        """The App Home the app last published for this user."""
        return next((v["view"] for v in reversed(self.fake.views())
                     if v["type"] == "home" and v["user"] == uid), None)

    # ---- actions (run in a worker thread: they call the app, which is served by this same process)
    def ephemeral(self, uid: str, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            local = list(self._local.get(uid, ()))
        candidates = local + [e for e in self.fake.ephemerals(channel) if e["user"] in (uid, None)]
        found = next((e for e in candidates if e["ts"] == ts), None)
        return None if found is None else {"user": BOT_USER_ID, "text": found["text"], "blocks": found["blocks"]}

    def action(self, form: dict[str, str]) -> None:
        uid, channel, ts = self.user(form.get("as"))["id"], form.get("channel", ""), form.get("ts", "")
        is_ephemeral, is_home = ts.startswith(EPHEMERAL_PREFIX), ts.startswith(HOME_PREFIX)
        if is_ephemeral:
            ts = ts.removeprefix(EPHEMERAL_PREFIX)
        if is_home:
            message = self.home_view(uid)
        else:
            message = self.ephemeral(uid, channel, ts) if is_ephemeral else self.fake.message(channel, ts)
        found = None
        for index, block in enumerate((message or {}).get("blocks") or []):
            if _block_id(block, index) == form.get("block_id"):
                elements = block.get("elements") or ([block["accessory"]] if block.get("accessory") else [])
                found = next((e for e in elements if e.get("action_id") == form.get("action_id")), None)
        if found is None and message is not None and "button_value" in form:
            # A stale button (e.g. Claim after someone else claimed): deliver the click the page showed.
            found = {"type": "button", "action_id": form.get("action_id", ""), "value": form["button_value"],
                     "text": {"type": "plain_text", "text": form.get("button_text") or " "}}
        if message is None or found is None:
            self.note(uid, channel or None, "That message has changed since the page loaded; try again.")
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
        payload: dict[str, Any] = {
            "type": "block_actions", "user": self.slack_user(uid), "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN, "trigger_id": self.new_trigger(uid),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "enterprise": None, "is_enterprise_install": False,
            "state": {"values": {}}, "actions": [action],
        }
        if is_home:
            # A Home tab click carries the view, and no channel, message or response_url, as in Slack.
            payload.update(container={"type": "view", "view_id": message["id"]}, view=message)
        else:
            payload.update(
                container={"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": is_ephemeral},
                channel={"id": channel, "name": self.channels().get(channel, channel)},
                message={"type": "message", "user": message["user"], "ts": ts, "text": message["text"],
                         "blocks": message["blocks"]},
                # An ephemeral's response_url answers into the channel (a new ephemeral, or in_channel when shared).
                response_url=self.fake.response_url(channel if is_ephemeral else f"{channel}:{ts}", user=uid))
        self.send(uid, channel or None, urlencode({"payload": json.dumps(payload)}))

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
        if not raw.startswith("/"):
            if raw:
                self.note(uid, channel, "The app only hears slash commands here: try `/cxloop help` or `/vip acme`.")
            return
        command = "/vip" if raw.split(" ", 1)[0] == "/vip" else "/cxloop"
        text = raw.removeprefix(command).strip()
        # Both commands are declared with should_escape in manifest.yml: Slack sends "@ana" as "<@U0ANA|ana>".
        text = " ".join(self.escape_mention(word) for word in text.split(" "))
        fields = {"token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "team_domain": TEAM_DOMAIN,
                  "channel_id": channel, "channel_name": self.channels().get(channel, "directmessage"),
                  "user_id": uid, "user_name": self.user(uid)["name"], "command": command, "text": text,
                  "response_url": self.fake.response_url(channel, user=uid), "trigger_id": self.new_trigger(uid),
                  "api_app_id": API_APP_ID}
        answer = _json(self.send(uid, channel, urlencode(fields)))
        if answer.get("text") or answer.get("blocks"):  # /cxloop answers in the HTTP response itself
            self.note(uid, channel, str(answer.get("text") or ""), answer.get("blocks"))

    def open_home(self, form: dict[str, str]) -> None:
        """The user opened the Home tab: Slack sends app_home_opened, and the app publishes the view."""
        uid = self.user(form.get("as"))["id"]
        now = time.time()
        body = {"token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "api_app_id": API_APP_ID, "type": "event_callback",
                "event": {"type": "app_home_opened", "user": uid, "channel": f"D{uid}", "tab": "home",
                          "event_ts": f"{now:.6f}"},
                "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(now),
                "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}]}
        self.send(uid, None, json.dumps(body), content_type="application/json")

    def send_sample(self, form: dict[str, str]) -> str | None:
        """POST a signed sample response to the app's webhook, as a survey tool would; → where it went."""
        uid = self.user(form.get("as"))["id"]
        source = next((s for s in self.runtime.config.sources if s.type == "generic"), None)
        if source is None:
            self.note(uid, None, "No `generic` source in the configuration: nothing to send a sample to.")
            return None
        with self._lock:
            payload = sample_response(form.get("kind", "random"), self._rng)
        body = json.dumps(payload).encode()
        headers = {**sign_webhook(self.runtime.config.source_secrets[source.name], body),
                   "Content-Type": "application/json"}
        try:
            with httpx.Client(timeout=15) as client:
                response = client.post(f"{self.app_url}/webhooks/{source.name}", content=body, headers=headers)
        except httpx.HTTPError as exc:
            self.note(uid, None, f"Could not reach the app at {self.app_url}: {exc}")
            return None
        item_id = _json(response).get("id")
        if response.status_code != 202 or not isinstance(item_id, int):
            self.note(uid, None, f"The webhook answered HTTP {response.status_code}: {response.text[:200]}")
            return None
        with self.runtime.session() as session:
            channel = session.scalar(select(Item.channel).where(Item.id == item_id))
        score = payload.get("score", payload.get("priority"))
        self.note(uid, channel, f"Sent a sample {payload['kind'].upper()} {score} from {payload['customer']['name']}"
                                f" to POST /webhooks/{source.name}: item #{item_id}.")
        return channel

    def run_digest(self, form: dict[str, str]) -> str | None:
        """The team's daily digest, queued by the same function as `cxloop digest --send` (once per day)."""
        uid = self.user(form.get("as"))["id"]
        team = next((t for t in self.runtime.config.teams if t.name == form.get("team")), None)
        if team is None:
            return None
        now = self.runtime.now()
        try:
            day = date.fromisoformat(form.get("day", ""))
        except ValueError:
            day = now.astimezone(ZoneInfo(team.timezone)).date() - timedelta(days=1)
        with self.runtime.session() as session:
            sent = send_digest(session, config=self.runtime.config, team=team, day=day, now=now,
                               claimed_by=f"sandbox:{uid}")
        self.runtime.queued()
        self.note(uid, team.channel, f"Queued the daily digest of {day.isoformat()} for #{team.name}."
                  if sent else f"The digest of {day.isoformat()} for #{team.name} was already sent (once per day).")
        return team.channel

    def escape_mention(self, word: str) -> str:
        if word.startswith("@"):
            for user in self.users.values():
                if word[1:].lower() in (user["name"].lower(), user["id"].lower()):
                    return f"<@{user['id']}|{user['name']}>"
        return word

    def send(self, uid: str, channel: str | None, body: str, content_type: str = FORM) -> httpx.Response | None:
        try:
            response = self.post(body, content_type)
        except httpx.HTTPError as exc:
            self.note(uid, channel, f"Could not reach the app at {self.app_url}: {exc}")
            return None
        if response.status_code != 200:
            self.note(uid, channel, f"The app answered HTTP {response.status_code}: {response.text[:200]}")
        return response

    # ---- the page
    def dashboard_url(self) -> str:
        # In the sandbox the token is made up at start-up; the link carries it, and /dashboard sets its cookie.
        token = getattr(self.runtime.settings, "dashboard_token", None)
        return "/dashboard" + (f"?{urlencode({'token': token})}" if token else "")

    def reader(self, uid: str) -> tuple[ZoneInfo, datetime]:
        """The timezone (from the user's Slack profile) and the moment date tokens are shown for."""
        try:
            tz = ZoneInfo(self.user(uid).get("tz") or "UTC")
        except (KeyError, ValueError):
            tz = ZoneInfo("UTC")
        return tz, self.runtime.now()

    def page(self, uid: str, wanted: str | None = None, focus: str | None = None) -> str:
        token, reader_id = _READER.set(self.reader(uid)), _READER_ID.set(uid)
        try:
            return self._page(uid, wanted, focus)
        finally:
            _READER.reset(token)
            _READER_ID.reset(reader_id)

    def _page(self, uid: str, wanted: str | None = None, focus: str | None = None) -> str:
        current = self.conversation(uid, wanted)
        users = "".join(f'<option value="{esc(u)}"{" selected" if u == uid else ""}>{esc(self.names[u])}</option>'
                        for u in self.users)
        kinds = "".join(f'<option value="{k}">{esc(v)}</option>' for k, v in SAMPLE_KINDS.items())
        teams = "".join(f'<option value="{esc(t.name)}"{" selected" if t.channel == current else ""}>#{esc(t.name)}'
                        "</option>" for t in self.runtime.config.teams)
        here = _hidden(**{"as": uid, "c": current})
        header = (
            '<header><b>cxloop sandbox</b>'
            f'<form method="get" action="/sandbox">You are <select name="as" onchange="this.form.submit()">{users}'
            f'</select><input type="hidden" name="c" value="{esc(current)}"><noscript><button>Switch</button>'
            '</noscript></form>'
            f'<form method="post" action="/sandbox/sample" id="sample">{here}<select name="kind" aria-label="Kind">'
            f'{kinds}</select><button class="btn">Send sample response</button></form>'
            f'<form method="post" action="/sandbox/digest" id="digest">{here}<select name="team" aria-label="Team">'
            f'{teams}</select><button class="btn">Run digest now</button></form>'
            f'<a href="{esc(self.dashboard_url())}" target="_blank">Dashboard ↗</a>'
            '<label title="Reload every 3 s to show new posts"><input type="checkbox" id="live" checked> Live</label>'
            f'<span class="muted" style="color:#ddd">Fake Slack at {esc(self.fake.url)}</span></header>')
        body = self.home_html(uid) if current == HOME else self.conversation_html(uid, current, focus)
        modal = self.open_modal(uid)
        return (f'<!doctype html><html><head><meta charset="utf-8"><title>cxloop sandbox</title>'
                f"<style>{CSS}</style></head><body>{header}<div class=\"layout\">{self.sidebar_html(uid, current)}"
                f"<main>{body}</main></div>{self.modal_html(uid, modal, current) if modal else ''}"
                f"<script>{SCROLL_JS}{'' if modal else REFRESH_JS}</script></body></html>")

    def sidebar_html(self, uid: str, current: str) -> str:
        def link(target: str, label: str, count: int | None = None) -> str:
            on = ' class="on" aria-current="page"' if target == current else ""
            badge = f'<span class="count">{count}</span>' if count else ""
            return f'<a href="/sandbox?{urlencode({"as": uid, "c": target})}"{on}>{label}{badge}</a>'

        home_on = ' class="on" aria-current="page"' if current == HOME else ""
        parts = ['<nav aria-label="Workspace"><h4>cxloop</h4>'
                 f'<form method="post" action="/sandbox/home">{_hidden(**{"as": uid})}'
                 f'<button{home_on} id="open-home">🏠 Home</button></form><h4>Channels</h4>']
        for channel, name in self.channels().items():
            parts.append(link(channel, f"# {esc(name)}", self.fake.top_level_count(channel)))
        parts.append("<h4>Direct messages</h4>" + link(f"D{uid}", "💬 cxloop", self.fake.top_level_count(f"D{uid}")))
        return "".join(parts) + "</nav>"

    def _draw_linked(self, channel: str, ts: str) -> None:
        """An older item message was restored as text only: draw it from the database, buttons included."""
        with self.runtime.session() as session:
            row = session.execute(select(Item, FollowUp).join(SlackMessage, SlackMessage.item_id == Item.id)
                                  .join(FollowUp, FollowUp.item_id == Item.id)
                                  .where(SlackMessage.channel == channel, SlackMessage.ts == ts)).first()
            if row is not None:
                text, blocks = item_message(item_view(*row))
                self.fake.replace_message(channel, ts, text=text, blocks=blocks)

    def conversation_html(self, uid: str, channel: str, focus: str | None = None) -> str:
        is_dm = channel.startswith("D")
        title = "Direct messages with cxloop" if is_dm else f"#{esc(self.channels()[channel])}"
        messages = self.fake.messages(channel)
        replies: dict[str, list[dict[str, Any]]] = {}
        top: list[dict[str, Any]] = []
        for m in messages:
            if m.get("thread_ts") and m["thread_ts"] != m["ts"]:
                replies.setdefault(m["thread_ts"], []).append(m)
            else:
                top.append(m)
        parts = [f'<section class="conv" data-channel="{esc(channel)}"><h2>{title} '
                 f'<span class="muted">{esc(channel)}</span></h2>']
        shown = top[-MESSAGES_SHOWN:]
        linked = None
        if focus and all(m["ts"] != focus for m in shown):
            # A link (App Home, /cxloop open, a digest) to an older message: show it above the latest ones.
            linked = next((m for m in top if m["ts"] == focus), None)
            if linked is not None:
                self._draw_linked(channel, focus)
                linked = self.fake.message(channel, focus) or linked
                shown = [linked, *shown]
        if len(top) > MESSAGES_SHOWN:
            parts.append(f'<p class="muted">Showing {"the linked message and " if linked else ""}the latest '
                         f'{MESSAGES_SHOWN} of {len(top)} messages.</p>')
        for m in shown:
            thread = replies.get(m["ts"], [])
            parts.append(self.message_html(uid, channel, m, thread))
        if not top:
            parts.append('<p class="muted">No messages yet. Send one with <b>Send sample response</b> above, '
                         "or with <code>cxloop simulate</code>.</p>")
        ephemerals = [e for e in self.fake.ephemerals(channel) if e["user"] in (uid, None)]
        with self._lock:
            ephemerals += [e for e in self._local.get(uid, ()) if e["channel"] in (channel, None)]
        for e in sorted(ephemerals, key=lambda e: float(e["ts"]))[-LOCAL_EPHEMERALS_KEPT:]:
            # Buttons in ephemerals work too (e.g. /vip's Open and Log touch), as in Slack.
            ctx = {"as": uid, "channel": channel, "ts": EPHEMERAL_PREFIX + e["ts"], "c": channel}
            content = render_blocks(e["blocks"], self.names, ctx) or render_mrkdwn(e["text"], self.names)
            parts.append(f'<div class="eph"><span class="muted">Only visible to you</span>{content}</div>')
        parts.append(f'<form class="composer" method="post" action="/sandbox/command">'
                     f"{_hidden(**{'as': uid, 'channel': channel, 'c': channel})}"
                     f'<input name="text" aria-label="Message" placeholder="/cxloop help  or  /vip acme" '
                     f'value="/cxloop "> <button class="btn">Send</button></form></section>')
        return "".join(parts)

    def message_html(self, uid: str, channel: str, m: dict[str, Any], thread: list[dict[str, Any]] = ()) -> str:
        # As Slack shows a message's time: in the reader's timezone, like the date tokens inside it (the
        # server's clock here made "Dec 06 17:14" above "received Today at 12:14 PM").
        when = render_date(int(float(m["ts"])), "{date_short_pretty} {time}", *(_READER.get() or self.reader(uid)))
        ctx = {"as": uid, "channel": channel, "ts": m["ts"], "c": channel}
        content = render_blocks(m.get("blocks") or [], self.names, ctx) or (
            f'<div class="mtext">{render_mrkdwn(m.get("text", ""), self.names)}</div>')
        for file in m.get("files") or []:
            if str(file.get("mimetype", "")).startswith("image/"):
                content += (f'<figure class="file"><img src="/sandbox/files/{esc(file["id"])}" '
                            f'alt="{esc(file.get("title") or file.get("name") or "")}"></figure>')
            else:
                content += f'<div class="muted">📎 {esc(file.get("title") or file.get("name") or "")}</div>'
        edited = ' <span class="muted">(edited)</span>' if m.get("edited") else ""
        item_id = ((m.get("metadata") or {}).get("event_payload") or {}).get("item_id")
        data = f' data-item="{esc(str(item_id))}"' if item_id is not None else ""
        replies = ""
        if thread:
            inner = "".join(self.message_html(uid, channel, r) for r in thread)
            replies = (f'<details class="thread" id="t-{esc(m["ts"])}"><summary>{len(thread)} repl{"y" if len(thread) == 1 else "ies"}'
                       f"</summary>{inner}</details>")
        return (f'<div class="msg" id="m-{esc(m["ts"])}"{data}><span class="who">'
                f'{esc(self.names.get(m.get("user", ""), m.get("user", "")))}</span> <span class="muted">{when}</span>'
                f"{edited}{content}{replies}</div>")

    def home_html(self, uid: str) -> str:
        view = self.home_view(uid)
        if view is None:
            return ('<section class="conv home"><h2>Home</h2><p class="muted">The app has not published your '
                    "Home yet; it does when you open it (click Home again in a moment).</p></section>")
        ctx = {"as": uid, "channel": "", "ts": HOME_PREFIX + view["id"], "c": HOME}
        return f'<section class="conv home"><h2>Home</h2>{render_blocks(view.get("blocks", []), self.names, ctx)}</section>'

    def modal_html(self, uid: str, view: dict[str, Any], current: str) -> str:
        with self._lock:
            errors, previous = self._view_errors.get(view["id"], ({}, {}))
        fields: list[str] = []
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                fields.append(render_blocks([block], self.names, None))
                continue
            el, name = block["element"], f"in_{block['block_id']}"
            label = esc(block["label"]["text"]) + ' <span class="muted">(optional)</span>' * bool(block.get("optional"))
            fields.append(f'<label for="{esc(name)}">{label}</label>' + self.input_html(el, name, previous.get(name)))
            if block["block_id"] in errors:
                fields.append(f'<div class="err">{esc(str(errors[block["block_id"]]))}</div>')
        title = esc(view.get("title", {}).get("text", ""))
        submit = esc((view.get("submit") or {}).get("text", "Submit"))
        close = esc((view.get("close") or {}).get("text", "Cancel"))
        hidden = _hidden(**{"as": uid, "view_id": view["id"], "c": current})
        return (f'<div class="modal-bg"><form class="modal" method="post" action="/sandbox/view" role="dialog" '
                f'aria-label="{title}">{hidden}<h3>{title}</h3>{"".join(fields)}<p style="text-align:right">'
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
            return f'<select name="{esc(name)}" id="{esc(name)}"><option value="">{placeholder}</option>{opts}</select>'
        if kind == "datepicker":
            value = el.get("initial_date", "") if previous is None else previous
            return f'<input type="date" name="{esc(name)}" id="{esc(name)}" value="{esc(value)}">'
        value = el.get("initial_value", "") if previous is None else previous
        limit = f' maxlength="{int(el["max_length"])}"' if el.get("max_length") else ""
        return (f'<textarea name="{esc(name)}" id="{esc(name)}" rows="{4 if el.get("multiline") else 1}"{limit}>'
                f"{esc(value)}</textarea>")


def _json(response: httpx.Response | None) -> dict[str, Any]:
    try:
        answer = response.json() if response is not None and response.content else {}
    except ValueError:  # e.g. Bolt's plain-text 401 for a bad signature
        answer = {}
    return answer if isinstance(answer, dict) else {}


# ---- the fake Slack forgets everything when the process stops; the database does not --------------------

def restore_history(fake: FakeSlack, runtime: Runtime, *, per_channel: int = RESTORED_PER_CHANNEL) -> int:
    """Put the app's earlier posts back into a freshly started fake Slack, from the database.

    Every recorded item message gets its ts back, so a later chat.update or thread reply finds it; the
    latest `per_channel` of each channel are rendered from the item's current state (the same builder
    the worker posts with) with their sent thread replies, the older ones as their fallback text only,
    which keeps start-up fast with thousands of items. Returns how many messages were restored.
    """
    restored = 0
    now = runtime.now()
    with runtime.session() as session:
        posted = session.execute(select(SlackMessage, Item, FollowUp)
                                 .join(Item, Item.id == SlackMessage.item_id)
                                 .join(FollowUp, FollowUp.item_id == Item.id)
                                 .order_by(SlackMessage.channel, SlackMessage.posted_at, SlackMessage.id)).all()
        by_channel: dict[str, list[tuple[SlackMessage, Item, FollowUp]]] = {}
        for row in posted:
            by_channel.setdefault(row[0].channel, []).append(row)
        recent: dict[int, SlackMessage] = {}
        for rows in by_channel.values():
            for index, (message, item, follow_up) in enumerate(rows):
                metadata = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"item_id": item.id}}
                if index >= len(rows) - per_channel:
                    # As the worker renders a card: with "N other customers said something similar".
                    similar = similar_or_none(session, item.id, now)
                    text, blocks = item_message(item_view(item, follow_up, similar=similar))
                    recent[item.id] = message
                else:
                    text, blocks = item_message(item_view(item, follow_up))[0], []
                fake.restore_message(message.channel, message.ts, text=text, blocks=blocks, metadata=metadata)
                restored += 1
        if recent:
            replies = session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == THREAD_REPLY, OutboxMessage.status == SENT,
                OutboxMessage.item_id.in_(list(recent))).order_by(OutboxMessage.sent_at, OutboxMessage.id)).scalars()
            for row in replies:
                message = recent[row.item_id]
                sent_at = row.sent_at or row.created_at
                fake.restore_message(message.channel, _ts_at(sent_at, row.id), text=row.payload.get("text") or " ",
                                     blocks=row.payload.get("blocks") or [], thread_ts=message.ts)
                restored += 1
        restored += _restore_posted_messages(fake, session, per_channel)
    return restored


def _restore_posted_messages(fake: FakeSlack, session: Session, per_channel: int) -> int:
    """Digests, DMs and reports the worker posted (POST_MESSAGE rows that recorded where they landed), back at
    their channel and ts: the job ledger says they were sent, so the channels show them."""
    rows = session.execute(select(OutboxMessage.id, OutboxMessage.payload).where(
        OutboxMessage.kind == POST_MESSAGE, OutboxMessage.status == SENT).order_by(OutboxMessage.id)).all()
    by_channel: dict[str, list[tuple[int, dict, dict]]] = {}
    for row_id, payload in rows:
        posted = (payload or {}).get("posted") or {}
        if posted.get("channel") and posted.get("ts"):
            by_channel.setdefault(posted["channel"], []).append((row_id, payload, posted))
    restored = 0
    for channel, posts in by_channel.items():
        for index, (row_id, payload, posted) in enumerate(posts):
            blocks = payload.get("blocks") or [] if index >= len(posts) - per_channel else []
            fake.restore_message(channel, posted["ts"], text=payload.get("text") or " ", blocks=blocks,
                                 thread_ts=payload.get("thread_ts"),
                                 metadata={"event_type": OUTBOX_EVENT_TYPE, "event_payload": {"outbox_id": row_id}})
            restored += 1
    return restored


def _ts_at(moment: datetime, salt: int) -> str:
    return f"{int(moment.timestamp())}.{salt % 1_000_000:06d}"


def sandbox_routes(fake: FakeSlack, runtime: Runtime, *, app_url: str) -> list[Route]:
    """GET /sandbox and the POST endpoints that turn clicks into signed Slack requests."""
    sandbox = SandboxPage(fake, runtime, app_url)

    async def show(request: Request) -> HTMLResponse:
        # The chosen user sticks (a cookie), so links inside messages keep who you are.
        uid = sandbox.user(request.query_params.get("as") or request.cookies.get(USER_COOKIE))["id"]
        page = await run_in_threadpool(sandbox.page, uid, request.query_params.get("c"), request.query_params.get("m"))
        response = HTMLResponse(page)
        response.set_cookie(USER_COOKIE, uid, samesite="lax", httponly=True)
        return response

    def endpoint(handler: Callable[[dict[str, str]], str | None]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            # Our forms are urlencoded; parsing them here avoids Starlette's python-multipart dependency.
            body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
            form = dict(parse_qsl(body, keep_blank_values=True))
            # The handler calls the app over HTTP, and the app is served by this event loop: off-loop.
            went_to = await run_in_threadpool(handler, form)
            await run_in_threadpool(sandbox.settle)
            uid = sandbox.user(form.get("as"))["id"]
            query = {"as": uid}
            if went_to or form.get("c"):
                query["c"] = went_to or form["c"]
            # 303 so a reload doesn't re-submit the click.
            return RedirectResponse(f"/sandbox?{urlencode(query)}", 303)
        return run

    async def home(request: Request) -> Response:
        body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        await run_in_threadpool(sandbox.open_home, form)
        await run_in_threadpool(sandbox.settle)
        return RedirectResponse(f"/sandbox?{urlencode({'as': sandbox.user(form.get('as'))['id'], 'c': HOME})}", 303)

    async def file(request: Request) -> Response:
        found = next((f for f in fake.files() if f["id"] == request.path_params["file_id"]), None)
        if found is None or not str(found["mimetype"]).startswith("image/"):
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(found["bytes"], media_type=found["mimetype"],
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})

    return [
        Route("/sandbox", show, methods=["GET"]),
        Route("/sandbox/action", endpoint(sandbox.action), methods=["POST"]),
        Route("/sandbox/view", endpoint(sandbox.submit_view), methods=["POST"]),
        Route("/sandbox/command", endpoint(sandbox.command), methods=["POST"]),
        Route("/sandbox/sample", endpoint(sandbox.send_sample), methods=["POST"]),
        Route("/sandbox/digest", endpoint(sandbox.run_digest), methods=["POST"]),
        Route("/sandbox/home", home, methods=["POST"]),
        Route("/sandbox/files/{file_id}", file, methods=["GET"]),
    ]
