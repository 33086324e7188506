"""Cuts: NPS, CSAT, volume, top themes and median time to resolve per plan, segment, role, tenure or agent.

One window [start, end) and any extra item filter (a team, …). Figures follow bot.insights.stats:
volume and NPS / CSAT are over the items *received* in the window; the median time to resolve is over
the follow-ups *resolved* in it (whenever their item arrived). A group with fewer than SMALL_GROUP
responses is marked small: its percentages say little. Items with no value for the cut form the group
"(none)" ("(unknown)" for tenure). Functions take a session and never commit.

Tenure is derived per response: the days from the customer's `customer_since` to `received_at`,
bucketed in TENURE_BUCKETS (a start after the response is "(unknown)").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.common.durations import duration
from bot.common.labels import plural
from bot.insights.stats import (
    CSAT_SATISFIED_MIN,
    DETRACTOR,
    PROMOTER,
    Median,
    csat_score,
    median_of,
    minutes_between,
    nps_score,
)
from models import FollowUp, Item

DIMENSIONS = ("plan", "segment", "role", "tenure", "agent")
SMALL_GROUP = 5  # responses: below this, a group's percentages are marked "small group"
TOP_THEMES = 3
NONE_LABEL, UNKNOWN_TENURE = "(none)", "(unknown)"
# (days below which, label), in order; the last catches the rest.
TENURE_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (30, "<30d"), (183, "1–6 mo"), (365, "6–12 mo"), (730, "1–2 y"), (None, "2 y+"),
)
_ORDER = {label: index for index, (_days, label) in enumerate(TENURE_BUCKETS)}


def tenure_bucket(since: date | None, received_at: datetime) -> str:
    """The tenure bucket of a response received at `received_at` from a customer since `since`."""
    if since is None:
        return UNKNOWN_TENURE
    days = (received_at.date() - since).days
    if days < 0:
        return UNKNOWN_TENURE
    return next(label for limit, label in TENURE_BUCKETS if limit is None or days < limit)


@dataclass(frozen=True)
class GroupCut:
    name: str
    volume: int                     # items received in the window
    nps: int | None
    nps_responses: int
    csat: int | None
    csat_responses: int
    top_themes: tuple[tuple[str, int], ...]
    resolve: Median                 # median minutes to resolve, over the follow-ups resolved in the window

    @property
    def small(self) -> bool:
        return self.volume < SMALL_GROUP


@dataclass(frozen=True)
class SegmentCut:
    by: str
    start: datetime
    end: datetime
    groups: tuple[GroupCut, ...] = field(default_factory=tuple)


def _columns(by: str) -> tuple[Any, ...]:
    if by not in DIMENSIONS:
        raise ValueError(f"cannot cut by {by!r}: one of {', '.join(DIMENSIONS)}")
    return (Item.customer_since, Item.received_at) if by == "tenure" else (getattr(Item, by),)


def _key(by: str, values: Sequence[Any]) -> str:
    if by == "tenure":
        return tenure_bucket(values[0], values[1])
    return values[0] if values[0] not in (None, "") else NONE_LABEL


def cut_by(session: Session, *, by: str, start: datetime, end: datetime,
           where: Sequence[ColumnElement[bool]] = ()) -> SegmentCut:
    """The items matching `where`, cut by `by` over [start, end); groups by volume, largest first."""
    columns = _columns(by)
    width = len(columns)
    volume: Counter[str] = Counter()
    nps_counts: dict[str, Counter[str]] = defaultdict(Counter)
    csat_counts: dict[str, Counter[str]] = defaultdict(Counter)
    themes: dict[str, Counter[str]] = defaultdict(Counter)
    received = session.execute(
        select(*columns, Item.kind, Item.category, Item.score, Item.themes)
        .where(Item.received_at >= start, Item.received_at < end, *where)
        .execution_options(yield_per=5000))
    for row in received:
        key = _key(by, row[:width])
        kind, category, score, item_themes = row[width:]
        volume[key] += 1
        if kind == "nps":
            nps_counts[key]["responses"] += 1
            nps_counts[key][category or ""] += 1
        elif kind == "csat" and score is not None:
            csat_counts[key]["responses"] += 1
            csat_counts[key]["satisfied"] += score >= CSAT_SATISFIED_MIN
        themes[key].update(item_themes or ())
    waits: dict[str, list[float]] = defaultdict(list)
    resolved = session.execute(
        select(*columns, minutes_between(session, FollowUp.resolved_at, Item.received_at))
        .select_from(FollowUp).join(Item, Item.id == FollowUp.item_id)
        .where(FollowUp.resolved_at >= start, FollowUp.resolved_at < end, *where)
        .execution_options(yield_per=5000))
    for row in resolved:
        waits[_key(by, row[:width])].append(float(row[width]))
    groups = [GroupCut(
        name=key, volume=volume[key],
        nps=nps_score(nps_counts[key][PROMOTER], nps_counts[key][DETRACTOR], nps_counts[key]["responses"]),
        nps_responses=nps_counts[key]["responses"],
        csat=csat_score(csat_counts[key]["satisfied"], csat_counts[key]["responses"]),
        csat_responses=csat_counts[key]["responses"],
        top_themes=tuple(sorted(themes[key].items(), key=lambda t: (-t[1], t[0]))[:TOP_THEMES]),
        resolve=median_of(sorted(waits[key])),
    ) for key in set(volume) | set(waits)]
    return SegmentCut(by=by, start=start, end=end, groups=tuple(sorted(groups, key=lambda g: _rank(by, g))))


def _rank(by: str, group: GroupCut) -> tuple:
    missing = group.name in (NONE_LABEL, UNKNOWN_TENURE)
    if by == "tenure":
        return (missing, _ORDER.get(group.name, len(_ORDER)))
    return (missing, -group.volume, group.name)


# --- text -------------------------------------------------------------------------------------------

def _signed(value: int | None) -> str:
    return "–" if value is None else f"{value:+d}"


def _percent(value: int | None) -> str:
    return "–" if value is None else f"{value}%"


def theme_list(themes: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{theme.replace('_', ' ')} {count}" for theme, count in themes) or "–"


def cut_rows(cut: SegmentCut) -> list[dict[str, str]]:
    """One dict per group with the columns the CLI and the dashboard show, as text."""
    return [{
        cut.by.capitalize(): group.name,
        "Responses": str(group.volume),
        "NPS": _signed(group.nps) + (f" ({group.nps_responses})" if group.nps_responses else ""),
        "CSAT": _percent(group.csat) + (f" ({group.csat_responses})" if group.csat_responses else ""),
        "Resolve": duration(group.resolve.minutes),
        "Top themes": theme_list(group.top_themes),
        "": "small group" if group.small else "",
    } for group in cut.groups]


def cut_text(cut: SegmentCut, window: str) -> str:
    """The cut as a plain-text table, for the command line."""
    rows = cut_rows(cut)
    if not rows:
        return f"By {cut.by}, {window}: no responses."
    heads = list(rows[0])
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in heads}
    line = "  ".join
    out = [f"By {cut.by}, {window}:", "", line(h.ljust(widths[h]) for h in heads).rstrip()]
    out += [line(r[h].ljust(widths[h]) for h in heads).rstrip() for r in rows]
    out += ["", f"NPS and CSAT (satisfied = 4–5 of 5) over the responses received, response counts in brackets; "
                f"Resolve: median time to resolve over the follow-ups resolved in the window. "
                f"Small group: fewer than {plural(SMALL_GROUP, 'response')}."]
    return "\n".join(out)


def cut_line(cut: SegmentCut, *, limit: int = 5) -> str:
    """A one-line summary ("Enterprise NPS +20 from 12 · Growth … (small group)"), for the weekly report."""
    parts = []
    for group in cut.groups[:limit]:
        # Each figure with the responses it is computed from (not the group's whole volume).
        if group.nps_responses:
            figure = f"NPS {_signed(group.nps)} from {plural(group.nps_responses, 'NPS response')}"
        elif group.csat_responses:
            figure = f"CSAT {_percent(group.csat)} from {plural(group.csat_responses, 'CSAT response')}"
        else:
            figure = f"no score, {plural(group.volume, 'response')}"
        parts.append(f"{group.name} {figure}" + (" (small group)" if group.small else ""))
    rest = len(cut.groups) - limit
    if rest > 0:
        parts.append(f"{plural(rest, 'other')}")
    return " · ".join(parts) or "no responses"


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: a day ("2026-01-01", from its UTC midnight) or an age ("90d", "12w"); ValueError if not."""
    text = text.strip().lower()
    if re.fullmatch(r"[0-9]{1,5}[dw]", text):
        days = int(text[:-1]) * (7 if text.endswith("w") else 1)
        return now - timedelta(days=days)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        start = datetime.combine(date.fromisoformat(text), time(), UTC)
        if start > now:
            raise ValueError(f"{text} is in the future")
        return start
    raise ValueError(f"expected a date such as 2026-01-01 or an age such as 90d, got {text[:40]!r}")
