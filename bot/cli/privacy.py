"""`cxloop forget` and `cxloop purge`."""

from __future__ import annotations

import click

from bot.cli.common import actor, check_migrated, cli_settings, fail
from bot.common.email_address import InvalidEmail, normalise_email
from bot.db import make_engine, make_session_factory, session_scope
from bot.privacy.erasure import (
    forget_customer,
    parse_retention,
    purge_item_batch,
    purge_plan,
    purge_rest,
)
from models.base import utcnow


@click.command()
@click.argument("email")
def forget(email: str) -> None:
    """Erase a customer's personal data (comments, name, e-mail) here and in Slack's copies. Idempotent."""

    try:
        email = normalise_email(email)
    except InvalidEmail as exc:
        fail(f"expected one e-mail address: {email[:60]!r} {exc}")
    settings = cli_settings()
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        report = forget_customer(session, email=email, actor=actor(), now=utcnow())
    click.echo(f"Erased {report.items} item(s) and {report.contacts} VIP-book contact(s); blanked {report.notes} "
               f"note(s); queued {report.slack_updates} Slack update(s); cancelled {report.cancelled_replies} "
               "unsent reply(ies). Recorded in the audit log." if report.changed
               else "Nothing stored about that address (already erased, or never seen). Recorded in the audit log.")
    if report.slack_updates:
        click.echo("The delivery worker (`cxloop serve` or `cxloop worker`) applies the Slack updates.")


@click.command()
@click.option("--older-than", "older_than", required=True, metavar="DAYS",
              help="Retention period, e.g. 400d: what was received before that is deleted.")
@click.option("--include-open", is_flag=True,
              help="Delete open and claimed items too (by default only resolved ones are purged).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(older_than: str, include_open: bool, yes: bool) -> None:
    """Apply a retention policy: delete resolved items, delivered outbox rows, job runs and touches older
    than DAYS. Open and claimed items and each VIP account's latest touch are kept."""

    try:
        retention = parse_retention(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    settings = cli_settings()
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    factory = make_session_factory(engine)
    now = utcnow()
    cutoff = now - retention
    with session_scope(factory) as session:
        plan = purge_plan(session, cutoff=cutoff, include_open=include_open)
    which = "items (open and claimed included)" if include_open else "resolved items"
    click.echo(f"Purge before {cutoff:%Y-%m-%d} will delete: {plan.items} {which} with their follow-ups, "
               f"notes and outbox rows; {plan.outbox_rows} other delivered outbox row(s); {plan.job_runs} job "
               f"run(s); {plan.touches} touch(es) (each account keeps its latest).")
    if not yes and any((plan.items, plan.outbox_rows, plan.job_runs, plan.touches)):
        click.confirm("Delete them?", abort=True)
    items = 0
    while True:  # one transaction per batch: intake and delivery keep going during a long purge
        with session_scope(factory) as session:
            deleted = purge_item_batch(session, cutoff=cutoff, include_open=include_open)
        items += deleted
        if not deleted:
            break
    with session_scope(factory) as session:
        report = purge_rest(session, cutoff=cutoff, items=items, actor=actor(), now=now, include_open=include_open)
    click.echo(f"Purged before {report.cutoff:%Y-%m-%d}: {report.items} item(s), {report.outbox_rows} delivered "
               f"outbox row(s), {report.job_runs} job run(s), {report.touches} touch(es). Recorded in the audit log.")
