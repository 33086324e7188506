"""`/vip` look-up time at 1 000 and at 100 000 accounts (3 contacts each), measured in one run.

The look-up is the product's own: `run_vip_command` over a session on a migrated SQLite file (and a
fresh Postgres database when CXLOOP_BENCH_DATABASE_URL or CXLOOP_TEST_DATABASE_URL is set),
including the SQL narrowing, rapidfuzz ranking and the Block Kit card. Target (issue 7): the
100 k look-up within 3× the 1 k one, and far inside Slack's 3 seconds.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from bench.harness import fresh_database, postgres_url
from bot.config import parse_config
from bot.db import make_engine, make_session_factory, session_scope, upgrade
from bot.vip.accounts import search_key
from bot.vip.commands import run_vip_command
from models import Account, AccountDomain, Contact

SYLLABLES = ["ar", "bel", "cor", "dan", "el", "fin", "gor", "hal", "is", "jor", "kal", "lum", "mar", "nor",
             "or", "pel", "quin", "ros", "sol", "tar", "ul", "vor", "wen", "xan", "yor", "zel"]
SUFFIXES = ["Inc", "Labs", "Group", "Systems", "Partners", "Holdings", "Co", "Ltd"]
NOW = datetime(2026, 11, 20, tzinfo=UTC)
CONFIG = parse_config({"teams": [{"name": "cx", "channel": "C0CX"}]}, environ={})
REPEATS = 3


def _typo(rng: random.Random, text: str) -> str:
    """Drop, double or swap one letter, as people do."""
    i = rng.randrange(1, len(text) - 1)
    kind = rng.choice(("drop", "double", "swap"))
    if kind == "drop":
        return text[:i] + text[i + 1:]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    return text[:i - 1] + text[i] + text[i - 1] + text[i + 1:]


def seed(url: str, accounts: int) -> list[str]:
    """Create `accounts` accounts with a domain and 3 contacts each; return the look-up queries."""
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(42)
    names = []
    for n in range(accounts):
        stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        names.append(f"{stem.capitalize()} {rng.choice(SUFFIXES)} {n}")
    with session_scope(factory) as session:
        for start in range(0, accounts, 10_000):
            chunk = names[start:start + 10_000]
            session.execute(insert(Account), [
                {"name": name, "search_name": search_key(name), "vip": True, "cadence_days": 30, "properties": {},
                 "next_due_at": NOW, "created_at": NOW, "updated_at": NOW, "owner": "U0ANA"} for name in chunk])
        ids = list(session.scalars(select(Account.id).order_by(Account.id)))
        for start in range(0, accounts, 10_000):
            part = ids[start:start + 10_000]
            session.execute(insert(AccountDomain), [{"account_id": i, "domain": f"acct{i}.example"} for i in part])
            session.execute(insert(Contact), [{"account_id": i, "email": f"person{k}.{i}@acct{i}.example",
                                               "name": None} for i in part for k in range(3)])
    engine.dispose()
    picks = rng.sample(range(accounts), 20)
    queries = []
    for k, index in enumerate(picks):
        name = names[index]
        queries.append([_typo(rng, name.split()[0].lower()), name.lower(), f"acct{ids[index]}.example",
                        f"person1.{ids[index]}@acct{ids[index]}.example"][k % 4])
    return queries


def is_fuzzy(query_index: int) -> bool:
    return query_index % 4 == 0  # the typo'd names; the rest are exact names, domains and e-mails


def time_lookups(url: str, queries: list[str]) -> dict[str, list[float]]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    timings: dict[str, list[float]] = {"fuzzy": [], "exact": []}
    for _ in range(REPEATS):
        for index, query in enumerate(queries):
            started = time.perf_counter()
            with session_scope(factory) as session:
                run_vip_command(session, text=query, user_id="U0ANA", config=CONFIG, now=NOW)
            timings["fuzzy" if is_fuzzy(index) else "exact"].append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return timings


def measure(small: str, large: str) -> dict:
    small_queries, large_queries = seed(small, 1_000), seed(large, 100_000)
    # Interleave the two sizes so machine noise hits both alike.
    small_ms: dict[str, list[float]] = {"fuzzy": [], "exact": []}
    large_ms: dict[str, list[float]] = {"fuzzy": [], "exact": []}
    for _ in range(2):
        for kind, values in time_lookups(small, small_queries).items():
            small_ms[kind] += values
        for kind, values in time_lookups(large, large_queries).items():
            large_ms[kind] += values
    result: dict = {}
    for kind in ("fuzzy", "exact"):
        p50_small, p50_large = statistics.median(small_ms[kind]), statistics.median(large_ms[kind])
        result[kind] = {"p50_ms_1k": round(p50_small, 1), "p50_ms_100k": round(p50_large, 1),
                        "max_ms_100k": round(max(large_ms[kind]), 1), "ratio": round(p50_large / p50_small, 2)}
    return result


def run() -> dict:
    started = time.perf_counter()
    result: dict = {"name": "/vip look-up, 100k vs 1k accounts with 3 contacts each", "target": "ratio <= 3"}
    with tempfile.TemporaryDirectory() as folder:
        result["sqlite"] = measure(f"sqlite:///{Path(folder) / 'small.db'}", f"sqlite:///{Path(folder) / 'large.db'}")
        if postgres_url():
            with fresh_database("postgres", Path(folder)) as small, fresh_database("postgres", Path(folder)) as large:
                result["postgres"] = measure(small, large)
        else:
            result["postgres"] = "skipped: set CXLOOP_BENCH_DATABASE_URL (or CXLOOP_TEST_DATABASE_URL) to measure it"
    measured = [result[db] for db in ("sqlite", "postgres") if isinstance(result[db], dict)]
    result["met"] = all(m[kind]["ratio"] <= 3 for m in measured for kind in ("fuzzy", "exact"))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
