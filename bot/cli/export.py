"""`cxloop export`: the items of a period (with follow-up, themes, sentiment) as CSV, JSON lines or Parquet."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import click

from bot.cli.common import check_migrated, cli_settings, fail
from bot.db import make_engine, make_session_factory, session_scope
from bot.insights.export import BATCH_SIZE, FORMATS, WRITERS, ExportError, batches, period
from bot.insights.segments import parse_since
from models.base import utcnow


@click.command()
@click.option("--since", required=True, metavar="DATE|AGE",
              help="The first UTC day whose items are exported: 2026-01-01, or an age such as 30d or 12w.")
@click.option("--until", default=None, type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The last UTC day exported (default: today).")
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS))
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (default: standard output; required for parquet).")
def export(since: str, until: datetime | None, fmt: str, out: Path | None) -> None:
    """Export the items received from --since to --until (UTC days), with follow-up, themes and sentiment,
    oldest first, read and written in batches. Erased customers stay erased. Columns: README "For BI"."""
    now = utcnow()
    try:
        first = parse_since(since, now).astimezone(UTC).date()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        span = period(first, until.date() if until else None, today=now.astimezone(UTC).date())
    except ExportError as exc:
        fail(str(exc))
        raise
    if fmt == "parquet" and out is None:
        fail("--format parquet needs --out FILE (Parquet is not written to a terminal)")
    settings = cli_settings()
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    rows = batches(partial(session_scope, make_session_factory(engine)), span=span, size=BATCH_SIZE)
    if fmt == "parquet":
        count = WRITERS[fmt](rows, str(out))
    elif out is None:
        count = WRITERS[fmt](rows, sys.stdout)
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = WRITERS[fmt](rows, handle)
    engine.dispose()
    click.echo(f"Exported {count} item(s) received {span.since.isoformat()} – {span.until.isoformat()} (UTC)"
               + (f" to {out}" if out else ""), err=True)
