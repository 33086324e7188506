"""bot/intake/routing.py: which team gets an item. First match in file order wins; else the default team."""

from __future__ import annotations

import pytest

from bot.config import SAMPLE_CONFIG_PATH, RouteWhen, load_config, parse_config
from bot.intake.routing import RoutingFacts, describe_when, route_item, route_matches
from bot.intake.scoring import score_response

TEAMS = [
    {"name": "success", "channel": "C0SUCCESS", "mention": "S0CSLEADS"},
    {"name": "support", "channel": "C0SUPPORT", "mention": "U0ONCALL"},
    {"name": "product", "channel": "C0PRODUCT"},
]


def make_config(routes: list[dict], default_team: str | None = None):
    data: dict = {"teams": TEAMS, "routes": routes}
    if default_team:
        data["default_team"] = default_team
    return parse_config(data, environ={})


def facts(**overrides) -> RoutingFacts:
    base = {"kind": "nps", "source": "generic", "score": 8, "category": "passive"}
    base.update(overrides)
    return RoutingFacts(**base)


def when(**conditions) -> RouteWhen:
    return RouteWhen.model_validate(conditions)


# --- route_item -------------------------------------------------------------------------------


def test_first_matching_route_wins_in_file_order() -> None:
    config = make_config([
        {"name": "all nps to product", "when": {"kind": "nps"}, "team": "product"},
        {"name": "detractors to success", "when": {"kind": "nps", "category": "detractor"}, "team": "success"},
    ])
    decision = route_item(facts(score=2, category="detractor"), config)
    assert (decision.team, decision.channel, decision.route_name) == ("product", "C0PRODUCT", "all nps to product")


def test_file_order_reversed_changes_the_winner() -> None:
    config = make_config([
        {"name": "detractors to success", "when": {"kind": "nps", "category": "detractor"}, "team": "success"},
        {"name": "all nps to product", "when": {"kind": "nps"}, "team": "product"},
    ])
    assert route_item(facts(score=2, category="detractor"), config).route_name == "detractors to success"
    assert route_item(facts(score=9, category="promoter"), config).route_name == "all nps to product"


def test_unmatched_goes_to_default_team_without_route_name() -> None:
    config = make_config([{"name": "escalations", "when": {"kind": "escalation"}, "team": "support"}],
                         default_team="product")
    decision = route_item(facts(), config)
    assert decision.team == "product"
    assert decision.channel == "C0PRODUCT"
    assert decision.route_name is None
    assert decision.mention is None


def test_unmatched_without_default_goes_to_first_team_with_its_mention() -> None:
    decision = route_item(facts(), make_config([]))
    assert (decision.team, decision.channel, decision.route_name, decision.mention) == (
        "success", "C0SUCCESS", None, "S0CSLEADS")


def test_route_with_no_conditions_matches_everything() -> None:
    config = make_config([{"name": "catch-all", "team": "support"}])
    assert route_item(facts(kind="escalation", score=None, category=None), config).route_name == "catch-all"


def test_team_mention_is_used_when_route_has_none() -> None:
    config = make_config([{"name": "esc", "when": {"kind": "escalation"}, "team": "support"}])
    decision = route_item(facts(kind="escalation", score=None, category=None), config)
    assert decision.mention == "U0ONCALL"


def test_route_mention_overrides_team_mention() -> None:
    config = make_config([{"name": "esc", "when": {"kind": "escalation"}, "team": "support",
                           "mention": "S0MANAGERS"}])
    decision = route_item(facts(kind="escalation", score=None, category=None), config)
    assert (decision.team, decision.mention) == ("support", "S0MANAGERS")


def test_route_mention_on_team_without_mention() -> None:
    config = make_config([{"name": "p", "team": "product", "mention": "U0PM"}])
    assert route_item(facts(), config).mention == "U0PM"


# --- each condition -----------------------------------------------------------------------------


@pytest.mark.parametrize(("wanted", "kind", "expected"), [
    ("nps", "nps", True), ("nps", "csat", False),
    (["csat", "ces"], "ces", True), (["csat", "ces"], "nps", False),
])
def test_kind(wanted, kind, expected) -> None:
    assert route_matches(when(kind=wanted), facts(kind=kind)) is expected


@pytest.mark.parametrize(("wanted", "category", "expected"), [
    ("detractor", "detractor", True), ("detractor", "passive", False),
    (["passive", "promoter"], "promoter", True), ("detractor", None, False),
])
def test_category(wanted, category, expected) -> None:
    assert route_matches(when(category=wanted), facts(category=category)) is expected


@pytest.mark.parametrize(("wanted", "source", "expected"), [
    ("zendesk", "zendesk", True), ("zendesk", "generic", False), (["a", "generic"], "generic", True),
])
def test_source(wanted, source, expected) -> None:
    assert route_matches(when(source=wanted), facts(source=source)) is expected


@pytest.mark.parametrize(("score", "expected"), [
    (2, False), (3, True), (4, True), (5, True), (6, False), (None, False),
])
def test_score_range_is_inclusive(score, expected) -> None:
    assert route_matches(when(score_min=3, score_max=5), facts(score=score)) is expected


def test_score_min_alone_and_max_alone() -> None:
    assert route_matches(when(score_min=9), facts(score=9))
    assert not route_matches(when(score_min=9), facts(score=8))
    assert route_matches(when(score_max=0), facts(score=0))
    assert not route_matches(when(score_max=0), facts(score=1))


