"""Chaos fixtures: a private Postgres cluster the tests may kill and restart, real `cxloop serve` and
`cxloop worker` processes started from the command line, and the fake Slack they all talk to.

The shared Postgres on port 5432 is never touched: other test runs use it while these ones pull the
plug on theirs. The private cluster lives in a temporary directory, listens on 127.0.0.1 on a free
port and is removed at the end of the session. Without a Postgres installation the tests skip,
except under CI=true, where they fail.

Each test prints one line saying what it proved; `pytest_terminal_summary` repeats them at the end
of the run so CI output shows them even without `-s`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.db import upgrade
from bot.sandbox.fake_slack import FakeSlack
from tests.chaos.harness import (
    BOT_TOKEN,
    REPORT,
    ROLE,
    TEMPLATE_DB,
    ChaosStack,
    PrivatePostgres,
    free_port,
    postgres_bin_dir,
    write_config,
)


def pytest_terminal_summary(terminalreporter) -> None:
    if REPORT:
        terminalreporter.section("chaos: what the fault tests proved")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = "no Postgres installation (/usr/lib/postgresql/*/bin/initdb): the chaos tests need a private cluster"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="cxloop-chaos-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        # Postgres refuses to run as root; the Debian packages' postgres user runs it.
        shutil.chown(root, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data_dir = root / "data"
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync", "--no-instructions"], check=True, capture_output=True, timeout=120)
    cluster = PrivatePostgres(bin_dir=bin_dir, data_dir=data_dir, port=free_port(), log_path=root / "postgres.log",
                              run_as=run_as)
    cluster.start()
    try:
        admin = create_engine(cluster.url(user="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {ROLE} LOGIN CREATEDB"))
            conn.execute(text(f'CREATE DATABASE "{TEMPLATE_DB}" OWNER {ROLE}'))
        admin.dispose()
        upgrade(cluster.url(TEMPLATE_DB))
        yield cluster
    finally:
        if cluster.is_running():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def chaos_stack(request, private_postgres, tmp_path) -> Iterator[Callable[..., ChaosStack]]:
    """Builds a ChaosStack on a fresh database of the private cluster; stops its processes after the test."""
    stacks: list[ChaosStack] = []
    fakes: list[FakeSlack] = []

    def build(*, extra_env: dict[str, str] | None = None) -> ChaosStack:
        if not private_postgres.is_running():  # an earlier test failed during its outage
            private_postgres.start()
        fake = FakeSlack(token=BOT_TOKEN).start()
        fakes.append(fake)
        config_path = tmp_path / "cxloop.toml"
        channels = write_config(config_path)
        stack = ChaosStack(fake=fake, database_url=private_postgres.fresh_database(), config_path=config_path,
                           channels=channels, workdir=tmp_path, extra_env=dict(extra_env or {}))
        stacks.append(stack)
        return stack

    yield build
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for stack in stacks:
        if failed:
            for process in stack.processes:
                print(f"\n--- {process.name} ({process.log_path}) ---\n{process.log_tail()}")
        stack.close()
    for fake in fakes:
        fake.stop()
