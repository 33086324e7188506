"""`/vip acme`: find an account by name, e-mail domain or contact e-mail, forgiving typos.

Two steps, so a look-up stays fast with 100 000 accounts and 300 000 contacts:

1. Narrow in SQL. Exact hits come first (the normalised name, a domain, a contact's e-mail) and
   answer at once. Otherwise each table is searched for rows containing any of up to eight
   3-character grams of the query (or, for a 1–2 character query, starting with it); rows are
   ordered by how many grams they contain and at most `CANDIDATE_CAP` accounts survive.
   Contacts are searched for one-word queries only (e-mails hold no spaces). A trigram index
   (migration 20261122_0006) keeps this from reading every row:
   FTS5 trigram tables on SQLite, pg_trgm GIN indexes on Postgres (which serve these very LIKE
   conditions). Common grams ("sys" of every "Systems") would still hand tens of thousands of rows to
   scoring, so the index first counts the rows holding each gram, and only rows holding one of the
   rarest grams, picked until they reach `POOL_ROWS`, are scored: any row holding more grams than
   were left out holds a picked one, so the best-scored rows are all still there.
   The query's grams also come from its typo spellings (a letter dropped, two swapped), so "aceme"
   narrows on "acm"/"cme" of "acme corp".
2. Rank the survivors with rapidfuzz (`_similarity`: words aligned one to one, Indel ratio, OSA and
   Jaro-Winkler per word, case- and accent-folded), best score over the account's name and the
   domains/e-mails that matched, and decide: one account (a clear winner), several (those close to
   the best), or none. bench/vip_typos.py measures how often the right account comes first.

LIKE wildcards in the query (`%`, `_`) are escaped; they match only themselves.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from typing import Literal
from urllib.parse import urlsplit

from rapidfuzz import fuzz, utils
from rapidfuzz.distance import OSA, JaroWinkler
from sqlalchemy import ColumnElement, Integer, and_, case, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from bot.vip.accounts import search_key
from models import Account, AccountDomain, Contact

CANDIDATE_CAP = 500  # accounts handed from SQL to rapidfuzz, at most
POOL_ROWS = 2 * CANDIDATE_CAP  # rows the rarest grams must reach before the commoner ones are left out
SAMPLE_ROWS = 2_000  # Postgres: rows sampled to tell rare grams from common ones
# The FTS5 trigram tables of migration 20261122_0006, by searched column (SQLite).
_FTS_TABLES = {"search_name": "accounts_search_fts", "domain": "account_domains_search_fts",
               "email": "contacts_search_fts"}
MAX_GRAMS = 8
MAX_QUERY_CHARS = 200
ONE_MIN_SCORE = 75.0  # a single answer needs at least this…
ONE_MIN_LEAD = 8.0  # …and this lead over the runner-up
MATCH_MIN_SCORE = 60.0  # below this a candidate is only a "closest" suggestion
SEVERAL_WITHIN = 12.0  # "several" lists the accounts scoring within this of the best, no weaker ones
MISSING_WORD_FACTOR = 0.96  # per word of the name the query leaves out: "acme" is Acme Corp × 0.96
PREFIX_SCORE = 97.0  # the query, spaces left out, begins the name or domain label
TYPO_GRAMS_UP_TO_LETTERS = 9  # only queries this short get them
TYPO_GRAMS = 6  # extra grams from the query with one letter dropped or two swapped (see _typo_spellings)
SUGGESTIONS = 3

# Labels that say nothing about which company a domain belongs to.
_GENERIC_LABELS = frozenset({"www", "mail", "app", "co", "com", "org", "net", "ac", "gov", "edu", "io"})


@dataclass(frozen=True)
class Match:
    account_id: int
    name: str
    score: float  # 0–100
    matched: str  # what matched: the name, "domain acme.com" or "contact ann@acme.com"


@dataclass(frozen=True)
class SearchResult:
    kind: Literal["one", "several", "none"]
    # "one": the account; "several": the best `limit`; "none": up to 3 closest suggestions (may be empty)
    matches: tuple[Match, ...]
    # How many accounts SQL handed to the fuzzy ranking (0 for exact hits): never above CANDIDATE_CAP.
    candidate_count: int = field(default=0, compare=False)


# --- normalising ------------------------------------------------------------------------------


def fold(text: str | None) -> str:
    """Lower-case with accents removed: 'Société' → 'societe'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=65_536)  # names and words recur from one look-up to the next
