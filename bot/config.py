"""Typed settings: the environment (secrets, URLs) and the TOML file (teams, sources, routes).

This is the only module that reads os.environ. Everything is validated at start-up and every error
names the key it is about, so a typo in cxloop.toml fails loudly before a single webhook arrives.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.common.validation import error_location
from bot.common.vocabulary import DEFAULT_THEMES, KINDS, SentimentWords

# The adapters check their own `options`; they use bot.config only for type hints, so this is not a cycle.
from bot.intake.providers import adapter_for

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///cxloop.db"
DEFAULT_CONFIG_PATH = "cxloop.toml"
DEFAULT_PORT = 3000
DEFAULT_LEASE_SECONDS = 60
# Low values are for tests: a lease must outlast a row's Slack calls (10 s timeout each), or another
# worker may retake a row whose first post is still on its way and post it again.
MIN_LEASE_SECONDS = 5
# A dashboard token is a password for every customer's words: long enough not to be guessed.
MIN_DASHBOARD_TOKEN_CHARS = 32
MAKE_TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
DEFAULT_DASHBOARD_SESSION_HOURS = 12.0
SANDBOX_BOT_TOKEN = "xoxb-sandbox"
SANDBOX_SIGNING_SECRET = "sandbox-signing-secret"
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"
SOURCE_TYPES = ("generic", "delighted", "typeform", "zendesk", "intercom", "formbricks", "wootric", "surveymonkey")
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
CHANNEL_ID = r"^[CGD][A-Z0-9]{2,}$"
# A mention target: a user (<@U…>) or a user group (<!subteam^S…>).
MENTION_ID = r"^[UWS][A-Z0-9]{2,}$"
USER_ID = r"^[UW][A-Z0-9]{2,}$"


class ConfigError(Exception):
    """A configuration problem; str() lists every problem, one per line, each naming its key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Who may do a follow-up action on a team's items. "anyone" (the default) is whoever can see the
# message; "channel" the members of the team's channel; "members" the team's configured members;
# "lead" its lead (or members of the lead's user group); "admins" the [admins] list; a U… id one
# person and an S… id a Slack user group. Admins may always act.
PERMISSION_WHO = r"^(anyone|channel|members|lead|admins|[UWS][A-Z0-9]{2,})$"
PermissionList = Annotated[list[Annotated[str, Field(pattern=PERMISSION_WHO)]], Field(min_length=1)]


class TeamPermissions(_Strict):
    claim: PermissionList = ["anyone"]
    resolve: PermissionList = ["anyone"]
    reassign: PermissionList = ["anyone"]
    reopen: PermissionList = ["anyone"]
    # Replying to the customer and adding notes follow `resolve` unless a team sets them apart.
    reply: PermissionList | None = None
    note: PermissionList | None = None

    def rule(self, action: str) -> list[str]:
        """Who may do `action`. Snoozing the SLA and setting or pushing follow-up dates change the
        item as much as resolving it does, so they follow `resolve` (as reply and note do when unset)."""
        own = getattr(self, action) if action in PERMISSION_KEYS else None
        return own if own is not None else self.resolve


PERMISSION_KEYS = ("claim", "resolve", "reassign", "reopen", "reply", "note")


class StatusReportSchedule(_Strict):
    """`status_report = { days = ["mon", "wed", "fri"], time = "16:00", to = ["U…"] }`: the clock DMs each
    person in `to` a draft status report of the team on those weekdays at that local time."""

    days: Annotated[list[Weekday], Field(min_length=1)]
    time: Annotated[str, Field(pattern=HHMM)]
    to: Annotated[list[Annotated[str, Field(pattern=USER_ID)]], Field(min_length=1)]

    @field_validator("days")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a weekday is listed twice")
        return value


