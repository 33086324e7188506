"""Shared fixtures: a real database (SQLite, and Postgres when CXLOOP_TEST_DATABASE_URL is set),
the fake Slack Web API server, and the real app served over HTTP by uvicorn.

Each database test runs on a database in the state of a migrated template: a file copy on SQLite,
on Postgres a copy made by CREATE DATABASE … TEMPLATE and emptied back to the template's state for
the next test (see _PostgresDatabases). Under CI=true a missing Postgres fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.common.signing import sign_webhook
from bot.config import AppConfig, Settings, parse_config
from bot.db import make_session_factory, session_scope, upgrade
from bot.delivery.worker import DeliveryWorker
from bot.runtime import Runtime, build_runtime
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import button_action, message_block_actions, signed_form
from bot.web import create_app
from tests.fuzz.counting import EXAMPLES_PROPERTY, FAILED, REPORTED

POSTGRES_ENV = "CXLOOP_TEST_DATABASE_URL"
SIGNING_SECRET = "test-signing-secret"
WEBHOOK_SECRET = "test-webhook-secret"
BOT_TOKEN = "xoxb-test"

TEST_CONFIG = {
    "teams": [
        {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York"},
        {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London", "mention": "S0ONCALL"},
    ],
    "sources": [{"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"}],
    "routes": [
        {"name": "escalations to support", "when": {"kind": "escalation"}, "team": "support"},
        {"name": "detractors to success", "when": {"kind": "nps", "category": "detractor"}, "team": "success"},
    ],
    "default_team": "success",
}


def make_config(data: dict | None = None, environ: dict[str, str] | None = None) -> AppConfig:
    """The test configuration; `environ` adds variables (provider secrets, API tokens) to the defaults."""
    return parse_config(data or TEST_CONFIG, environ={"GENERIC_WEBHOOK_SECRET": WEBHOOK_SECRET, **(environ or {})})


# --- databases ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


# The schema of a test database, to tell whether a test changed it (one drops a table): names and
# definitions of its relations, columns, constraints, indexes and triggers.
_SCHEMA_FINGERPRINT = text("""
    SELECT md5(coalesce(string_agg(item, '|' ORDER BY item), '')) FROM (
        SELECT c.relname || ':' || c.relkind::text AS item FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
        UNION ALL
        SELECT c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text
               || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace
        UNION ALL
        SELECT indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL
        SELECT t.tgname || ':' || c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    ) AS schema_items
