"""`python -m bench topics`: weekly topic discovery over 5 000 comments, and "similar" at render.

The comments are generated here (no data file): survey-style sentences about a dozen subjects
(export, login, pricing, support, the mobile app, …), each with filler, typos of wording and a share
of unrelated or off-topic text, plus 10 % empty, very short or non-English ones that must be left out.
What is timed is the product's own: `compute_topics` (read, TF-IDF + NMF, the previous week's trend,
store) on a migrated SQLite file, and `similar_items` for a new item at render (TF-IDF cosine over its
team's newest SIMILAR_CANDIDATES comments). Target: discovery ≤ 10 s on 2 cores.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bot.db import make_engine, make_session_factory, session_scope, upgrade
from bot.insights.topics import compute_topics, similar_items, week_topics
from models import Item

COMMENTS = 5_000
PREVIOUS_WEEK = 1_000
TARGET_SECONDS = 10.0
WEEK = "2026-W48"                                     # Mon 23 Nov – Sun 29 Nov 2026
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
RENDER_ROUNDS = 10

SUBJECTS = {
    "export": ["the csv export of our invoices fails", "we cannot export invoices to csv anymore",
               "export to excel is broken for large reports", "the invoice export keeps timing out"],
    "login": ["login with sso does not work", "cannot log in after a password reset",
              "the two factor login code never arrives", "sso login loops back to the sign in page"],
    "pricing": ["the price increase is far too much", "too expensive for a small team like ours",
                "the pricing plans are confusing", "the new pricing doubled our bill"],
    "support": ["support never replied to my ticket", "we waited days for support to answer",
                "the support team was great and fast", "the support agent solved it quickly"],
    "mobile": ["the mobile app keeps crashing", "the android app crashes on start",
               "the iphone app is slow to open", "the mobile app freezes when uploading photos"],
    "onboarding": ["onboarding took weeks", "the setup was confusing for new users",
                   "the onboarding call was helpful", "the getting started guide is outdated"],
    "calendar": ["calendar sync with google stopped working", "outlook calendar events are duplicated",
                 "the calendar integration misses meetings", "calendar invites arrive without a time zone"],
    "reports": ["dashboards load slowly every morning", "the weekly reports show wrong totals",
                "report filters reset when I switch tabs", "charts in the reports are hard to read"],
    "notifications": ["too many email notifications", "notification settings do not save",
                      "push notifications arrive hours late", "we get duplicate notifications"],
    "search": ["search cannot find archived projects", "search results are irrelevant",
               "search is slow with many documents", "searching by tag returns nothing"],
}
FILLER = ["honestly", "again", "this week", "for our whole team", "since Monday", "every single time",
          "please fix it", "overall", "as usual", "for the third time", "we rely on it daily"]
OFF_TOPIC = ["We are moving offices next month.", "Nothing else to add.", "Our renewal is in March.",
             "My manager asked me to fill this in."]
LEFT_OUT = ["ok", "Good", "", "Sehr schlecht, die App stürzt ständig ab.", "Très bien, merci beaucoup."]


def comment(rng: random.Random) -> tuple[str, str | None]:
    """(comment, sentiment label): about one subject, sometimes two, sometimes with an unrelated sentence."""
    if rng.random() < 0.1:
        text = rng.choice(LEFT_OUT)
        return text, "not_analysed" if len(text) > 20 else "neutral"
    subject = rng.choice(list(SUBJECTS))
    parts = [f"{rng.choice(FILLER).capitalize()}, {rng.choice(SUBJECTS[subject])} {rng.choice(FILLER)}."]
    if rng.random() < 0.2:
        parts.append(f"Also {rng.choice(SUBJECTS[rng.choice(list(SUBJECTS))])}.")
    if rng.random() < 0.2:
        parts.append(rng.choice(OFF_TOPIC))
    return " ".join(parts), "negative"


def _row(n: int, received_at: datetime, text: str, label: str | None) -> dict:
    return {"source": "bench", "external_id": str(n), "kind": "nps", "score": n % 11, "category": None,
            "comment": text, "customer_name": f"Customer {n}", "customer_email": f"c{n}@example.com",
            "account_name": f"Account {n % 700}", "sentiment_label": label, "themes": [], "properties": {},
            "tags": [], "vip": False, "received_at": received_at, "updated_at": received_at, "team": "success",
            "channel": "C0SUCCESS", "content_hash": "bench", "revision": 1}


def run() -> dict:
    rng = random.Random(48)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'topics.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        rows = []
        for n in range(PREVIOUS_WEEK):
            rows.append(_row(n, MONDAY - timedelta(seconds=rng.randint(1, 7 * 86400 - 1)), *comment(rng)))
        for n in range(PREVIOUS_WEEK, PREVIOUS_WEEK + COMMENTS):
            rows.append(_row(n, MONDAY + timedelta(seconds=rng.randint(0, 7 * 86400 - 1)), *comment(rng)))
        with session_scope(factory) as session:
            session.execute(insert(Item.__table__), rows)

        # scikit-learn is imported once per process (lazily, at the first run): timed apart.
        began = time.perf_counter()
        import sklearn.decomposition  # noqa: F401
        import sklearn.feature_extraction.text  # noqa: F401
        import_seconds = time.perf_counter() - began

        started, cpu = time.perf_counter(), time.process_time()
        with session_scope(factory) as session:
            compute_topics(session, week=WEEK, team="success", teams=["success"], timezone="UTC", now=NOW)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        with session_scope(factory) as session:
            found = week_topics(session, week=WEEK, scope="success")
            labels = [f"{line.label} ({line.summary})" for line in found.topics]

        # A new comment after the run: compared at render with the team's newest comments.
        with session_scope(factory) as session:
            new = _row(10**6, NOW, "Since the update the csv export of invoices fails every time", "negative")
            item_id = session.execute(insert(Item.__table__).values(**new).returning(Item.id)).scalar_one()
        timings, cpu_timings, similar = [], [], None
        for _ in range(RENDER_ROUNDS):
            with session_scope(factory) as session:
                began, cpu = time.perf_counter(), time.process_time()
                similar = similar_items(session, item_id, now=NOW + timedelta(minutes=1))
                timings.append((time.perf_counter() - began) * 1000)
                cpu_timings.append((time.process_time() - cpu) * 1000)
        with session_scope(factory) as session:
            total = session.scalar(select(Item.id).order_by(Item.id.desc()).limit(1))
        engine.dispose()
    return {"comments": COMMENTS, "stored_items": total, "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu_seconds, 2), "sklearn_import_seconds": round(import_seconds, 2), "topics": labels,
            "analysed": found.analysed, "skipped": found.skipped,
            "similar_render_ms_first": round(timings[0], 1),  # the process hashes the candidates once
            "similar_render_ms_p50": round(statistics.median(timings), 1),
            "similar_render_cpu_ms_p50": round(statistics.median(cpu_timings), 1),
            "similar_customers": similar.customers if similar else 0,
            "met": seconds <= TARGET_SECONDS, "target": f"≤ {TARGET_SECONDS:.0f} s over {COMMENTS:,} comments"}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