def test_score_min_zero_is_a_real_condition() -> None:
    # 0 is falsy: an escalation (no score) must not pass a score_min=0 condition.
    assert not route_matches(when(score_min=0), facts(kind="escalation", score=None, category=None))
    assert route_matches(when(score_min=0), facts(score=0))


@pytest.mark.parametrize(("wanted", "sentiment", "expected"), [
    ("negative", "negative", True), ("negative", "neutral", False),
    (["neutral", "positive"], "positive", True), ("negative", None, False),
])
def test_sentiment(wanted, sentiment, expected) -> None:
    assert route_matches(when(sentiment=wanted), facts(sentiment=sentiment)) is expected


@pytest.mark.parametrize(("wanted", "themes", "expected"), [
    ("pricing", ("bugs", "pricing"), True), ("pricing", ("bugs",), False),
    (["billing", "pricing"], ("pricing",), True), ("pricing", (), False),
])
def test_theme(wanted, themes, expected) -> None:
    assert route_matches(when(theme=wanted), facts(themes=themes)) is expected


@pytest.mark.parametrize(("wanted", "tags", "expected"), [
    ("Enterprise", ("enterprise",), True), ("beta", ("BETA", "x"), True),
    (["churn", "renewal"], ("Renewal",), True), ("beta", ("alpha",), False), ("beta", (), False),
])
def test_tag_is_case_insensitive(wanted, tags, expected) -> None:
    assert route_matches(when(tag=wanted), facts(tags=tags)) is expected


@pytest.mark.parametrize(("wanted", "plan", "expected"), [
    ("enterprise", "Enterprise", True), (["Pro", "Team"], "team", True),
    ("enterprise", "free", False), ("enterprise", None, False),
])
def test_plan_is_case_insensitive(wanted, plan, expected) -> None:
    assert route_matches(when(plan=wanted), facts(plan=plan)) is expected


@pytest.mark.parametrize(("wanted", "segment", "expected"), [
    ("SMB", "smb", True), (["mid-market", "enterprise"], "Mid-Market", True),
    ("smb", "enterprise", False), ("smb", None, False),
])
def test_segment_is_case_insensitive(wanted, segment, expected) -> None:
    assert route_matches(when(segment=wanted), facts(segment=segment)) is expected


@pytest.mark.parametrize(("wanted", "vip", "expected"), [
    (True, True, True), (True, False, False), (False, False, True), (False, True, False),
])
def test_vip(wanted, vip, expected) -> None:
    assert route_matches(when(vip=wanted), facts(vip=vip)) is expected


@pytest.mark.parametrize(("wanted", "comment", "expected"), [
    (True, "slow", True), (True, None, False), (True, "   ", False), (True, "", False),
    (False, None, True), (False, "  \n", True), (False, "slow", False),
])
def test_has_comment(wanted, comment, expected) -> None:
    assert route_matches(when(has_comment=wanted), facts(comment=comment)) is expected


@pytest.mark.parametrize(("pattern", "comment", "expected"), [
    ("refund", "I want a REFUND now", True),
    (r"cancel(l?ed|ling)?\b", "We are Cancelling next month", True),
    (r"^price", "the price is high", False),       # searched, but anchors still hold
    ("refund", "all good", False),
    ("refund", None, False),
    ("refund", "", False),
])
def test_keyword_regex_case_insensitive(pattern, comment, expected) -> None:
    assert route_matches(when(keyword=pattern), facts(comment=comment)) is expected


def test_all_conditions_must_hold() -> None:
    w = when(kind="nps", category="detractor", vip=True)
    assert route_matches(w, facts(score=3, category="detractor", vip=True))
    assert not route_matches(w, facts(score=3, category="detractor", vip=False))
    assert not route_matches(w, facts(kind="csat", score=1, category="detractor", vip=True))


def test_routes_real_scored_item_end_to_end() -> None:
    config = make_config([
        {"name": "escalations", "when": {"kind": "escalation"}, "team": "support"},
        {"name": "angry pricing", "when": {"theme": "pricing", "sentiment": "negative"}, "team": "product"},
        {"name": "detractors", "when": {"category": "detractor"}, "team": "success"},
    ], default_team="support")
    comment = "The price is terrible and way too expensive"
    scored = score_response("nps", 2, comment, config.themes)
    item = facts(score=2, category=scored.category, sentiment=scored.sentiment_label,
                 themes=scored.themes, comment=comment)
    assert route_item(item, config).route_name == "angry pricing"


def test_sample_config_sends_feature_requests_to_product() -> None:
    config = load_config(SAMPLE_CONFIG_PATH, environ={}, sandbox=True)
    comment = "I would love a dark mode"
    scored = score_response("nps", 8, comment, config.themes)
    assert "feature_request" in scored.themes
    decision = route_item(facts(score=8, category=scored.category, sentiment=scored.sentiment_label,
                                themes=scored.themes, comment=comment), config)
    assert decision.team == "product"


# --- describe_when ---------------------------------------------------------------------------


def test_describe_when_lists_conditions() -> None:
    assert describe_when(when(kind="nps", category="detractor")) == "kind=nps, category=detractor"


def test_describe_empty_when() -> None:
    assert describe_when(RouteWhen()) == "(everything)"


def test_describe_when_keeps_false_flags() -> None:
    assert "vip=False" in describe_when(when(vip=False))
