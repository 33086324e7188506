"""Routing: which team (and mention) gets an item. Pure: the first matching route wins."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.config import AppConfig, RouteWhen


@dataclass(frozen=True)
class RoutingFacts:
    """What routes can match on, taken from a normalised, scored item."""

    kind: str
    source: str
    score: int | None = None
    category: str | None = None
    sentiment: str | None = None
    themes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    plan: str | None = None
    segment: str | None = None
    vip: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    team: str
    channel: str
    route_name: str | None  # None: no route matched, the default team took it
    mention: str | None
    needs_follow_up: bool | None = None  # the route's option; None: the default (needs_follow_up())


def _any_of(wanted, value) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    return value in options


def _any_in(wanted, values) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    lowered = {v.lower() for v in values}
    return any(option.lower() in lowered for option in options)


@lru_cache(maxsize=256)
def _keyword_pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression, re.IGNORECASE)


# Each condition a route may set, in the order they are checked: (field of RouteWhen, test of a wanted value).
_CHECKS: tuple[tuple[str, Callable[[Any, RoutingFacts], bool]], ...] = (
    ("kind", lambda w, facts: _any_of(w, facts.kind)),
    ("category", lambda w, facts: _any_of(w, facts.category)),
    ("source", lambda w, facts: _any_of(w, facts.source)),
    ("sentiment", lambda w, facts: _any_of(w, facts.sentiment)),
    ("plan", lambda w, facts: facts.plan is not None and _any_in(w, [facts.plan])),
    ("segment", lambda w, facts: facts.segment is not None and _any_in(w, [facts.segment])),
    ("theme", lambda w, facts: _any_in(w, facts.themes)),
    ("tag", lambda w, facts: _any_in(w, facts.tags)),
    ("vip", lambda w, facts: facts.vip is w),
    ("has_comment", lambda w, facts: bool(facts.comment and facts.comment.strip()) is w),
    ("score_min", lambda w, facts: facts.score is not None and facts.score >= w),
    ("score_max", lambda w, facts: facts.score is not None and facts.score <= w),
    ("keyword", lambda w, facts: bool(facts.comment) and _keyword_pattern(w).search(facts.comment) is not None),
)


def route_matches(when: RouteWhen, facts: RoutingFacts) -> bool:
    # The checks are built once (not thirteen closures per route per item: every webhook and every
    # imported row is routed); only the conditions the route sets are tested.
    for name, check in _CHECKS:
        wanted = getattr(when, name)
        if wanted is not None and not check(wanted, facts):
            return False
    return True


def route_item(facts: RoutingFacts, config: AppConfig) -> RouteDecision:
    for route in config.routes:
        if route_matches(route.when, facts):
            team = config.team(route.team)
            return RouteDecision(team=team.name, channel=team.channel, route_name=route.name,
                                 mention=route.mention or team.mention, needs_follow_up=route.needs_follow_up)
    team = config.team(config.default_team)
    return RouteDecision(team=team.name, channel=team.channel, route_name=None, mention=team.mention)


def needs_follow_up(facts: RoutingFacts, decision: RouteDecision) -> bool:
    """Whether the item waits in the unclaimed queue for a Claim: what its route says, else every item
    but a promoter (a promoter is thanked / handed off, bot.followups.close_loop, and waits for nobody)."""
    if decision.needs_follow_up is not None:
        return decision.needs_follow_up
    return facts.kind == "escalation" or facts.category != "promoter"


def describe_when(when: RouteWhen) -> str:
    """'kind=nps, category=detractor' — for `cxloop check-config`."""
    parts = [f"{key}={value}" for key, value in when.model_dump(exclude_none=True).items()]
    return ", ".join(parts) or "(everything)"
