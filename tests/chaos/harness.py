"""The chaos tests' harness: a private Postgres cluster, real `cxloop` processes, signed requests,
and counts of what reached the fake Slack. Fixtures and hooks are in conftest.py."""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bot.common.signing import sign_webhook
from bot.delivery.handlers import METADATA_EVENT_TYPE
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import button_action, message_block_actions, signed_payload

SIGNING_SECRET = "chaos-signing-secret"
WEBHOOK_SECRET = "chaos-webhook-secret"
BOT_TOKEN = "xoxb-chaos"
ROLE = "cxloop"
TEMPLATE_DB = "cxloop_chaos_template"
# Items are spread over this many team channels: the worker paces each channel to about one post a
# second (Slack's limit), so one channel would make a 500-item burst a 500-second test.
CHANNELS = 20
PROCESS_START_SECONDS = 30.0

REPORT: list[str] = []


def report(line: str) -> None:
    """What a chaos test proved: printed now and repeated in the run's summary."""
    print(f"\n{line}")
    REPORT.append(line)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a private Postgres cluster ------------------------------------------------------------------

@dataclass
class PrivatePostgres:
    """A throwaway cluster: initdb'd into a temporary directory, trust authentication on 127.0.0.1."""

    bin_dir: Path
    data_dir: Path
    port: int
    log_path: Path
    run_as: list[str]

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        # The socket directory is the data directory, so nothing here touches the shared cluster's.
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._ctl("-o", options, "-l", str(self.log_path), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "30", "stop")

    def is_running(self) -> bool:
        return self._ctl("status", check=False).returncode == 0

    def url(self, database: str = "postgres", user: str = ROLE) -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new database copied from the migrated template; returns its URL."""
        name = f"chaos_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self.url(user="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER {ROLE} TEMPLATE "{TEMPLATE_DB}"'))
        admin.dispose()
        return self.url(name)


def postgres_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


# --- cxloop processes ----------------------------------------------------------------------------

def write_config(path: Path, *, channels: int = CHANNELS) -> list[str]:
    """Teams team00… with channels C0CHAOS00…; an item goes to the team named by its customer segment."""
    names = [f"team{index:02d}" for index in range(channels)]
    lines = [f'default_team = "{names[0]}"', ""]
    for name in names:
        lines += ["[[teams]]", f'name = "{name}"', f'channel = "C0CHAOS{name[4:]}"', 'members = ["U0ANA", "U0BEN"]', ""]
    lines += ["[[sources]]", 'name = "generic"', 'type = "generic"', 'secret_env = "GENERIC_WEBHOOK_SECRET"', ""]
    for name in names:
        lines += ["[[routes]]", f'name = "segment {name}"', f'when = {{ segment = "seg{name[4:]}" }}',
                  f'team = "{name}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return [f"C0CHAOS{name[4:]}" for name in names]


def _cxloop_command() -> list[str]:
    script = Path(sys.executable).with_name("cxloop")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from bot.cli import main; main()"]


@dataclass
class CxloopProcess:
    """One `cxloop …` process, its output in a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CxloopProcess:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen([*_cxloop_command(), *self.args], env=self.env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def wait_ready(self) -> None:
        def ready() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            if self.port is None:
                return "delivering to" in self.log_path.read_text(errors="replace")
            try:
                return httpx.get(f"{self.url}/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(ready, PROCESS_START_SECONDS, f"{self.name} to start", interval=0.2)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no finally blocks, leases left as they are."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ChaosStack:
    """Real processes on one database, the fake Slack, and helpers to drive and inspect them."""

    fake: FakeSlack
    database_url: str
    config_path: Path
    channels: list[str]
    workdir: Path
    processes: list[CxloopProcess] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    _clients: threading.local = field(default_factory=threading.local)
    _engine: Any = None

    def _env(self, port: int | None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("CXLOOP_", "SLACK_", "DATABASE_URL"))}
        env.update({
            "DATABASE_URL": self.database_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.fake.base_url, "CXLOOP_CONFIG": str(self.config_path),
            "GENERIC_WEBHOOK_SECRET": WEBHOOK_SECRET, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        })
        if port is not None:
            env["PORT"] = str(port)
        return env

    def serve(self, name: str = "serve") -> CxloopProcess:
        """`cxloop serve --no-worker`: webhooks and Slack requests only; delivery is the workers' job."""
        port = free_port()
        process = CxloopProcess(name, ["serve", "--no-worker", "--host", "127.0.0.1"], self._env(port),
                                self.workdir / f"{name}.log", port=port).start()
        self.processes.append(process)
        return process

    def worker(self, name: str = "worker") -> CxloopProcess:
        process = CxloopProcess(name, ["worker"], self._env(None), self.workdir / f"{name}.log").start()
        self.processes.append(process)
        return process

    def started(self, *processes: CxloopProcess) -> None:
        for process in processes:
            process.wait_ready()

    # Requests into the app, signed as their senders sign them.
    def _http(self) -> httpx.Client:
        client = getattr(self._clients, "client", None)
        if client is None:
            client = self._clients.client = httpx.Client(timeout=15)
        return client

    def post_webhook(self, serve: CxloopProcess, payload: dict) -> httpx.Response:
        body = json.dumps(payload).encode()
        return self._http().post(f"{serve.url}/webhooks/generic", content=body, headers=sign_webhook(WEBHOOK_SECRET, body))

    def click_claim(self, serve: CxloopProcess, *, item_id: int, user: str, channel: str, ts: str) -> httpx.Response:
        payload = message_block_actions(button_action("cx_claim", f"item:{item_id}"), user=user, channel=channel,
                                        ts=ts, response_url=self.fake.response_url(f"{channel}:{ts}"),
                                        trigger_id=f"trigger-{uuid.uuid4().hex[:8]}")
        body, headers = signed_payload(SIGNING_SECRET, payload)
        return self._http().post(f"{serve.url}/slack/events", content=body, headers=headers)

    # What reached Slack.
    def item_posts(self) -> Counter:
        """Channel messages carrying our item metadata, counted per item id: what users see."""
        posts: Counter = Counter()
        for channel in self.channels:
            for message in self.fake.messages(channel):
                metadata = message.get("metadata") or {}
                if message.get("thread_ts") in (None, message["ts"]) and metadata.get("event_type") == METADATA_EVENT_TYPE:
                    posts[int(metadata["event_payload"]["item_id"])] += 1
        return posts

    # What the database holds, read from the test process.
    def query(self, sql: str, **params: Any) -> list[tuple]:
        if self._engine is None:
            self._engine = create_engine(self.database_url, pool_pre_ping=True)
        with self._engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def items(self) -> dict[str, int]:
        """external id → item id, for every stored item."""
        return {external_id: item_id for external_id, item_id in self.query("SELECT external_id, id FROM items")}

    def outbox(self) -> dict[str, int]:
        return dict(self.query("SELECT status, count(*) FROM outbox GROUP BY status"))

    def wait_delivered(self, item_ids: set[int], timeout: float) -> Counter:
        """Wait until every item has its channel message and nothing waits in the outbox."""
        def done() -> Counter | None:
            posts = self.item_posts()
            return posts if item_ids <= set(posts) and self.outbox().get("pending", 0) == 0 else None
        return wait_for(done, timeout, f"{len(item_ids)} items to be posted and the outbox to drain", interval=0.5)

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
        if self._engine is not None:
            self._engine.dispose()


def webhook_payload(tag: str, index: int, *, channels: int = CHANNELS) -> dict:
    """A detractor NPS response routed (by its customer segment) to channel index % channels."""
    return {"id": f"chaos-{tag}-{index:04d}", "kind": "nps", "score": index % 7,
            "comment": f"Checkout failed again ({tag} #{index}).",
            "customer": {"email": f"customer{index}@example.com", "segment": f"seg{index % channels:02d}"}}


def send_all(send: Callable[[dict], httpx.Response], payloads: list[dict], *, threads: int = 8
             ) -> list[tuple[dict, int | str, float]]:
    """Send concurrently, as a burst; returns (payload, HTTP status or error name, seconds) per payload."""
    results: list[tuple[dict, int | str, float]] = []
    lock = threading.Lock()
    queue = list(reversed(payloads))

    def run() -> None:
        while True:
            with lock:
                if not queue:
                    return
                payload = queue.pop()
            started = time.monotonic()
            try:
                status: int | str = send(payload).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            with lock:
                results.append((payload, status, time.monotonic() - started))

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


