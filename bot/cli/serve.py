"""`cxloop serve`, `worker` and `clock`: the long-running processes."""

from __future__ import annotations

import signal
import threading

import click

from bot.cli.common import app_config, check_migrated, cli_settings, fail, require_slack, setup_logging
from bot.config import (
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    SANDBOX_WEBHOOK_SECRET,
)
from bot.db import make_engine
from bot.delivery.worker import DeliveryWorker
from bot.metrics import serve_metrics
from bot.request_bounds import uvicorn_options
from bot.runtime import build_runtime
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.page import restore_history, sandbox_routes
from bot.schedule.clock import run_clock, run_tick, start_background_clock
from bot.slack.app import create_bolt_app
from bot.web import create_app


@click.command()
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

    settings = cli_settings(sandbox=sandbox)
    if not sandbox:
        require_slack(settings, "serve")
    elif socket_mode:
        fail("--socket and --sandbox: choose one (the sandbox has no Slack to connect to).")
    # The sandbox accepts public secrets and lets anyone act as anyone: only this machine may reach it.
    host = host or ("127.0.0.1" if sandbox else "0.0.0.0")
    if database_url:
        settings = replace(settings, database_url=database_url)
    setup_logging(settings)
    config = app_config(settings, config_path)
    port = port or settings.port

    check_migrated(make_engine(settings.database_url))  # before anything starts
    fake, dashboard_url = None, None
    if settings.sandbox:

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
            fail("SLACK_SIGNING_SECRET: required to verify requests from Slack (or run with --socket)")
    runtime = build_runtime(settings, config, bot_token=token, signing_secret=secret, slack_api_url=api_url)
    worker = None if no_worker else DeliveryWorker(runtime.factory, runtime.client, config=config,
                                                   lease_seconds=settings.delivery_lease_seconds)
    extra_routes = []
    if fake is not None:

        # The fake Slack starts empty each time; the channels come back from what the database recorded.
        restore_history(fake, runtime)
        extra_routes = sandbox_routes(fake, runtime, app_url=f"http://127.0.0.1:{port}")
    app = create_app(runtime, worker=worker, extra_routes=extra_routes,
                     on_shutdown=[fake.stop] if fake else [])
    stop_clock = None
    if with_clock and fake is not None:

        stop_clock = start_background_clock(runtime)
    if socket_mode:
        if not settings.slack_app_token:
            fail("SLACK_APP_TOKEN: required for --socket (an app-level token with connections:write, xapp-…)")
        from slack_bolt.adapter.socket_mode import SocketModeHandler

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


@click.command()
@click.option("--metrics-port", type=int, default=None, help="Serve this process's Prometheus metrics on this port.")
def worker(metrics_port: int | None) -> None:
    """Deliver queued messages to Slack (for deployments that run delivery in its own process)."""

    settings = cli_settings()
    setup_logging(settings)
    require_slack(settings, "worker")  # the sandbox delivers inside `cxloop serve --sandbox`
    runtime = build_runtime(settings, app_config(settings), bot_token=settings.slack_bot_token,
                            signing_secret=settings.slack_signing_secret or "", slack_api_url=settings.slack_api_url)
    check_migrated(runtime.engine)
    delivery = DeliveryWorker(runtime.factory, runtime.client, config=runtime.config,
                              lease_seconds=settings.delivery_lease_seconds)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if metrics_port:

        serve_metrics(metrics_port)
    delivery.start()
    click.echo(f"cxloop worker {delivery.worker_id} delivering to {settings.slack_api_url}")
    stop.wait()
    delivery.stop()


@click.command()
@click.option("--once", is_flag=True, help="Run one tick (what is due now) and exit, e.g. from cron.")
@click.option("--metrics-port", type=int, default=None, help="Serve this process's Prometheus metrics on this port.")
@click.option("--sandbox", is_flag=True, help="Queue for a `cxloop serve --sandbox` on the same database.")
def clock(once: bool, metrics_port: int | None, sandbox: bool) -> None:
    """Run the scheduler: digests, reports, SLA nudges, follow-up and VIP check-in reminders."""

    settings = cli_settings(sandbox=sandbox)
    setup_logging(settings)
    if settings.sandbox:  # --sandbox, or beside a `cxloop demo`
        click.echo("Sandbox: the clock queues messages; `cxloop serve --sandbox` delivers them to its fake Slack.")
    else:
        require_slack(settings, "clock")
    runtime = build_runtime(settings, app_config(settings), bot_token=settings.slack_bot_token or SANDBOX_BOT_TOKEN,
                            signing_secret=settings.slack_signing_secret or "", slack_api_url=settings.slack_api_url)
    check_migrated(runtime.engine)
    if once:
        sent = run_tick(runtime)
        click.echo(", ".join(f"{name}: {count}" for name, count in sorted(sent.items())) or "Nothing was due.")
        return
    if metrics_port:

        serve_metrics(metrics_port)
    run_clock(runtime)
