"""`cxloop doctor`: what a new admin runs after installing the app; each failed check names its fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from bot.config import AppConfig
from bot.slack.client import classify_failure
from bot.slack.scopes import REQUIRED_SCOPES
from models import JobRun, OutboxMessage
from models.delivery import DEAD, PENDING

WORKER_STALE = timedelta(minutes=5)  # a pending row older than this: no worker is delivering
CLOCK_STALE = timedelta(hours=26)    # the clock claims at least a digest a day when it runs


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""
    fatal: bool = True  # a failed non-fatal check is a warning: it does not fail the exit code


def _slack_error(exc: Exception) -> str:
    return classify_failure(exc).error


def slack_checks(client: WebClient, config: AppConfig) -> list[Check]:
    checks: list[Check] = []
    try:
        auth = client.auth_test()
    except Exception as exc:  # noqa: BLE001 — every failure becomes a line of the checklist
        return [Check(False, "Slack accepts the bot token (auth.test)", _slack_error(exc))]
    checks.append(Check(True, f"Slack accepts the bot token: {auth.get('team')} as {auth.get('user')}"))
    granted = {s.strip() for s in (auth.headers.get("X-OAuth-Scopes") or auth.headers.get("x-oauth-scopes")
                                   or "").split(",") if s.strip()}
    missing = sorted(set(REQUIRED_SCOPES) - granted)
    checks.append(Check(not missing, "the token has every scope cxloop needs" if not missing else
                        f"missing scope(s): {', '.join(missing)}",
                        "" if not missing else "add them under oauth_config.scopes.bot in manifest.yml (the shipped "
                        "manifest has them all), reinstall the app, and set SLACK_BOT_TOKEN to the new token; "
                        + "; ".join(f"{s}: {REQUIRED_SCOPES[s]}" for s in missing)))
    for team in config.teams:
        try:
            info = client.conversations_info(channel=team.channel)["channel"]
        except SlackApiError as exc:
            checks.append(Check(False, f"team {team.name}: channel {team.channel}", _slack_error(exc)))
            continue
        if info.get("is_archived"):
            checks.append(Check(False, f"team {team.name}: channel {team.channel} is archived",
                                "unarchive it or give the team another channel in the config file"))
        elif not info.get("is_member") and (info.get("is_private") or "chat:write.public" not in granted):
            checks.append(Check(False, f"team {team.name}: the bot cannot post in {team.channel}",
                                f"invite it: /invite @cxloop in {team.channel}"))
        else:
            how = "member" if info.get("is_member") else "posts via chat:write.public, joins to read history"
            checks.append(Check(True, f"team {team.name}: channel {team.channel} ({how})"))
        for target in {t for t in (team.mention, team.lead) if t} | set(team.members):
            try:
                if target.startswith("S"):
                    client.usergroups_users_list(usergroup=target)
                else:
                    client.users_info(user=target)
                checks.append(Check(True, f"team {team.name}: {target} exists"))
            except SlackApiError as exc:
                checks.append(Check(False, f"team {team.name}: {target}",
                                    f"{_slack_error(exc)} — fix the id in the config file"))
    return checks


def database_checks(session, *, now) -> list[Check]:
    oldest = session.scalar(select(func.min(OutboxMessage.available_at)).where(OutboxMessage.status == PENDING))
    dead = session.scalar(select(func.count()).where(OutboxMessage.status == DEAD)) or 0
    last_job = session.scalar(select(func.max(JobRun.claimed_at)))
    checks = [
        Check(oldest is None or now - oldest < WORKER_STALE,
              "the worker delivers the outbox" if oldest is None or now - oldest < WORKER_STALE
              else f"the oldest pending Slack call has waited since {oldest:%Y-%m-%d %H:%M} UTC",
              "start `cxloop worker` (or `cxloop serve` without --no-worker)"),
        Check(dead == 0, f"{dead} dead outbox row(s)" if dead else "no dead outbox rows",
              "`cxloop outbox --status dead` shows each row's error and fix; then `cxloop outbox retry`",
              fatal=False),
        Check(last_job is not None and now - last_job < CLOCK_STALE,
              "the clock runs scheduled jobs" if last_job is not None and now - last_job < CLOCK_STALE
              else "no scheduled job ran in the last 26 hours" if last_job else "no scheduled job has run yet",
              "run exactly one `cxloop clock` process", fatal=last_job is not None),
    ]
    return checks
