"""Configuration never fails open, and the dashboard holds under attack (issue 13), through real HTTP.

The real `cxloop serve` in a subprocess: without a token it refuses and listens nowhere; with
--sandbox it listens on 127.0.0.1 only and still checks the secrets the environment configures. The
dashboard in-process (tests/conftest.py's app): wrong tokens are throttled per client, the cookie
expires and is Secure behind an https proxy, and a locked database is a quick 503 page.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.common.signing import sign_webhook
from bot.config import SANDBOX_SIGNING_SECRET, SANDBOX_WEBHOOK_SECRET
from bot.db import upgrade
from bot.sandbox.slack_requests import signed_form
from tests.conftest import _TLS, _free_port, wait_for

TOML = """\
[[teams]]
name = "success"
channel = "C0SUCCESS"

[[sources]]
name = "generic"
type = "generic"
secret_env = "GENERIC_WEBHOOK_SECRET"
"""
CONFIGURED_SECRET = "configured-webhook-secret-of-this-deployment"
CONFIGURED_SIGNING = "configured-slack-signing-secret"
DASHBOARD_TOKEN = "d" * 40
NPS = {"id": "safe-1", "kind": "nps", "score": 3, "customer": {"email": "ana@acme.example"}}


def _cxloop(args: list[str], tmp_path: Path, **env: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "CXLOOP_", "GENERIC_")) and k not in ("PORT", "FORWARDED_ALLOW_IPS")}
    environment.update(DATABASE_URL=f"sqlite:///{tmp_path / 'safe.db'}", CXLOOP_CONFIG=str(tmp_path / "cxloop.toml"),
                       LOG_LEVEL="WARNING", **env)
    script = Path(sys.executable).with_name("cxloop")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from bot.cli import main; main()"]
    return subprocess.Popen([*command, *args], cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _workdir(path: Path) -> Path:
    (path / "cxloop.toml").write_text(TOML, encoding="utf-8")
    upgrade(f"sqlite:///{path / 'safe.db'}")
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return _workdir(tmp_path)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/net/{name}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_serve_without_token_refuses_names_the_variable_and_listens_nowhere(workdir: Path) -> None:
    port = _free_port()
    process = _cxloop(["serve", "--port", str(port)], workdir)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "SLACK_BOT_TOKEN" in output and "cxloop serve --sandbox" in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/sandbox", timeout=2, verify=_TLS)


# One sandbox process for the module: its tests only read what it answers (a process start is ~3 s of CPU).
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    workdir = _workdir(tmp_path_factory.mktemp("sandbox"))
    port = _free_port()
    process = _cxloop(["serve", "--sandbox", "--port", str(port)], workdir, GENERIC_WEBHOOK_SECRET=CONFIGURED_SECRET,
                      SLACK_SIGNING_SECRET=CONFIGURED_SIGNING, CXLOOP_DASHBOARD_TOKEN=DASHBOARD_TOKEN)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, process.stdout.read()
        try:
            return httpx.get(f"{url}/healthz", timeout=1, verify=_TLS).status_code == 200
        except httpx.HTTPError:
            return False
    wait_for(up, 60, interval=0.2, what="cxloop serve --sandbox")
    yield url, port
    process.terminate()
    process.communicate(timeout=20)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the listening sockets from /proc")
def test_sandbox_listens_on_localhost_only(sandbox) -> None:
    _url, port = sandbox
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and no other address or IPv6


def test_sandbox_never_accepts_the_public_secrets_for_configured_ones(sandbox) -> None:
    url, _ = sandbox
    body = json.dumps(NPS).encode()
    forged = httpx.post(f"{url}/webhooks/generic", content=body, headers=sign_webhook(SANDBOX_WEBHOOK_SECRET, body), verify=_TLS)
    assert forged.status_code == 401
    slack_body, headers = signed_form(SANDBOX_SIGNING_SECRET, {"command": "/cxloop", "text": "stats",
                                                               "user_id": "U0ANA", "channel_id": "C0SUCCESS",
                                                               "team_id": "T0SANDBOX"})
    assert httpx.post(f"{url}/slack/events", content=slack_body, headers=headers, verify=_TLS).status_code == 401
    genuine = httpx.post(f"{url}/webhooks/generic", content=body, headers=sign_webhook(CONFIGURED_SECRET, body), verify=_TLS)
    assert genuine.status_code == 202, genuine.text


def test_dashboard_cookie_expires_and_is_secure_behind_an_https_proxy(sandbox) -> None:
    url, _ = sandbox
    # The request comes from 127.0.0.1, the default trusted proxy, saying the client used https.
    behind = httpx.get(f"{url}/dashboard?token={DASHBOARD_TOKEN}", headers={"X-Forwarded-Proto": "https"}, verify=_TLS)
    assert behind.status_code == 303
    cookie = behind.headers["set-cookie"]
    assert "Max-Age=43200" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    assert DASHBOARD_TOKEN not in cookie
    plain = httpx.get(f"{url}/dashboard?token={DASHBOARD_TOKEN}", verify=_TLS)
    assert plain.status_code == 303 and "Secure" not in plain.headers["set-cookie"]


# --- the dashboard in-process ----------------------------------------------------------------------


@pytest.fixture
def app(make_app):
    app = make_app(worker=False)
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=DASHBOARD_TOKEN)
    return app


def _get(app, path: str, client_ip: str, **headers: str) -> httpx.Response:
    # The test server trusts 127.0.0.1 as a proxy (uvicorn's default), so each X-Forwarded-For is a client.
    with httpx.Client(timeout=20, verify=_TLS) as client:
        return client.get(f"{app.url}{path}", headers={"X-Forwarded-For": client_ip, **headers})


def test_wrong_tokens_are_throttled_per_client(app) -> None:
    attacker, colleague = "203.0.113.7", "198.51.100.20"
    for attempt in range(10):
        wrong = (_get(app, f"/dashboard?token=guess-{attempt}", attacker) if attempt % 2
                 else _get(app, "/dashboard/items.csv", attacker, Authorization=f"Bearer guess-{attempt}"))
        assert wrong.status_code == 401, attempt
    locked = _get(app, "/dashboard?token=guess-11", attacker)
    assert locked.status_code == 429 and 1 <= int(locked.headers["retry-after"]) <= 60
    assert "text/html" in locked.headers["content-type"] and "Too many wrong tokens" in locked.text
    # During the lockout even the right token is refused to that client (the page says so) ...
    right_but_locked = _get(app, f"/dashboard?token={DASHBOARD_TOKEN}", attacker)
    assert right_but_locked.status_code == 429 and "even with the right token" in right_but_locked.text
    assert _get(app, "/dashboard/items.csv", attacker, Authorization=f"Bearer {DASHBOARD_TOKEN}").status_code == 429
    # ... and nobody else is affected.
    assert _get(app, f"/dashboard?token={DASHBOARD_TOKEN}", colleague).status_code == 303
    assert _get(app, "/dashboard", colleague, Authorization=f"Bearer {DASHBOARD_TOKEN}").status_code == 200


def test_dashboard_sign_in_expires(app) -> None:
    with httpx.Client(timeout=20, verify=_TLS) as client:
        signed_in = client.get(f"{app.url}/dashboard?token={DASHBOARD_TOKEN}")
        assert signed_in.status_code == 303 and "Max-Age=43200" in signed_in.headers["set-cookie"]
        assert client.get(f"{app.url}/dashboard").status_code == 200
        started = app.runtime.now()
        app.runtime.now = lambda: started + timedelta(hours=12, minutes=1)  # the browser kept the cookie anyway
        expired = client.get(f"{app.url}/dashboard")
        assert expired.status_code == 401 and "expired" in expired.text


def test_dashboard_reads_do_not_wait_for_a_writer(app, database_url) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("Postgres readers never wait for row writers")
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # what a long write transaction holds
        started = time.monotonic()
        page = _get(app, f"/dashboard?token={DASHBOARD_TOKEN}", "192.0.2.1")
        follow = _get(app, "/dashboard", "192.0.2.1", Authorization=f"Bearer {DASHBOARD_TOKEN}")
        assert page.status_code == 303 and follow.status_code == 200
        assert time.monotonic() - started < 5  # today: 10 s, then a 500
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _lock_database(app, database_url: str):
    """Lock the database against readers from another connection; returns a function that releases it."""
    if database_url.startswith("sqlite"):
        app.runtime.dispose()  # the exclusive lock needs the app's idle connections closed
        locker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        locker.execute("PRAGMA locking_mode=EXCLUSIVE")
        locker.execute("BEGIN EXCLUSIVE")
        return lambda: (locker.execute("ROLLBACK"), locker.close())
    engine = create_engine(database_url)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("LOCK TABLE items IN ACCESS EXCLUSIVE MODE"))

    def release():
        transaction.rollback()
        connection.close()
        engine.dispose()
    return release


def test_locked_database_is_a_quick_503_page(app, database_url) -> None:
    assert app.post_webhook(NPS).status_code == 202
    release = _lock_database(app, database_url)
    try:
        bearer = {"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
        started = time.monotonic()
        page = _get(app, "/dashboard", "192.0.2.2", **bearer)
        took = time.monotonic() - started
        assert page.status_code == 503, page.text
        assert "text/html" in page.headers["content-type"] and "Database busy" in page.text
        assert page.headers["retry-after"] == "5"
        assert took < 6, f"the 503 took {took:.1f} s"  # read lock timeout 2 s; today 10 s, then a 500
        export = _get(app, "/dashboard/items.csv", "192.0.2.2", **bearer)
        assert export.status_code == 503 and "locked or unreachable" in export.text
    finally:
        release()
    assert _get(app, "/dashboard", "192.0.2.2", Authorization=f"Bearer {DASHBOARD_TOKEN}").status_code == 200
