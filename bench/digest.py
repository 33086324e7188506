"""Daily digest build time with 10 000 and with 1 000 000 stored items, measured in one run (SQLite).

What is timed is the product's own: `build_daily_digest` + `digest_message` in a fresh session on a
migrated SQLite file. Both datasets hold the *same* recent three weeks (about 30 items a day for the
team, with claims and resolutions, identical rows from the same random seed) and the same small open
backlog (40 items scattered through history); they differ only in history: the rest of the items,
spread over the two years before, claimed and resolved within days of arrival, 80 % for the digested
team and 20 % for another. Target: the 1 M digest within 2x the 10 k one.

(The first run of this bench found "claimed / resolved during the day" scanning all of follow_ups:
22.9x. Migration 20261122_0004 indexes claimed_at and resolved_at for it.)
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from bot.config import parse_config
from bot.db import make_engine, make_session_factory, session_scope, upgrade
from bot.insights.digest import build_daily_digest, digest_message
from bot.intake.scoring import categorize
from models import FollowUp, Item, SlackMessage

CONFIG = parse_config({"teams": [{"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York"},
                                 {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"}]},
                      environ={})
TEAM = CONFIG.team("success")
TZ = ZoneInfo(TEAM.timezone)
DAY = date(2026, 11, 22)                          # the digested local day
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)   # 09:00 the next morning in New York
RECENT_DAYS = 21                                  # identical in both datasets: DAY-20 … DAY, and the morning after
PER_DAY = 30
BACKLOG = 40
HISTORY_DAYS = 730
CHUNK = 10_000
ROUNDS = 12
USERS = ("U0ANA", "U0BEN", "U0CARA", "U0DAN")
THEMES = ("pricing", "billing", "bugs", "performance", "reliability", "onboarding", "support", "usability")
COMMENTS = ("Too slow when exporting reports", "Love the new dashboard", "Billing is confusing",
            "Support fixed it in minutes", "Crashes every morning", "Fine, nothing special")
# On the table, not the ORM entity: the ORM's bulk path took most of the seeding time (every row
# holds every key, so one executemany per chunk).
def BULK(model):  # noqa: N802 - reads as the statement it builds
    return insert(model.__table__)


KINDS = ("nps", "nps", "nps", "nps", "csat", "ces", "escalation")
RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def _item(rng: random.Random, n: int, team: str, received_at: datetime) -> dict:
    kind = rng.choice(KINDS)
    score = None if kind == "escalation" else rng.randint(*RANGES[kind])
    commented = rng.random() < 0.5
    return {"source": "bench", "external_id": str(n), "kind": kind, "score": score,
            "category": categorize(kind, score), "comment": rng.choice(COMMENTS) if commented else None,
            "subject": "Outage" if kind == "escalation" else None, "customer_name": f"Customer {n}",
            "customer_email": f"c{n}@example.com", "account_name": f"Account {n % 500}",
            "sentiment_polarity": round(rng.uniform(-1, 1), 3) if commented else None,
            "themes": rng.sample(THEMES, rng.randint(0, 2)), "properties": {}, "tags": [], "vip": False,
            "received_at": received_at, "updated_at": received_at, "team": team,
            "channel": "C0SUCCESS" if team == "success" else "C0SUPPORT", "content_hash": "bench", "revision": 1}


def _follow_up(rng: random.Random, item_id: int, received_at: datetime, *, open_: bool, resolve: float) -> dict:
    row = {"item_id": item_id, "status": "open", "claimed_by": None, "claimed_at": None, "resolved_by": None,
           "resolved_at": None, "updated_at": received_at, "version": 1}
    if open_:
        return row
    claimed_at = received_at + timedelta(minutes=rng.randint(5, 36 * 60))
    if claimed_at > NOW:
        return row
    row.update(status="claimed", claimed_by=rng.choice(USERS), claimed_at=claimed_at, updated_at=claimed_at)
    resolved_at = claimed_at + timedelta(minutes=rng.randint(5, 48 * 60))
    if resolved_at <= NOW and rng.random() < resolve:
        row.update(status="resolved", resolved_by=rng.choice(USERS), resolved_at=resolved_at, updated_at=resolved_at)
    return row


def _recent_rows() -> list[tuple[str, datetime]]:
    """(team, received_at) of the recent weeks: the same in both datasets."""
    rng = random.Random(2026)
    rows = []
    first = DAY - timedelta(days=RECENT_DAYS - 1)
    for offset in range(RECENT_DAYS + 1):
        day = first + timedelta(days=offset)
        count = PER_DAY if day <= DAY else 8  # the next morning, up to NOW
        for _ in range(count):
            local = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(minutes=rng.randrange(24 * 60))
            moment = local.astimezone(UTC)
            if moment < NOW:
                rows.append(("success" if rng.random() < 0.9 else "support", moment))
    return sorted(rows, key=lambda row: row[1])


def seed(url: str, total: int) -> int:
    """Store `total` items: history first, then the recent weeks. Returns the count stored."""
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    recent = _recent_rows()
    history = total - len(recent)
    history_end = datetime(*(DAY - timedelta(days=RECENT_DAYS - 1)).timetuple()[:3], tzinfo=TZ).astimezone(UTC)
    history_start = history_end - timedelta(days=HISTORY_DAYS)
    span = (history_end - history_start).total_seconds()
    rng = random.Random(total)
    backlog = set(random.Random(7).sample(range(history), BACKLOG))
    # Evenly spread over two years, with a little jitter; chronological so ids follow time as in life.
    moments = sorted(history_start + timedelta(seconds=span * (k + rng.random()) / history) for k in range(history))
    planned = [("success" if k in backlog or rng.random() < 0.8 else "support", moment)
               for k, moment in enumerate(moments)] + recent
    # The recent weeks' rows and the backlog's do not depend on the history's size.
    recent_rng, backlog_rng = random.Random(99), random.Random(11)
    with session_scope(factory) as session:
        for start in range(0, len(planned), CHUNK):
            chunk = planned[start:start + CHUNK]
            items = []
            for k, (team, moment) in enumerate(chunk, start):
                row_rng = recent_rng if k >= history else backlog_rng if k in backlog else rng
                items.append(_item(row_rng, k, team, moment))
            session.execute(BULK(Item), items)
        first_id = session.scalar(select(func.min(Item.id)))
        follow_ups, messages = [], []
        for k, (team, moment) in enumerate(planned):
            item_id = first_id + k  # a fresh table numbers rows in insertion order
            is_recent = k >= history
            # History was worked through (all resolved, but for the backlog); the recent weeks are in progress.
            follow_ups.append(_follow_up(recent_rng if is_recent else rng, item_id, moment, open_=k in backlog,
                                         resolve=0.8 if is_recent else 1.0))
            if is_recent or k in backlog:
                messages.append({"item_id": item_id, "channel": "C0SUCCESS" if team == "success" else "C0SUPPORT",
                                 "ts": f"{int(moment.timestamp())}.{k % 1_000_000:06d}", "posted_at": moment})
            if len(follow_ups) == CHUNK:
                session.execute(BULK(FollowUp), follow_ups)
                follow_ups = []
        if follow_ups:
            session.execute(BULK(FollowUp), follow_ups)
        session.execute(BULK(SlackMessage), messages)
        stored = session.scalar(select(func.count()).select_from(Item))
        assert session.scalar(select(func.max(Item.id))) == first_id + len(planned) - 1
    engine.dispose()
    return stored


def time_digest(factory) -> tuple[float, dict]:
    started = time.perf_counter()
    with session_scope(factory) as session:
        digest = build_daily_digest(session, team=TEAM, day=DAY, now=NOW)
        digest_message(digest)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, {"responses": sum(digest.responses_by_kind.values()), "nps_day": digest.nps_day,
                     "nps_7d": digest.nps_7d, "claimed": digest.claimed_total, "resolved": digest.resolved_total,
                     "detractors_open": digest.detractors_open}


def measure(small_factory, large_factory) -> dict:
    small_ms: list[float] = []
    large_ms: list[float] = []
    time_digest(small_factory), time_digest(large_factory)  # warm the page caches alike
    for _ in range(ROUNDS):  # interleaved, so machine noise hits both alike
        small_ms.append(time_digest(small_factory)[0])
        large_ms.append(time_digest(large_factory)[0])
    p50_small, p50_large = statistics.median(small_ms), statistics.median(large_ms)
    return {"p50_ms_10k": round(p50_small, 1), "p50_ms_1m": round(p50_large, 1),
            "max_ms_1m": round(max(large_ms), 1), "ratio": round(p50_large / p50_small, 2),
            "met": p50_large / p50_small <= 2}


def run() -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        small_url, large_url = f"sqlite:///{Path(folder) / 'small.db'}", f"sqlite:///{Path(folder) / 'large.db'}"
        small_count, large_count = seed(small_url, 10_000), seed(large_url, 1_000_000)
        seeded = time.perf_counter() - started
        engines = [make_engine(small_url), make_engine(large_url)]
        factories = [make_session_factory(engine) for engine in engines]
        summaries = [time_digest(factory)[1] for factory in factories]
        assert summaries[0] == summaries[1], f"the digested day must read the same in both: {summaries}"
        measured = measure(*factories)
        for engine in engines:
            engine.dispose()
    return {"name": "daily digest (build_daily_digest + digest_message), 1M vs 10k stored items (SQLite)",
            "target": "ratio <= 2", "items": {"10k": small_count, "1m": large_count},
            "digested_day": {"day": DAY.isoformat(), **summaries[0]},
            **measured, "seconds": {"seed": round(seeded, 1), "total": round(time.perf_counter() - started, 1)}}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
