"""`cxloop` command line: serve, worker, db, check-config, analyze, outbox, simulate, vip."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

import click

from bot.config import (
    MIN_DASHBOARD_TOKEN_CHARS,
    SAMPLE_CONFIG_PATH,
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    SANDBOX_WEBHOOK_SECRET,
    AppConfig,
    ConfigError,
    Settings,
    load_config,
    load_settings,
)

log = logging.getLogger("cxloop")


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(2)


def _settings(*, sandbox: bool = False, beside_demo: bool = True) -> Settings:
    """The environment's settings; `sandbox` only ever from an explicit choice (--sandbox, `cxloop demo`).

    Run where `cxloop demo` runs (its state file is here), with neither DATABASE_URL nor a bot token set, a
    command uses the demo's database and configuration, and says so on stderr: a second terminal beside
    the demo reads the figures the sandbox and dashboard show. `beside_demo=False` for the commands that
    prepare or serve a plain (empty) sandbox, which must agree with each other.
    """
    from dataclasses import replace

    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(f"Configuration error:\n{exc}")
        raise
    if sandbox:
        return replace(settings, sandbox=True)
    return _beside_demo(settings) if beside_demo else settings


def _beside_demo(settings: Settings) -> Settings:
    import os
    from dataclasses import replace

    from sqlalchemy.engine import make_url

    from bot.sandbox.demo import DEMO_STATE_FILE, read_demo_state  # lazy: CLI sub-command

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


def _require_slack(settings: Settings, command: str) -> None:
    """Refuse to start a command that talks to Slack without a bot token: never fall back to the sandbox."""
    if not settings.slack_bot_token:
        _fail(f"SLACK_BOT_TOKEN: not set. `cxloop {command}` needs the Slack app's bot token (xoxb-…, from "
              f"OAuth & Permissions). {SANDBOX_HINT}")


def _config(settings: Settings, path: str | None = None) -> AppConfig:
    path = path or settings.config_path
    if settings.sandbox and path == "cxloop.toml" and not Path(path).exists():
        click.echo(f"No {path}; the sandbox uses the sample configuration ({SAMPLE_CONFIG_PATH}).")
        path = str(SAMPLE_CONFIG_PATH)
    try:
        config = load_config(path, sandbox=settings.sandbox)
    except ConfigError as exc:
        _fail(f"Configuration error in {path}:\n{exc}")
        raise
    from bot.logs import redact_also  # lazy: CLI sub-command

    redact_also(config.secret_values())
    return config


def _logging(settings: Settings) -> None:
    from bot.logs import configure_logging  # lazy: CLI sub-command

    configure_logging(settings.log_level, fmt=settings.log_format, secrets=settings.log_secrets)


def _check_migrated(engine) -> None:
    from bot.db import NotMigratedError, assert_migrated  # lazy: CLI sub-command

    try:
        assert_migrated(engine)
    except NotMigratedError as exc:
        _fail(str(exc))


@click.group()
def main() -> None:
    """cxloop: close the customer-feedback loop in Slack."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 0.0.0.0; 127.0.0.1 with --sandbox).")
@click.option("--port", type=int, default=None, help="Defaults to $PORT or 3000.")
@click.option("--socket", "socket_mode", is_flag=True, help="Receive Slack over Socket Mode (needs SLACK_APP_TOKEN).")
@click.option("--no-worker", is_flag=True, help="Do not deliver in this process (run `cxloop worker` instead).")
@click.option("--sandbox", is_flag=True,
              help="Talk to a built-in fake Slack instead of Slack, with public test secrets. For trying cxloop "
                   "on your machine only.")
@click.option("--forwarded-allow-ips", default=None,
              help="Proxies whose X-Forwarded-Proto/-For are trusted: comma-separated addresses, or * behind a "
                   "router that is the only way in (Heroku). Defaults to $FORWARDED_ALLOW_IPS or 127.0.0.1.")
