"""`cxloop digest` and `cxloop report`: print (and with --send, queue once) a team's digest or report."""

from __future__ import annotations

import click

from bot.cli.common import app_config, check_migrated, cli_settings, fail, team_named
from bot.common.periods import (
    iso_week_label,
    local_today,
    month_label,
    parse_month,
    parse_week,
    previous_week,
)
from bot.db import make_engine, make_session_factory, session_scope
from bot.insights.digest import (
    build_daily_digest,
    build_monthly_report,
    build_weekly_report,
    digest_text,
    report_text,
)
from bot.insights.scheduled import send_digest, send_report
from bot.insights.segments import DIMENSIONS, cut_by, cut_text, parse_since
from models import Item
from models.base import utcnow


@click.command()
@click.argument("team_name", metavar="TEAM")
@click.option("--date", "day_text", default=None, metavar="YYYY-MM-DD",
              help="The team-local day (default: yesterday in the team's timezone).")
@click.option("--send", is_flag=True, help="Also queue it for the team channel (each day is sent at most once).")
def digest(team_name: str, day_text: str | None, send: bool) -> None:
    """Print TEAM's daily digest for a local day; --send posts it to the team channel too."""
    import re
    from datetime import date, timedelta
    from zoneinfo import ZoneInfo

    settings = cli_settings()
    config = app_config(settings, offline=True)
    team = team_named(config, team_name)
    now = utcnow()
    if day_text is None:
        day = now.astimezone(ZoneInfo(team.timezone)).date() - timedelta(days=1)
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day_text.strip()):
                raise ValueError
            day = date.fromisoformat(day_text.strip())
        except ValueError:
            fail(f"--date: expected a date such as 2026-11-22, got {day_text[:40]!r}")
            raise
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        click.echo(digest_text(build_daily_digest(session, team=team, day=day, now=now)))
        sent = None
        if send:

            sent = send_digest(session, config=config, team=team, day=day, now=now, claimed_by="cli")
    if send:
        click.echo(f"\nQueued the digest of {day.isoformat()} for {team.channel}; a running worker posts it."
                   if sent else "\nAlready sent; not sending twice.")


@click.command()
@click.argument("team_name", metavar="TEAM", required=False)
@click.option("--week", default=None, metavar="YYYY-Www", help="An ISO week, e.g. 2026-W47 (default: last week).")
@click.option("--month", default=None, metavar="YYYY-MM", help="A month, e.g. 2026-10: a monthly report instead.")
@click.option("--send", is_flag=True, help="Also queue it (and its chart) for the team channel, at most once.")
@click.option("--by", "by", type=click.Choice(DIMENSIONS), default=None,
              help="Instead: NPS, CSAT, volume, themes and time to resolve per group (all teams without TEAM).")
@click.option("--since", "since", default="90d", show_default=True, metavar="DATE|AGE",
              help="With --by: from this day (2026-01-01) or age (90d, 12w) until now.")
def report(team_name: str | None, week: str | None, month: str | None, send: bool, by: str | None,
           since: str) -> None:
    """Print TEAM's weekly trend report (8 weeks) or, with --month, its monthly one (6 months);
    with --by, a cut by plan, segment, role, tenure or agent."""
    if by is not None:
        if week or month or send:
            fail("--by prints a cut: it takes TEAM and --since, not --week, --month or --send.")
        _report_by(team_name, by, since)
        return
    if team_name is None:
        fail("Give a TEAM (or --by plan|segment|role|tenure|agent for a cut of every team).")

    settings = cli_settings()
    config = app_config(settings, offline=True)
    team = team_named(config, team_name)
    if week and month:
        fail("Give --week or --month, not both.")
    now = utcnow()
    try:
        if month:
            kind, period = "monthly", month_label(parse_month(month))
        else:
            kind = "weekly"
            period = iso_week_label(parse_week(week)) if week else previous_week(local_today(now, team.timezone))
    except ValueError as exc:
        fail(f"--{'month' if month else 'week'}: {exc}")
        raise
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        if kind == "weekly":
            trend = build_weekly_report(session, team=team, week=period, now=now)
        else:
            trend = build_monthly_report(session, team=team, month=period, now=now)
        click.echo(report_text(trend))
        sent = None
        if send:

            sent = send_report(session, config=config, team=team, kind=kind, period=period, now=now,
                               claimed_by="cli")
    if send:
        click.echo(f"\nQueued the {kind} report for {period} to {team.channel}; a running worker posts it."
                   if sent else "\nAlready sent; not sending twice.")


def _report_by(team_name: str | None, by: str, since: str) -> None:
    settings = cli_settings()
    config = app_config(settings, offline=True)
    team = team_named(config, team_name) if team_name else None
    now = utcnow()
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        fail(f"--since: {exc}")
        raise
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        cut = cut_by(session, by=by, start=start, end=now, where=(Item.team == team.name,) if team else ())
    window = f"{start:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC" + (f", team {team.name}" if team else ", all teams")
    click.echo(cut_text(cut, window))
