"""Today's VIP picks: the 3–5 accounts an owner should reach today, ranked by risk and value, each with why.

A CX manager with ~500 VIP accounts reaches a handful a day. "Most overdue first" put a quiet account
that slipped a week ahead of one with an unclaimed NPS 1 that renews next month. A pick is ranked on:

- **risk**: open escalations (40 points each) and open detractors (30 each), at most 3 of them counted;
- **renewal**: renewing within RENEWAL_WINDOW_DAYS adds up to 25 points, more the sooner it is;
- **value**: ARR adds up to 15 points, relative to the largest ARR among today's candidates;
- **overdue**: one point per day past the check-in cadence, at most 30.

Candidates are the owner's VIP accounts that are due today or overdue, or have an open detractor or
escalation (a detractor does not wait for the cadence). An account whose check-ins were snoozed is left
out unless something is open on it. Each pick carries the reasons that put it there, largest first, in
the words the DM, App Home and `/vip picks` show.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.common.labels import plural
from bot.followups.triage import DETRACTOR, ESCALATION
from bot.vip.accounts import days_overdue
from models import Account, FollowUp, Item
from models.followup import CLAIMED, OPEN

PICKS_PER_DAY = 5
RENEWAL_WINDOW_DAYS = 90
ESCALATION_POINTS, DETRACTOR_POINTS, RISK_ITEMS_COUNTED = 40, 30, 3
RENEWAL_POINTS, ARR_POINTS, OVERDUE_POINTS_MAX = 25, 15, 30


@dataclass(frozen=True)
class Pick:
    account: Account
    score: float
    reasons: tuple[str, ...]
    days_overdue: int


@dataclass(frozen=True)
class Picks:
    picks: list[Pick]
    candidates: int  # how many accounts were weighed; picks are the first of them



def _arr(amount: float) -> str:
    if amount >= 1_000_000:
        return f"${amount / 1_000_000:.1f}M ARR".replace(".0M", "M")
    if amount >= 1_000:
        return f"${amount / 1_000:.0f}k ARR"
    return f"${amount:.0f} ARR"


def daily_picks(session: Session, *, owner: str, now: datetime, limit: int = PICKS_PER_DAY) -> Picks:
    """The owner's picks for the day of `now` (in the owner's timezone), best first."""
    end_of_today = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    risky = (select(Item.account_id, Item.kind, Item.score)
             .join(FollowUp, FollowUp.item_id == Item.id)
             .where(FollowUp.status.in_((OPEN, CLAIMED)), Item.account_id.is_not(None),
                    or_(Item.kind == ESCALATION, Item.category == DETRACTOR)))
    open_risk: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    owned = select(Account.id).where(Account.owner == owner, Account.vip.is_(True))
    for account_id, kind, score in session.execute(risky.where(Item.account_id.in_(owned))):
        open_risk[account_id].append((ESCALATION if kind == ESCALATION else DETRACTOR, score))
    not_snoozed = (Account.checkin_snoozed_until.is_(None)) | (Account.checkin_snoozed_until <= now)
    accounts = list(session.scalars(
        select(Account).where(Account.owner == owner, Account.vip.is_(True),
                              or_((Account.next_due_at < end_of_today) & not_snoozed,
                                  Account.id.in_(list(open_risk))))))
    top_arr = max((a.arr or 0 for a in accounts), default=0)
    weighed = []
    for account in accounts:
        parts: list[tuple[float, str]] = []
        risks = open_risk.get(account.id, [])
        escalations = [r for r in risks if r[0] == ESCALATION]
        detractors = [r for r in risks if r[0] == DETRACTOR]
        counted = (escalations + detractors)[:RISK_ITEMS_COUNTED]
        if escalations:
            points = ESCALATION_POINTS * sum(1 for r in counted if r[0] == ESCALATION)
            parts.append((points, f"{plural(len(escalations), 'open escalation')}"))
        if detractors:
            points = DETRACTOR_POINTS * sum(1 for r in counted if r[0] == DETRACTOR)
            scores = sorted(s for _, s in detractors if s is not None)
            lowest = f" (lowest score {scores[0]})" if scores else ""
            parts.append((points, f"{plural(len(detractors), 'open detractor')}{lowest}"))
        if account.renewal_on is not None:
            days_left = (account.renewal_on - now.date()).days
            if 0 <= days_left <= RENEWAL_WINDOW_DAYS:
                when = "today" if days_left == 0 else f"in {plural(days_left, 'day')}"
                parts.append((RENEWAL_POINTS * (1 - days_left / (RENEWAL_WINDOW_DAYS + 1)), f"renews {when}"))
        if account.arr and top_arr > 0:
            parts.append((ARR_POINTS * account.arr / top_arr, _arr(account.arr)))
        overdue = days_overdue(account, now)
        if overdue > 0:
            parts.append((min(overdue, OVERDUE_POINTS_MAX), f"check-in {plural(overdue, 'day')} overdue"))
        elif overdue == 0:
            parts.append((0.5, "check-in due today"))
        score = sum(points for points, _ in parts)
        reasons = tuple(text for _, text in sorted(parts, key=lambda p: -p[0]))
        weighed.append(Pick(account, round(score, 2), reasons, overdue))
    weighed.sort(key=lambda p: (-p.score, -p.days_overdue, p.account.name.lower(), p.account.id))
    return Picks(weighed[:limit], len(weighed))