class TeamConfig(_Strict):
    name: Annotated[str, Field(pattern=SLUG)]
    channel: Annotated[str, Field(pattern=CHANNEL_ID, description="Slack channel id, e.g. C0SUCCESS")]
    timezone: str = "UTC"
    mention: Annotated[str | None, Field(pattern=MENTION_ID)] = None
    # Who works this team's items: their App Home lists its unclaimed items.
    members: list[Annotated[str, Field(pattern=USER_ID)]] = []
    # Escalation target when an item waits past twice its SLA (user or user group).
    lead: Annotated[str | None, Field(pattern=MENTION_ID)] = None
    # Overrides of [schedule] for this team.
    digest_at: Annotated[str | None, Field(pattern=HHMM)] = None
    weekly_on: Weekday | None = None
    # Post a monthly roll-up (for teams that find a per-response stream noisy).
    monthly_report: bool = False
    # A draft status report DMed on a schedule (see StatusReportSchedule); none by default.
    status_report: StatusReportSchedule | None = None
    permissions: TeamPermissions = TeamPermissions()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Paris')") from None
        return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class ScheduleConfig(_Strict):
    """When the clock's jobs run; times are local to each team's timezone."""

    digest_at: Annotated[str, Field(pattern=HHMM)] = "09:00"
    weekly_on: Weekday = "mon"
    workday_start: Annotated[str, Field(pattern=HHMM)] = "09:00"
    workday_end: Annotated[str, Field(pattern=HHMM)] = "18:00"
    workdays: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    # After downtime, a run missed by less than this is still made (once); older ones are skipped.
    catch_up_hours: Annotated[float, Field(ge=0, le=72)] = 6
    # Claim SLA in hours, by "escalation" or by category ("detractor", "passive", "promoter").
    sla_hours: dict[str, Annotated[float, Field(gt=0, le=24 * 30)]] = {"escalation": 1, "detractor": 4}
    nudge_every_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    vip_checkins: Annotated[int, Field(ge=1, le=25)] = 5
    # For VIP owners who are in no team.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            TeamConfig._known_timezone(value)
        return value

    @field_validator("sla_hours")
    @classmethod
    def _sla_keys(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - {"escalation", "detractor", "passive", "promoter"}
        if unknown:
            raise ValueError(f"unknown SLA key(s) {', '.join(sorted(unknown))}: use escalation, detractor, "
                             "passive or promoter")
        return value

    @model_validator(mode="after")
    def _workday(self) -> ScheduleConfig:
        if self.workday_start >= self.workday_end:
            raise ValueError("workday_start must be before workday_end")
        return self


class EmailConfig(_Strict):
    """SMTP for replies to customers whose source cannot carry a reply."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    sender: Annotated[str, Field(min_length=3, description="From: header, e.g. 'Acme CX <cx@acme.com>'")]
    starttls: bool = True
    username_env: Annotated[str | None, Field(pattern=ENV_NAME)] = None
    password_env: Annotated[str | None, Field(pattern=ENV_NAME)] = None


class SourceConfig(_Strict):
    name: Annotated[str, Field(pattern=SLUG)]
    type: Literal[SOURCE_TYPES] = "generic"  # type: ignore[valid-type]
    # The provider's signing secret (webhook secret, client secret, …) is read from this variable.
    secret_env: Annotated[str, Field(pattern=ENV_NAME)]
    # Provider-specific settings (e.g. Typeform field refs); each adapter documents and checks its own.
    options: dict[str, Any] = {}
    # The provider's API, for calls back (Zendesk notes, Intercom replies, SurveyMonkey fetches).
    # Outbound hosts come only from here: nothing in a request can make cxloop call another host.
    api_url: Annotated[str | None, Field(pattern=r"^https?://")] = None
    api_user_env: Annotated[str | None, Field(pattern=ENV_NAME)] = None   # e.g. the Zendesk agent e-mail
    api_token_env: Annotated[str | None, Field(pattern=ENV_NAME)] = None
    # Close the loop: a signed JSON POST here when an item of this source is resolved …
    resolved_url: Annotated[str | None, Field(pattern=r"^https?://")] = None
    # … and when a promoter arrives (score ≥ promoter_min_score), once per response.
    promoter_url: Annotated[str | None, Field(pattern=r"^https?://")] = None
    promoter_min_score: Annotated[int, Field(ge=0, le=10)] = 9


# Issue trackers the product loop links feedback to (README "Product loop").
TRACKER_TYPES = ("github", "linear", "jira")
# What `repo` holds for each type: a GitHub owner/repo, a Linear team key, a Jira project key.
TRACKER_REPO_PATTERNS = {"github": r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$",
                         "linear": r"^[A-Z][A-Z0-9]{0,9}$", "jira": r"^[A-Z][A-Z0-9_]{0,19}$"}
TRACKER_REPO_HINTS = {"github": "owner/repo, e.g. 'acme/app'", "linear": "a team key, e.g. 'ENG'",
                      "jira": "a project key, e.g. 'ACME'"}
DEFAULT_TRACKER_API_URLS = {"github": "https://api.github.com", "linear": "https://api.linear.app"}


class TrackerConfig(_Strict):
    """An issue tracker: its webhooks arrive at POST /webhooks/<name>; its API creates and reads issues."""

    name: Annotated[str, Field(pattern=SLUG)]
    type: Literal[TRACKER_TYPES]  # type: ignore[valid-type]
    repo: Annotated[str, Field(min_length=1, max_length=140)]
    token_env: Annotated[str, Field(pattern=ENV_NAME)]   # API credential
    secret_env: Annotated[str, Field(pattern=ENV_NAME)]  # the webhook's secret
    # Jira Cloud: the site (https://acme.atlassian.net) and the e-mail the API token belongs to.
    site: Annotated[str | None, Field(pattern=r"^https?://")] = None
    user_env: Annotated[str | None, Field(pattern=ENV_NAME)] = None
    issue_type: Annotated[str, Field(min_length=1, max_length=60)] = "Task"  # Jira: the type of new issues
    # Outbound host comes only from here (tests point it at a local fake). Jira: defaults to `site`.
    api_url: Annotated[str | None, Field(pattern=r"^https?://")] = None

    @model_validator(mode="after")
    def _per_type(self) -> TrackerConfig:
        if not re.match(TRACKER_REPO_PATTERNS[self.type], self.repo):
            raise ValueError(f"repo: {self.repo[:60]!r} is not {TRACKER_REPO_HINTS[self.type]}")
        if self.type == "jira" and not (self.site and self.user_env):
            raise ValueError("a jira tracker needs site (https://YOUR.atlassian.net) and user_env (the API "
                             "token's account e-mail)")
        return self

    @property
    def api_base(self) -> str:
        return (self.api_url or DEFAULT_TRACKER_API_URLS.get(self.type) or self.site or "").rstrip("/")


Sentiment = Literal["negative", "neutral", "positive", "mixed", "not_analysed"]
Category = Literal["detractor", "passive", "promoter"]
Kind = Literal[KINDS]  # type: ignore[valid-type]


class RouteWhen(_Strict):
    """Conditions of a route; all given ones must hold. A list means 'any of these'."""

    kind: Kind | list[Kind] | None = None
    category: Category | list[Category] | None = None
    source: str | list[str] | None = None
    score_min: int | None = None
    score_max: int | None = None
    sentiment: Sentiment | list[Sentiment] | None = None
    theme: str | list[str] | None = None
    tag: str | list[str] | None = None
    plan: str | list[str] | None = None
    segment: str | list[str] | None = None
    vip: bool | None = None
    has_comment: bool | None = None
    keyword: str | None = Field(default=None, description="case-insensitive regex searched in the comment")

    @field_validator("keyword")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _score_range(self) -> RouteWhen:
        if self.score_min is not None and self.score_max is not None and self.score_min > self.score_max:
            raise ValueError("score_min is greater than score_max")
        return self


class RouteConfig(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    when: RouteWhen = RouteWhen()
    team: str
    mention: Annotated[str | None, Field(pattern=MENTION_ID)] = None
    # Whether what this route takes waits in the unclaimed queue for a Claim. Unset: everything but
    # promoters does (bot.intake.routing.needs_follow_up); true keeps promoters queued (VIP promoters),
    # false takes other items out too (passives of a low tier).
    needs_follow_up: bool | None = None


# A team's own sentiment words, in the theme keyword syntax ("crash*" a prefix, phrases on word boundaries).
SentimentKeyword = Annotated[str, Field(min_length=1, max_length=100, pattern=r"[^\W_]")]


class SentimentSection(_Strict):
    """[sentiment]: words that decide before the built-in lexicon, e.g. negative = ["escalated to legal"]."""

    negative: Annotated[list[SentimentKeyword], Field(max_length=500)] = []
    positive: Annotated[list[SentimentKeyword], Field(max_length=500)] = []

    @model_validator(mode="after")
    def _not_both(self) -> SentimentSection:
        both = {k.strip().casefold() for k in self.negative} & {k.strip().casefold() for k in self.positive}
        if both:
            raise ValueError(f"listed as both negative and positive: {', '.join(sorted(both))}")
        return self


# A property name as it appears in a provider's person properties / hidden fields, e.g. "Plan" or "plan_name".
PropertyName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"[^\W_]")]


class SegmentsConfig(_Strict):
    """[segments]: which customer property holds each segment, when it is not one of the usual names.

    Looked up in the response's customer properties (Delighted person properties, Typeform hidden
    fields, Wootric / Formbricks attributes, SurveyMonkey custom variables, generic customer.properties),
    names compared case- and "_"/"-"-insensitively; a field the payload sets itself wins."""

    plan_property: PropertyName | None = None
    segment_property: PropertyName | None = None
    role_property: PropertyName | None = None
    since_property: PropertyName | None = None
    agent_property: PropertyName | None = None


class FileConfig(_Strict):
    teams: Annotated[list[TeamConfig], Field(min_length=1)]
    sources: list[SourceConfig] = []
    routes: list[RouteConfig] = []
    default_team: str | None = None
    themes: dict[str, list[str]] | None = None
    sentiment: SentimentSection = SentimentSection()
    segments: SegmentsConfig = SegmentsConfig()
    # Slack user ids allowed to edit the VIP book from Slack (/vip add, /vip owner, Assign owner).
    admins: list[Annotated[str, Field(pattern=USER_ID)]] = []
    schedule: ScheduleConfig = ScheduleConfig()
    email: EmailConfig | None = None
    trackers: list[TrackerConfig] = []

    def reference_problems(self, theme_names: set[str]) -> list[str]:
        """Problems between entries (unknown team, duplicates, unknown theme), one per key."""
        team_names = [t.name for t in self.teams]
        problems = []
        for index, name in enumerate(team_names):
            if team_names.index(name) != index:
                problems.append(f"teams[{index}].name: duplicate team {name!r}")
        source_names = [s.name for s in self.sources]
        for index, name in enumerate(source_names):
            if source_names.index(name) != index:
                problems.append(f"sources[{index}].name: duplicate source {name!r}")
        tracker_names = [t.name for t in self.trackers]
        for index, name in enumerate(tracker_names):
            if tracker_names.index(name) != index:
                problems.append(f"trackers[{index}].name: duplicate tracker {name!r}")
            elif name in source_names:
                # Both receive webhooks at /webhooks/<name>: one name, one sender.
                problems.append(f"trackers[{index}].name: {name!r} is also a source's name (both would be "
                                f"POST /webhooks/{name})")
        for index, route in enumerate(self.routes):
            if route.team not in team_names:
                problems.append(f"routes[{index}].team: unknown team {route.team!r} (teams: {', '.join(team_names)})")
            for theme in _as_list(route.when.theme):
                if theme not in theme_names:
                    problems.append(f"routes[{index}].when.theme: unknown theme {theme!r} "
                                    f"(themes: {', '.join(sorted(theme_names))})")
        if self.default_team is not None and self.default_team not in team_names:
            problems.append(f"default_team: unknown team {self.default_team!r}")
        return problems


def _as_list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class AppConfig:
    """The loaded TOML plus derived look-ups."""

    teams: tuple[TeamConfig, ...]
    sources: tuple[SourceConfig, ...]
    routes: tuple[RouteConfig, ...]
    default_team: str
    themes: Mapping[str, tuple[str, ...]]
    path: str | None = None
    source_secrets: Mapping[str, str] = field(default_factory=dict)
    admins: tuple[str, ...] = ()
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    # Per source: {"user": …, "token": …} for calls to its API (from api_user_env / api_token_env).
    source_credentials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    email: EmailConfig | None = None
    email_credentials: Mapping[str, str] = field(default_factory=dict)
    trackers: tuple[TrackerConfig, ...] = ()
    # Per tracker: {"secret": webhook secret, "token": API token}.
    tracker_credentials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # [sentiment]: the team's own negative / positive words.
    sentiment_words: SentimentWords = field(default_factory=SentimentWords)
    # [segments]: the property names that hold plan, segment, role, customer-since and agent.
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)

    def secret_values(self) -> list[str]:
        """Every secret the config pointed at (webhook secrets, API credentials, SMTP password), to redact."""
        return [*self.source_secrets.values(),
                *(value for credentials in self.source_credentials.values() for value in credentials.values()),
                *self.email_credentials.values(),
                *(value for credentials in self.tracker_credentials.values() for value in credentials.values())]

    def team(self, name: str) -> TeamConfig:
        return next(t for t in self.teams if t.name == name)

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)

    def tracker(self, name: str) -> TrackerConfig | None:
        return next((t for t in self.trackers if t.name == name), None)

    def teams_of(self, user_id: str) -> list[TeamConfig]:
        return [t for t in self.teams if user_id in t.members]

    def digest_at(self, team: TeamConfig) -> str:
        return team.digest_at or self.schedule.digest_at

    def weekly_on(self, team: TeamConfig) -> str:
        return team.weekly_on or self.schedule.weekly_on

    def timezone_of(self, user_id: str) -> str:
        """A person's working timezone: their first team's, else [schedule].timezone, else the first team's."""
        teams = self.teams_of(user_id)
        return teams[0].timezone if teams else (self.schedule.timezone or self.teams[0].timezone)

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    def team_for_channel(self, channel_id: str) -> TeamConfig | None:
        return next((t for t in self.teams if t.channel == channel_id), None)