# `cxloop demo` serves its own database and configuration through these.
@click.option("--database-url", default=None, hidden=True)
@click.option("--config", "config_path", default=None, hidden=True)
@click.option("--with-clock", is_flag=True, hidden=True)
def serve(host: str | None, port: int | None, socket_mode: bool, no_worker: bool, sandbox: bool = False,
          forwarded_allow_ips: str | None = None, database_url: str | None = None,
          config_path: str | None = None, dashboard_token: str | None = None, with_clock: bool = False) -> None:
    """Serve webhooks and Slack requests (and deliver to Slack, unless --no-worker)."""
    from dataclasses import replace

    import uvicorn

    from bot.delivery.worker import DeliveryWorker  # lazy: CLI sub-command
    from bot.runtime import build_runtime  # lazy: CLI sub-command
    from bot.web import create_app  # lazy: CLI sub-command

    settings = _settings(sandbox=sandbox)
    if not sandbox:
        _require_slack(settings, "serve")
    elif socket_mode:
        _fail("--socket and --sandbox: choose one (the sandbox has no Slack to connect to).")
    # The sandbox accepts public secrets and lets anyone act as anyone: only this machine may reach it.
    host = host or ("127.0.0.1" if sandbox else "0.0.0.0")
    if database_url:
        settings = replace(settings, database_url=database_url)
    _logging(settings)
    config = _config(settings, config_path)
    port = port or settings.port
    from bot.db import make_engine  # lazy: CLI sub-command

    _check_migrated(make_engine(settings.database_url))  # before anything starts
    fake, dashboard_url = None, None
    if settings.sandbox:
        from bot.sandbox.fake_slack import FakeSlack  # lazy: CLI sub-command

        fake = FakeSlack(token=SANDBOX_BOT_TOKEN, host="127.0.0.1").start()
        # A signing secret configured in the environment is used even here: the public one only when none is.
        api_url, token = fake.base_url, SANDBOX_BOT_TOKEN
        secret = settings.slack_signing_secret or SANDBOX_SIGNING_SECRET
        if not settings.dashboard_token:
            import secrets
            from dataclasses import replace

            # The dashboard never opens without a token: the sandbox makes one up (`cxloop demo` keeps its
            # own across restarts) and prints its URL below.
            settings = replace(settings, dashboard_token=dashboard_token or secrets.token_urlsafe(24))
            dashboard_url = f"http://127.0.0.1:{port}/dashboard?token={settings.dashboard_token}"
    else:
        api_url, token, secret = settings.slack_api_url, settings.slack_bot_token, settings.slack_signing_secret or ""
        if not secret and not socket_mode:
            _fail("SLACK_SIGNING_SECRET: required to verify requests from Slack (or run with --socket)")
    runtime = build_runtime(settings, config, bot_token=token, signing_secret=secret, slack_api_url=api_url)
    worker = None if no_worker else DeliveryWorker(runtime.factory, runtime.client, config=config,
                                                   lease_seconds=settings.delivery_lease_seconds)
    extra_routes = []
    if fake is not None:
        from bot.sandbox.page import restore_history, sandbox_routes  # lazy: CLI sub-command

        # The fake Slack starts empty each time; the channels come back from what the database recorded.
        restore_history(fake, runtime)
        extra_routes = sandbox_routes(fake, runtime, app_url=f"http://127.0.0.1:{port}")
    app = create_app(runtime, worker=worker, extra_routes=extra_routes,
                     on_shutdown=[fake.stop] if fake else [])
    stop_clock = None
    if with_clock and fake is not None:
        from bot.schedule.clock import start_background_clock  # lazy: only the demo runs a clock in-process

        stop_clock = start_background_clock(runtime)
    if socket_mode:
        if not settings.slack_app_token:
            _fail("SLACK_APP_TOKEN: required for --socket (an app-level token with connections:write, xapp-…)")
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.slack.app import create_bolt_app  # lazy: CLI sub-command

        SocketModeHandler(create_bolt_app(runtime, socket_mode=True), settings.slack_app_token).connect()
        click.echo("Connected to Slack over Socket Mode.")
    click.echo(f"cxloop listening on http://{host}:{port}  (webhooks: /webhooks/<source>, Slack: /slack/events)")
    if fake is not None:
        click.echo(
            f"Sandbox: cxloop talks to its built-in fake Slack at {fake.url}"
            + (" (SLACK_BOT_TOKEN is ignored)" if settings.slack_bot_token else "") + ".\n"
            f"  Open http://127.0.0.1:{port}/sandbox to see the channels, and send sample responses with\n"
            f"  `cxloop simulate --url http://127.0.0.1:{port}` (webhook secret of sources whose variable is "
            f"unset: {SANDBOX_WEBHOOK_SECRET})."
        )
        if with_clock:
            click.echo("  The clock runs in this process: SLA nudges, follow-up and VIP check-in DMs, digests and "
                       "reports appear as they fall due (team-local times, business hours).")
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.secho(f"Warning: the sandbox listens on {host}: anyone who reaches it can act as any user and "
                        "read every response. Use it on a trusted network only.", fg="yellow", err=True)
    click.echo(f"Dashboard: {dashboard_url}" if dashboard_url else
               f"Dashboard: http://{host}:{port}/dashboard (token: $CXLOOP_DASHBOARD_TOKEN)" if settings.dashboard_token
               else "Dashboard: off (set CXLOOP_DASHBOARD_TOKEN to open /dashboard)")
    from bot.request_bounds import uvicorn_options  # lazy: CLI sub-command

    # log_config=None: keep our handler (request ids, redaction, JSON) for uvicorn's own lines too.
    # proxy_headers: behind a trusted proxy, request.url.scheme is the client's (https), so the dashboard
    # cookie gets Secure, and the client address is the real one (the sign-in throttle is per client).
    try:
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False,
                    log_config=None, proxy_headers=True,
                    forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips,
                    **uvicorn_options())
    finally:
        if stop_clock is not None:
            stop_clock()
        if fake is not None:
            fake.stop()


