"""The manager's status report, drafted: what customers said, what she did, what is open, for one team.

`/cxloop status [3d|7d]` and the clock's `[teams] status_report` DM it as a draft (bot/insights/scheduled.py);
bot/slack/status_blocks.py renders it. Every figure is over a stated window: the local days asked for
("last 3 days to Fri 4 Dec"), or since her last status report of this team (the job ledger), else 3 days;
trends compare with the period of the same length just before. What is open is as of `now`.

Figures come from their one definition: NPS from bot.insights.stats, themes as ingest stored them,
linked issues from bot.product.queries.demand. Takes `session`, never commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.common.durations import duration
from bot.common.labels import customer_label, item_label
from bot.common.periods import day_label, local_midnight, local_today
from bot.config import AppConfig, TeamConfig
from bot.followups.queries import listed, unresolved
from bot.followups.triage import triage_order
from bot.insights.stats import DETRACTOR, PROMOTER, Nps, nps, sla_breach_clause
from bot.product.queries import demand
from bot.schedule.plans import STATUS_REPORT, STATUS_REQUEST
from bot.slack.links import message_link
from models import Account, FollowUp, FollowUpEvent, IssueLink, Item, JobRun, SlackMessage, Touch

PERIODS = {"3d": 3, "7d": 7}
DEFAULT_DAYS = 3
# "Since your last status" only when that was at least this long ago and at most SINCE_LAST_MAX_DAYS.
SINCE_LAST_MIN = timedelta(hours=1)
SINCE_LAST_MAX_DAYS = 14
QUOTE_THEMES = 5          # themes with quotes: the urgent ones first, then the most quoted
# What a manager must see even when one customer says it: lost data, a customer about to leave, a breach.
URGENT_THEMES = ("data_loss", "churn_risk", "security")
QUOTES_PER_THEME = 2      # critical ones; plus one glowing
OPEN_LISTED = 5           # items listed under each "open" heading (the count says how many in all)
KUDOS_MAX = 5
ACTIVE_ISSUES = 5
COMMENT_CHARS = 2000      # what is read of a comment: enough for any quote shown
OTHER_THEME = "other"
CHURN_RISK, USABILITY, BUGS, FEATURE_REQUESTS = "churn_risk", "usability", "bugs", "feature_request"

# Kudos: a promoter comment that names a team ("your support team") or a person ("thanks Maria",
# "Maria was great"). Capitalised words that are not names are left out; simple, and shown as matched.
_TEAM_WORDS = re.compile(r"\b(?:(?:your|the|our)\s+)?(support|success|customer success|cs|onboarding|account|sales|"
                         r"service|help ?desk)\s+(team|staff|folks|people|crew|rep|manager)\b|\byour team\b", re.I)
_THANKS_NAME = re.compile(r"\b(?i:thanks|thank you|kudos|shout[- ]?out|props|grateful)(?:\s+(?i:to|for))?\s+"
                          r"([A-Z][a-z]{1,20}(?:\s[A-Z][a-z]{1,20})?)\b")
_NAME_PRAISED = re.compile(r"\b([A-Z][a-z]{1,20})\s+(?:was|is|has been|were|went)\s+(?:so\s+|very\s+|really\s+)?"
                           r"(?:great|amazing|awesome|fantastic|super|helpful|excellent|brilliant|wonderful|"
                           r"incredible|patient|quick|kind|above and beyond)")
_NOT_NAMES = frozenset({
    "It", "This", "That", "The", "They", "We", "I", "You", "He", "She", "Everything", "Everyone", "Support",
    "Service", "Onboarding", "App", "Product", "Setup", "There", "Here", "What", "Which", "Team", "Your",
    "Our", "Overall", "Today", "Yesterday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
    "Sunday", "Again", "Very", "So", "Really", "All", "And", "But", "For", "Thanks", "Thank",
})


class PeriodError(ValueError):
    """A period `/cxloop status` does not take."""


def parse_period(words: list[str]) -> int | None:
    """`[]` → None (since the last status, else 3 days); `["3d"]` → 3; `["7d"]` → 7; else PeriodError."""
    if not words:
        return None
    if len(words) == 1 and words[0].lower() in PERIODS:
        return PERIODS[words[0].lower()]
    raise PeriodError(" ".join(words))


# --- the report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    label: str          # "last 3 days to Fri 4 Dec", "since your last status (Wed 2 Dec 16:00) to Fri 4 Dec"
    previous_label: str  # "the 3 days before"
    # Where the period before starts: N whole local days before `start` for "last N days" (the same days a
    # weekly report counts), else as long before `start` as the window itself.
    previous_from: datetime | None = None

    @property
    def previous_start(self) -> datetime:
        return self.previous_from or self.start - (self.end - self.start)


@dataclass(frozen=True)
class Quote:
    item_id: int
    theme: str
    tone: str            # critical | glowing
    text: str            # raw comment (escape to show)
    customer: str        # "Maya Chen (Acme)" (raw)
    account: str | None
    arr: float | None
    score_label: str     # "NPS 2 · Detractor"
    link: str | None     # the item's Slack message


@dataclass(frozen=True)
class Kudos:
    quote: Quote
    named: str           # who the customer named, as written


@dataclass(frozen=True)
class Trend:
    name: str
    current: int
    previous: int


@dataclass(frozen=True)
class OpenRef:
    item_id: int
    label: str           # item_label (raw)
    link: str | None
    note: str = ""       # "due 1 Dec", the churn keyword…


@dataclass(frozen=True)
class OpenList:
    title: str
    total: int
    items: tuple[OpenRef, ...]


@dataclass(frozen=True)
class Activity:
    claims: int = 0
    resolutions: int = 0
    replies: int = 0
    notes: int = 0
    touches: int = 0
    told: int = 0        # customers told a linked issue shipped

    @property
    def total(self) -> int:
        return self.claims + self.resolutions + self.replies + self.notes + self.touches + self.told


@dataclass(frozen=True)
class ActiveIssue:
    label: str           # acme/app#42
    url: str | None
    title: str | None
    customers: int
    arr: float
    status: str


@dataclass(frozen=True)
class StatusReport:
    team: str
    user_id: str
    timezone: str
    window: Window
    responses: int
    previous_responses: int
    nps: Nps
    previous_nps: Nps
    themes: tuple[tuple[str, tuple[Quote, ...]], ...]   # (theme, quotes) most quoted theme first
    activity: Activity
    open_lists: tuple[OpenList, ...]                    # past SLA, overdue follow-ups, escalations, churn risks
    kudos: tuple[Kudos, ...]
    trends: tuple[Trend, ...]                           # VIP, usability, bugs, feature requests
    trackers: bool                                      # product trackers are configured
    active_issues: tuple[ActiveIssue, ...]
    now: datetime

    def quoted_items(self) -> list[int]:
        """The items whose customer data the report shows (for `cxloop forget`)."""
        ids = [q.item_id for _, quotes in self.themes for q in quotes] + [k.quote.item_id for k in self.kudos]
        ids += [ref.item_id for listed_ in self.open_lists for ref in listed_.items]
        return sorted(set(ids))


def status_target(team: str, user_id: str) -> str:
    """The job ledger's target for one person's status reports of one team."""
    return f"{team}:{user_id}"


def _short(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {day_label(local.date())} {local:%H:%M}"


def _day(day: date) -> str:
    return f"{day:%a} {day_label(day)}"


def report_window(session: Session, *, team: TeamConfig, user_id: str, days: int | None, now: datetime) -> Window:
    """`days` local days ending today (to now); None: since her last status report of this team when that
    was between an hour and SINCE_LAST_MAX_DAYS ago, else DEFAULT_DAYS local days."""
    today = local_today(now, team.timezone)
    if days is None:
        last = session.scalar(select(func.max(JobRun.claimed_at)).where(
            JobRun.job.in_((STATUS_REPORT, STATUS_REQUEST)), JobRun.target == status_target(team.name, user_id),
            JobRun.claimed_at < now))
        if last is not None and SINCE_LAST_MIN <= now - last <= timedelta(days=SINCE_LAST_MAX_DAYS):
            hours = (now - last).total_seconds() / 3600
            length = f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.1f} days"
            return Window(last, now, f"since your last status ({_short(last, team.timezone)}) to {_day(today)}",
                          f"the {length} before")
        days = DEFAULT_DAYS
    start = local_midnight(today - timedelta(days=days - 1), team.timezone)
    label = _day(today) if days == 1 else f"last {days} days to {_day(today)}"
    # "The 7 days before" are 7 whole days, not the 6¾ from `start` back as far as now is from it.
    previous = local_midnight(today - timedelta(days=2 * days - 1), team.timezone)
    return Window(start, now, label, f"the {days} day{'s' if days != 1 else ''} before", previous_from=previous)


def _arr_by_account(session: Session, account_ids: set[int]) -> dict[int, tuple[str, float | None]]:
    if not account_ids:
        return {}
    return {row.id: (row.name, row.arr) for row in session.execute(
        select(Account.id, Account.name, Account.arr).where(Account.id.in_(sorted(account_ids))))}


def _quote(row, theme: str, tone: str, accounts: dict[int, tuple[str, float | None]]) -> Quote:
    name, arr = _account(row, accounts)
    account = row.account_name or name
    return Quote(item_id=row.id, theme=theme, tone=tone, text=" ".join((row.comment or "").split()),
                 customer=customer_label(row.customer_name, row.customer_email, account), account=account, arr=arr,
                 score_label=item_label(row, customer=False),
                 link=message_link(row.channel, row.ts) if row.ts else None)


def _lead_theme(row, text: str) -> str:
    """The theme a comment is quoted under: an urgent one if it has one, else the one it names first ("The
    dashboard keeps crashing. And too expensive" is a bug report first), else its first, else "other"."""
    themes = [t for t in (row.themes or []) if isinstance(t, str)]
    if not themes:
        return OTHER_THEME
    urgent = [t for t in URGENT_THEMES if t in themes]
    if urgent:
        return urgent[0]
    matches = getattr(row, "theme_matches", None)
    if isinstance(matches, dict):
        found = {t: text.find(str(matches.get(t, "")).split(" … ")[0]) for t in themes if matches.get(t)}
        named = sorted((at, themes.index(t), t) for t, at in found.items() if at >= 0)
        if named:
            return named[0][2]
    return themes[0]


def _account(row, accounts: dict[int, tuple[str, float | None]]) -> tuple[str | None, float | None]:
    """(name, ARR) of the row's VIP account, read once for the report (_arr_by_account)."""
    return accounts.get(row.account_id, (None, None)) if row.account_id else (None, None)


def _tone(row) -> str | None:
    """critical: a detractor, or a negative comment that is not a promoter's; glowing: a promoter whose
    comment is not negative, or a positive comment without a survey category (a passive is neither)."""
    negative = row.sentiment_label == "negative"
    if row.category == DETRACTOR or (negative and row.category != PROMOTER):
        return "critical"
    if (row.category == PROMOTER and not negative) or (row.category is None and row.sentiment_label == "positive"):
        return "glowing"
    return None


def _voice_of_customer(rows, accounts) -> tuple[tuple[str, tuple[Quote, ...]], ...]:
    """Per theme (an item under its first theme, else "other"): up to QUOTES_PER_THEME critical quotes
    (most negative first) and one glowing (most positive); the QUOTE_THEMES themes with most quotes, the
    URGENT_THEMES first (one VIP's lost history outranks ten integration wishes)."""
    grouped: dict[str, dict[str, list]] = {}
    seen: set[str] = set()
    for row in rows:
        tone = _tone(row)
        text = " ".join((row.comment or "").split()).lower()
        if tone is None or not text or text in seen:
            continue  # the same words from two customers are quoted once
        seen.add(text)
        grouped.setdefault(_lead_theme(row, text), {"critical": [], "glowing": []})[tone].append(row)
    result = []
    for theme, tones in grouped.items():
        # The biggest accounts' complaints first (what she must answer for), then the most negative.
        critical = sorted(tones["critical"], key=lambda r: (-(_account(r, accounts)[1] or 0.0), r.sentiment_polarity or 0.0,
                                                            r.received_at, r.id))
        glowing = sorted(tones["glowing"], key=lambda r: (-(r.sentiment_polarity or 0.0), r.received_at, r.id))
        quotes = [_quote(r, theme, "critical", accounts) for r in critical[:QUOTES_PER_THEME]]
        quotes += [_quote(r, theme, "glowing", accounts) for r in glowing[:1]]
        result.append((theme, tuple(quotes), len(tones["critical"]) + len(tones["glowing"])))
    result.sort(key=lambda t: (t[0] == OTHER_THEME, t[0] not in URGENT_THEMES, -t[2], t[0]))
    return tuple((theme, quotes) for theme, quotes, _ in result[:QUOTE_THEMES])


def kudos_name(comment: str | None) -> str | None:
    """Who a comment praises by name ("Maria", "support team"), or None. Simple on purpose: a named
    team phrase, "thanks <Name>", or "<Name> was great"."""
    text = comment or ""
    for pattern in (_THANKS_NAME, _NAME_PRAISED):
        for match in pattern.finditer(text):
            name = match.group(1)
            if name.split()[0] not in _NOT_NAMES:
                return name
    if match := _TEAM_WORDS.search(text):
        return " ".join(match.group(0).split())
    return None


def _kudos(rows, accounts) -> tuple[Kudos, ...]:
    found = []
    for row in rows:
        if row.category != PROMOTER:
            continue
        named = kudos_name(row.comment)
        if named:
            themes = [t for t in (row.themes or []) if isinstance(t, str)]
            found.append(Kudos(_quote(row, themes[0] if themes else OTHER_THEME, "glowing", accounts), named))
    return tuple(found[:KUDOS_MAX])


def _activity(session: Session, *, user_id: str, config: AppConfig, window: Window) -> Activity:
    """What `user_id` did in the window, on any team's items: follow-up events she made, VIP touches she
    logged, customers she told that their issue shipped."""
    actions = dict(session.execute(
        select(FollowUpEvent.action, func.count()).where(
            FollowUpEvent.actor == user_id, FollowUpEvent.created_at >= window.start,
            FollowUpEvent.created_at < window.end).group_by(FollowUpEvent.action)).all())
    touches = session.scalar(select(func.count()).select_from(Touch).where(
        Touch.actor == user_id, Touch.touched_at >= window.start, Touch.touched_at < window.end)) or 0
    told = 0
    if config.trackers:
        told = session.scalar(select(func.count()).select_from(IssueLink).where(
            IssueLink.told_by == user_id, IssueLink.told_at >= window.start, IssueLink.told_at < window.end)) or 0
    return Activity(claims=int(actions.get("claim", 0)), resolutions=int(actions.get("resolve", 0)),
                    replies=int(actions.get("reply", 0)), notes=int(actions.get("note", 0)), touches=int(touches),
                    told=int(told))


def _open_ref(row, note: str = "") -> OpenRef:
    return OpenRef(item_id=row.id, label=item_label(row), link=message_link(row.channel, row.ts) if row.ts else None,
                   note=note)


def _open_lists(session: Session, *, config: AppConfig, team: TeamConfig, now: datetime) -> tuple[OpenList, ...]:
    """As of now, the team's unresolved items that need her: unclaimed past their SLA (the dashboard's
    breach), follow-ups past their date, escalations, churn risks (the churn_risk theme)."""
    columns = (Item.id, Item.kind, Item.score, Item.category, Item.priority, Item.vip, Item.customer_name,
               Item.customer_email, Item.account_name, Item.subject, Item.received_at, Item.themes,
               Item.theme_matches, FollowUp.follow_up_on, SlackMessage.channel, SlackMessage.ts)
    waiting = listed(*columns).where(*unresolved([team.name]))
    today = local_today(now, team.timezone)

    def take(statement, title: str, note=lambda row: "") -> OpenList:
        total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        rows = session.execute(statement.order_by(*triage_order()).limit(OPEN_LISTED)).all() if total else []
        return OpenList(title, int(total), tuple(_open_ref(row, note(row)) for row in rows))

    breach = sla_breach_clause(session, config, now)

    def waiting_for(row) -> str:  # how long it has waited: an item two months old is not one from this morning
        return f"waiting {duration((now - row.received_at).total_seconds() / 60)}"

    past_sla = (take(waiting.where(FollowUp.claimed_at.is_(None), breach), "Unclaimed past their SLA", waiting_for)
                if breach is not None else OpenList("Unclaimed past their SLA", 0, ()))
    overdue = take(waiting.where(FollowUp.follow_up_on < today), "Overdue follow-ups",
                   lambda row: f"follow up was due {day_label(row.follow_up_on)}")
    escalations = take(waiting.where(Item.kind == "escalation"), "Open escalations", waiting_for)
    # Themes are a JSON list: read the open backlog's themes and pick churn risks here (bounded by the backlog).
    churn_ids = [row.id for row in session.execute(
        select(Item.id, Item.themes).join(FollowUp, FollowUp.item_id == Item.id).where(*unresolved([team.name])))
        if CHURN_RISK in (row.themes or [])]
    churn = OpenList("Churn risks", 0, ())
    if churn_ids:
        def matched(row) -> str:
            word = (row.theme_matches or {}).get(CHURN_RISK) if isinstance(row.theme_matches, dict) else None
            return f"said “{word}”" if word else ""
        churn = take(waiting.where(Item.id.in_(churn_ids)), "Churn risks", matched)
    return past_sla, overdue, escalations, churn


def _trends(rows, previous_rows) -> tuple[Trend, ...]:
    def counts(items) -> tuple[int, ...]:
        items = list(items)
        return (sum(1 for r in items if r.vip), *(sum(1 for r in items if theme in (r.themes or []))
                                                   for theme in (USABILITY, BUGS, FEATURE_REQUESTS)))
    now_counts, before = counts(rows), counts(previous_rows)
    names = ("VIP customers' responses", "Usability", "Bugs", "Feature requests")
    return tuple(Trend(name, a, b) for name, a, b in zip(names, now_counts, before, strict=True))


def _active_issues(session: Session, *, config: AppConfig, team: TeamConfig, now: datetime) -> tuple[ActiveIssue, ...]:
    if not config.trackers:
        return ()
    rows = [row for row in demand(session, config=config, now=now, scope=[Item.team == team.name])
            if row.status in ("open", "being created")]
    return tuple(ActiveIssue(label=row.label, url=row.url, title=row.title, customers=row.customers, arr=row.arr,
                             status=row.status) for row in rows[:ACTIVE_ISSUES])


def build_status_report(session: Session, *, config: AppConfig, team: TeamConfig, user_id: str, now: datetime,
                        days: int | None = None) -> StatusReport:
    """The draft status report of `team` for `user_id` (see the module docstring for each figure's window)."""
    window = report_window(session, team=team, user_id=user_id, days=days, now=now)
    scope = (Item.team == team.name, Item.received_at >= window.start, Item.received_at < window.end)
    previous_scope = (Item.team == team.name, Item.received_at >= window.previous_start,
                      Item.received_at < window.start)
    rows = session.execute(
        select(Item.id, Item.kind, Item.score, Item.category, Item.priority, Item.subject, Item.vip,
               Item.customer_name, Item.customer_email, Item.account_name, Item.account_id, Item.themes,
               Item.theme_matches, Item.sentiment_label, Item.sentiment_polarity, Item.received_at,
               func.substr(Item.comment, 1, COMMENT_CHARS).label("comment"), SlackMessage.channel, SlackMessage.ts)
        .outerjoin(SlackMessage, SlackMessage.item_id == Item.id).where(*scope, Item.erased_at.is_(None))
        .order_by(Item.received_at, Item.id)).all()
    previous_rows = session.execute(select(Item.vip, Item.themes).where(*previous_scope)).all()
    accounts = _arr_by_account(session, {row.account_id for row in rows if row.account_id})
    responses = session.scalar(select(func.count()).select_from(Item).where(*scope)) or 0
    return StatusReport(
        team=team.name, user_id=user_id, timezone=team.timezone, window=window,
        responses=int(responses), previous_responses=len(previous_rows),
        nps=nps(session, scope), previous_nps=nps(session, previous_scope),
        themes=_voice_of_customer(rows, accounts),
        activity=_activity(session, user_id=user_id, config=config, window=window),
        open_lists=_open_lists(session, config=config, team=team, now=now),
        kudos=_kudos(rows, accounts), trends=_trends(rows, previous_rows),
        trackers=bool(config.trackers), active_issues=_active_issues(session, config=config, team=team, now=now),
        now=now,
    )


def teams_for_status(config: AppConfig, *, user_id: str, channel_id: str) -> list[TeamConfig]:
    """The teams a person's report covers: those she is a member of, else the team of the channel she
    asked in, else none."""
    teams = config.teams_of(user_id)
    if teams:
        return teams
    team = config.team_for_channel(channel_id)
    return [team] if team else []