def _format_validation_error(exc: ValidationError) -> list[str]:
    problems: dict[str, str] = {}
    for error in exc.errors():
        key = error_location(error["loc"]) or "(file)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.setdefault(key, message)  # a union reports each branch; the first says enough
    return [f"{key}: {message}" for key, message in problems.items()]


def _provider_option_problems(sources: list[SourceConfig]) -> list[str]:
    """Each provider adapter checks its own `options`, so a typo fails at start-up, not on a live webhook."""
    problems = []
    for index, source in enumerate(sources):
        if source.type == "generic":
            continue
        check = getattr(adapter_for(source.type), "check_options", None)
        if check is not None:
            for problem in check(source.options):
                # Adapters word problems as "options.key: …" or "options: …"; name the source's key once.
                key, sep, message = problem.partition(": ")
                if sep and key.startswith("options"):
                    problems.append(f"sources[{index}].{key}: {message}")
                else:
                    problems.append(f"sources[{index}].options: {problem}")
    return problems


def parse_config(data: Mapping[str, Any], *, path: str | None = None,
                 environ: Mapping[str, str] | None = None, sandbox: bool = False,
                 offline: bool = False) -> AppConfig:
    """The configuration, every problem named. `offline`: for a command that neither receives webhooks nor
    calls a provider, tracker or mailbox (`cxloop import`, `cxloop report`): their secrets may be unset
    there (they stay empty, and an empty secret verifies nothing)."""
    try:
        parsed = FileConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from None
    themes = {k: tuple(v) for k, v in (parsed.themes or DEFAULT_THEMES).items()}
    problems = parsed.reference_problems(set(themes))
    if problems:
        raise ConfigError(problems)
    problems += _provider_option_problems(parsed.sources)
    if problems:
        raise ConfigError(problems)
    environ = os.environ if environ is None else environ
    secrets: dict[str, str] = {}
    credentials: dict[str, dict[str, str]] = {}
    for index, source in enumerate(parsed.sources):
        secret = environ.get(source.secret_env, "")
        if not secret.strip() and sandbox:
            # Only the sandbox (an explicit choice, bound to 127.0.0.1) falls back to the public secret, and
            # only for a source whose variable is unset: a configured secret is always the one checked.
            secret = SANDBOX_WEBHOOK_SECRET
        if not secret.strip() and not offline:
            problems.append(f"sources[{index}].secret_env: environment variable {source.secret_env} is not set "
                            f"(it holds the signing secret of source {source.name!r}; `cxloop serve --sandbox` "
                            "is the only mode that runs without it)")
        secrets[source.name] = secret
        credentials[source.name] = {}
        for key, variable in (("user", source.api_user_env), ("token", source.api_token_env)):
            if variable:
                value = environ.get(variable, "")
                if not value.strip() and not sandbox and not offline:
                    problems.append(f"sources[{index}].api_{key}_env: environment variable {variable} is not set")
                credentials[source.name][key] = value
    email_credentials: dict[str, str] = {}
    if parsed.email is not None:
        for key, variable in (("username", parsed.email.username_env), ("password", parsed.email.password_env)):
            if variable:
                value = environ.get(variable, "")
                if not value.strip() and not sandbox and not offline:
                    problems.append(f"email.{key}_env: environment variable {variable} is not set")
                email_credentials[key] = value
    tracker_credentials: dict[str, dict[str, str]] = {}
    for index, tracker in enumerate(parsed.trackers):
        values = {}
        for key, variable in (("secret", tracker.secret_env), ("token", tracker.token_env),
                              ("user", tracker.user_env)):
            if variable is None:
                continue
            value = environ.get(variable, "")
            if not value.strip() and sandbox and key == "secret":
                value = SANDBOX_WEBHOOK_SECRET
            if not value.strip() and not sandbox and not offline:
                problems.append(f"trackers[{index}].{key}_env: environment variable {variable} is not set "
                                f"(the {'webhook secret' if key == 'secret' else 'API credential'} of tracker "
                                f"{tracker.name!r})")
            values[key] = value
        tracker_credentials[tracker.name] = values
    if problems:
        raise ConfigError(problems)
    return AppConfig(
        teams=tuple(parsed.teams), sources=tuple(parsed.sources), routes=tuple(parsed.routes),
        default_team=parsed.default_team or parsed.teams[0].name, themes=themes, path=path,
        source_secrets=secrets, admins=tuple(parsed.admins), schedule=parsed.schedule,
        source_credentials=credentials, email=parsed.email, email_credentials=email_credentials,
        trackers=tuple(parsed.trackers), tracker_credentials=tracker_credentials,
        sentiment_words=SentimentWords(negative=tuple(parsed.sentiment.negative),
                                       positive=tuple(parsed.sentiment.positive)),
        segments=parsed.segments,
    )


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None, sandbox: bool = False,
                offline: bool = False) -> AppConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"CXLOOP_CONFIG: no such file {str(path)!r}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_config(data, path=str(path), environ=environ, sandbox=sandbox, offline=offline)


