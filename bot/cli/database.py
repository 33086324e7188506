"""`cxloop db upgrade|current`."""

from __future__ import annotations

import click

from bot.cli.common import cli_settings
from bot.db import current_revision, head_revision, make_engine, upgrade


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (safe to run at every release)."""

    settings = cli_settings(beside_demo=False)  # the database `serve --sandbox` serves
    upgrade(settings.database_url, revision)
    click.echo(f"Database is at {revision}.")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and the code's."""

    settings = cli_settings(beside_demo=False)
    current = current_revision(make_engine(settings.database_url))
    click.echo(f"database: {current or '(empty)'}\ncode:     {head_revision()}")