@main.command()
@click.option("--metrics-port", type=int, default=None, help="Serve this process's Prometheus metrics on this port.")
def worker(metrics_port: int | None) -> None:
    """Deliver queued messages to Slack (for deployments that run delivery in its own process)."""
    from bot.delivery.worker import DeliveryWorker  # lazy: CLI sub-command
    from bot.runtime import build_runtime  # lazy: CLI sub-command

    settings = _settings()
    _logging(settings)
    _require_slack(settings, "worker")  # the sandbox delivers inside `cxloop serve --sandbox`
    runtime = build_runtime(settings, _config(settings), bot_token=settings.slack_bot_token,
                            signing_secret=settings.slack_signing_secret or "", slack_api_url=settings.slack_api_url)
    _check_migrated(runtime.engine)
    delivery = DeliveryWorker(runtime.factory, runtime.client, config=runtime.config,
                              lease_seconds=settings.delivery_lease_seconds)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if metrics_port:
        from bot.metrics import serve_metrics  # lazy: CLI sub-command

        serve_metrics(metrics_port)
    delivery.start()
    click.echo(f"cxloop worker {delivery.worker_id} delivering to {settings.slack_api_url}")
    stop.wait()
    delivery.stop()


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (safe to run at every release)."""
    from bot.db import upgrade  # lazy: CLI sub-command

    settings = _settings(beside_demo=False)  # the database `serve --sandbox` serves
    upgrade(settings.database_url, revision)
    click.echo(f"Database is at {revision}.")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and the code's."""
    from bot.db import current_revision, head_revision, make_engine  # lazy: CLI sub-command

    settings = _settings(beside_demo=False)
    current = current_revision(make_engine(settings.database_url))
    click.echo(f"database: {current or '(empty)'}\ncode:     {head_revision()}")


