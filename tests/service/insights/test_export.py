"""`cxloop export` through the command line on SQLite and Postgres: the three formats hold the same rows
(every item of the period, in batches), the documented columns, the follow-up state, and not an erased
customer's personal data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.db import session_scope
from bot.followups.service import claim_followup, resolve_followup
from bot.insights import export as export_module
from bot.intake.ingest import ingest_item
from bot.intake.payload import validate_payload
from bot.privacy.erasure import forget_customer
from tests.conftest import TEST_CONFIG, make_config

CONFIG = make_config(TEST_CONFIG)
DAY = datetime(2026, 11, 10, tzinfo=UTC)
# The README's "For BI: views and exports" lists these, in this order.
DOCUMENTED = ["item_id", "received_at", "source", "external_id", "team", "kind", "score", "category",
              "sentiment_label", "sentiment_polarity", "themes", "vip", "account_name", "plan", "segment",
              "customer_name", "customer_email", "subject", "comment", "erased", "follow_up_status", "claimed_by",
              "claimed_at", "resolved_by", "resolved_at", "outcome", "minutes_to_claim", "minutes_to_resolve",
              "agent", "role", "customer_since", "imported"]


def store(factory) -> dict[str, int]:
    """23 items over three days (and one the day before, one the day after), one customer erased."""
    ids = {}
    with session_scope(factory) as session:
        for n in range(25):
            received = DAY - timedelta(hours=2) + timedelta(hours=3 * n)  # 22:00 the day before, then every 3 h
            email = "erase.me@example.com" if n % 5 == 0 else f"keep{n}@example.com"
            body = {"id": f"x-{n}", "kind": "nps", "score": n % 11, "comment": f"The price is too high, says {email}",
                    "customer": {"name": f"Person {n}", "email": email}}
            ids[f"x-{n}"] = ingest_item(session, source="generic", payload=validate_payload(body), config=CONFIG,
                                        now=received, team="success").item_id
        assert claim_followup(session, item_id=ids["x-3"], user_id="U0ANA", now=DAY + timedelta(hours=9, minutes=30)).changed
        assert resolve_followup(session, item_id=ids["x-3"], user_id="U0ANA", outcome="fixed", note=None,
                                now=DAY + timedelta(hours=10)).changed
        forget_customer(session, email="erase.me@example.com", actor="U0ADMIN", now=DAY + timedelta(days=5))
    return ids


def cli(args: list[str], database_url: str):
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": None, "CXLOOP_CONFIG": "/nonexistent.toml"}
    return CliRunner().invoke(main, ["export", *args], env=env, catch_exceptions=False)


PERIOD = ["--since", "2026-11-10", "--until", "2026-11-12"]  # 00:00 – 21:00 on the 12th: items x-1 … x-24


def test_the_three_formats_hold_the_same_rows_and_columns_and_no_erased_customer(
        session_factory, database_url, tmp_path, monkeypatch):
    ids = store(session_factory)
    monkeypatch.setattr(export_module, "BATCH_SIZE", 7)  # several batches, the last one short
    monkeypatch.setattr("bot.cli.export.BATCH_SIZE", 7)
    outputs = {}
    for fmt in ("csv", "jsonl", "parquet"):
        result = cli([*PERIOD, "--format", fmt, "--out", str(tmp_path / f"items.{fmt}")], database_url)
        assert result.exit_code == 0, result.output
        assert "Exported 24 item(s) received 2026-11-10 – 2026-11-12" in result.output
        outputs[fmt] = tmp_path / f"items.{fmt}"
    with outputs["csv"].open(newline="") as handle:
        from_csv = list(csv.DictReader(handle))
    from_jsonl = [json.loads(line) for line in outputs["jsonl"].read_text().splitlines()]
    table = pq.read_table(outputs["parquet"])
    from_parquet = table.to_pylist()

    assert list(from_csv[0]) == list(from_jsonl[0]) == table.column_names == DOCUMENTED
    assert len(from_csv) == len(from_jsonl) == len(from_parquet) == 24
    expected = [ids[f"x-{n}"] for n in range(1, 25)]  # oldest first; x-0 the day before is out
    assert [int(r["item_id"]) for r in from_csv] == [r["item_id"] for r in from_jsonl] == \
        [r["item_id"] for r in from_parquet] == expected

    everything = outputs["csv"].read_text() + outputs["jsonl"].read_text() + str(from_parquet)
    assert "erase.me@example.com" not in everything and "keep7@example.com" in everything
    erased = [r for r in from_jsonl if r["erased"]]
    assert len(erased) == 4 and all(r["customer_email"] is None and r["comment"] == "[erased]" for r in erased)
    assert all(r["customer_name"] is None for r in from_parquet if r["erased"])

    resolved = next(r for r in from_jsonl if r["item_id"] == ids["x-3"])
    assert (resolved["follow_up_status"], resolved["claimed_by"], resolved["outcome"]) == ("resolved", "U0ANA", "fixed")
    assert resolved["minutes_to_claim"] == pytest.approx(150) and resolved["minutes_to_resolve"] == pytest.approx(180)
    assert resolved["themes"] == ["pricing"] and resolved["category"] == "detractor"
    parquet_row = next(r for r in from_parquet if r["item_id"] == ids["x-3"])
    assert parquet_row["themes"] == ["pricing"] and parquet_row["received_at"] == DAY + timedelta(hours=7)
    assert next(r for r in from_csv if int(r["item_id"]) == ids["x-3"])["themes"] == "pricing"


def test_csv_goes_to_standard_output_and_bad_options_are_named(session_factory, database_url):
    store(session_factory)
    result = cli(["--since", "2026-11-12", "--format", "csv"], database_url)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 8 and rows[0]["received_at"].startswith("2026-11-12T")
    reversed_ = cli(["--since", "2026-11-12", "--until", "2026-11-10", "--format", "csv"], database_url)
    assert reversed_.exit_code == 2 and "--since 2026-11-12 is after --until 2026-11-10" in reversed_.output
    assert "needs --out" in cli(["--since", "2026-11-12", "--format", "parquet"], database_url).output
    assert cli(["--since", "12/11/2026", "--format", "csv"], database_url).exit_code == 2
    # An age, as `report --by` and `/cxloop status 7d` take it: the same rows as the day it names.
    by_age = cli(["--since", "3650d", "--format", "csv"], database_url)
    by_day = cli(["--since", "2000-01-01", "--format", "csv"], database_url)
    assert by_age.exit_code == 0 and by_age.stdout == by_day.stdout and len(by_age.stdout.splitlines()) > 8
    assert "an age such as 90d" in cli(["--since", "lately", "--format", "csv"], database_url).output