SAMPLE_CONFIG_PATH = Path(__file__).with_name("sample_config.toml")


@dataclass(frozen=True)
class Settings:
    """Process settings from the environment."""

    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_app_token: str | None
    slack_api_url: str
    database_url: str
    config_path: str
    port: int
    log_level: str
    log_format: str = "text"  # text | json (one JSON object per line)
    # Values the log redactor hides wherever they appear: tokens, secrets, passwords from the environment.
    log_secrets: tuple[str, ...] = ()
    # Opens /dashboard (?token=, cookie or Bearer); unset: a random one in the sandbox, the dashboard off otherwise.
    dashboard_token: str | None = None
    # How long a worker owns a leased outbox row; after a crash the row waits this long to be retaken.
    delivery_lease_seconds: int = DEFAULT_LEASE_SECONDS
    # How long a dashboard sign-in (its cookie) lasts.
    dashboard_session_hours: float = DEFAULT_DASHBOARD_SESSION_HOURS
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto uvicorn trusts (comma-separated IPs or networks, or *).
    forwarded_allow_ips: str = "127.0.0.1"
    # Run against the built-in fake Slack. Only ever set by an explicit choice (`cxloop demo`,
    # `cxloop serve --sandbox`), never inferred from a missing token: a misspelt variable must not
    # turn a production process into the sandbox.
    sandbox: bool = False


