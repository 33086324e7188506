"""`cxloop check-config` and `cxloop doctor`."""

from __future__ import annotations

import sys

import click

from bot.cli.common import app_config, cli_settings
from bot.config import (
    ConfigError,
    load_config,
)
from bot.db import (
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    session_scope,
)
from bot.doctor import Check, database_checks, slack_checks
from bot.intake.routing import describe_when
from bot.slack.client import make_client
from models.base import utcnow


@click.command("check-config")
@click.argument("path", required=False)
def check_config(path: str | None) -> None:
    """Validate the TOML configuration and print the routing table."""

    settings = cli_settings()
    config = app_config(settings, path)
    click.echo(f"{config.path}: OK — {len(config.teams)} team(s), {len(config.sources)} source(s), "
               f"{len(config.routes)} route(s)\n")
    click.echo("Teams:")
    for team in config.teams:
        click.echo(f"  {team.name:<16} {team.channel:<12} {team.timezone}" + (f"  mention {team.mention}" if team.mention else ""))
    click.echo("Sources:")
    for source in config.sources:
        click.echo(f"  POST /webhooks/{source.name}  (type {source.type}, secret from ${source.secret_env})")
    click.echo("Routes (first match wins):")
    for index, route in enumerate(config.routes, 1):
        click.echo(f"  {index}. {route.name!r}: {describe_when(route.when)} → {route.team}"
                   + (f" (mention {route.mention})" if route.mention else ""))
    click.echo(f"  *. no match → {config.default_team}")


@click.command()
@click.option("--config", "path", default=None, help="Config file (default: $CXLOOP_CONFIG).")
def doctor(path: str | None) -> None:
    """Check the Slack app, its scopes and channels, the config's secrets, the database, clock and worker."""

    settings = cli_settings()
    checks: list[Check] = []
    config_path = path or settings.config_path
    try:
        config = load_config(config_path, sandbox=settings.sandbox)
        checks.append(Check(True, f"{config_path}: valid; every source's secret is set "
                                  f"({', '.join(s.secret_env for s in config.sources)})"))
    except ConfigError as exc:
        config = None
        checks.append(Check(False, f"{config_path} does not load", f"{exc} (set each source's secret_env variable)"))
    if not settings.slack_bot_token:
        checks.append(Check(False, "no bot token", "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token"))
    elif config is not None:
        checks += slack_checks(make_client(settings.slack_bot_token, settings.slack_api_url), config)
    engine = make_engine(settings.database_url)
    try:
        current, head = current_revision(engine), head_revision()
    except Exception as exc:  # noqa: BLE001 — an unreachable database is a line of the checklist
        current, head = f"unreachable ({type(exc).__name__})", None
    migrated = current == head
    checks.append(Check(migrated, "the database is migrated" if migrated else f"the database is at {current}, "
                        f"expected {head}", "run `cxloop db upgrade`"))
    if migrated:
        with session_scope(make_session_factory(engine)) as session:
            checks += database_checks(session, now=utcnow())
    for check in checks:
        mark = "ok  " if check.ok else ("FAIL" if check.fatal else "warn")
        click.secho(f"[{mark}] {check.what}", fg=None if check.ok else ("red" if check.fatal else "yellow"))
        if not check.ok and check.fix:
            click.echo(f"       fix: {check.fix}")
    failed = [c for c in checks if not c.ok and c.fatal]
    click.echo("All good." if not failed else f"{len(failed)} check(s) failed: cxloop would not work as configured.")
    if failed:
        sys.exit(1)
