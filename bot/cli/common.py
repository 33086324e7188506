"""Shared pieces of the `cxloop` commands: settings (beside a running demo), configuration, logging, the migration check."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from bot.config import (
    SAMPLE_CONFIG_PATH,
    AppConfig,
    ConfigError,
    Settings,
    load_config,
    load_settings,
)
from bot.db import NotMigratedError, assert_migrated
from bot.logs import configure_logging, redact_also
from bot.sandbox.demo_state import DEMO_STATE_FILE, read_demo_state

log = logging.getLogger("cxloop")


def fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(2)


def cli_settings(*, sandbox: bool = False, beside_demo: bool = True) -> Settings:
    """The environment's settings; `sandbox` only ever from an explicit choice (--sandbox, `cxloop demo`).

    Run where `cxloop demo` runs (its state file is here), with neither DATABASE_URL nor a bot token set, a
    command uses the demo's database and configuration, and says so on stderr: a second terminal beside
    the demo reads the figures the sandbox and dashboard show. `beside_demo=False` for the commands that
    prepare or serve a plain (empty) sandbox, which must agree with each other.
    """
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(f"Configuration error:\n{exc}")
        raise
    if sandbox:
        return replace(settings, sandbox=True)
    return demo_settings(settings) if beside_demo else settings


def demo_settings(settings: Settings) -> Settings:
    if os.environ.get("DATABASE_URL") or settings.slack_bot_token:
        return settings  # a configured database, or a real Slack: never the demo's
    state = read_demo_state()
    if state is None:
        return settings
    config_path = settings.config_path
    if not os.environ.get("CXLOOP_CONFIG") and state.get("config"):
        config_path = state["config"]
    shown = make_url(state["database_url"]).render_as_string(hide_password=True)
    click.echo(f"Using the demo's database {shown} and configuration {config_path} (from {DEMO_STATE_FILE} "
               "here; set DATABASE_URL to use another).", err=True)
    return replace(settings, database_url=state["database_url"], config_path=config_path, sandbox=True)


SANDBOX_HINT = ("To try cxloop without Slack, run `cxloop demo` or `cxloop serve --sandbox` (a fake Slack, "
                "on 127.0.0.1).")


def require_slack(settings: Settings, command: str) -> None:
    """Refuse to start a command that talks to Slack without a bot token: never fall back to the sandbox."""
    if not settings.slack_bot_token:
        fail(f"SLACK_BOT_TOKEN: not set. `cxloop {command}` needs the Slack app's bot token (xoxb-…, from "
              f"OAuth & Permissions). {SANDBOX_HINT}")


def app_config(settings: Settings, path: str | None = None, *, offline: bool = False) -> AppConfig:
    """The configuration; `offline` for a command that neither receives webhooks nor calls a provider,
    tracker or mailbox: their secrets may be unset (bot.config.parse_config)."""
    path = path or settings.config_path
    if settings.sandbox and path == "cxloop.toml" and not Path(path).exists():
        click.echo(f"No {path}; the sandbox uses the sample configuration ({SAMPLE_CONFIG_PATH}).")
        path = str(SAMPLE_CONFIG_PATH)
    try:
        config = load_config(path, sandbox=settings.sandbox, offline=offline)
    except ConfigError as exc:
        fail(f"Configuration error in {path}:\n{exc}")
        raise

    redact_also(config.secret_values())
    return config


def setup_logging(settings: Settings) -> None:

    configure_logging(settings.log_level, fmt=settings.log_format, secrets=settings.log_secrets)


def check_migrated(engine) -> None:

    try:
        assert_migrated(engine)
    except NotMigratedError as exc:
        fail(str(exc))


def actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def team_named(config: AppConfig, name: str):
    team = next((t for t in config.teams if t.name == name), None)
    if team is None:
        fail(f"Unknown team {name!r}. Teams: {', '.join(t.name for t in config.teams)}.")
    return team