def normalize_database_url(url: str) -> str:
    # Heroku-style URLs name the scheme 'postgres://', which SQLAlchemy does not accept.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


_SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY)$")


def _secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    values = [value for name, value in env.items() if _SECRET_NAME.search(name) and value]
    database_url = env.get("DATABASE_URL") or ""
    password = re.match(r"^[a-z0-9+]+://[^:/@]*:([^@]+)@", database_url)
    if password:
        values.append(password.group(1))
    return tuple(values)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    problems = []
    token = env.get("SLACK_BOT_TOKEN") or None
    secret = env.get("SLACK_SIGNING_SECRET") or None
    if token and not token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN: expected a bot token starting with 'xoxb-'")
    if token and not secret and not env.get("SLACK_APP_TOKEN"):
        problems.append("SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (Basic Information → App Credentials)")
    api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not re.match(r"^https?://", api_url):
        problems.append(f"SLACK_API_URL: expected an http(s) URL, got {api_url!r}")
    elif not api_url.endswith("/"):
        api_url += "/"
    port_raw = env.get("PORT") or str(DEFAULT_PORT)
    if not (port_raw.isascii() and port_raw.isdigit()) or not 0 < int(port_raw) < 65536:
        problems.append(f"PORT: expected a port number, got {port_raw!r}")
        port_raw = str(DEFAULT_PORT)
    lease_raw = env.get("CXLOOP_LEASE_SECONDS") or str(DEFAULT_LEASE_SECONDS)
    if not (lease_raw.isascii() and lease_raw.isdigit()) or not MIN_LEASE_SECONDS <= int(lease_raw) <= 3600:
        problems.append(f"CXLOOP_LEASE_SECONDS: expected whole seconds from {MIN_LEASE_SECONDS} to 3600, "
                        f"got {lease_raw[:20]!r}")
        lease_raw = str(DEFAULT_LEASE_SECONDS)
    log_format = (env.get("LOG_FORMAT") or "text").lower()
    if log_format not in ("text", "json"):
        problems.append(f"LOG_FORMAT: expected 'text' or 'json', got {log_format[:20]!r}")
    dashboard_token = env.get("CXLOOP_DASHBOARD_TOKEN") or None
    if dashboard_token is not None and len(dashboard_token.strip()) < MIN_DASHBOARD_TOKEN_CHARS:
        problems.append(f"CXLOOP_DASHBOARD_TOKEN: too short ({len(dashboard_token.strip())} characters; at least "
                        f"{MIN_DASHBOARD_TOKEN_CHARS}). Make one with: {MAKE_TOKEN_HINT}")
    hours_raw = env.get("CXLOOP_DASHBOARD_SESSION_HOURS") or str(DEFAULT_DASHBOARD_SESSION_HOURS)
    try:
        session_hours = float(hours_raw)
        if not 0.1 <= session_hours <= 24 * 30:
            raise ValueError
    except ValueError:
        problems.append(f"CXLOOP_DASHBOARD_SESSION_HOURS: expected hours from 0.1 to 720, got {hours_raw[:20]!r}")
        session_hours = DEFAULT_DASHBOARD_SESSION_HOURS
    if problems:
        raise ConfigError(problems)
    return Settings(
        slack_bot_token=token,
        slack_signing_secret=secret,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        slack_api_url=api_url,
        database_url=normalize_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        config_path=env.get("CXLOOP_CONFIG") or DEFAULT_CONFIG_PATH,
        port=int(port_raw),
        log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
        log_format=log_format,
        log_secrets=_secret_values(env),
        dashboard_token=dashboard_token,
        delivery_lease_seconds=int(lease_raw),
        dashboard_session_hours=session_hours,
        forwarded_allow_ips=(env.get("FORWARDED_ALLOW_IPS") or "127.0.0.1").strip(),
    )
