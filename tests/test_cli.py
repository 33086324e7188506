"""The `cxloop` command line, run in-process with click's CliRunner against temporary SQLite files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.db import head_revision

VALID_TOML = """\
default_team = "success"

[[teams]]
name = "success"
channel = "C0SUCCESS"
timezone = "America/New_York"
mention = "S0CSLEADS"

[[teams]]
name = "support"
channel = "C0SUPPORT"
timezone = "Europe/London"

[[sources]]
name = "generic"
type = "generic"
secret_env = "GENERIC_WEBHOOK_SECRET"

[[routes]]
name = "escalations to support"
when = { kind = "escalation" }
team = "support"
mention = "U0ONCALL"

[[routes]]
name = "detractors to success"
when = { kind = "nps", category = "detractor" }
team = "success"
"""

# Variables that would change what the commands do; each test sets the ones it needs.
CLEARED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT",
           "GENERIC_WEBHOOK_SECRET", "LOG_LEVEL", "CXLOOP_DASHBOARD_TOKEN", "FORWARDED_ALLOW_IPS")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "cxloop.toml").write_text(VALID_TOML, encoding="utf-8")
    return tmp_path


def run(args: list[str], workdir: Path, db: str = "cxloop.db", **env: str):
    environment: dict[str, str | None] = dict.fromkeys(CLEARED)
    # The source's secret is set, as in any deployment; a test clears it with GENERIC_WEBHOOK_SECRET="".
    environment.update(DATABASE_URL=f"sqlite:///{workdir / db}", CXLOOP_CONFIG=str(workdir / "cxloop.toml"),
                       GENERIC_WEBHOOK_SECRET="whsec-test")
    environment.update(env)
    return CliRunner().invoke(main, args, env=environment, catch_exceptions=False)


# --- check-config ---------------------------------------------------------------------------------


def test_check_config_prints_routing_table(workdir: Path) -> None:
    result = run(["check-config"], workdir)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "OK" in out and "2 team(s), 1 source(s), 2 route(s)" in out
    assert "C0SUCCESS" in out and "C0SUPPORT" in out
    assert "POST /webhooks/generic" in out and "GENERIC_WEBHOOK_SECRET" in out
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "'escalations to support'" in line)
    second = next(i for i, line in enumerate(lines) if "'detractors to success'" in line)
    assert first < second, "routes are listed in file order"
    assert "kind=escalation" in lines[first] and "→ support" in lines[first] and "U0ONCALL" in lines[first]
    assert "kind=nps, category=detractor" in lines[second] and "→ success" in lines[second]
    assert "no match → success" in out


def test_check_config_explicit_path_argument(workdir: Path) -> None:
    other = workdir / "other.toml"
    other.write_text(VALID_TOML.replace('default_team = "success"', 'default_team = "support"'), encoding="utf-8")
    result = run(["check-config", str(other)], workdir)
    assert result.exit_code == 0, result.output
    assert str(other) in result.output
    assert "no match → support" in result.output


def test_check_config_default_team_is_first_team(workdir: Path) -> None:
    path = workdir / "cxloop.toml"
    path.write_text(VALID_TOML.replace('default_team = "success"\n', ""), encoding="utf-8")
    result = run(["check-config"], workdir)
    assert result.exit_code == 0, result.output
    assert "no match → success" in result.output


def test_check_config_invalid_file_names_key(workdir: Path) -> None:
    path = workdir / "cxloop.toml"
    path.write_text(VALID_TOML.replace('team = "support"', 'team = "suport"'), encoding="utf-8")
    result = run(["check-config"], workdir)
    assert result.exit_code != 0
    assert "routes[0].team" in result.output and "suport" in result.output
    assert "Routes (first match wins)" not in result.output


def test_check_config_typo_key_names_it(workdir: Path) -> None:
    path = workdir / "cxloop.toml"
    path.write_text(VALID_TOML.replace('channel = "C0SUPPORT"', 'chanel = "C0SUPPORT"'), encoding="utf-8")
    result = run(["check-config"], workdir)
    assert result.exit_code != 0
    assert "teams[1].chanel: unknown key" in result.output


def test_check_config_missing_file_names_path(workdir: Path) -> None:
    missing = workdir / "missing.toml"
    result = run(["check-config", str(missing)], workdir)
    assert result.exit_code != 0
    assert str(missing) in result.output


def test_check_config_with_real_token_requires_source_secret(workdir: Path) -> None:
    result = run(["check-config"], workdir, SLACK_BOT_TOKEN="xoxb-1-2", SLACK_SIGNING_SECRET="sss",
                 GENERIC_WEBHOOK_SECRET="")
    assert result.exit_code != 0
    assert "sources[0].secret_env" in result.output and "GENERIC_WEBHOOK_SECRET" in result.output
    ok = run(["check-config"], workdir, SLACK_BOT_TOKEN="xoxb-1-2", SLACK_SIGNING_SECRET="sss",
             GENERIC_WEBHOOK_SECRET="whsec")
    assert ok.exit_code == 0, ok.output


def test_bad_environment_is_reported_with_variable_name(workdir: Path) -> None:
    result = run(["check-config"], workdir, SLACK_BOT_TOKEN="xoxb-1-2")
    assert result.exit_code != 0
    assert "SLACK_SIGNING_SECRET" in result.output


# --- db ---------------------------------------------------------------------------------------------


def test_db_upgrade_then_current_shows_same_revision(workdir: Path) -> None:
    before = run(["db", "current"], workdir)
    assert before.exit_code == 0, before.output
    assert "database: (empty)" in before.output

    upgraded = run(["db", "upgrade"], workdir)
    assert upgraded.exit_code == 0, upgraded.output

    current = run(["db", "current"], workdir)
    assert current.exit_code == 0, current.output
    head = head_revision()
    assert head
    assert f"database: {head}" in current.output
    assert f"code:     {head}" in current.output


def test_db_upgrade_is_idempotent(workdir: Path) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    again = run(["db", "upgrade"], workdir)
    assert again.exit_code == 0, again.output
    assert f"database: {head_revision()}" in run(["db", "current"], workdir).output


# --- serve refuses an unmigrated database ----------------------------------------------------------


@pytest.fixture
def no_listen(monkeypatch):
    """Fail (instead of blocking forever) if serve gets as far as starting its HTTP server."""
    import uvicorn

    calls: list[tuple] = []

    def refuse(*args, **kwargs):
        calls.append((args, kwargs))
        raise AssertionError("serve started uvicorn on an unmigrated database")

    monkeypatch.setattr(uvicorn, "run", refuse)
    return calls


def _fake_slack_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-slack:") and t.is_alive()]


@pytest.mark.parametrize("mode", ["sandbox", "slack"])
def test_serve_refuses_unmigrated_database(workdir: Path, no_listen, mode: str) -> None:
    (workdir / "empty.db").write_bytes(b"")
    env = {} if mode == "sandbox" else {"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_SIGNING_SECRET": "sss",
                                        "GENERIC_WEBHOOK_SECRET": "whsec",
                                        "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    flags = ["--sandbox"] if mode == "sandbox" else []
    result = run(["serve", "--port", "0", "--no-worker", *flags], workdir, db="empty.db", **env)
    assert no_listen == [], "serve must refuse before starting the HTTP server"
    assert result.exit_code != 0
    assert "cxloop db upgrade" in result.output
    assert "listening" not in result.output


def test_serve_refuses_database_that_is_migrated_nowhere(workdir: Path, no_listen) -> None:
    # A database file that does not exist yet is just as unmigrated.
    result = run(["serve", "--sandbox", "--port", "0"], workdir, db="never-created.db")
    assert no_listen == []
    assert result.exit_code != 0
    assert "cxloop db upgrade" in result.output


def test_serve_binds_nothing_before_refusing_unmigrated_database(workdir: Path, no_listen) -> None:
    (workdir / "empty.db").write_bytes(b"")
    before = set(_fake_slack_threads())
    try:
        result = run(["serve", "--sandbox", "--port", "0"], workdir, db="empty.db")
        assert result.exit_code != 0
        leaked = [t for t in _fake_slack_threads() if t not in before]
        assert leaked == [], f"serve left a fake Slack server listening: {[t.name for t in leaked]}"
    finally:
        for thread in set(_fake_slack_threads()) - before:
            server = getattr(getattr(thread, "_target", None), "__self__", None)
            if server is not None:  # the leaked ThreadingHTTPServer: close it so the port is freed
                server.shutdown()
                server.server_close()


# --- outbox -------------------------------------------------------------------------------------


def test_outbox_on_fresh_database(workdir: Path) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    result = run(["outbox"], workdir)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "pending 0  dead 0  sent 0"
    assert "#" not in result.output  # no rows listed


def test_outbox_refuses_unmigrated_database(workdir: Path) -> None:
    (workdir / "empty.db").write_bytes(b"")
    result = run(["outbox"], workdir, db="empty.db")
    assert result.exit_code != 0
    assert "cxloop db upgrade" in result.output


def test_outbox_retry_on_fresh_database_requeues_nothing(workdir: Path) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    result = run(["outbox", "retry"], workdir)
    assert result.exit_code == 0, result.output
    assert "Requeued 0 row(s)" in result.output


def test_outbox_lists_dead_rows_and_retry_requeues_them(workdir: Path) -> None:
    from datetime import UTC, datetime

    from bot.db import make_engine, make_session_factory, session_scope
    from models import OutboxMessage
    from models.delivery import DEAD, POST_ITEM

    assert run(["db", "upgrade"], workdir).exit_code == 0
    engine = make_engine(f"sqlite:///{workdir / 'cxloop.db'}")
    now = datetime(2024, 5, 1, tzinfo=UTC)
    with session_scope(make_session_factory(engine)) as session:
        session.add(OutboxMessage(kind=POST_ITEM, channel="C0SUCCESS", available_at=now, created_at=now,
                                  payload={}, status=DEAD, failures=10, last_error="channel_not_found"))
    engine.dispose()

    listed = run(["outbox", "--status", "dead"], workdir)
    assert listed.exit_code == 0, listed.output
    assert "pending 0  dead 1  sent 0" in listed.output
    assert "C0SUCCESS" in listed.output and "channel_not_found" in listed.output

    retried = run(["outbox", "retry"], workdir)
    assert retried.exit_code == 0, retried.output
    assert "Requeued 1 row(s)" in retried.output
    assert "pending 1  dead 0  sent 0" in run(["outbox"], workdir).output


# --- simulate -----------------------------------------------------------------------------------


def test_simulate_reports_unreachable_app(workdir: Path) -> None:
    result = run(["simulate", "--url", "http://127.0.0.1:9", "--count", "1", "--interval", "0"], workdir)
    assert result.exit_code != 0
    assert "Could not reach http://127.0.0.1:9" in result.output


def test_jobs_lists_each_teams_next_digest_and_the_recurring_jobs(workdir: Path) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    result = run(["jobs"], workdir)
    assert result.exit_code == 0, result.output
    assert "success      digest 09:00 daily; weekly on mon  [America/New_York]" in result.output
    assert result.output.count("next digest") == 2  # one per team
    assert "sla_nudge" in result.output and "vip_checkins" in result.output
    assert "No runs yet." in result.output


# --- configuration never fails open (issue 13) ----------------------------------------------------

SLACK_ENV = {"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_SIGNING_SECRET": "sss", "SLACK_API_URL": "http://127.0.0.1:9/api/"}


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker"], ["clock", "--once"]])
def test_slack_commands_without_a_token_refuse_and_name_the_variable(workdir: Path, no_listen, command) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    before = set(_fake_slack_threads())
    result = run(command, workdir)
    assert result.exit_code != 0
    assert "SLACK_BOT_TOKEN" in result.output and "--sandbox" in result.output and "cxloop demo" in result.output
    assert no_listen == [] and "listening" not in result.output and "Sandbox" not in result.output
    assert set(_fake_slack_threads()) == before, "no fake Slack may start without --sandbox"


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker"], ["clock", "--once"], ["check-config"],
                                     ["jobs"]])
@pytest.mark.parametrize("value", ["", "  "])
def test_unset_source_secret_is_a_start_up_error_outside_the_sandbox(workdir: Path, no_listen, command,
                                                                       value: str) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    result = run(command, workdir, GENERIC_WEBHOOK_SECRET=value, **SLACK_ENV)
    assert result.exit_code != 0
    assert "sources[0].secret_env" in result.output and "GENERIC_WEBHOOK_SECRET" in result.output
    assert no_listen == []


def test_unset_api_token_of_a_source_is_a_start_up_error(workdir: Path, no_listen) -> None:
    path = workdir / "cxloop.toml"
    path.write_text(VALID_TOML.replace('secret_env = "GENERIC_WEBHOOK_SECRET"',
                                       'secret_env = "GENERIC_WEBHOOK_SECRET"\napi_token_env = "GENERIC_API_TOKEN"'),
                    encoding="utf-8")
    assert run(["db", "upgrade"], workdir).exit_code == 0
    result = run(["serve", "--port", "0"], workdir, **SLACK_ENV)
    assert result.exit_code != 0 and "sources[0].api_token_env" in result.output
    assert "GENERIC_API_TOKEN" in result.output and no_listen == []


@pytest.mark.parametrize("flags", [[], ["--sandbox"]])
def test_short_dashboard_token_is_refused_at_start_up(workdir: Path, no_listen, flags) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    result = run(["serve", "--port", "0", *flags], workdir, CXLOOP_DASHBOARD_TOKEN="hunter2-is-not-enough",
                 **({} if flags else SLACK_ENV))
    assert result.exit_code != 0
    assert "CXLOOP_DASHBOARD_TOKEN" in result.output and "secrets.token_urlsafe(32)" in result.output
    assert no_listen == []


@pytest.fixture
def uvicorn_calls(monkeypatch):
    """Record how serve would start uvicorn, and return at once (serve then stops its fake Slack)."""
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    return calls


def test_sandbox_listens_on_localhost_unless_told_otherwise(workdir: Path, uvicorn_calls) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    before = set(_fake_slack_threads())
    assert run(["serve", "--sandbox", "--port", "0"], workdir).exit_code == 0
    explicit = run(["serve", "--sandbox", "--port", "0", "--host", "0.0.0.0"], workdir)
    assert explicit.exit_code == 0 and "Warning" in explicit.output
    assert run(["serve", "--port", "0"], workdir, **SLACK_ENV).exit_code == 0
    assert [call["host"] for call in uvicorn_calls] == ["127.0.0.1", "0.0.0.0", "0.0.0.0"]
    assert set(_fake_slack_threads()) == before, "serve stops its fake Slack when uvicorn returns"


def test_serve_passes_the_trusted_proxies_to_uvicorn(workdir: Path, uvicorn_calls) -> None:
    assert run(["db", "upgrade"], workdir).exit_code == 0
    run(["serve", "--port", "0"], workdir, **SLACK_ENV)
    run(["serve", "--port", "0"], workdir, FORWARDED_ALLOW_IPS="10.0.0.0/8", **SLACK_ENV)
    run(["serve", "--port", "0", "--forwarded-allow-ips", "*"], workdir, FORWARDED_ALLOW_IPS="10.0.0.0/8",
        **SLACK_ENV)
    assert [(c["proxy_headers"], c["forwarded_allow_ips"]) for c in uvicorn_calls] == [
        (True, "127.0.0.1"), (True, "10.0.0.0/8"), (True, "*")]


# --- cxloop doctor against the strict fake Slack ------------------------------------------------

def _doctor(workdir: Path, fake, **env: str):
    from bot.db import upgrade

    upgrade(f"sqlite:///{workdir / 'cxloop.db'}")
    return run(["doctor"], workdir, SLACK_BOT_TOKEN="xoxb-doctor", SLACK_SIGNING_SECRET="sig",
               SLACK_API_URL=fake.base_url, GENERIC_WEBHOOK_SECRET="s3cret", **env)


@pytest.fixture
def doctor_slack():
    from bot.sandbox.fake_slack import FakeSlack

    fake = FakeSlack(token="xoxb-doctor").start()
    fake.set_usergroup("S0CSLEADS", ["U0ANA"])
    yield fake
    fake.stop()


def test_doctor_passes_a_correct_install(workdir, doctor_slack):
    result = _doctor(workdir, doctor_slack)
    assert result.exit_code == 0, result.output
    assert "[ok  ] the token has every scope cxloop needs" in result.output
    assert "[ok  ] the database is migrated" in result.output and "All good." in result.output


def test_doctor_names_a_missing_scope_and_a_missing_channel_with_their_fixes(workdir, doctor_slack):
    doctor_slack.set_scopes(doctor_slack.scopes - {"files:write", "channels:join"})
    doctor_slack.remove_channel("C0SUPPORT")
    result = _doctor(workdir, doctor_slack)
    assert result.exit_code == 1, result.output
    assert "[FAIL] missing scope(s): channels:join, files:write" in result.output
    assert "reinstall the app" in result.output and "upload the weekly and monthly report charts" in result.output
    assert "[FAIL] team support: channel C0SUPPORT" in result.output
    assert "channel_not_found" in result.output and "check the channel id in the config file" in result.output
    assert "[ok  ] team success: channel C0SUCCESS" in result.output


def test_doctor_fails_on_an_unmigrated_database_and_a_missing_secret(workdir, doctor_slack):
    result = run(["doctor"], workdir, db="empty.db", SLACK_BOT_TOKEN="xoxb-doctor", SLACK_SIGNING_SECRET="sig",
                 SLACK_API_URL=doctor_slack.base_url)
    assert result.exit_code == 1
    assert "GENERIC_WEBHOOK_SECRET" in result.output and "cxloop db upgrade" in result.output


# --- cxloop demo: what a restart and a second terminal see ------------------------------------------

@pytest.fixture
def demo_dir(workdir: Path, monkeypatch) -> Path:
    """A directory to run `cxloop demo` in (no cxloop.toml: the demo's own configuration), seeding a small demo."""
    import functools

    import bot.cli.demo
    import bot.sandbox.demo

    (workdir / "cxloop.toml").unlink()
    monkeypatch.chdir(workdir)
    # `cxloop demo` runs bot.cli.demo's seed_demo: a small one here.
    monkeypatch.setattr(bot.cli.demo, "seed_demo", functools.partial(bot.sandbox.demo.seed_demo, accounts=20, responses=40))
    return workdir


BESIDE_THE_DEMO = {"DATABASE_URL": None, "CXLOOP_CONFIG": None}


def _dashboard_token(output: str) -> str:
    [token] = [line.partition("token=")[2] for line in output.splitlines() if line.startswith("Dashboard: http")]
    return token


def test_demo_keeps_its_dashboard_token_across_restarts(demo_dir: Path, uvicorn_calls) -> None:
    first = run(["demo"], demo_dir, **BESIDE_THE_DEMO)
    assert first.exit_code == 0, first.output
    assert "The clock runs in this process" in first.output  # nudges, DMs, digests appear as they fall due
    second = run(["demo"], demo_dir, **BESIDE_THE_DEMO)
    assert "already seeded" in second.output
    assert len(uvicorn_calls) == 2 and _dashboard_token(second.output) == _dashboard_token(first.output)
    assert len(_dashboard_token(first.output)) >= 32
    assert (demo_dir / "cxloop-demo.json").stat().st_mode & 0o077 == 0  # the token is the owner's only
    # Another demo database gets a token of its own.
    other = run(["demo", "--database-url", f"sqlite:///{demo_dir / 'other.db'}"], demo_dir, **BESIDE_THE_DEMO)
    assert _dashboard_token(other.output) != _dashboard_token(first.output)


def test_cli_beside_the_demo_uses_the_demos_database_and_configuration(demo_dir: Path) -> None:
    assert run(["demo", "--no-serve"], demo_dir, **BESIDE_THE_DEMO).exit_code == 0
    outbox = run(["outbox"], demo_dir, **BESIDE_THE_DEMO)
    assert outbox.exit_code == 0, outbox.output
    assert "sent 0" not in outbox.stdout.splitlines()[0]  # the demo's deliveries, not an empty cxloop.db
    assert "Using the demo's database sqlite:///cxloop-demo.db" in outbox.stderr
    assert not (demo_dir / "cxloop.db").exists()
    config = run(["check-config"], demo_dir, **BESIDE_THE_DEMO)
    assert config.exit_code == 0 and "demo_config.toml: OK — 3 team(s)" in config.stdout
    # The clock beside the demo queues for the demo's fake Slack (no bot token needed, as with --sandbox).
    clock = run(["clock", "--once"], demo_dir, **BESIDE_THE_DEMO)
    assert clock.exit_code == 0 and "Sandbox: the clock queues messages" in clock.stdout, clock.output
    # A database set in the environment is used as it is; so are `db upgrade` and `serve --sandbox` (an empty sandbox).
    upgrade = run(["db", "upgrade"], demo_dir, **BESIDE_THE_DEMO)
    assert upgrade.exit_code == 0 and "Using the demo's" not in upgrade.output and (demo_dir / "cxloop.db").exists()
    explicit = run(["outbox"], demo_dir, DATABASE_URL=f"sqlite:///{demo_dir / 'cxloop.db'}", CXLOOP_CONFIG=None)
    assert explicit.stdout.splitlines()[0] == "pending 0  dead 0  sent 0" and "Using the demo's" not in explicit.output


# --- analyze --------------------------------------------------------------------------------------


def _analyze(args: list[str], workdir: Path, stdin: str, **env: str):
    environment: dict[str, str | None] = dict.fromkeys(CLEARED)
    environment.update(CXLOOP_CONFIG=str(workdir / "cxloop.toml"))
    environment.update(env)
    return CliRunner().invoke(main, ["analyze", *args], input=stdin, env=environment, catch_exceptions=False)


def test_analyze_json_lines_one_answer_per_line_in_order(workdir: Path) -> None:
    lines = [{"comment": "Support never replied and the export keeps failing.", "kind": "nps", "score": 3},
             {"comment": "Fantastic onboarding, thank you!", "kind": "csat", "score": 5},
             "not json", {"comment": "ok", "score": 4}, {"comment": "Mercredi le support ne répond pas du tout."}]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    result = _analyze([], workdir, stdin)
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["sentiment"] == "negative" and "never replied" in out[0]["reason"]
    assert out[0]["themes"][:1] == ["bugs"] and out[0]["theme_matches"]["support"] == "support"
    assert out[0]["polarity"] < 0 and out[0]["category"] == "detractor"
    assert out[1]["sentiment"] == "positive" and "onboarding" in out[1]["themes"]
    assert out[2] == {"line": 3, "error": out[2]["error"]} and "not JSON" in out[2]["error"]
    assert out[3] == {"line": 4, "error": "a score needs its kind (nps, csat, ces or psat)"}
    assert out[4]["sentiment"] == "not_analysed"
    assert "could not be analysed" in result.stderr


def test_analyze_csv_with_the_team_taxonomy(workdir: Path) -> None:
    (workdir / "cxloop.toml").write_text(VALID_TOML + '\n[themes]\nshipping = ["late delivery", "courier"]\n'
                                         '\n[sentiment]\nnegative = ["escalated to legal"]\n', encoding="utf-8")
    (workdir / "export.csv").write_text("Comment,Kind,Score\n\"Late delivery, escalated to legal\",csat,3\n"
                                        "\"The courier was lovely\",,\n", encoding="utf-8")
    result = _analyze([str(workdir / "export.csv")], workdir, "")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["themes"] == ["shipping"] and first["sentiment"] == "negative"
    assert '"escalated to legal"' in first["reason"]
    assert second["themes"] == ["shipping"] and second["sentiment"] == "positive" and second["category"] is None


def test_each_command_loads_only_what_it_runs() -> None:
    """`cxloop jobs` (or `--help` of one command) must not pay for the web app, the fake Slack or textblob."""
    import subprocess
    import sys

    probe = ("import sys; from click.testing import CliRunner; from bot.cli import main; "
             "r = CliRunner().invoke(main, ['db', '--help']); assert r.exit_code == 0, r.output; "
             "print(sorted(m for m in ('bot.web', 'bot.sandbox.fake_slack', 'textblob', 'bot.intake.ingest', "
             "'bot.slack.app') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_every_listed_command_has_help() -> None:
    from bot.cli import COMMANDS

    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage: main " + name in result.output, (name, result.output)
