"""`cxloop link`: an item to a tracker issue."""

from __future__ import annotations

import click

from bot.cli.common import actor, app_config, check_migrated, cli_settings, fail
from bot.db import make_engine, make_session_factory, session_scope
from bot.product.adapters import parse_ref
from bot.product.service import link_existing
from bot.product.trackers import RefError
from models.base import utcnow


@click.command()
@click.argument("item_id", type=click.IntRange(1, 2**31 - 1))
@click.argument("issue")
def link(item_id: int, issue: str) -> None:
    """Link item ITEM_ID to an issue of a configured tracker (its URL, `owner/repo#42`, or `42`)."""

    settings = cli_settings()
    config = app_config(settings)
    try:
        ref = parse_ref(issue, config)
    except RefError as exc:
        fail(str(exc))
    engine = make_engine(settings.database_url)
    check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        result = link_existing(session, item_id=item_id, ref=ref, user_id=actor(), config=config, now=utcnow())
        if not result.linked:
            session.rollback()
    if not result.linked:
        fail(result.reason or "not linked")
    click.echo(f"Linked item {item_id} to {ref.tracker} issue {ref.key}. The delivery worker reads its title and "
               "state, and notes the link in the item's thread.")
