"""`cxloop outbox [retry]` and `cxloop jobs`: what waits to be delivered, and the scheduled jobs."""

from __future__ import annotations

import click

from bot.cli.common import app_config, check_migrated, cli_settings
from bot.db import make_engine, make_session_factory, session_scope
from bot.delivery.handlers import requeue_dead
from bot.delivery.outbox import outbox_counts
from bot.schedule.plans import next_runs
from models import JobRun, OutboxMessage
from models.base import utcnow


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "dead", "sent"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def outbox(ctx: click.Context, status: str | None, limit: int) -> None:
    """Show the delivery queue (default: counts, then pending and dead rows)."""
    if ctx.invoked_subcommand:
        return
    from sqlalchemy import select

    settings = cli_settings()
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        counts = outbox_counts(session)
        click.echo(f"pending {counts['pending']}  dead {counts['dead']}  sent {counts['sent']}")
        statuses = [status] if status else ["pending", "dead"]
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(statuses))
                               .order_by(OutboxMessage.id).limit(limit))
        for row in rows:
            click.echo(f"#{row.id:<6} {row.status:<7} {row.kind:<12} item {row.item_id or '-':<6} {row.channel:<12} "
                       f"failures {row.failures}  {(row.last_error or '')[:80]}")
            if row.status == "dead" and len(row.last_error or "") > 80:
                click.echo(f"        {row.last_error}")  # the whole error: it says what to fix


@outbox.command("retry")
@click.option("--id", "row_id", type=int, default=None, help="Requeue one dead row (default: all dead rows).")
def outbox_retry(row_id: int | None) -> None:
    """Requeue dead rows for delivery."""

    settings = cli_settings()
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        count = requeue_dead(session, row_id=row_id, now=utcnow())
    click.echo(f"Requeued {count} row(s); a running worker delivers them now.")


@click.command()
@click.option("--limit", type=int, default=15, show_default=True, help="How many recent runs to list.")
def jobs(limit: int) -> None:
    """List the scheduled jobs, their next run times, and the last runs."""
    from datetime import UTC

    from sqlalchemy import select

    settings = cli_settings()
    config = app_config(settings)
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    now = utcnow()
    schedule = config.schedule
    click.echo("Jobs (times are each team's local time):")
    for team in config.teams:
        click.echo(f"  {team.name:<12} digest {config.digest_at(team)} daily; weekly on {config.weekly_on(team)}"
                   + ("; monthly on the 1st" if team.monthly_report else "") + f"  [{team.timezone}]")
        for run in next_runs(config, team, now):
            click.echo(f"      next {run.job:<15} {run.scheduled_for:%Y-%m-%d %H:%M %Z} "
                       f"({run.scheduled_for.astimezone(UTC):%H:%M}Z) covering {run.period}")
    click.echo(f"  sla_nudge      every tick in business hours ({schedule.workday_start}–{schedule.workday_end}, "
               f"{'/'.join(schedule.workdays)}); SLA hours: "
               + ", ".join(f"{k} {v:g}" for k, v in schedule.sla_hours.items()))
    click.echo(f"  follow_up_due  at {schedule.workday_start} on workdays, owner's timezone")
    click.echo(f"  vip_checkins   at {schedule.workday_start} on workdays: each owner's {schedule.vip_checkins} picks (risk and value)")
    with session_scope(make_session_factory(engine)) as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.claimed_at.desc(), JobRun.id.desc()).limit(limit)).all()
        click.echo(f"Last {len(runs)} run(s):" if runs else "No runs yet.")
        for run in runs:
            click.echo(f"  {run.claimed_at:%Y-%m-%d %H:%M}Z  {run.job:<15} {run.target:<16} {run.period:<12} "
                       f"by {run.claimed_by}" + (f"  ({run.detail.get('skipped')})" if run.detail.get("skipped") else ""))
