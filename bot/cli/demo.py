"""`cxloop demo` and `cxloop simulate`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from bot.cli.common import app_config, cli_settings, fail
from bot.cli.serve import serve
from bot.common.signing import sign_webhook
from bot.config import (
    MIN_DASHBOARD_TOKEN_CHARS,
    SANDBOX_WEBHOOK_SECRET,
)
from bot.db import make_engine, make_session_factory, session_scope, upgrade
from bot.sandbox.demo import (
    DEFAULT_SEED,
    DEMO_CONFIG_PATH,
    demo_seeded,
    demo_summary,
    seed_demo,
)
from bot.sandbox.demo_state import read_demo_state, write_demo_state
from bot.sandbox.samples import sample_payload
from models.base import utcnow


@click.command()
@click.option("--url", default=None, help="The running app (default http://127.0.0.1:$PORT).")
@click.option("--source", default="generic", show_default=True)
@click.option("--count", type=int, default=5, show_default=True)
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds between sends.")
@click.option("--secret", default=None, help="Webhook secret (default: $GENERIC_WEBHOOK_SECRET or the sandbox's).")
def simulate(url: str | None, source: str, count: int, interval: float, secret: str | None) -> None:
    """Send realistic, signed sample responses to a running cxloop."""
    import os

    import httpx

    settings = cli_settings()
    url = (url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    secret = secret or os.environ.get(f"{source.upper()}_WEBHOOK_SECRET") or SANDBOX_WEBHOOK_SECRET
    with httpx.Client(timeout=10) as client:
        for index in range(count):
            payload = sample_payload()
            body = json.dumps(payload).encode()
            try:
                response = client.post(f"{url}/webhooks/{source}", content=body, headers=sign_webhook(secret, body))
            except httpx.HTTPError as exc:
                fail(f"Could not reach {url}: {exc}. Is `cxloop serve` running?")
            score = payload.get("score", payload.get("priority"))
            click.echo(f"{payload['kind']:<10} {score!s:<7} {payload['customer']['name']:<14} → "
                       f"{response.status_code} {response.text[:120]}")
            if index + 1 < count:
                time.sleep(interval)


DEMO_DATABASE_URL = "sqlite:///cxloop-demo.db"


@click.command()
@click.option("--database-url", default=DEMO_DATABASE_URL, show_default=True,
              help="The demo's own database (never $DATABASE_URL, so demo data cannot reach a real one).")
@click.option("--seed", type=int, default=None, help="Random seed of the generated data (default: the demo's).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Defaults to $PORT or 3000.")
@click.option("--no-serve", is_flag=True, help="Only migrate and seed, then exit.")
@click.pass_context
def demo(ctx: click.Context, database_url: str, seed: int | None, host: str, port: int | None, no_serve: bool) -> None:
    """Seed a realistic demo workspace (3 teams, 500 VIP accounts, 2 000 responses over 60 days) and open
    the sandbox on it. Safe to re-run: a database that already holds the demo is served as it is."""
    import random
    import secrets

    settings = cli_settings(sandbox=True)
    if settings.slack_bot_token:
        fail("SLACK_BOT_TOKEN is set: `cxloop demo` runs the sandbox only (unset it, or use `cxloop serve`).")
    config_path = settings.config_path if Path(settings.config_path).exists() else str(DEMO_CONFIG_PATH)
    config = app_config(settings, config_path)
    upgrade(database_url)
    factory = make_session_factory(make_engine(database_url))
    with session_scope(factory) as session:
        fresh = not demo_seeded(session)
    if fresh:
        click.echo("Seeding the demo workspace (once; about half a minute)…")
        with session_scope(factory) as session:
            seed_demo(session, config=config, now=utcnow(), rng=random.Random(DEFAULT_SEED if seed is None else seed))
    with session_scope(factory) as session:
        summary = demo_summary(session)
    click.echo(f"Demo database {database_url}{'' if fresh else ' (already seeded)'}: {summary['accounts']} accounts, "
               f"{summary['items']} responses — {summary['open']} open, {summary['no_follow_up']} thanked (no follow-up "
               f"needed), {summary['claimed']} claimed, "
               f"{summary['resolved']} resolved.")
    # Kept beside the database: CLI commands run here find it, and a bookmarked dashboard link keeps working
    # after a restart. A token set in the environment wins and is not copied into the file.
    state = {"database_url": database_url, "config": str(Path(config_path).resolve())}
    token = None
    if not settings.dashboard_token:
        earlier = read_demo_state() or {}
        token = earlier.get("dashboard_token") if earlier.get("database_url") == database_url else None
        if not token or len(token) < MIN_DASHBOARD_TOKEN_CHARS:
            token = secrets.token_urlsafe(24)
        state["dashboard_token"] = token
    write_demo_state(state)
    if no_serve:
        return
    ctx.invoke(serve, host=host, port=port or settings.port, socket_mode=False, no_worker=False, sandbox=True,
               database_url=database_url, config_path=config_path, dashboard_token=token, with_clock=True)