def _process(text: str | None) -> str:
    return " ".join(utils.default_process(fold(text)).split())


def _address(lowered: str) -> str:
    """'https://www.acme.com/x' → 'acme.com'; 'mailto:ann@acme.com' → 'ann@acme.com'."""
    text = lowered.strip()
    if any(c.isspace() for c in text):
        return text
    text = text.removeprefix("mailto:")
    if "://" in text:
        try:
            text = urlsplit(text).hostname or text
        except ValueError:
            pass
    return text.removeprefix("www.").rstrip("/")


def _domain_core(domain: str) -> str:
    """'acme.co.uk' → 'acme', 'mail.globex.com' → 'globex': the labels that name the company."""
    labels = [label for label in domain.split(".") if label]
    named = [label for label in labels[:-1] if label not in _GENERIC_LABELS]
    return " ".join(named) or (labels[0] if labels else "")


def _grams(texts: list[str], limit: int = MAX_GRAMS) -> list[str]:
    """Distinct 3-character grams without spaces, at most `limit`, spread across the text."""
    grams: list[str] = []
    for text in texts:
        for i in range(len(text) - 2):
            gram = text[i:i + 3]
            if " " not in gram and gram not in grams:
                grams.append(gram)
    if len(grams) <= limit:
        return grams
    step = (len(grams) - 1) / (limit - 1)
    return [grams[round(i * step)] for i in range(limit)]


def _typo_spellings(text: str) -> list[str]:
    """The text with one letter dropped, and with each pair of neighbouring letters swapped."""
    dropped = [text[:i] + text[i + 1:] for i in range(len(text)) if text[i] != " "]
    swapped = [text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in range(len(text) - 1)
               if " " not in text[i:i + 2]]
    return dropped + swapped


@dataclass(frozen=True)
class _Query:
    raw: str  # as typed, trimmed
    key: str  # search_key(raw): compared with Account.search_name
    address: str  # lower-cased, URL and "www." stripped: compared with domains and e-mails
    core: str  # what names are narrowed on: the key, or a domain's company label
    grams: tuple[str, ...]
    prefix: str  # for queries too short for grams
    variants: tuple[str, ...]  # rapidfuzz-processed forms of the query to rank against

    @property
    def looks_like_address(self) -> bool:
        return " " not in self.address and ("@" in self.address or "." in self.address)

    @property
    def single_word(self) -> bool:
        return " " not in self.key


def _parse(query: str) -> _Query | None:
    raw = " ".join((query or "").split())[:MAX_QUERY_CHARS]
    key = search_key(raw)
    if not key:
        return None
    address = _address(raw.lower())
    core, variants = key, [raw]
    if " " not in address and "@" in address:
        # ann@acme.com: narrow on "acme"; rank on "acme" and "ann acme" (the ".com" matches everything).
        local, domain = address.rsplit("@", 1)
        core = _domain_core(domain) or search_key(local) or key
        variants = [core, f"{local} {core}"]
    elif " " not in address and "." in address.strip("."):
        core = _domain_core(address) or key
        variants = [core]
    spellings = [core] if fold(core) == core else [core, fold(core)]
    grams = _grams(spellings)
    # "aceme" holds no gram of "acme corp": the query's grams with one letter dropped or two letters
    # swapped ("acm", "cme") narrow on what a typo left of the name. A longer query keeps enough
    # grams of its own through a typo or two.
    if len(core.replace(" ", "")) <= TYPO_GRAMS_UP_TO_LETTERS:
        grams += [g for g in _grams(_typo_spellings(spellings[-1]), TYPO_GRAMS * 3) if g not in grams][:TYPO_GRAMS]
    processed = tuple(dict.fromkeys(p for p in map(_process, variants) if p))
    return _Query(raw=raw, key=key, address=address, core=core, grams=tuple(grams),
                  prefix="" if grams else core[:2], variants=processed)


