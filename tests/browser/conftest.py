"""Browser tests: the real app in sandbox mode (as `cxloop serve --sandbox` runs it), on a fresh copy
of a migrated SQLite file (seeded once per session for the demo tests), driven by Debian's Chromium through Playwright. Screenshots of every step go to
artifacts/screenshots/ (CI keeps that folder).

Playwright's own browser download is never used: the system Chromium is launched by path. Without it
the tests skip, except under CI=true, where they fail (CI installs it with .ci/browser.sh).
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from bot.config import SANDBOX_BOT_TOKEN, SANDBOX_SIGNING_SECRET, Settings, load_config
from bot.db import make_engine, make_session_factory, session_scope
from bot.delivery.worker import DeliveryWorker
from bot.runtime import Runtime, build_runtime
from bot.sandbox.demo import DEMO_CONFIG_PATH, seed_demo
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.page import restore_history, sandbox_routes
from bot.web import create_app
from models.base import utcnow
from tests.conftest import ACTIVITY, bound_socket, wait_for

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# Small enough to seed in a few seconds, big enough for every chart and list to have content.
DEMO_ACCOUNTS, DEMO_RESPONSES = 60, 400


def chromium_path() -> str | None:
    found = next((path for path in CHROMIUM_CANDIDATES if os.access(path, os.X_OK)), None)
    return found or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (bash .ci/browser.sh installs Debian's)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: CI must run the browser tests")
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@dataclass
class SandboxApp:
    url: str
    runtime: Runtime
    fake: FakeSlack
    dashboard_token: str


class Screenshots:
    """Numbered screenshots of one test, so the folder reads as the story of the run."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, step: str, *, full_page: bool = False) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request) -> Screenshots:
    return Screenshots(request.node.name)


@pytest.fixture(scope="session")
def _seeded_demo(tmp_path_factory, _sqlite_template) -> Path:
    """The demo workspace, seeded once per session; each test serves a copy of it."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(_sqlite_template, path)
    config = load_config(DEMO_CONFIG_PATH, environ={}, sandbox=True)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with session_scope(make_session_factory(engine)) as session:
            seed_demo(session, config=config, now=utcnow(), rng=random.Random(11), accounts=DEMO_ACCOUNTS,
                      responses=DEMO_RESPONSES)
    finally:
        engine.dispose()
    return path


def _serve(tmp_path: Path, database: Path) -> Iterator[SandboxApp]:
    shutil.copy(database, tmp_path / "sandbox.db")
    database_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    config = load_config(DEMO_CONFIG_PATH, environ={}, sandbox=True)
    token = secrets.token_urlsafe(32)
    fake = FakeSlack(token=SANDBOX_BOT_TOKEN).start()
    fake.on_request.append(ACTIVITY.touch)
    settings = Settings(slack_bot_token=None, slack_signing_secret=None, slack_app_token=None,
                        slack_api_url=fake.base_url, database_url=database_url, config_path=str(DEMO_CONFIG_PATH),
                        port=0, log_level="WARNING", dashboard_token=token, sandbox=True)
    runtime = build_runtime(settings, config, bot_token=SANDBOX_BOT_TOKEN, signing_secret=SANDBOX_SIGNING_SECRET,
                            slack_api_url=fake.base_url)
    restore_history(fake, runtime)
    sock, port = bound_socket()
    url = f"http://127.0.0.1:{port}"
    worker = DeliveryWorker(runtime.factory, runtime.client, config=config, poll_interval=0.1, channel_interval=0.2)
    app = create_app(runtime, worker=worker, extra_routes=sandbox_routes(fake, runtime, app_url=url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 15, what="uvicorn to start")
    try:
        yield SandboxApp(url=url, runtime=runtime, fake=fake, dashboard_token=token)
    finally:
        server.should_exit = True
        thread.join(10)
        fake.stop()


@pytest.fixture
def sandbox_app(tmp_path, _sqlite_template) -> Iterator[SandboxApp]:
    yield from _serve(tmp_path, _sqlite_template)


@pytest.fixture
def demo_app(tmp_path, _seeded_demo) -> Iterator[SandboxApp]:
    yield from _serve(tmp_path, _seeded_demo)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    # No live reloads: each click already returns the page with its result, and a reload racing a click
    # would lose it. (The page's own "Live" checkbox, stored the same way.)
    context.add_init_script("localStorage.setItem('cxloop-sandbox-live', 'off')")
    page = context.new_page()
    yield page
    context.close()


def open_home(page) -> None:
    """Click 🏠 Home as a person does, and again while the page still says the app has not published it
    (under load the app's views.publish can land after the sandbox drew the page)."""
    for _ in range(6):
        page.click("#open-home")
        home = page.locator("section.home")
        home.wait_for()
        if "Your day in cxloop" in home.inner_text():
            return
        page.wait_for_timeout(1_000)
    raise AssertionError("the App Home was never published")
