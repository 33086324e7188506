"""The one triage order: what a CX person should look at first, wherever items are listed.

Bands, most urgent first: escalations (by severity: urgent, high, normal, low, then none given),
VIP detractors, detractors, passives, promoters, anything unscored; oldest first within each band.
App Home, `/cxloop open` and `mine`, the digest's unclaimed list, the dashboard's open-items table and
the VIP card all sort with `triage_order()`, so they agree on what comes first.
"""

from __future__ import annotations

from sqlalchemy import case, func
from sqlalchemy.sql.elements import ColumnElement

from models import Item

# Said in every list's heading, so nobody reads a triage list as a timeline.
ORDER_LABEL = "most urgent first"

# Escalation severities, most severe first (provider values vary in case); any other value after "low".
SEVERITY_ORDER = ("urgent", "high", "normal", "low")

ESCALATION = "escalation"
DETRACTOR, PASSIVE, PROMOTER = "detractor", "passive", "promoter"

# Band numbers, in order.
ESCALATIONS, VIP_DETRACTORS, DETRACTORS, PASSIVES, PROMOTERS, UNSCORED = range(6)


def is_vip() -> ColumnElement[bool]:
    return Item.vip.is_(True)


def band() -> ColumnElement[int]:
    return case((Item.kind == ESCALATION, ESCALATIONS),
                (Item.category == DETRACTOR, case((is_vip(), VIP_DETRACTORS), else_=DETRACTORS)),
                (Item.category == PASSIVE, PASSIVES), (Item.category == PROMOTER, PROMOTERS), else_=UNSCORED)


def severity() -> ColumnElement[int]:
    """An escalation's rank in SEVERITY_ORDER (len(SEVERITY_ORDER) for none or an unknown one); 0 otherwise."""
    rank = case(*((func.lower(Item.priority) == name, index) for index, name in enumerate(SEVERITY_ORDER)),
                else_=len(SEVERITY_ORDER))
    return case((Item.kind == ESCALATION, rank), else_=0)


def triage_order() -> tuple[ColumnElement, ...]:
    """ORDER BY terms for a select over Item: band, an escalation's severity, oldest first, then id."""
    return band(), severity(), Item.received_at, Item.id
