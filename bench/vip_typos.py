"""`/vip` look-up accuracy: does the right account come first for what people really type?

The demo's VIP book (bot/sandbox/demo.py, 500 accounts, seed 7: Acme Corp, Initech, "Coho Travel", "Granite
Bank"…) is loaded into a migrated SQLite file (and a fresh Postgres database when
CXLOOP_BENCH_DATABASE_URL or CXLOOP_TEST_DATABASE_URL is set). A corpus of typo queries is generated
from it deterministically: one-letter substitutions (a neighbouring key), deletions, insertions and
transpositions, two such typos at once, a missing word (only where the words left still name one
account; half of them with a typo too), the one distinctive word typed alone with one or two typos
("aceme", "initek"), and domain or e-mail fragments ("cohotravel", "cohotrav", "@cohotravel.example",
"maya.chen@acme"). Each query goes through `search_accounts`, the function every `/vip` look-up uses.

The same corpus runs a second time with the demo book inside a 100 000-account book (99 500 generated
accounts with a domain and 3 contacts each, as bench/vip_lookup.py makes them), SQLite: a typo must find
the right account among many more near names.

top-1: the first account offered is the right one; top-3: it is among the first three offered.
"Offered" means a card or a pick list; a "no account matches" answer offers nothing. Target
(issue 16): top-1 >= 95 %, top-3 >= 99 %.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.harness import fresh_database, postgres_url
from bench.vip_lookup import SUFFIXES, SYLLABLES
from bot.db import make_engine, make_session_factory, session_scope, upgrade
from bot.sandbox.demo import DEFAULT_ACCOUNTS, DEFAULT_SEED, _account_records
from bot.vip.accounts import search_key
from bot.vip.book import AccountRecord, upsert_account
from bot.vip.search import search_accounts
from models import Account, AccountDomain, Contact

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CORPUS_SEED = 16
PER_KIND = 40  # queries of each kind: 9 kinds, 360 queries
TOP1_TARGET, TOP3_TARGET = 0.95, 0.99

_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_KEY_AT = {key: (row, col) for row, keys in enumerate(_ROWS) for col, key in enumerate(keys)}


@dataclass(frozen=True)
class TypoQuery:
    query: str
    expected: str  # the account's name
    kind: str


def _neighbour(rng: random.Random, letter: str) -> str:
    """A key next to `letter` on a QWERTY keyboard (same row or the row above/below)."""
    if letter not in _KEY_AT:
        return rng.choice("aeiou")
    row, col = _KEY_AT[letter]
    near = [_ROWS[r][c] for r in (row - 1, row, row + 1) if 0 <= r < len(_ROWS)
            for c in (col - 1, col, col + 1) if 0 <= c < len(_ROWS[r]) and (r, c) != (row, col)]
    return rng.choice(near)


def _letter_positions(text: str) -> list[int]:
    return [i for i, c in enumerate(text) if c.isalpha()]


def typo(rng: random.Random, text: str, kind: str) -> str:
    """One typo of `kind` (substitution, deletion, insertion, transposition) at a random letter."""
    positions = _letter_positions(text)
    i = rng.choice(positions)
    if kind == "substitution":
        return text[:i] + _neighbour(rng, text[i]) + text[i + 1:]
    if kind == "deletion":
        return text[:i] + text[i + 1:]
    if kind == "insertion":
        return text[:i] + rng.choice([text[i], _neighbour(rng, text[i])]) + text[i:]
    pairs = [j for j in positions if j + 1 < len(text) and text[j + 1].isalpha() and text[j] != text[j + 1]]
    j = rng.choice(pairs)
    return text[:j] + text[j + 1] + text[j] + text[j + 2:]


def corpus(records: list[AccountRecord], *, seed: int = CORPUS_SEED, per_kind: int = PER_KIND) -> list[TypoQuery]:
    """`per_kind` queries of each kind, the same for the same book and seed."""
    rng = random.Random(seed)
    names = {search_key(r.name): r for r in records}
    words_of = {r.name: set(search_key(r.name).split()) for r in records}
    queries: list[TypoQuery] = []

    def add(query: str, record: AccountRecord, kind: str) -> bool:
        key = search_key(query)
        if len(key.replace(" ", "")) < 4 or (key in names and names[key] is not record):
            return False  # too short to mean anything, or another account's exact name
        queries.append(TypoQuery(query, record.name, kind))
        return True

    def short_form(record: AccountRecord) -> str | None:
        """The name with a word left out, where the words left still name this account alone
        ("acme" for Acme Corp; never "bank", which is thirty accounts)."""
        words = record.name.lower().split()
        if len(words) < 2:
            return None
        kept = [w for w in words if w != rng.choice(words)]
        holders = [name for name, has in words_of.items() if set(kept) <= has]
        return " ".join(kept) if holders == [record.name] else None

    def typed(record: AccountRecord) -> str:
        """What people type: often just the word that names the account, else the whole name."""
        short = short_form(record) if rng.random() < 0.5 else None
        return short or record.name.lower()

    def sample(kind: str, make, pool: list[AccountRecord] = records) -> None:
        made = tries = 0
        while made < per_kind and tries < per_kind * 50:
            tries += 1
            record = rng.choice(pool)
            query = make(record)
            if query and add(query, record, kind):
                made += 1

    for kind in ("substitution", "deletion", "insertion", "transposition"):
        sample(kind, lambda r, k=kind: typo(rng, typed(r), k))

    def two_typos(record: AccountRecord) -> str:
        text = typed(record)
        for _ in range(2):
            text = typo(rng, text, rng.choice(("substitution", "deletion", "insertion", "transposition")))
        return text
    sample("two typos", two_typos)

    def missing_word(record: AccountRecord) -> str | None:
        short = short_form(record)
        return short and (typo(rng, short, rng.choice(("substitution", "deletion", "transposition")))
                          if rng.random() < 0.5 else short)
    sample("missing word", missing_word)

    # The account's one distinctive word typed alone, with one or two typos: "aceme", "initek".
    single = [(r, w) for r in records for w in search_key(r.name).split()
              if len(w) >= 4 and [n for n, has in words_of.items() if w in has] == [r.name]]

    def one_word(record: AccountRecord) -> str | None:
        words = [w for r, w in single if r is record]
        if not words:
            return None
        text = rng.choice(words)
        for _ in range(rng.choice((1, 2))):
            text = typo(rng, text, rng.choice(("substitution", "deletion", "insertion", "transposition")))
        return text
    if single:
        sample("one word", one_word, list({id(r): r for r, _ in single}.values()))

    def domain_fragment(record: AccountRecord) -> str | None:
        domain = record.domains[0]
        core = domain.split(".")[0]
        form = rng.choice(("core", "prefix", "at", "typo"))
        if form == "core":
            return core
        if form == "prefix":
            fragment = core[:max(6, len(core) * 2 // 3)]
            owners = [r for r in records if r.domains[0].startswith(fragment)]
            return fragment if owners == [record] else None
        if form == "at":
            return f"@{domain}"
        return typo(rng, core, rng.choice(("substitution", "deletion", "transposition"))) + "." + domain.split(".", 1)[1]
    sample("domain fragment", domain_fragment)

    def email_fragment(record: AccountRecord) -> str | None:
        if not record.contacts:
            return None
        email = rng.choice(record.contacts)[0]
        local, domain = email.split("@")
        return rng.choice((f"{local}@{domain.split('.')[0]}", f"{local}@{domain}", f"{local}@"
                           f"{typo(rng, domain.split('.')[0], 'deletion')}"))
    sample("e-mail fragment", email_fragment)
    return queries


def demo_book() -> list[AccountRecord]:
    """The accounts `cxloop demo` seeds: its first draws from the seeded random generator."""
    return _account_records(random.Random(DEFAULT_SEED), DEFAULT_ACCOUNTS, NOW)


def seed(url: str, records: list[AccountRecord]) -> None:
    upgrade(url)
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        for record in records:
            upsert_account(session, record, now=NOW)
    engine.dispose()


LARGE_BOOK = 100_000


def add_filler(url: str, count: int) -> None:
    """`count` generated accounts (syllable names, a domain and 3 contacts each), inserted in bulk."""
    rng = random.Random(42)
    names = [f"{''.join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()} "
             f"{rng.choice(SUFFIXES)} {n}" for n in range(count)]
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        first = (session.scalar(select(func.max(Account.id))) or 0) + 1
        for start in range(0, count, 10_000):
            session.execute(insert(Account), [
                {"name": name, "search_name": search_key(name), "vip": True, "cadence_days": 30, "properties": {},
                 "next_due_at": NOW, "created_at": NOW, "updated_at": NOW} for name in names[start:start + 10_000]])
        ids = list(session.scalars(select(Account.id).where(Account.id >= first).order_by(Account.id)))
        for start in range(0, len(ids), 10_000):
            part = ids[start:start + 10_000]
            session.execute(insert(AccountDomain), [{"account_id": i, "domain": f"acct{i}.example"} for i in part])
            session.execute(insert(Contact), [{"account_id": i, "email": f"person{k}.{i}@acct{i}.example",
                                               "name": None} for i in part for k in range(3)])
    engine.dispose()


def measure(url: str, queries: list[TypoQuery]) -> dict:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    top1 = top3 = card = wrong_card = 0
    by_kind: Counter[str] = Counter()
    by_kind_top1: Counter[str] = Counter()
    misses: list[str] = []
    started = time.perf_counter()
    with factory() as session:
        for q in queries:
            result = search_accounts(session, q.query, limit=3)
            offered = [m.name for m in result.matches] if result.kind != "none" else []
            by_kind[q.kind] += 1
            if offered[:1] == [q.expected]:
                top1 += 1
                by_kind_top1[q.kind] += 1
            elif len(misses) < 15:
                misses.append(f"{q.query!r} -> {offered[:3]} (wanted {q.expected})")
            top3 += q.expected in offered[:3]
            card += result.kind == "one" and offered == [q.expected]
            wrong_card += result.kind == "one" and offered != [q.expected]
    elapsed_ms = (time.perf_counter() - started) * 1000
    engine.dispose()
    return {"queries": len(queries), "top1": round(top1 / len(queries), 4), "top3": round(top3 / len(queries), 4),
            # Answered with the right card at once (`/vip touch` acts on it) / with another account's card.
            "card_at_once": round(card / len(queries), 4), "wrong_card": wrong_card,
            "top1_by_kind": {k: round(by_kind_top1[k] / n, 3) for k, n in by_kind.items()},
            "mean_ms": round(elapsed_ms / len(queries), 1), "misses": misses}


def run() -> dict:
    started = time.perf_counter()
    records = demo_book()
    queries = corpus(records)
    result: dict = {"name": f"/vip typo look-ups: {len(queries)} queries over the demo book ({len(records)} accounts)",
                    "target": f"top-1 >= {TOP1_TARGET:.0%}, top-3 >= {TOP3_TARGET:.0%}"}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'demo-book.db'}"
        seed(url, records)
        result["sqlite"] = measure(url, queries)
        if postgres_url():
            with fresh_database("postgres", Path(folder)) as pg:
                seed(pg, records)
                result["postgres"] = measure(pg, queries)
        else:
            result["postgres"] = "skipped: set CXLOOP_BENCH_DATABASE_URL (or CXLOOP_TEST_DATABASE_URL) to measure it"
        large = f"sqlite:///{Path(folder) / 'large-book.db'}"
        seed(large, records)
        add_filler(large, LARGE_BOOK - len(records))
        result["sqlite_100k"] = measure(large, queries)
    measured = [result[db] for db in ("sqlite", "postgres", "sqlite_100k") if isinstance(result[db], dict)]
    result["met"] = all(m["top1"] >= TOP1_TARGET and m["top3"] >= TOP3_TARGET for m in measured)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
