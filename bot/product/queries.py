"""Demand: linked tracker issues ranked by the customers and revenue behind them (read only).

Shown by `/cxloop demand` and the dashboard's "Demand: linked issues" section."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.config import AppConfig
from bot.product import service as product
from bot.product.trackers import issue_label
from bot.slack.product_blocks import DemandRow
from models import Account, IssueLink, Item, TrackerIssue


def demand(session: Session, *, config: AppConfig, now: datetime,
           scope: list[ColumnElement[bool]] | None = None) -> list[DemandRow]:
    """Linked issues ranked by the customers behind them, then their accounts' ARR, VIPs and detractors.
    `scope`: WHERE clauses on the items counted (the dashboard's filters); the default counts them all."""
    rows = session.execute(select(TrackerIssue, Item, Account, IssueLink.told_at)
                           .join(IssueLink, IssueLink.issue_id == TrackerIssue.id)
                           .join(Item, Item.id == IssueLink.item_id)
                           .outerjoin(Account, Account.id == Item.account_id)
                           .where(*(scope or ()))).all()
    grouped: dict[int, dict] = {}
    for issue, item, account, told_at in rows:
        entry = grouped.setdefault(issue.id, {"issue": issue, "customers": set(), "accounts": {}, "vip": set(),
                                              "detractors": 0, "first": item.received_at, "told": 0})
        entry["customers"].add((item.customer_email or "").lower() or f"item:{item.id}")
        if account is not None:
            entry["accounts"][account.id] = account.arr or 0.0
            if account.vip:
                entry["vip"].add(account.id)
        elif item.vip:
            entry["vip"].add(f"item:{item.id}")
        entry["detractors"] += item.category == "detractor"
        entry["told"] += told_at is not None
        entry["first"] = min(entry["first"], item.received_at)
    ranked = sorted(grouped.values(), key=lambda e: (-len(e["customers"]), -sum(e["accounts"].values()),
                                                     -len(e["vip"]), -e["detractors"], e["issue"].id))
    result = []
    for e in ranked:
        issue: TrackerIssue = e["issue"]
        tracker = config.tracker(issue.tracker)
        shipped = issue.shipped_at
        result.append(DemandRow(
            link=product.issue_link_text(config, issue), title=issue.title, customers=len(e["customers"]),
            arr=sum(e["accounts"].values()), vip_accounts=len(e["vip"]), detractors=e["detractors"],
            status=product.status_label(issue), age_days=max(0, (now - e["first"]).days),
            url=product.issue_url(tracker, issue), label=issue_label(tracker, issue.key), told=e["told"],
            days_to_ship=product.days_to_ship(e["first"], shipped) if shipped else None))
    return result