@main.command("check-config")
@click.argument("path", required=False)
def check_config(path: str | None) -> None:
    """Validate the TOML configuration and print the routing table."""
    from bot.intake.routing import describe_when  # lazy: CLI sub-command

    settings = _settings()
    config = _config(settings, path)
    click.echo(f"{config.path}: OK — {len(config.teams)} team(s), {len(config.sources)} source(s), "
               f"{len(config.routes)} route(s)\n")
    click.echo("Teams:")
    for team in config.teams:
        click.echo(f"  {team.name:<16} {team.channel:<12} {team.timezone}" + (f"  mention {team.mention}" if team.mention else ""))
    click.echo("Sources:")
    for source in config.sources:
        click.echo(f"  POST /webhooks/{source.name}  (type {source.type}, secret from ${source.secret_env})")
    click.echo("Routes (first match wins):")
    for index, route in enumerate(config.routes, 1):
        click.echo(f"  {index}. {route.name!r}: {describe_when(route.when)} → {route.team}"
                   + (f" (mention {route.mention})" if route.mention else ""))
    click.echo(f"  *. no match → {config.default_team}")


@main.command()
@click.argument("csv_path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "path", default=None,
              help="Use this file's [themes] and [sentiment] (default: $CXLOOP_CONFIG or cxloop.toml if it "
                   "exists, else the built-in ones).")
def analyze(csv_path: Path | None, path: str | None) -> None:
    """Sentiment and themes of comments: JSON lines {"comment", "kind", "score"} on stdin, or a CSV file.

    Writes one JSON line per input (sentiment, polarity, reason, themes, theme_matches, category), so a
    team can try its taxonomy on its own export before going live. Exit status 1 if a line was bad.
    """
    import os

    # textblob and VADER load in about 1.5 s, which no other sub-command needs
    from bot.intake.analyze import analyze_stream, csv_rows, json_lines  # lazy: textblob

    path = path or os.environ.get("CXLOOP_CONFIG") or ("cxloop.toml" if Path("cxloop.toml").exists() else None)
    themes = words = None
    if path:
        try:
            # Only [themes] and [sentiment] are used: no secret is needed to read them.
            config = load_config(path, sandbox=True)
        except ConfigError as exc:
            _fail(f"Configuration error in {path}:\n{exc}")
            raise
        themes, words = config.themes, config.sentiment_words
        click.echo(f"Themes and sentiment words from {path}.", err=True)
    if csv_path is not None:
        with csv_path.open(encoding="utf-8-sig", newline="") as stream:
            bad = analyze_stream(csv_rows(stream), sys.stdout, themes, words)
    else:
        bad = analyze_stream(json_lines(sys.stdin), sys.stdout, themes, words)
    if bad:
        click.secho(f"{bad} line(s) could not be analysed (see their \"error\").", fg="red", err=True)
        sys.exit(1)


@main.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "dead", "sent"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def outbox(ctx: click.Context, status: str | None, limit: int) -> None:
    """Show the delivery queue (default: counts, then pending and dead rows)."""
    if ctx.invoked_subcommand:
        return
    from sqlalchemy import select

    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.delivery.outbox import outbox_counts  # lazy: CLI sub-command
    from models import OutboxMessage  # lazy: CLI sub-command

    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
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


@main.command()
@click.option("--config", "path", default=None, help="Config file (default: $CXLOOP_CONFIG).")
def doctor(path: str | None) -> None:
    """Check the Slack app, its scopes and channels, the config's secrets, the database, clock and worker."""
    from bot.db import (  # lazy: CLI sub-command
        current_revision,
        head_revision,
        make_engine,
        make_session_factory,
        session_scope,
    )
    from bot.doctor import Check, database_checks, slack_checks  # lazy: CLI sub-command
    from bot.slack.client import make_client  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    checks: list[Check] = []
    config_path = path or settings.config_path
    try:
        config = load_config(config_path, sandbox=settings.sandbox)
        checks.append(Check(True, f"{config_path}: valid; every source's secret is set "
                                  f"({', '.join(s.secret_env for s in config.sources)})"))
    except ConfigError as exc:
        config = None
        checks.append(Check(False, f"{config_path} does not load", f"{exc} (set each source's secret_env variable)"))
    if not settings.slack_bot_token:
        checks.append(Check(False, "no bot token", "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token"))
    elif config is not None:
        checks += slack_checks(make_client(settings.slack_bot_token, settings.slack_api_url), config)
    engine = make_engine(settings.database_url)
    try:
        current, head = current_revision(engine), head_revision()
    except Exception as exc:  # noqa: BLE001 — an unreachable database is a line of the checklist
        current, head = f"unreachable ({type(exc).__name__})", None
    migrated = current == head
    checks.append(Check(migrated, "the database is migrated" if migrated else f"the database is at {current}, "
                        f"expected {head}", "run `cxloop db upgrade`"))
    if migrated:
        with session_scope(make_session_factory(engine)) as session:
            checks += database_checks(session, now=utcnow())
    for check in checks:
        mark = "ok  " if check.ok else ("FAIL" if check.fatal else "warn")
        click.secho(f"[{mark}] {check.what}", fg=None if check.ok else ("red" if check.fatal else "yellow"))
        if not check.ok and check.fix:
            click.echo(f"       fix: {check.fix}")
    failed = [c for c in checks if not c.ok and c.fatal]
    click.echo("All good." if not failed else f"{len(failed)} check(s) failed: cxloop would not work as configured.")
    if failed:
        sys.exit(1)


