"""History import vs webhook ingest, in the same run (issue 19): rows/s of `cxloop import responses` on a
generated Delighted-style CSV against items/s of signed webhooks through the real app, on SQLite.

The webhook side is bench/ingest.py's set-up (the app under uvicorn in its own process, the aiohttp
load generator in another, 8 connections), for WEBHOOK_SECONDS. The import side runs the command's own
code path (bot/intake/history.py: read, validate, score, link, batch INSERT, a commit per batch) on a
fresh database with the same configuration, then runs it again over the same file: every row must be
reported unchanged, and the table must hold each response id exactly once (0 lost, 0 duplicated).
The CSV is generated here (random words, names, dates), nothing is copied from shared data.
Target: import >= 10x the webhook ingest rate.
"""

from __future__ import annotations

import csv
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench import loadgen
from bench.app_server import BOT_TOKEN, WEBHOOK_SECRET
from bench.harness import AppProcess, fresh_database, teams_config
from bot.config import parse_config
from bot.db import make_engine, make_session_factory
from bot.intake.history import Options, Summary, default_workers, import_file
from bot.sandbox.fake_slack import FakeSlack
from models import Item
from models.base import utcnow

ROWS = int(os.environ.get("CXLOOP_BENCH_HISTORY_ROWS", "20000"))
WEBHOOK_SECONDS = float(os.environ.get("CXLOOP_BENCH_HISTORY_WEBHOOK_SECONDS", "15"))
CONNECTIONS = 8
TEAMS = 10

_OPENERS = ("The", "Your", "This", "Our team thinks the", "Honestly the", "Since last month the")
_SUBJECTS = ("export", "dashboard", "billing page", "support team", "mobile app", "onboarding", "search",
             "invoice", "integration", "API", "report builder", "login")
_VERDICTS = ("is slow", "keeps crashing", "is great", "saved us hours", "is confusing", "never replied",
             "is too expensive", "works well", "could be simpler", "is missing a filter", "is reliable",
             "broke after the update", "is easy to use", "takes too long to load")


def generate_csv(path: Path, rows: int, seed: int = 19) -> None:
    """A Delighted-style export: Response ID, Score, Comment, Email, Name, Created At + person properties."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Response ID", "Score", "Comment", "Email", "Name", "Created At", "Plan",
                         "Customer Since", "Role"])
        for n in range(rows):
            when = start + timedelta(seconds=rng.randint(0, 365 * 86400))
            comment = "" if rng.random() < 0.4 else " ".join(
                (rng.choice(_OPENERS), rng.choice(_SUBJECTS), rng.choice(_VERDICTS),
                 *(("and the", rng.choice(_SUBJECTS), rng.choice(_VERDICTS)) if rng.random() < 0.5 else ())))
            writer.writerow([str(500_000_000 + n), rng.randint(0, 10), comment, f"p{n}@c{rng.randint(1, 3000)}.example",
                             f"Person {n}", when.strftime("%Y-%m-%d %H:%M:%S %z"),
                             rng.choice(("Enterprise", "Growth", "Starter", "Free")),
                             (when - timedelta(days=rng.randint(1, 2000))).date().isoformat(),
                             rng.choice(("admin", "user", "billing"))])


def distinct_comments(path: Path, out: Path) -> tuple[int, int]:
    """The same file with every comment made unique (" (ticket N)" appended): no analysis can be reused.
    Returns how many comments the original has, and how many distinct ones."""
    seen: set[str] = set()
    comments = 0
    with path.open(encoding="utf-8", newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        for n, row in enumerate(reader):
            if row[2]:
                comments += 1
                seen.add(row[2])
                row[2] = f"{row[2]} (ticket {n})"
            writer.writerow(row)
    return comments, len(seen)


def _import(url: str, path: Path, config) -> tuple[Summary, float]:
    factory = make_session_factory(make_engine(url))
    started = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as stream:
        summary = import_file(stream, factory=factory, options=Options(format="delighted", source="delighted"),
                              config=config, now=utcnow(), workers=default_workers(ROWS))
    return summary, time.perf_counter() - started


def _webhook_rate(url: str) -> float:
    fake = FakeSlack(token=BOT_TOKEN).start()
    try:
        with AppProcess(database_url=url, slack_api_url=fake.base_url, config=teams_config(TEAMS), worker=False) as app:
            ingest = loadgen.in_process(loadgen.sustain, f"{app.url}/webhooks/generic", WEBHOOK_SECRET,
                                        WEBHOOK_SECONDS, CONNECTIONS, "history-webhooks", teams=TEAMS)
    finally:
        fake.stop()
    return ingest["statuses"].get(202, 0) / ingest["seconds"]


def run() -> dict:
    started = time.perf_counter()
    config = parse_config(teams_config(TEAMS), environ={"GENERIC_WEBHOOK_SECRET": WEBHOOK_SECRET})
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        path = folder_path / "delighted-export.csv"
        generate_csv(path, ROWS)
        with fresh_database("sqlite", folder_path) as url:
            webhooks_per_s = _webhook_rate(url)
        with fresh_database("sqlite", folder_path) as url:
            first, first_seconds = _import(url, path, config)
            again, again_seconds = _import(url, path, config)
            engine = make_engine(url)
            with engine.connect() as conn:
                stored, distinct = conn.execute(select(func.count(), func.count(func.distinct(Item.external_id)))
                                                .where(Item.source == "delighted")).one()
            engine.dispose()
        # The generated comments repeat (a few dozen words): the importer reuses a repeated comment's
        # analysis. The same file with every comment unique shows the rate without that help.
        unique_path = folder_path / "delighted-unique-comments.csv"
        comment_count, distinct_count = distinct_comments(path, unique_path)
        with fresh_database("sqlite", folder_path) as url:
            unique, unique_seconds = _import(url, unique_path, config)
    rows_per_s = first.rows / first_seconds
    unique_rows_per_s = unique.rows / unique_seconds
    lost, duplicated = ROWS - distinct, stored - distinct
    ratio = rows_per_s / webhooks_per_s if webhooks_per_s else 0.0
    return {
        "name": f"history import of a {ROWS}-row Delighted CSV vs webhook ingest ({WEBHOOK_SECONDS:.0f} s, "
                f"{CONNECTIONS} connections), SQLite, same run",
        "target": "import >= 10x the webhook ingest rate; re-run all unchanged, 0 lost, 0 duplicated",
        "import_rows_per_s": round(rows_per_s, 1), "webhook_items_per_s": round(webhooks_per_s, 1),
        "ratio": round(ratio, 1),
        "unique_comments": {"comments_in_generated_file": comment_count, "distinct": distinct_count, "rows_per_s": round(unique_rows_per_s, 1),
                            "ratio": round(unique_rows_per_s / webhooks_per_s, 1) if webhooks_per_s else 0.0},
        "workers": default_workers(ROWS), "added": first.added, "bad_rows": first.bad,
        "rerun": {"unchanged": again.unchanged, "added": again.added, "kept": again.kept,
                  "rows_per_s": round(again.rows / again_seconds, 1)},
        "lost": lost, "duplicated": duplicated,
        "met": ratio >= 10 and again.unchanged == ROWS and lost == 0 and duplicated == 0,
        "seconds_total": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