# --- step 1: SQL ------------------------------------------------------------------------------


def _hits(column, q: _Query, *, whole: str,
          word_start: str = " ") -> tuple[ColumnElement[bool] | None, ColumnElement[int] | None]:
    """(WHERE condition, ORDER BY score) narrowing `column` for the query."""
    if q.grams:
        conditions = [column.contains(g, autoescape=True) for g in q.grams]
    elif q.prefix:
        # Too short for grams: the value, a word in it, or an e-mail's domain starts with the query.
        conditions = [column.startswith(q.prefix, autoescape=True),
                      column.contains(f"{word_start}{q.prefix}", autoescape=True)]
    else:
        return None, None
    score_terms = [case((c, 1), else_=0) for c in conditions]
    if whole:
        # The whole query inside the value beats any number of scattered grams.
        score_terms.append(case((column.contains(whole, autoescape=True), 10), else_=0))
        score_terms.append(case((column.startswith(whole[:3], autoescape=True), 2), else_=0))
    return or_(*conditions), reduce(operator.add, score_terms)


def _phrase(gram: str) -> str:
    """An FTS5 string: with the trigram tokenizer a 3-character string matches where it is a substring."""
    return '"' + gram.replace('"', '""') + '"'


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rows_holding(session: Session, column, grams: tuple[str, ...]) -> dict[str, float]:
    """How many rows of `column` hold each gram: exact on SQLite (FTS5), estimated on Postgres."""
    if session.get_bind().dialect.name == "sqlite":
        fts = _FTS_TABLES[column.key]
        parts = [f"SELECT {i}, count(*) FROM {fts} WHERE {fts} MATCH :g{i}" for i in range(len(grams))]
        counts = dict(session.execute(sql_text(" UNION ALL ".join(parts)),
                                      {f"g{i}": _phrase(gram) for i, gram in enumerate(grams)}).all())
        return {gram: counts[i] for i, gram in enumerate(grams)}
    # Postgres: counting a common gram's rows exactly would read them all from the heap, which is what
    # the pool avoids. A sample of about SAMPLE_ROWS rows (random pages) says which grams are rare.
    # REPEATABLE: the same pages each time, so the same query gets the same answer. (Unseeded, one
    # sample in CI picked grams that left "Gordan Group" out of the pool for "gorluldan grup".)
    table, name = column.class_.__tablename__, column.key
    rows = session.scalar(sql_text(f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass")) or 0
    if rows < 0:
        # Never analysed (e.g. just after a bulk import, before autovacuum gets to it): without
        # statistics every look-up would count the whole table. ANALYZE samples it once, for everyone.
        session.execute(sql_text(f"ANALYZE {table}"))
        rows = session.scalar(sql_text(f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass")) or 0
    percent = 100.0 if rows <= SAMPLE_ROWS else 100.0 * SAMPLE_ROWS / rows
    counting = ", ".join(f"count(*) FILTER (WHERE {name} LIKE :g{i} ESCAPE '\\')" for i in range(len(grams)))
    sampled = session.execute(sql_text(f"SELECT count(*), {counting} FROM (SELECT {name} FROM {table} "
                                       f"TABLESAMPLE SYSTEM ({percent:.6f}) REPEATABLE (0) LIMIT {SAMPLE_ROWS * 2}) AS sample"),
                              {f"g{i}": f"%{_escape_like(gram)}%" for i, gram in enumerate(grams)}).one()
    scale = max(rows, sampled[0]) / max(sampled[0], 1)
    return {gram: sampled[i + 1] * scale for i, gram in enumerate(grams)}


def _rarest_grams(session: Session, id_column, column, grams: tuple[str, ...],
                  pool_rows: float) -> tuple[ColumnElement[bool] | None, int]:
    """(rows holding one of the rarest grams, picked until their rows reach `pool_rows` (None: every gram),
    how many grams were left out).

    A row holding more of the query's grams than were left out must hold a picked one: the rows that
    score best are in the pool, and scoring reads a few thousand rows instead of every match.
    """
    rows_with = _rows_holding(session, column, grams)
    picked: list[str] = []
    reached = 0.0
    for gram in sorted(rows_with, key=lambda g: (rows_with[g], grams.index(g))):
        if reached >= pool_rows:
            break
        picked.append(gram)
        reached += rows_with[gram]
    left_out = len(grams) - len(picked)
    if session.get_bind().dialect.name == "sqlite":
        fts = _FTS_TABLES[column.key]
        pool = (sql_text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :pool")
                .bindparams(pool=" OR ".join(map(_phrase, picked))).columns(rowid=Integer))
        return id_column.in_(pool), left_out
    if not left_out:
        return None, 0  # every gram was picked: the conditions of _hits say as much
    return or_(*(column.contains(gram, autoescape=True) for gram in picked)), left_out


def _best_rows(session: Session, q: _Query, statement, id_column, column, where, cap: int) -> list:
    """The `cap` best-scored rows of `statement` (its last column is the score), read through the index.

    Rows outside the pool hold at most `left_out` grams and so score at most `left_out` + 2 (the
    prefix bonus; the whole query is made of the grams, so its bonus is inside). The pool grows until
    no such row could have made the cut, or until they hold at most half the query's grams: such rows
    are not what a typo leaves of a name, and every one of them would make scoring read all matches.
    """
    if not q.grams:  # 1–2 characters: too short for trigrams; the prefix conditions scan, as they always did
        return session.execute(statement.where(where)).all()
    pool_rows = float(max(POOL_ROWS, 2 * cap))
    while True:
        indexed, left_out = _rarest_grams(session, id_column, column, q.grams, pool_rows)
        rows = session.execute(statement.where(where if indexed is None else and_(indexed, where))).all()
        if 2 * left_out <= len(q.grams) or (len(rows) == cap and rows[-1][-1] > left_out + 2):
            return rows
        pool_rows *= 4


def _candidates(session: Session, q: _Query, cap: int) -> tuple[
        dict[int, int], dict[int, str], dict[int, list[tuple[str, str]]]]:
    """(account id → SQL score, account id → name, account id → [(kind, value)] matched domains/e-mails)."""
    best: dict[int, int] = {}
    names: dict[int, str] = {}
    extras: dict[int, list[tuple[str, str]]] = {}

    def keep(account_id: int, score: int) -> None:
        best[account_id] = max(score, best.get(account_id, 0))

    where, score = _hits(Account.search_name, q, whole=q.core)
    if where is not None and score is not None:
        hits = score.label("hits")
        statement = (select(Account.id, Account.name, hits)
                     .order_by(hits.desc(), func.abs(func.length(Account.search_name) - len(q.core)), Account.id)
                     .limit(cap))
        for account_id, name, account_score in _best_rows(session, q, statement, Account.id, Account.search_name,
                                                          where, cap):
            names[account_id] = name
            keep(account_id, account_score)

    whole = q.address if q.looks_like_address else q.core
    for kind, column, owner, row_id in (("domain", AccountDomain.domain, AccountDomain.account_id, AccountDomain.id),
                                        ("contact", Contact.email, Contact.account_id, Contact.id)):
        if kind == "contact" and not q.single_word:
            # E-mails hold no spaces, and contacts are the biggest table: "acme corp" is found by name
            # and domain. A one-word query ("ann", "acme", "ann@acme") still searches them.
            continue
        where, score = _hits(column, q, whole=whole, word_start="@" if kind == "contact" else ".")
        if where is None or score is None:
            continue
        hits = score.label("hits")
        statement = select(owner, column, hits).order_by(hits.desc(), func.length(column), column).limit(cap)
        for account_id, value, value_score in _best_rows(session, q, statement, row_id, column, where, cap):
            extras.setdefault(account_id, []).append((kind, value))
            keep(account_id, value_score)

    if len(best) > cap:
        kept = sorted(best, key=lambda a: (-best[a], a))[:cap]
        best = {a: best[a] for a in kept}
    missing = [a for a in best if a not in names]
    if missing:
        rows = session.execute(select(Account.id, Account.name).where(Account.id.in_(missing)))
        names.update({account_id: name for account_id, name in rows})
    return best, names, {a: extras[a] for a in best if a in extras}


# --- step 2: rank and decide ------------------------------------------------------------------


VALUE_WEIGHT = 0.95  # a domain or e-mail match ranks just below an equally good name match


def _value_key(kind: str, value: str) -> str:
    """What of a domain or e-mail is compared: 'acme.co.uk' → 'acme', 'ann@acme.com' → 'ann acme'."""
    if kind == "domain":
        return _domain_core(value.lower())
    local, _, domain = value.lower().rpartition("@")
    return f"{local} {_domain_core(domain)}".strip()


@lru_cache(maxsize=65_536)
def _word_similarity(a: str, b: str) -> float:
    """0–100 for two words (or two whole strings): the mean of three rapidfuzz measures. The Indel
    ratio counts the letters in common; OSA counts edits, a swap of two letters being one; Jaro-Winkler
    forgives swaps and rewards a shared beginning (people get the start of a name right).
    'initek'/'initech' 80, 'initek'/'granite' 60; 'gorluldan'/'gorbeldan' beats 'gorluldan'/'gordan'."""
    return (fuzz.ratio(a, b) + 100.0 * OSA.normalized_similarity(a, b)
            + 100.0 * JaroWinkler.normalized_similarity(a, b)) / 3


def _similarity(query: str, value: str) -> float:
    """0–100 for a processed query against a processed name (or a domain's label, an e-mail).

    The best of: the words aligned (each query word with its most similar word of the name, weighted
    by its length, each name word used once, × MISSING_WORD_FACTOR per name word left out: missing
    words, words in another order, a typo in each), and both compared without spaces ("cohotravel",
    the domain fragment, is "Coho Travel"; a query that begins the value scores PREFIX_SCORE)."""
    if query == value:
        return 100.0
    query_words, value_words = query.split(), value.split()
    unused = list(value_words)
    total = 0.0
    for word in sorted(query_words, key=len, reverse=True):
        if not unused:
            break
        best = max(unused, key=lambda candidate: _word_similarity(word, candidate))
        total += _word_similarity(word, best) * len(word)
        unused.remove(best)
    aligned = total / sum(map(len, query_words)) * MISSING_WORD_FACTOR ** len(unused)
    compact_query, compact_value = query.replace(" ", ""), value.replace(" ", "")
    joined = _word_similarity(compact_query, compact_value)
    if len(compact_query) >= 2 and compact_value.startswith(compact_query):
        joined = max(joined, PREFIX_SCORE)  # "tidewaterins": the start of tidewaterinsurance.example
    return max(aligned, joined * MISSING_WORD_FACTOR)


def _score(q: _Query, value: str) -> float:
    processed = _process(value)
    if not processed:
        return 0.0
    return max(_similarity(variant, processed) for variant in q.variants)


def _rank(q: _Query, names: dict[int, str], extras: dict[int, list[tuple[str, str]]],
          account_ids) -> list[Match]:
    matches: list[Match] = []
    for account_id in account_ids:
        name = names.get(account_id)
        if name is None:  # deleted between the two queries
            continue
        best = Match(account_id, name, _score(q, name), name)
        for kind, value in extras.get(account_id, ()):
            score = _score(q, _value_key(kind, value)) * VALUE_WEIGHT
            if score > best.score:  # ties go to the name
                best = Match(account_id, name, score, f"{kind} {value}")
        matches.append(best)
    matches.sort(key=lambda m: (-m.score, m.matched != m.name, len(m.name), m.name.casefold(), m.account_id))
    return matches


def _decide(ranked: list[Match], limit: int, candidate_count: int) -> SearchResult:
    strong = [m for m in ranked if m.score >= MATCH_MIN_SCORE]
    if len(strong) == 1 or (len(strong) > 1 and strong[0].score >= ONE_MIN_SCORE
                            and strong[0].score - strong[1].score >= ONE_MIN_LEAD):
        return SearchResult("one", (strong[0],), candidate_count)
    if strong:
        close = [m for m in strong if m.score >= strong[0].score - SEVERAL_WITHIN]
        return SearchResult("several", tuple(close[:limit]), candidate_count)
    return SearchResult("none", tuple(ranked[:SUGGESTIONS]), candidate_count)


def _exact(session: Session, q: _Query, limit: int) -> SearchResult | None:
    # "acme inc" and "acme inc." (search_key keeps dots) are the same name.
    keys = {k for k in (q.key, q.key.rstrip("."), q.key.rstrip(".") + ".") if k.strip(".")}
    rows = session.execute(select(Account.id, Account.name).where(Account.search_name.in_(keys))
                           .order_by(Account.id).limit(limit)).all()
    if rows:
        matches = tuple(Match(account_id, name, 100.0, name) for account_id, name in rows)
        return SearchResult("one" if len(matches) == 1 else "several", matches)
    if " " in q.address:
        return None
    lookups: list[tuple[str, type[AccountDomain] | type[Contact], str]] = []
    if "@" in q.address:
        lookups.append(("contact", Contact, q.address))
        lookups.append(("domain", AccountDomain, q.address.rsplit("@", 1)[1]))
    elif "." in q.address:
        lookups.append(("domain", AccountDomain, q.address))
    for kind, entity, value in lookups:
        if not value:
            continue
        column = entity.email if entity is Contact else entity.domain
        row = session.execute(select(Account.id, Account.name)
                              .join(entity, entity.account_id == Account.id)
                              .where(column == value).limit(1)).first()
        if row is not None:
            return SearchResult("one", (Match(row.id, row.name, 100.0, f"{kind} {value}"),))
    return None


@contextmanager
def _trigram_indexes_preferred(session: Session) -> Iterator[None]:
    """Postgres: no sequential scans while narrowing. Its planner prices each GIN trigram scan at
    ~1 600 against ~3 700 for reading all 100 k domains, so an OR of 8 grams read the table: 44 ms,
    where the index answers in 7 ms (EXPLAIN ANALYZE, bench/vip_lookup.py's 100 k accounts)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(sql_text("SET LOCAL enable_seqscan = off"))
    yield
    # Not in a `finally`: after an error the transaction is rolled back, and SET LOCAL with it.
    session.execute(sql_text("RESET enable_seqscan"))


def search_accounts(session: Session, query: str, *, limit: int = 5, cap: int = CANDIDATE_CAP) -> SearchResult:
    """Find accounts for a `/vip` query. See the module docstring for how; never raises on odd input."""
    limit = max(1, limit)
    q = _parse(query)
    if q is None:
        return SearchResult("none", ())
    exact = _exact(session, q, limit)
    if exact is not None:
        return exact
    with _trigram_indexes_preferred(session):
        best, names, extras = _candidates(session, q, cap)
    ranked = _rank(q, names, extras, best)
    return _decide(ranked, limit, len(best))