@outbox.command("retry")
@click.option("--id", "row_id", type=int, default=None, help="Requeue one dead row (default: all dead rows).")
def outbox_retry(row_id: int | None) -> None:
    """Requeue dead rows for delivery."""
    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.delivery.handlers import requeue_dead  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        count = requeue_dead(session, row_id=row_id, now=utcnow())
    click.echo(f"Requeued {count} row(s); a running worker delivers them now.")


@main.command()
@click.option("--url", default=None, help="The running app (default http://127.0.0.1:$PORT).")
@click.option("--source", default="generic", show_default=True)
@click.option("--count", type=int, default=5, show_default=True)
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds between sends.")
@click.option("--secret", default=None, help="Webhook secret (default: $GENERIC_WEBHOOK_SECRET or the sandbox's).")
def simulate(url: str | None, source: str, count: int, interval: float, secret: str | None) -> None:
    """Send realistic, signed sample responses to a running cxloop."""
    import os

    import httpx

    from bot.common.signing import sign_webhook  # lazy: CLI sub-command
    from bot.sandbox.samples import sample_payload  # lazy: CLI sub-command

    settings = _settings()
    url = (url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    secret = secret or os.environ.get(f"{source.upper()}_WEBHOOK_SECRET") or SANDBOX_WEBHOOK_SECRET
    with httpx.Client(timeout=10) as client:
        for index in range(count):
            payload = sample_payload()
            body = json.dumps(payload).encode()
            try:
                response = client.post(f"{url}/webhooks/{source}", content=body, headers=sign_webhook(secret, body))
            except httpx.HTTPError as exc:
                _fail(f"Could not reach {url}: {exc}. Is `cxloop serve` running?")
            score = payload.get("score", payload.get("priority"))
            click.echo(f"{payload['kind']:<10} {score!s:<7} {payload['customer']['name']:<14} → "
                       f"{response.status_code} {response.text[:120]}")
            if index + 1 < count:
                time.sleep(interval)


DEMO_DATABASE_URL = "sqlite:///cxloop-demo.db"


@main.command()
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

    from bot.db import make_engine, make_session_factory, session_scope, upgrade  # lazy: CLI sub-command
    from bot.sandbox.demo import (  # lazy: CLI sub-command
        DEFAULT_SEED,
        DEMO_CONFIG_PATH,
        demo_seeded,
        demo_summary,
        read_demo_state,
        seed_demo,
        write_demo_state,
    )
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings(sandbox=True)
    if settings.slack_bot_token:
        _fail("SLACK_BOT_TOKEN is set: `cxloop demo` runs the sandbox only (unset it, or use `cxloop serve`).")
    config_path = settings.config_path if Path(settings.config_path).exists() else str(DEMO_CONFIG_PATH)
    config = _config(settings, config_path)
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


# --- vip: the VIP book as CSV -----------------------------------------------------------------------

LOOKUP_RATE_LIMIT_RETRIES = 3


class _SlackLookupFailed(Exception):
    """Slack could not answer a look-up (unreachable, bad token, missing scope): no row is at fault,
    so the import stops before writing anything."""


def _owner_resolver(settings: Settings):
    """resolve_owner for import_csv: an e-mail → its Slack user id through users.lookupByEmail, cached
    per e-mail. Without a bot token every e-mail owner fails its row, with a message saying why."""
    from bot.vip.book import ImportRowError  # lazy: CLI sub-command

    if not settings.slack_bot_token:
        def no_token(email: str) -> str | None:
            raise ImportRowError(f"owner: {email} is an e-mail; resolving e-mails to Slack users needs a bot token "
                                 "(set SLACK_BOT_TOKEN), or give the Slack user id (U…) instead")

        return no_token

    from slack_sdk.errors import SlackApiError

    from bot.slack.client import classify_failure, make_client  # lazy: CLI sub-command

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


@main.group()
def vip() -> None:
    """The VIP book: import and export accounts as CSV (columns: see the README)."""


@vip.command("import")
@click.argument("file", type=click.File("rb"))
def vip_import(file) -> None:
    """Add or update accounts from a CSV file (- reads stdin). Safe to re-run: unchanged rows write nothing.

    Exits 1 when some rows were refused (the others are loaded)."""
    import io

    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.vip.book import import_csv  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    data = file.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        _fail(f"{file.name}: line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}). "
              "Save the file as CSV UTF-8 and import it again.")
        raise
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
    resolve_owner = _owner_resolver(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            report = import_csv(session, io.StringIO(text, newline=""), now=utcnow(), resolve_owner=resolve_owner)
    except _SlackLookupFailed as exc:
        _fail(f"{exc}. Nothing was imported; try again later.")
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

    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.vip.book import export_csv  # lazy: CLI sub-command

    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
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


@main.command()
@click.option("--once", is_flag=True, help="Run one tick (what is due now) and exit, e.g. from cron.")
@click.option("--metrics-port", type=int, default=None, help="Serve this process's Prometheus metrics on this port.")
@click.option("--sandbox", is_flag=True, help="Queue for a `cxloop serve --sandbox` on the same database.")
def clock(once: bool, metrics_port: int | None, sandbox: bool) -> None:
    """Run the scheduler: digests, reports, SLA nudges, follow-up and VIP check-in reminders."""
    from bot.runtime import build_runtime  # lazy: CLI sub-command
    from bot.schedule.clock import run_clock, run_tick  # lazy: CLI sub-command

    settings = _settings(sandbox=sandbox)
    _logging(settings)
    if settings.sandbox:  # --sandbox, or beside a `cxloop demo`
        click.echo("Sandbox: the clock queues messages; `cxloop serve --sandbox` delivers them to its fake Slack.")
    else:
        _require_slack(settings, "clock")
    runtime = build_runtime(settings, _config(settings), bot_token=settings.slack_bot_token or SANDBOX_BOT_TOKEN,
                            signing_secret=settings.slack_signing_secret or "", slack_api_url=settings.slack_api_url)
    _check_migrated(runtime.engine)
    if once:
        sent = run_tick(runtime)
        click.echo(", ".join(f"{name}: {count}" for name, count in sorted(sent.items())) or "Nothing was due.")
        return
    if metrics_port:
        from bot.metrics import serve_metrics  # lazy: CLI sub-command

        serve_metrics(metrics_port)
    run_clock(runtime)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@main.command()
@click.argument("email")
def forget(email: str) -> None:
    """Erase a customer's personal data (comments, name, e-mail) here and in Slack's copies. Idempotent."""
    from bot.common.email_address import InvalidEmail, normalise_email  # lazy: CLI sub-command
    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.privacy.erasure import forget_customer  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    try:
        email = normalise_email(email)
    except InvalidEmail as exc:
        _fail(f"expected one e-mail address: {email[:60]!r} {exc}")
    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        report = forget_customer(session, email=email, actor=_actor(), now=utcnow())
    click.echo(f"Erased {report.items} item(s) and {report.contacts} VIP-book contact(s); blanked {report.notes} "
               f"note(s); queued {report.slack_updates} Slack update(s); cancelled {report.cancelled_replies} "
               "unsent reply(ies). Recorded in the audit log." if report.changed
               else "Nothing stored about that address (already erased, or never seen). Recorded in the audit log.")
    if report.slack_updates:
        click.echo("The delivery worker (`cxloop serve` or `cxloop worker`) applies the Slack updates.")


@main.command()
@click.argument("item_id", type=click.IntRange(1, 2**31 - 1))
@click.argument("issue")
def link(item_id: int, issue: str) -> None:
    """Link item ITEM_ID to an issue of a configured tracker (its URL, `owner/repo#42`, or `42`)."""
    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.product.adapters import parse_ref  # lazy: CLI sub-command
    from bot.product.service import link_existing  # lazy: CLI sub-command
    from bot.product.trackers import RefError  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    config = _config(settings)
    try:
        ref = parse_ref(issue, config)
    except RefError as exc:
        _fail(str(exc))
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        result = link_existing(session, item_id=item_id, ref=ref, user_id=_actor(), config=config, now=utcnow())
        if not result.linked:
            session.rollback()
    if not result.linked:
        _fail(result.reason or "not linked")
    click.echo(f"Linked item {item_id} to {ref.tracker} issue {ref.key}. The delivery worker reads its title and "
               "state, and notes the link in the item's thread.")


@main.command()
@click.option("--older-than", "older_than", required=True, metavar="DAYS",
              help="Retention period, e.g. 400d: what was received before that is deleted.")
@click.option("--include-open", is_flag=True,
              help="Delete open and claimed items too (by default only resolved ones are purged).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(older_than: str, include_open: bool, yes: bool) -> None:
    """Apply a retention policy: delete resolved items, delivered outbox rows, job runs and touches older
    than DAYS. Open and claimed items and each VIP account's latest touch are kept."""
    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.privacy.erasure import (  # lazy: CLI sub-command
        parse_retention,
        purge_item_batch,
        purge_plan,
        purge_rest,
    )
    from models.base import utcnow  # lazy: CLI sub-command

    try:
        retention = parse_retention(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
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
        report = purge_rest(session, cutoff=cutoff, items=items, actor=_actor(), now=now, include_open=include_open)
    click.echo(f"Purged before {report.cutoff:%Y-%m-%d}: {report.items} item(s), {report.outbox_rows} delivered "
               f"outbox row(s), {report.job_runs} job run(s), {report.touches} touch(es). Recorded in the audit log.")


@main.command()
@click.option("--limit", type=int, default=15, show_default=True, help="How many recent runs to list.")
def jobs(limit: int) -> None:
    """List the scheduled jobs, their next run times, and the last runs."""
    from datetime import UTC

    from sqlalchemy import select

    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.schedule.plans import next_runs  # lazy: CLI sub-command
    from models import JobRun  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    config = _config(settings)
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
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


# --- digest and report: print (and with --send, queue once) a team's digest or trend report -----------


def _team_named(config: AppConfig, name: str):
    team = next((t for t in config.teams if t.name == name), None)
    if team is None:
        _fail(f"Unknown team {name!r}. Teams: {', '.join(t.name for t in config.teams)}.")
    return team


@main.command()
@click.argument("team_name", metavar="TEAM")
@click.option("--date", "day_text", default=None, metavar="YYYY-MM-DD",
              help="The team-local day (default: yesterday in the team's timezone).")
@click.option("--send", is_flag=True, help="Also queue it for the team channel (each day is sent at most once).")
def digest(team_name: str, day_text: str | None, send: bool) -> None:
    """Print TEAM's daily digest for a local day; --send posts it to the team channel too."""
    import re
    from datetime import date, timedelta
    from zoneinfo import ZoneInfo

    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.insights.digest import build_daily_digest, digest_text  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    config = _config(settings)
    team = _team_named(config, team_name)
    now = utcnow()
    if day_text is None:
        day = now.astimezone(ZoneInfo(team.timezone)).date() - timedelta(days=1)
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day_text.strip()):
                raise ValueError
            day = date.fromisoformat(day_text.strip())
        except ValueError:
            _fail(f"--date: expected a date such as 2026-11-22, got {day_text[:40]!r}")
            raise
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        click.echo(digest_text(build_daily_digest(session, team=team, day=day, now=now)))
        sent = None
        if send:
            from bot.insights.scheduled import send_digest  # lazy: CLI sub-command

            sent = send_digest(session, config=config, team=team, day=day, now=now, claimed_by="cli")
    if send:
        click.echo(f"\nQueued the digest of {day.isoformat()} for {team.channel}; a running worker posts it."
                   if sent else "\nAlready sent; not sending twice.")


@main.command()
@click.argument("team_name", metavar="TEAM", required=False)
@click.option("--week", default=None, metavar="YYYY-Www", help="An ISO week, e.g. 2026-W47 (default: last week).")
@click.option("--month", default=None, metavar="YYYY-MM", help="A month, e.g. 2026-10: a monthly report instead.")
@click.option("--send", is_flag=True, help="Also queue it (and its chart) for the team channel, at most once.")
@click.option("--by", "by", type=click.Choice(["plan", "segment", "role", "tenure", "agent"]), default=None,
              help="Instead: NPS, CSAT, volume, themes and time to resolve per group (all teams without TEAM).")
@click.option("--since", "since", default="90d", show_default=True, metavar="DATE|AGE",
              help="With --by: from this day (2026-01-01) or age (90d, 12w) until now.")
def report(team_name: str | None, week: str | None, month: str | None, send: bool, by: str | None,
           since: str) -> None:
    """Print TEAM's weekly trend report (8 weeks) or, with --month, its monthly one (6 months);
    with --by, a cut by plan, segment, role, tenure or agent."""
    if by is not None:
        if week or month or send:
            _fail("--by prints a cut: it takes TEAM and --since, not --week, --month or --send.")
        _report_by(team_name, by, since)
        return
    if team_name is None:
        _fail("Give a TEAM (or --by plan|segment|role|tenure|agent for a cut of every team).")
    from bot.common.periods import (  # lazy: CLI sub-command
        iso_week_label,
        local_today,
        month_label,
        parse_month,
        parse_week,
        previous_week,
    )
    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.insights.digest import (  # lazy: CLI sub-command
        build_monthly_report,
        build_weekly_report,
        report_text,
    )
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    config = _config(settings)
    team = _team_named(config, team_name)
    if week and month:
        _fail("Give --week or --month, not both.")
    now = utcnow()
    try:
        if month:
            kind, period = "monthly", month_label(parse_month(month))
        else:
            kind = "weekly"
            period = iso_week_label(parse_week(week)) if week else previous_week(local_today(now, team.timezone))
    except ValueError as exc:
        _fail(f"--{'month' if month else 'week'}: {exc}")
        raise
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        if kind == "weekly":
            trend = build_weekly_report(session, team=team, week=period, now=now)
        else:
            trend = build_monthly_report(session, team=team, month=period, now=now)
        click.echo(report_text(trend))
        sent = None
        if send:
            from bot.insights.scheduled import send_report  # lazy: CLI sub-command

            sent = send_report(session, config=config, team=team, kind=kind, period=period, now=now,
                               claimed_by="cli")
    if send:
        click.echo(f"\nQueued the {kind} report for {period} to {team.channel}; a running worker posts it."
                   if sent else "\nAlready sent; not sending twice.")


def _report_by(team_name: str | None, by: str, since: str) -> None:
    from bot.db import make_engine, make_session_factory, session_scope  # lazy: CLI sub-command
    from bot.insights.segments import cut_by, cut_text, parse_since  # lazy: CLI sub-command
    from models import Item  # lazy: CLI sub-command
    from models.base import utcnow  # lazy: CLI sub-command

    settings = _settings()
    config = _config(settings)
    team = _team_named(config, team_name) if team_name else None
    now = utcnow()
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        _fail(f"--since: {exc}")
        raise
    engine = make_engine(settings.database_url)
    _check_migrated(engine)
    with session_scope(make_session_factory(engine)) as session:
        cut = cut_by(session, by=by, start=start, end=now, where=(Item.team == team.name,) if team else ())
    window = f"{start:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC" + (f", team {team.name}" if team else ", all teams")
    click.echo(cut_text(cut, window))
