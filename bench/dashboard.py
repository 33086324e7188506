"""Dashboard build time for a one-year range with 10 000 and with 1 000 000 stored items, in one run (SQLite).

What is timed is the product's own `dashboard_data` (every figure of the page: weekly volume and NPS,
category mix, open work, medians, SLA, VIP coverage, themes, the open-items table) for the year ending on
the digest bench's day, all teams, no filter, in a fresh session. The data sets are bench.digest's: the
same recent three weeks and backlog, and two years of history (so the year holds about half of the
items: ~5 000 of 10 k, ~500 000 of 1 M). Also timed at 1 M, for the README's absolute figures: the
default view (12 weeks) and the year narrowed by a theme (a filter the roll-ups do not key, read from
the items). Target: the one-year 1 M dashboard within 2x the 10 k one.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.digest import CONFIG, DAY, NOW, seed
from bot.db import make_engine, make_session_factory, session_scope
from bot.insights.dashboard import dashboard_data

ROUNDS = 7
YEAR = {"start": DAY - timedelta(days=364), "end": DAY}


def time_dashboard(factory, **filters) -> tuple[float, dict]:
    started = time.perf_counter()
    with session_scope(factory) as session:
        data = dashboard_data(session, config=CONFIG, now=NOW, **filters)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, {"volume": data.volume, "nps": data.nps, "weeks": len(data.weeks),
                     "open_items": data.open_items_total}


def run() -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        small_url, large_url = f"sqlite:///{Path(folder) / 'small.db'}", f"sqlite:///{Path(folder) / 'large.db'}"
        counts = {"10k": seed(small_url, 10_000), "1m": seed(large_url, 1_000_000)}
        seeded = time.perf_counter() - started
        engines = [make_engine(small_url), make_engine(large_url)]
        small, large = (make_session_factory(engine) for engine in engines)
        summaries = {"10k": time_dashboard(small, **YEAR)[1], "1m": time_dashboard(large, **YEAR)[1]}
        small_ms, large_ms = [], []
        for _ in range(ROUNDS):  # interleaved, so machine noise hits both alike
            small_ms.append(time_dashboard(small, **YEAR)[0])
            large_ms.append(time_dashboard(large, **YEAR)[0])
        default_ms = [time_dashboard(large)[0] for _ in range(3)]
        theme_ms = [time_dashboard(large, theme="pricing", **YEAR)[0] for _ in range(3)]
        for engine in engines:
            engine.dispose()
    p50_small, p50_large = statistics.median(small_ms), statistics.median(large_ms)
    return {"name": "dashboard (dashboard_data), one year, all teams, 1M vs 10k stored items (SQLite)",
            "target": "ratio <= 2", "items": counts, "year": summaries,
            "p50_ms_10k": round(p50_small, 1), "p50_ms_1m": round(p50_large, 1), "max_ms_1m": round(max(large_ms), 1),
            "ratio": round(p50_large / p50_small, 2), "met": p50_large / p50_small <= 2,
            "p50_ms_1m_12_weeks": round(statistics.median(default_ms), 1),
            "p50_ms_1m_year_theme_filter": round(statistics.median(theme_ms), 1),
            "seconds": {"seed": round(seeded, 1), "total": round(time.perf_counter() - started, 1)}}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
