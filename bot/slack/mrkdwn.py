"""Safe mrkdwn: customer text goes through here before it reaches a Slack message.

Slack's documented escaping is just & < > -> &amp; &lt; &gt;. With that done, "<!channel>" or
"<@U123>" typed by a customer renders as text and notifies nobody.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ELLIPSIS = "…"

_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Things a cut must not land inside: our escape entities, and <...> tokens (mentions, links,
# dates) in bot-composed mrkdwn. Escaped customer text contains no raw "<" at all.
_ATOMIC_RE = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]{1,400}>")


def escape_mrkdwn(text: str | None) -> str:
    if not text:
        return ""
    # "&" first, or the entities we add would themselves be escaped again.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str | None, limit: int) -> str:
    """At most `limit` characters; a shortened result ends in "…".

    The cut never splits an "&amp;"-style entity or a "<...>" token: it moves back to just
    before it instead, so Slack never shows half an entity or a broken mention.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not text:
        return ""
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    for match in _ATOMIC_RE.finditer(text, max(0, cut - 402), cut + 402):
        if match.start() < cut < match.end():
            cut = match.start()
            break
    # Trailing whitespace before the ellipsis looks like a rendering glitch.
    return text[:cut].rstrip() + ELLIPSIS


def escaped_truncated(text: str | None, limit: int) -> str:
    """Escape, then truncate: the length limit applies to what Slack receives."""
    return truncate(escape_mrkdwn(text), limit)


def user_mention(user_id: str | None) -> str:
    """ "<@U123>" for a real Slack user id; anything else is shown as escaped text, never a ping."""
    if user_id and _USER_ID_RE.match(user_id):
        return f"<@{user_id}>"
    return escape_mrkdwn(user_id)


def mention_target(target: str | None) -> str:
    """A configured mention: a user group (S…) as <!subteam^S…>, a user as <@U…>; nothing for None."""
    if not target:
        return ""
    return f"<!subteam^{target}>" if target.startswith("S") else user_mention(target)


def _as_utc(moment: datetime) -> datetime:
    # Naive datetimes are taken to be UTC, which is how the app stores them.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def slack_date(moment: datetime, fmt: str = "{date_short_pretty} at {time}", timezone: str | None = None) -> str:
    """Slack date token: shown in each reader's own timezone. The fallback (notifications, old clients)
    is readable, "Thu 03 Dec 2026 16:06 UTC", in `timezone` when given ("… 11:06 EST")."""
    utc = _as_utc(moment)
    local = utc.astimezone(ZoneInfo(timezone)) if timezone else utc
    return f"<!date^{int(utc.timestamp())}^{fmt}|{local:%a %d %b %Y %H:%M} {local.tzname() or 'UTC'}>"
