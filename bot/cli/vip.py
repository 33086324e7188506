"""`cxloop vip import|export`: the VIP book as CSV."""

from __future__ import annotations

import sys
import time

import click

from bot.cli.common import check_migrated, cli_settings, fail
from bot.config import (
    Settings,
)
from bot.db import make_engine, make_session_factory, session_scope
from bot.slack.client import classify_failure, make_client
from bot.vip.book import ImportRowError, export_csv, import_csv
from models.base import utcnow

LOOKUP_RATE_LIMIT_RETRIES = 3


class _SlackLookupFailed(Exception):
    """Slack could not answer a look-up (unreachable, bad token, missing scope): no row is at fault,
    so the import stops before writing anything."""


def _owner_resolver(settings: Settings):
    """resolve_owner for import_csv: an e-mail → its Slack user id through users.lookupByEmail, cached
    per e-mail. Without a bot token every e-mail owner fails its row, with a message saying why."""

    if not settings.slack_bot_token:
        def no_token(email: str) -> str | None:
            raise ImportRowError(f"owner: {email} is an e-mail; resolving e-mails to Slack users needs a bot token "
                                 "(set SLACK_BOT_TOKEN), or give the Slack user id (U…) instead")

        return no_token

    from slack_sdk.errors import SlackApiError

    client = make_client(settings.slack_bot_token, settings.slack_api_url)
    cache: dict[str, str | None] = {}

    def lookup(email: str) -> str | None:
        for attempt in range(LOOKUP_RATE_LIMIT_RETRIES + 1):
            try:
                return client.users_lookupByEmail(email=email)["user"]["id"]
            except Exception as exc:
                if isinstance(exc, SlackApiError) and exc.response.get("error") == "users_not_found":
                    return None
                failure = classify_failure(exc)
                if failure.kind == "rate_limited" and attempt < LOOKUP_RATE_LIMIT_RETRIES:
                    time.sleep(failure.retry_after)
                    continue
                hint = (" (the bot token needs the users:read.email scope)"
                        if failure.error.startswith("missing_scope") else "")
                raise _SlackLookupFailed(f"Slack could not look up the owner {email}: {failure.error}{hint}") from exc
        raise AssertionError("not reached")

    def resolve(email: str) -> str | None:
        if email not in cache:
            cache[email] = lookup(email)
        return cache[email]

    return resolve


@click.group()
def vip() -> None:
    """The VIP book: import and export accounts as CSV (columns: see the README)."""


@vip.command("import")
@click.argument("file", type=click.File("rb"))
def vip_import(file) -> None:
    """Add or update accounts from a CSV file (- reads stdin). Safe to re-run: unchanged rows write nothing.

    Exits 1 when some rows were refused (the others are loaded)."""
    import io

    settings = cli_settings()
    data = file.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        fail(f"{file.name}: line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}). "
              "Save the file as CSV UTF-8 and import it again.")
        raise
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    resolve_owner = _owner_resolver(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            report = import_csv(session, io.StringIO(text, newline=""), now=utcnow(), resolve_owner=resolve_owner)
    except _SlackLookupFailed as exc:
        fail(f"{exc}. Nothing was imported; try again later.")
        raise
    click.echo(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
               f"errors {len(report.errors)}")
    for line, reason in report.errors:
        click.echo(f"line {line}: {reason}")
    if report.property_columns:  # a misspelt column lands here, so say which ones did
        click.echo(f"columns kept as custom properties: {', '.join(report.property_columns)}")
    sys.exit(1 if report.errors else 0)


@vip.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
def vip_export(file: str | None) -> None:
    """Write every account as CSV, in the import format, to FILE (default: stdout)."""
    import io

    settings = cli_settings()
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    buffer = io.StringIO(newline="")
    with session_scope(make_session_factory(engine)) as session:
        count = export_csv(session, buffer)
    if file is None:
        click.echo(buffer.getvalue(), nl=False)
        return
    # A byte-order mark, so that spreadsheet programs read the file as UTF-8; import accepts it.
    with open(file, "w", encoding="utf-8-sig", newline="") as out:
        out.write(buffer.getvalue())
    click.echo(f"Exported {count} account(s) to {file}.")
