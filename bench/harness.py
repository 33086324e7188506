"""What the HTTP benchmarks share: a fresh database, the app in a subprocess, the fake Slack here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import upgrade

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = ("CXLOOP_BENCH_DATABASE_URL", "CXLOOP_TEST_DATABASE_URL")


def postgres_url() -> str | None:
    return next((os.environ[name] for name in POSTGRES_ENV if os.environ.get(name)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def teams_config(count: int) -> dict:
    """`count` teams, channel C0BENCHnn each, routed by the webhook's tag tnn."""
    teams = [{"name": f"team{k}", "channel": f"C0BENCH{k:02d}"} for k in range(count)]
    routes = [{"name": f"to team{k}", "when": {"tag": f"t{k}"}, "team": f"team{k}"} for k in range(count)]
    return {"teams": teams, "routes": routes, "default_team": "team0",
            "sources": [{"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"}]}


@contextmanager
def fresh_database(kind: str, folder: Path):
    """A migrated, empty database: a SQLite file in `folder`, or a new database on the Postgres server."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        upgrade(url)
        yield url
        return
    base = postgres_url()
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"cxloop_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class AppProcess:
    """`python -m bench.app_server` on a free port (or the delivery worker alone, role="worker")."""

    def __init__(self, *, database_url: str, slack_api_url: str, config: dict, worker: bool, role: str = "web",
                 worker_options: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        spec = {"database_url": database_url, "slack_api_url": slack_api_url, "config": config, "worker": worker,
                "port": self.port, "role": role, "worker_options": worker_options or {}}
        self.process = subprocess.Popen([sys.executable, "-m", "bench.app_server", json.dumps(spec)], cwd=ROOT)
        if role == "web":
            self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the app did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
