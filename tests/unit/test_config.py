"""bot/config.py: the TOML file and the environment. Every problem must name the key at fault."""

from __future__ import annotations

import copy
import tomllib

import pytest

from bot.common.vocabulary import SentimentWords
from bot.config import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_DATABASE_URL,
    DEFAULT_SLACK_API_URL,
    SAMPLE_CONFIG_PATH,
    ConfigError,
    load_config,
    load_settings,
    normalize_database_url,
    parse_config,
)
from bot.intake.routing import RoutingFacts, needs_follow_up, route_item

# Verbatim from README.md, section "Configuration".
README_TOML = """\
default_team = "success"       # where unmatched items go (default: the first team)

[[teams]]
name = "success"
channel = "C0SUCCESS"          # Slack channel id
timezone = "America/New_York"
mention = "S0CSLEADS"          # optional: user (U…) or user group (S…) mentioned in each item's thread

[[sources]]
name = "generic"               # → POST /webhooks/generic
type = "generic"
secret_env = "GENERIC_WEBHOOK_SECRET"

[[routes]]                     # first match wins, in file order
name = "detractors to success"
when = { kind = "nps", category = "detractor" }
team = "success"
"""

ENV = {"GENERIC_WEBHOOK_SECRET": "s3cret"}

BASE = {
    "teams": [
        {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York"},
        {"name": "support", "channel": "C0SUPPORT"},
    ],
    "sources": [{"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"}],
    "routes": [{"name": "detractors", "when": {"kind": "nps", "category": "detractor"}, "team": "support"}],
}


def config_with(**changes) -> dict:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def problems_of(data: dict, environ: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ=ENV if environ is None else environ)
    assert caught.value.problems, "a ConfigError must list at least one problem"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def assert_problem(problems: list[str], key: str, *fragments: str) -> None:
    """Some problem names `key` (as 'key: …') and mentions every fragment."""
    matching = [p for p in problems if f"{key}:" in p]
    assert matching, f"no problem names {key!r}: {problems}"
    assert any(all(f in p for f in fragments) for p in matching), (key, fragments, problems)


# --- the README example ------------------------------------------------------------------------


def test_readme_configuration_example_parses() -> None:
    config = parse_config(tomllib.loads(README_TOML), environ=ENV)

    assert [t.name for t in config.teams] == ["success"]
    team = config.team("success")
    assert (team.channel, team.timezone, team.mention) == ("C0SUCCESS", "America/New_York", "S0CSLEADS")
    assert [s.name for s in config.sources] == ["generic"]
    assert config.source("generic").secret_env == "GENERIC_WEBHOOK_SECRET"
    assert config.source_secrets == {"generic": "s3cret"}
    assert config.source("nope") is None
    assert len(config.routes) == 1
    route = config.routes[0]
    assert (route.name, route.team, route.when.kind, route.when.category) == (
        "detractors to success", "success", "nps", "detractor")
    assert config.default_team == "success"
    assert config.team_for_channel("C0SUCCESS").name == "success"
    assert config.team_for_channel("C0OTHER") is None


def test_readme_example_via_load_config(tmp_path) -> None:
    path = tmp_path / "cxloop.toml"
    path.write_text(README_TOML, encoding="utf-8")
    config = load_config(path, environ=ENV)
    assert config.path == str(path)
    assert config.routes[0].name == "detractors to success"


def test_sample_config_loads_in_sandbox_without_secrets() -> None:
    config = load_config(SAMPLE_CONFIG_PATH, environ={}, sandbox=True)
    assert {t.name for t in config.teams} >= {"success", "support", "product"}
    assert config.source_secrets["generic"] == "sandbox-webhook-secret"


def test_default_team_falls_back_to_first_team() -> None:
    data = config_with()
    data.pop("default_team", None)
    assert parse_config(data, environ=ENV).default_team == "success"
    data["teams"] = list(reversed(data["teams"]))
    assert parse_config(data, environ=ENV).default_team == "support"


def test_explicit_default_team_is_used() -> None:
    assert parse_config(config_with(default_team="support"), environ=ENV).default_team == "support"


def test_team_timezone_defaults_to_utc() -> None:
    assert parse_config(config_with(), environ=ENV).team("support").timezone == "UTC"


def test_route_when_list_means_any_of() -> None:
    config = parse_config(config_with(routes=[
        {"name": "surveys", "when": {"kind": ["csat", "ces"]}, "team": "success"}]), environ=ENV)
    assert config.routes[0].when.kind == ["csat", "ces"]


def test_route_needs_follow_up_decides_over_the_promoter_default() -> None:
    config = parse_config(config_with(routes=[
        {"name": "vip promoters", "when": {"vip": True, "category": "promoter"}, "team": "success",
         "needs_follow_up": True},
        {"name": "quiet passives", "when": {"category": "passive"}, "team": "success", "needs_follow_up": False},
    ]), environ=ENV)

    def needs(**facts) -> bool:
        routed = RoutingFacts(source="generic", **facts)
        return needs_follow_up(routed, route_item(routed, config))

    assert needs(kind="nps", score=10, category="promoter") is False           # the default
    assert needs(kind="nps", score=10, category="promoter", vip=True) is True  # the route keeps it
    assert needs(kind="nps", score=8, category="passive") is False            # the route takes it out
    assert needs(kind="nps", score=2, category="detractor") is True
    assert needs(kind="escalation") is True
    problems = problems_of(config_with(routes=[{"name": "r", "team": "success", "needs_follow_up": "maybe"}]))
    assert any("routes[0].needs_follow_up" in problem for problem in problems)


# --- every error names its key ---------------------------------------------------------------


def test_unknown_team_in_route_names_route_key() -> None:
    problems = problems_of(config_with(routes=[{"name": "r", "when": {}, "team": "x"}]))
    assert_problem(problems, "routes[0].team", "unknown team 'x'")


def test_unknown_team_in_second_route_names_its_index() -> None:
    problems = problems_of(config_with(routes=[
        {"name": "ok", "team": "success"}, {"name": "bad", "team": "sucess"}]))
    assert_problem(problems, "routes[1].team", "unknown team 'sucess'")
    assert not any("routes[0]" in p for p in problems)


def test_unknown_default_team_names_default_team() -> None:
    assert_problem(problems_of(config_with(default_team="nobody")), "default_team", "'nobody'")


@pytest.mark.parametrize("channel", ["#general", "general", "c0lower", "U0USER", ""])
def test_bad_channel_id_names_channel_key(channel: str) -> None:
    data = config_with()
    data["teams"][1]["channel"] = channel
    assert_problem(problems_of(data), "teams[1].channel")


def test_unknown_timezone_names_timezone_key() -> None:
    data = config_with()
    data["teams"][0]["timezone"] = "Mars/Olympus_Mons"
    assert_problem(problems_of(data), "teams[0].timezone", "Mars/Olympus_Mons")


def test_invalid_keyword_regex_names_keyword_key() -> None:
    problems = problems_of(config_with(routes=[
        {"name": "r", "when": {"keyword": "(refund"}, "team": "success"}]))
    assert_problem(problems, "routes[0].when.keyword", "regular expression")


def test_score_min_above_score_max_is_refused() -> None:
    problems = problems_of(config_with(routes=[
        {"name": "r", "when": {"score_min": 7, "score_max": 3}, "team": "success"}]))
    assert_problem(problems, "routes[0].when", "score_min", "score_max")


def test_equal_score_min_and_max_is_accepted() -> None:
    config = parse_config(config_with(routes=[
        {"name": "r", "when": {"score_min": 5, "score_max": 5}, "team": "success"}]), environ=ENV)
    assert (config.routes[0].when.score_min, config.routes[0].when.score_max) == (5, 5)


def test_typo_key_in_team_is_unknown_key() -> None:
    data = config_with()
    data["teams"][0] = {"name": "success", "chanel": "C0SUCCESS"}
    problems = problems_of(data)
    assert_problem(problems, "teams[0].chanel", "unknown key")
    assert_problem(problems, "teams[0].channel")  # and the missing real key is named too


def test_typo_key_in_route_when_is_unknown_key() -> None:
    problems = problems_of(config_with(routes=[
        {"name": "r", "when": {"catgory": "detractor"}, "team": "success"}]))
    assert_problem(problems, "routes[0].when.catgory", "unknown key")


def test_unknown_top_level_key() -> None:
    assert_problem(problems_of(config_with(route=[])), "route", "unknown key")


def test_duplicate_team_names_second_team() -> None:
    data = config_with()
    data["teams"].append({"name": "success", "channel": "C0AGAIN"})
    assert_problem(problems_of(data), "teams[2].name", "duplicate team 'success'")


def test_duplicate_source_names_second_source() -> None:
    data = config_with()
    data["sources"].append({"name": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"})
    assert_problem(problems_of(data), "sources[1].name", "duplicate source 'generic'")


def test_missing_secret_env_var_names_key_and_variable() -> None:
    problems = problems_of(config_with(), environ={})
    assert_problem(problems, "sources[0].secret_env", "GENERIC_WEBHOOK_SECRET")


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_secret_env_var_counts_as_missing(value: str) -> None:
    problems = problems_of(config_with(), environ={"GENERIC_WEBHOOK_SECRET": value})
    assert_problem(problems, "sources[0].secret_env", "GENERIC_WEBHOOK_SECRET")


def test_offline_commands_load_without_secrets_and_verify_nothing() -> None:
    config = parse_config(config_with(), environ={}, offline=True)  # `cxloop import`, `cxloop report`
    assert config.source_secrets["generic"] == ""  # the webhook endpoint refuses a source with no secret


def test_sandbox_supplies_missing_source_secrets() -> None:
    config = parse_config(config_with(), environ={}, sandbox=True)
    assert config.source_secrets["generic"] == "sandbox-webhook-secret"


def test_sandbox_prefers_a_real_secret() -> None:
    config = parse_config(config_with(), environ=ENV, sandbox=True)
    assert config.source_secrets["generic"] == "s3cret"


def test_no_teams_is_refused() -> None:
    assert_problem(problems_of(config_with(teams=[], routes=[])), "teams")


def test_unknown_route_kind_is_refused() -> None:
    problems = problems_of(config_with(routes=[{"name": "r", "when": {"kind": "nsp"}, "team": "success"}]))
    assert any(p.startswith("routes[0].when.kind") for p in problems), problems


def test_bad_mention_id_is_refused() -> None:
    problems = problems_of(config_with(routes=[{"name": "r", "team": "success", "mention": "@ana"}]))
    assert_problem(problems, "routes[0].mention")


def test_several_problems_are_all_reported() -> None:
    data = config_with()
    data["teams"][0]["timezone"] = "Nowhere/Land"
    data["teams"][1]["channel"] = "#support"
    problems = problems_of(data)
    assert_problem(problems, "teams[0].timezone")
    assert_problem(problems, "teams[1].channel")


def test_cross_reference_problems_are_one_per_key() -> None:
    problems = problems_of(config_with(routes=[
        {"name": "a", "team": "nobody"}, {"name": "b", "team": "noone"}]))
    assert any(p.startswith("routes[0].team: unknown team 'nobody'") for p in problems), problems
    assert any(p.startswith("routes[1].team: unknown team 'noone'") for p in problems), problems


def test_union_field_error_names_the_plain_key() -> None:
    problems = problems_of(config_with(routes=[{"name": "r", "when": {"kind": "nsp"}, "team": "success"}]))
    assert len(problems) == 1, problems
    assert problems[0].startswith("routes[0].when.kind: "), problems


def test_unknown_theme_in_route_is_refused() -> None:
    problems = problems_of(config_with(routes=[
        {"name": "r", "when": {"theme": "feature request"}, "team": "success"}]))
    assert_problem(problems, "routes[0].when.theme", "feature request")


# --- load_config ---------------------------------------------------------------------------------


def test_load_config_missing_file_names_path(tmp_path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV)
    assert str(path) in str(caught.value)


def test_load_config_invalid_toml_names_path(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[[teams]]\nname = "success\nchannel = "C0SUCCESS"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV)
    assert str(path) in str(caught.value)
    assert "TOML" in str(caught.value)


def test_load_config_validation_error_names_key(tmp_path) -> None:
    path = tmp_path / "cxloop.toml"
    path.write_text(README_TOML.replace('team = "success"', 'team = "sucess"'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV)
    assert "routes[0].team: unknown team 'sucess'" in str(caught.value)


# --- load_settings -------------------------------------------------------------------------------


def settings_problems(env: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    return caught.value.problems


def test_settings_defaults() -> None:
    settings = load_settings({})
    assert settings.slack_bot_token is None
    assert settings.slack_signing_secret is None
    assert settings.slack_app_token is None
    assert settings.sandbox is False  # a missing token never means the sandbox: that is an explicit choice
    assert settings.dashboard_session_hours == 12 and settings.forwarded_allow_ips == "127.0.0.1"
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///cxloop.db"
    assert settings.config_path == DEFAULT_CONFIG_PATH == "cxloop.toml"
    assert settings.port == 3000
    assert settings.log_level == "INFO"


def test_settings_empty_values_mean_defaults() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "", "PORT": "", "DATABASE_URL": "", "CXLOOP_CONFIG": ""})
    assert settings.slack_bot_token is None and not settings.sandbox and settings.port == 3000
    assert settings.database_url == "sqlite:///cxloop.db" and settings.config_path == "cxloop.toml"


def test_settings_with_real_credentials() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_SIGNING_SECRET": "sss", "PORT": "8080",
                              "LOG_LEVEL": "debug", "SLACK_API_URL": "http://127.0.0.1:9999/api",
                              "CXLOOP_CONFIG": "/etc/cxloop.toml"})
    assert settings.sandbox is False
    assert settings.slack_bot_token == "xoxb-1-2" and settings.slack_signing_secret == "sss"
    assert settings.port == 8080
    assert settings.log_level == "DEBUG"
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"  # a trailing slash is added
    assert settings.config_path == "/etc/cxloop.toml"


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db.example:5432/cx", "postgresql+psycopg://u:p@db.example:5432/cx"),
    ("postgresql://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
    ("postgresql+psycopg://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
    ("sqlite:///cxloop.db", "sqlite:///cxloop.db"),
])
def test_normalize_database_url(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_settings_normalise_heroku_database_url() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://user:pass@host:5432/db"})
    assert settings.database_url == "postgresql+psycopg://user:pass@host:5432/db"


@pytest.mark.parametrize("port", ["abc", "0", "65536", "-1", "3000.5", "80 80"])
def test_bad_port_names_port(port: str) -> None:
    problems = settings_problems({"PORT": port})
    assert any(p.startswith("PORT:") and repr(port) in p for p in problems), problems


def test_superscript_port_is_a_config_error() -> None:
    assert any(p.startswith("PORT:") for p in settings_problems({"PORT": "²"}))


@pytest.mark.parametrize("token", ["xoxp-user-token", "xapp-1-app", "bot-token"])
def test_non_bot_token_names_slack_bot_token(token: str) -> None:
    problems = settings_problems({"SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": "sss"})
    assert any(p.startswith("SLACK_BOT_TOKEN:") and "xoxb-" in p for p in problems), problems


def test_token_without_signing_secret_names_signing_secret() -> None:
    problems = settings_problems({"SLACK_BOT_TOKEN": "xoxb-1-2"})
    assert any(p.startswith("SLACK_SIGNING_SECRET:") for p in problems), problems


def test_signing_secret_alone_is_accepted() -> None:
    settings = load_settings({"SLACK_SIGNING_SECRET": "sss"})
    assert settings.slack_signing_secret == "sss" and not settings.sandbox


@pytest.mark.parametrize("token", ["short", "x" * 31, " " * 40])
def test_short_dashboard_token_is_refused_with_how_to_make_one(token: str) -> None:
    [problem] = settings_problems({"CXLOOP_DASHBOARD_TOKEN": token})
    assert problem.startswith("CXLOOP_DASHBOARD_TOKEN:") and "at least 32" in problem
    assert "secrets.token_urlsafe(32)" in problem


def test_dashboard_token_of_32_characters_is_accepted() -> None:
    assert load_settings({"CXLOOP_DASHBOARD_TOKEN": "x" * 32}).dashboard_token == "x" * 32


@pytest.mark.parametrize("hours", ["0", "nan", "1e9", "twelve"])
def test_bad_dashboard_session_hours_names_variable(hours: str) -> None:
    [problem] = settings_problems({"CXLOOP_DASHBOARD_SESSION_HOURS": hours})
    assert problem.startswith("CXLOOP_DASHBOARD_SESSION_HOURS:")


def test_bad_slack_api_url_names_variable() -> None:
    problems = settings_problems({"SLACK_API_URL": "slack.com/api"})
    assert any(p.startswith("SLACK_API_URL:") for p in problems), problems


def test_all_environment_problems_reported_together() -> None:
    problems = settings_problems({"SLACK_BOT_TOKEN": "xoxp-1", "PORT": "nope"})
    keys = {p.split(":", 1)[0] for p in problems}
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PORT"} <= keys


def test_provider_options_are_checked_at_load_time() -> None:
    data = {"teams": [{"name": "a", "channel": "C0A"}],
            "sources": [{"name": "tf", "type": "typeform", "secret_env": "TF_SECRET", "options": {"scor_ref": "x"}}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ={"TF_SECRET": "s"})
    assert caught.value.problems == ["sources[0].options: unknown key(s) scor_ref (known: score_ref, comment_ref, kind)"]


# --- [sentiment] -----------------------------------------------------------------------------------


def test_sentiment_words_are_loaded_and_used() -> None:
    config = parse_config(config_with(sentiment={"negative": ["escalated to legal"], "positive": ["kudos*"]}),
                          environ=ENV)
    assert config.sentiment_words == SentimentWords(negative=("escalated to legal",), positive=("kudos*",))
    assert parse_config(config_with(), environ=ENV).sentiment_words == SentimentWords()


@pytest.mark.parametrize(("section", "key", "words"), [
    ({"negative": ["  "]}, "sentiment.negative[0]", "should match pattern"),
    ({"negative": ["refund"], "positive": ["Refund"]}, "sentiment", "both negative and positive: refund"),
    ({"negative": "refund"}, "sentiment.negative", "valid list"),
    ({"angry": ["x"]}, "sentiment.angry", "unknown key"),
])
def test_bad_sentiment_words_name_the_key(section, key, words) -> None:
    problems = problems_of(config_with(sentiment=section))
    assert_problem(problems, key, words)


def test_routes_may_match_mixed_sentiment_and_churn_risk() -> None:
    config = parse_config(config_with(routes=[
        {"name": "r", "when": {"sentiment": ["mixed", "negative"], "theme": "churn_risk"}, "team": "success"}]),
        environ=ENV)
    assert config.routes[0].when.theme == "churn_risk"