""")


@dataclass
class _PostgresDatabases:
    """Postgres test databases: copies of a migrated template, each emptied back to the template's
    state after a test and handed to the next one.

    CREATE DATABASE … TEMPLATE costs ~0.5 s (the whole copy goes through the WAL) and DROP DATABASE
    forces a checkpoint, so a fresh copy per test cost ~1 s of each Postgres test; emptying a used
    copy costs ~20 ms. Between tests a copy gets a new name (so nothing still holding the old URL
    reaches the next test's database), loses every row, gets the template's rows and sequence
    positions back, and is reused only if its schema is still the template's: a test that changed
    the schema leaves a copy that is dropped, as every copy used to be.
    """

    base: str
    admin: Engine
    template: str
    tables: list[str]  # dependents first: the order DELETE needs with foreign keys
    rows: dict[str, list[dict[str, Any]]]  # what the template holds (the alembic version)
    sequences: dict[str, tuple[int, bool]]  # name -> (value, is_called), as setval() takes them
    fingerprint: str
    free: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return make_url(self.base).set(database=name).render_as_string(hide_password=False)

    @classmethod
    def create(cls, base: str) -> _PostgresDatabases:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        template = f"cxloop_tpl_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{template}"'))
        url = make_url(base).set(database=template).render_as_string(hide_password=False)
        # NullPool: no connection may stay open on a template, or CREATE DATABASE … TEMPLATE fails.
        engine = create_engine(url, poolclass=NullPool)
        try:
            upgrade(url)
            with engine.connect() as conn:
                metadata = MetaData()
                metadata.reflect(bind=conn)
                tables = [table.name for table in reversed(metadata.sorted_tables)]
                rows = {name: [dict(row) for row in conn.execute(text(f'SELECT * FROM "{name}"')).mappings()]
                        for name in tables}
                sequences = {f'"{name}"': (int(last if last is not None else start), last is not None)
                             for name, start, last in conn.execute(text(
                                 "SELECT sequencename, start_value, last_value FROM pg_sequences "
                                 "WHERE schemaname = 'public'"))}
                fingerprint = conn.execute(_SCHEMA_FINGERPRINT).scalar_one()
        except BaseException:
            engine.dispose()
            _drop_database(admin, template)
            raise
        engine.dispose()
        return cls(base=base, admin=admin, template=template, tables=tables,
                   rows={name: found for name, found in rows.items() if found}, sequences=sequences,
                   fingerprint=fingerprint)

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"cxloop_t_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def give_back(self, name: str) -> None:
        try:
            with self.admin.connect() as conn:
                # A server or thread the test left behind loses its connections (as DROP … WITH
                # (FORCE) did) and, with the rename, any way back in.
                conn.execute(text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                                  "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
                renamed = f"cxloop_t_{uuid.uuid4().hex[:10]}"
                conn.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{renamed}"'))
        except SQLAlchemyError:
            _drop_database(self.admin, name)
            return
        if self._reset(renamed):
            self.free.append(renamed)
        else:
            _drop_database(self.admin, renamed)

    def _reset(self, name: str) -> bool:
        engine = create_engine(self.url(name), poolclass=NullPool)
        try:
            with engine.begin() as conn:
                if conn.execute(_SCHEMA_FINGERPRINT).scalar_one() != self.fingerprint:
                    return False
                # The roll-ups last: deleting items runs their triggers, which count the removal there.
                for table in sorted(self.tables, key=lambda name: name.endswith("_rollups")):
                    conn.execute(text(f'DELETE FROM "{table}"'))
                for sequence, (value, called) in self.sequences.items():
                    conn.execute(text("SELECT setval(:sequence, :value, :called)"),
                                 {"sequence": sequence, "value": value, "called": called})
                for table, rows in self.rows.items():
                    names = ", ".join(f'"{column}"' for column in rows[0])
                    values = ", ".join(f":{column}" for column in rows[0])
                    conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'), rows)
            return True
        except SQLAlchemyError:
            return False
        finally:
            engine.dispose()

    def close(self) -> None:
        for name in [*self.free, self.template]:
            _drop_database(self.admin, name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def _postgres_databases() -> Iterator[_PostgresDatabases | None]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        yield None
        return
    databases = _PostgresDatabases.create(url)
    yield databases
    databases.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path, _sqlite_template) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "cxloop.db"
        shutil.copy(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("_postgres_databases")
    if databases is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} is not set: CI must run the database tests on Postgres too")
        pytest.skip(f"Postgres not configured (set {POSTGRES_ENV})")
    name = databases.take()
    yield databases.url(name)
    databases.give_back(name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_database_url(request, tmp_path_factory, _sqlite_template) -> Iterator[str]:
    """One database per test module (and kind), for modules whose tests only read what a module-scoped
    fixture stored: a module overrides `database_url` with it (tests/service/insights/test_dashboard.py)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-db") / "cxloop.db"
        shutil.copy(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("_postgres_databases")
    if databases is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} is not set: CI must run the database tests on Postgres too")
        pytest.skip(f"Postgres not configured (set {POSTGRES_ENV})")
    name = databases.take()
    yield databases.url(name)
    databases.give_back(name)


def _drop_database(admin, name: str) -> None:
    """Best effort: a background backend (autovacuum) on the copy can refuse a drop for a moment, and
    a leftover test database harms nothing, so cleanup never fails a test."""
    for attempt in range(5):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except SQLAlchemyError:
            time.sleep(0.2 * (attempt + 1))
    warnings.warn(f"could not drop test database {name}", stacklevel=1)


# --- fake Slack and the app over HTTP --------------------------------------------------------

@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(token=BOT_TOKEN).start()
    fake.on_request.append(ACTIVITY.touch)
    yield fake
    fake.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bound_socket() -> tuple[socket.socket, int]:
    """A listening socket on a free port, and the port, for uvicorn's `Server.run(sockets=[…])`: nothing
    can take the port between choosing it and serving on it (with `_free_port()` another test worker once
    did: "address already in use")."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock, sock.getsockname()[1]


class _Activity:
    """Something happened that a test may be waiting for: the fake Slack answered a request."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    def count(self) -> int:
        with self._changed:
            return self._count

    def touch(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Until anything happens after `seen` (a count()), or timeout."""
        with self._changed:
            self._changed.wait_for(lambda: self._count != seen, timeout)


ACTIVITY = _Activity()


class TickingClock:
    """The app's clock for tests whose figures are bounded by "today" or "this week": it starts at a chosen
    instant and ticks with real time, so a test that claims an item 5 h after it arrived reads the same
    figures whether the suite runs at 09:00 or at 23:30 (a claim 5 h after an arrival at 23:30 falls in
    tomorrow, outside today's range). Signatures still use the real time."""

    def __init__(self, start: datetime) -> None:
        self.start, self.offset, self._t0 = start, timedelta(0), time.monotonic()

    def __call__(self) -> datetime:
        return self.start + self.offset + timedelta(seconds=time.monotonic() - self._t0)

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """The predicate's first truthy value. Checked again as soon as the fake Slack answers a request
    (most waits are for what reached Slack), and at least every `interval` (for database state)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        # Counted after the check: a predicate that itself calls the fake Slack must not wake itself
        # (something that lands during the check is seen at the latest one interval later).
        seen = ACTIVITY.count()
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        ACTIVITY.wait(seen, min(interval, left))


@dataclass
class AppUnderTest:
    """The real app on a real port, a real database and the fake Slack: tests talk HTTP to it."""

    url: str
    runtime: Runtime
    fake: FakeSlack
    http: httpx.Client
    _counter: list[int] = field(default_factory=lambda: [0])

    # Webhooks, signed as a sender would.
    def post_webhook(self, payload: dict | bytes, *, source: str = "generic", secret: str = WEBHOOK_SECRET,
                     timestamp: int | None = None, headers: dict | None = None) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        signed = sign_webhook(secret, body, timestamp)
        signed.update(headers or {})
        return self.http.post(f"{self.url}/webhooks/{source}", content=body, headers=signed)

    # Slack → app requests, signed as Slack signs them.
    def post_slack(self, form: dict[str, str], *, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None) -> httpx.Response:
        body, headers = signed_form(secret, form, timestamp)
        return self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

    def click(self, action_id: str, value: str, *, user: str, channel: str, ts: str,
              selected_option: str | None = None) -> httpx.Response:
        self._counter[0] += 1
        action: dict[str, Any] = button_action(action_id, value)
        if selected_option is not None:
            action = {"action_id": action_id, "block_id": "cx_actions", "type": "overflow",
                      "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": selected_option},
                      "action_ts": f"{time.time():.6f}"}
        payload = message_block_actions(action, user=user, channel=channel, ts=ts,
                                        response_url=self.fake.response_url(f"{channel}:{ts}", user=user),
                                        trigger_id=self.fake.trigger_id())
        return self.post_slack({"payload": json.dumps(payload)})

    def submit_view(self, view: dict, values: dict, *, user: str) -> httpx.Response:
        # Each request unique, as Slack's are: a repeat of the same signed bytes is a replay (refused).
        self._counter[0] += 1
        payload = {
            "type": "view_submission", "api_app_id": "A0CXLOOP", "token": "legacy",
            "team": {"id": "T0SANDBOX", "domain": "sandbox"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0SANDBOX"},
            "trigger_id": f"trigger-view-{self._counter[0]}",
            "view": {**view, "id": view.get("id", "V0TEST"), "state": {"values": values}},
        }
        return self.post_slack({"payload": json.dumps(payload)})

    def slash(self, text_: str, *, user: str, channel: str) -> httpx.Response:
        self._counter[0] += 1
        return self.post_slack({
            "token": "legacy", "team_id": "T0SANDBOX", "team_domain": "sandbox", "channel_id": channel,
            "channel_name": "cx", "user_id": user, "user_name": user.lower(), "command": "/cxloop",
            "text": text_, "api_app_id": "A0CXLOOP", "response_url": self.fake.response_url("cmd", user=user),
            "trigger_id": self.fake.trigger_id(),
        })

    # Reading what reached Slack.
    def posts(self, channel: str) -> list[dict]:
        return [m for m in self.fake.messages(channel) if not m.get("thread_ts") or m.get("thread_ts") == m["ts"]]

    def wait_for_post(self, channel: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        return wait_for(lambda: len(self.posts(channel)) >= count and self.posts(channel), timeout,
                        what=f"{count} post(s) in {channel}")

    def idle(self, timeout: float = 10.0) -> None:
        """Wait until the outbox has nothing pending."""
        from bot.delivery.outbox import outbox_counts

        def drained() -> bool:
            with session_scope(self.runtime.factory) as session:
                return outbox_counts(session)["pending"] == 0
        try:
            wait_for(drained, timeout, what="the outbox to drain")
        except AssertionError as exc:
            from sqlalchemy import select

            from models import OutboxMessage

            with session_scope(self.runtime.factory) as session:
                stuck = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
                detail = "; ".join(f"#{row.id} {row.kind} to {row.channel}: {row.failures} failure(s), "
                                   f"{row.last_error or 'no error'}" for row in stuck)
            raise AssertionError(f"{exc}: {detail}") from None


class _Uvicorn(uvicorn.Server):
    """uvicorn that says when its startup is over, so a test starts the moment the app listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_over = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.startup_over.set()


# One TLS context for every test's HTTP client: httpx would load the CA bundle again for each
# (~10 % of the suite's CPU), and the app under test is plain HTTP on 127.0.0.1 anyway.
_TLS = ssl.create_default_context()


@pytest.fixture
def make_app(database_url, fake_slack) -> Iterator[Callable[..., AppUnderTest]]:
    servers: list[tuple[_Uvicorn, threading.Thread]] = []
    clients: list[httpx.Client] = []

    def start(config: AppConfig | None = None, *, worker: bool = True, channel_interval: float = 0.05) -> AppUnderTest:
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
                            slack_api_url=fake_slack.base_url, database_url=database_url, config_path="(test)",
                            port=0, log_level="INFO")
        runtime = build_runtime(settings, config or make_config(), bot_token=BOT_TOKEN,
                                signing_secret=SIGNING_SECRET, slack_api_url=fake_slack.base_url)
        delivery = (DeliveryWorker(runtime.factory, runtime.client, config=runtime.config, poll_interval=0.1,
                                   channel_interval=channel_interval)
                    if worker else None)
        app = create_app(runtime, worker=delivery)
        sock, port = bound_socket()
        server = _Uvicorn(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        assert server.startup_over.wait(10) and server.started, "uvicorn did not start"
        servers.append((server, thread))
        client = httpx.Client(timeout=10, verify=_TLS)
        clients.append(client)
        return AppUnderTest(url=f"http://127.0.0.1:{port}", runtime=runtime, fake=fake_slack, http=client)

    yield start
    for client in clients:
        client.close()
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def session_factory(database_url):
    from bot.db import make_engine

    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


# --- the fuzz summary ----------------------------------------------------------------------
# Here, not in tests/fuzz/conftest.py: under pytest-xdist only this conftest is loaded by the
# controller, which receives every worker's reports and writes the summary.

def pytest_runtest_logreport(report):
    if "tests/fuzz/" not in report.nodeid:
        return
    name = report.nodeid.split("tests/fuzz/", 1)[-1]
    if report.failed:
        FAILED[name] += 1
    for key, value in report.user_properties:
        if key == EXAMPLES_PROPERTY and value:
            REPORTED[name] = value


def pytest_terminal_summary(terminalreporter):
    if not REPORTED:
        return
    terminalreporter.section("fuzz: examples run per property")
    for name, count in sorted(REPORTED.items()):
        terminalreporter.write_line(f"fuzz: {name} — {count} examples, {FAILED[name]} failures")
    terminalreporter.write_line(f"fuzz: total — {sum(REPORTED.values())} examples in {len(REPORTED)} tests, "
                                f"{sum(FAILED.values())} failures "
                                f"(profile {os.environ.get('HYPOTHESIS_PROFILE', 'default')})")


# --- reports travel between xdist processes as UTF-8 --------------------------------------------
# A fuzz test feeds lone surrogates ("\ud800", valid in JSON) to the app; whatever a library printed
# about them is captured into the test's report, and execnet cannot encode it: the worker would crash
# with the test passed. Captured output is made encodable (the odd character becomes its escape).

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.sections = [(name, content.encode("utf-8", "backslashreplace").decode("utf-8"))
                       for name, content in report.sections]
    if isinstance(report.longrepr, str):
        report.longrepr = report.longrepr.encode("utf-8", "backslashreplace").decode("utf-8")
