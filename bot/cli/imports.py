"""`cxloop import responses FILE --format …`: load a provider's CSV export as closed history.

The rows become stored, scored, linked items (bot/intake/history.py), never posted to Slack, in
batches, each committed on its own: a re-run after an interruption adds only what is missing (by
(source, id)) and reports the rest unchanged.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from bot.cli.common import app_config, check_migrated, cli_settings, fail
from bot.db import make_engine, make_session_factory
from bot.insights.topics import compute_topics, imported_weeks
from bot.intake.history import FORMATS, ImportError_, Options, default_workers, import_file
from models.base import utcnow

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@click.group("import")
def import_group() -> None:
    """Load history into cxloop."""


@import_group.command("responses")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(FORMATS), required=True,
              help="Whose CSV export FILE is (csv: cxloop's own columns, README 'Import history').")
@click.option("--source", default=None, help="The source to store under (default: the format's name; csv: "
                                             "generic). Give your webhook source's name so the ids match.")
@click.option("--kind", type=click.Choice(["nps", "csat", "ces", "psat"]), default="nps", show_default=True,
              help="What the score is, when the file does not say.")
@click.option("--score-column", default=None, help="Typeform / SurveyMonkey: the question column with the score.")
@click.option("--comment-column", default=None, help="Typeform / SurveyMonkey: the question column with the comment.")
@click.option("--workers", type=click.IntRange(1, 16), default=None,
              help="Processes preparing rows (default: one per CPU, up to 4, for 5 000 rows or more).")
def responses(file: Path, file_format: str, source: str | None, kind: str, score_column: str | None,
              comment_column: str | None, workers: int | None) -> None:
    """Import FILE as closed history: scored and linked, never posted to Slack, idempotent by (source, id)."""
    source = (source or ("generic" if file_format == "csv" else file_format)).strip()
    if not SOURCE_NAME.match(source):
        fail(f"--source: {source[:40]!r} is not a source name (lower-case letters, digits, - and _)")
    settings = cli_settings()
    config = app_config(settings, offline=True)
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    now = utcnow()
    options = Options(format=file_format, source=source, kind=kind, score_column=score_column,
                      comment_column=comment_column)
    try:
        with file.open(encoding="utf-8-sig", newline="") as counting:
            total = max(sum(1 for _ in counting) - 1, 0)  # lines, not rows: a quoted comment may span lines
        with file.open(encoding="utf-8-sig", newline="") as stream, \
                click.progressbar(length=total, label=f"Importing {file.name}", file=sys.stderr) as bar:
            summary = import_file(stream, factory=make_session_factory(engine), options=options, config=config,
                                  now=now, workers=workers or default_workers(total),
                                  progress=lambda rows: bar.update(max(0, min(rows, total) - bar.pos)))
    except ImportError_ as exc:
        fail(f"{file.name}: {exc}. Nothing was imported.")
        return
    except UnicodeDecodeError as exc:
        # The line count reads the whole file first, so this is raised before anything is stored.
        fail(f"{file.name}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV. Nothing was imported.")
        return
    click.echo(f"{file.name} ({file_format}, source {source}): {summary.rows} rows: added {summary.added}, "
               f"unchanged {summary.unchanged}, kept as stored {summary.kept}, errors {summary.bad}")
    for line, reason in summary.errors:
        click.echo(f"  line {line}: {reason}")
    if summary.bad > len(summary.errors):
        click.echo(f"  … and {summary.bad - len(summary.errors)} more")
    if summary.added:
        _group_topics(make_session_factory(engine), config=config, imported_at=now)
    sys.exit(1 if summary.bad else 0)


def _group_topics(factory, *, config, imported_at) -> None:
    """The weekly topics of every week the new rows fall in (all teams and each team), as the clock's
    weekly job would have left them: the dashboard and weekly reports of those weeks show them."""
    with factory() as session:
        weeks = imported_weeks(session, imported_at=imported_at, timezone=config.schedule.timezone or "UTC",
                               teams=[(team.name, team.timezone) for team in config.teams])
    if not weeks:
        return
    with click.progressbar(weeks, label="Grouping the weekly topics", file=sys.stderr) as bar:
        for week in bar:
            with factory() as session:
                compute_topics(session, week=week.week, team=week.team, teams=list(week.teams),
                               timezone=week.timezone, now=imported_at)
                session.commit()
    periods = sorted({week.week for week in weeks})
    click.echo(f"Topics grouped for {len(periods)} week{'s' if len(periods) != 1 else ''} "
               f"({periods[0]} to {periods[-1]}), all teams and each team: /dashboard and the weekly reports show them.")
