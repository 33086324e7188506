"""Topics discovered in a week's comments, and "other customers said something similar".

Each week the comments of a team (and of all teams) are grouped offline into emerging topics:
TF-IDF over the comments (English stop words, single words and pairs), then NMF (non-negative matrix
factorisation, `nndsvd` start and a fixed random_state: the same comments give the same topics). A
comment belongs to the topic it weighs most in. Each topic has:

- a label: its top terms, without repeats ("export · invoices · csv");
- a count: the week's comments in it, and the previous week's comments that fall in it (the same
  model applied to them), for the trend;
- a quote: its most representative comment, the one whose TF-IDF vector is closest (cosine) to the
  topic's terms, shown with customer, account and score.

Empty, very short (under MIN_COMMENT_WORDS words) and non-English comments (sentiment
"not_analysed") are left out and counted as skipped; erased items too. A week with fewer than
MIN_COMMENTS comments gets no topics, and its run says why. At most MAX_TOPICS topics, each of at
least MIN_TOPIC_SIZE comments.

A run is stored (topic_runs, topics, topic_members) so pages read it without computing; computing a
week again replaces its run. `cxloop forget` deletes a customer's membership rows and moves a topic's
quote to the next closest member (bot/privacy/erasure.py).

Similar: an item in a topic is similar to the other members of that topic received in the last
SIMILAR_DAYS days; an item newer than its team's last run (no topic yet) is compared by TF-IDF cosine
with the team's newest SIMILAR_CANDIDATES comments of those days when its card is rendered (posted or
refreshed). Not at ingest: the webhook path stays as fast as it was. Each comment's hashed terms are
kept per process, so a render hashes only the comments it has not seen (`python -m bench topics`
measures it). Functions take `session` and never commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from cachetools import LRUCache
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bot.common.labels import customer_label, plural, score_label
from bot.common.periods import iso_week_label, local_span, local_today, parse_week
from bot.slack.links import message_link
from models import Item, SlackMessage, Topic, TopicMember, TopicRun
from models.topic import ALL_TEAMS

log = logging.getLogger(__name__)

MIN_COMMENT_CHARS = 15
MIN_COMMENT_WORDS = 3
MIN_COMMENTS = 20            # a week with fewer analysable comments gets no topics
COMMENTS_PER_TOPIC = 12      # how many topics are sought: one per this many comments, 2 to MAX_TOPICS
MAX_TOPICS = 12  # 8 left a week's complaints out when its praise came in more, larger groups
MIN_TOPIC_SIZE = 3           # a smaller group is not shown as a topic
MIN_CLOSENESS = 0.05         # a comment this far from its best topic belongs to none
LABEL_TERMS = 3
STORED_TERMS = 10
COMMENT_CHARS = 2000         # what is read of each comment
RANDOM_STATE = 0
NOT_ENGLISH = "not_analysed"  # the sentiment label of a comment not in English (bot/intake/sentiment.py)

SIMILAR_DAYS = 30
SIMILAR_LINKS = 3
SIMILAR_CANDIDATES = 500     # the newest comments compared at render: bounds its cost
SIMILAR_MIN_COSINE = 0.3
SIMILAR_CACHE_COMMENTS = 10_000  # hashed comments kept per process (a few MB): 20 teams' candidates
QUOTE_CHARS = 280

_TOKEN = r"(?u)\b[^\W\d_]{3,}\b"  # words of three letters or more: no numbers, no ids
# Beyond scikit-learn's English stop words: survey filler that names no topic.
EXTRA_STOP_WORDS = frozenset({"really", "just", "like", "lot", "lots", "thing", "things", "use", "using",
                              "used", "would", "also", "get", "got", "still", "much", "even", "one", "make",
                              "thanks", "thank", "please", "overall", "way", "bit", "pretty", "day", "days"})


def scope_of(team: str | None) -> str:
    """The stored scope of a team's topics, or of all teams' (team None)."""
    return team or ALL_TEAMS


def analysable(comment: str | None, sentiment_label: str | None) -> bool:
    text = (comment or "").strip()
    return (sentiment_label != NOT_ENGLISH and len(text) >= MIN_COMMENT_CHARS
            and len(text.split(None, MIN_COMMENT_WORDS)) >= MIN_COMMENT_WORDS)


# --- discovery (reads and computes; writes nothing) -------------------------------------------------


@dataclass(frozen=True)
class FoundTopic:
    label: str
    terms: list[str]
    count: int
    previous_count: int
    members: list[tuple[int, float]]   # (item id, closeness), closest first
    quote_item_id: int | None


@dataclass(frozen=True)
class Discovery:
    week: str
    scope: str
    timezone: str
    analysed: int
    skipped: int
    note: str | None
    topics: list[FoundTopic]


def _comments(session: Session, teams: Sequence[str] | None, start: datetime, end: datetime
              ) -> tuple[list[tuple[int, str]], int]:
    """((item id, comment) of the analysable comments received in [start, end), oldest first; how many
    comments were left out)."""
    where = [Item.received_at >= start, Item.received_at < end, Item.erased_at.is_(None), Item.comment.is_not(None)]
    if teams is not None:
        where.append(Item.team.in_(list(teams)))
    rows = session.execute(select(Item.id, func.substr(Item.comment, 1, COMMENT_CHARS), Item.sentiment_label)
                           .where(*where).order_by(Item.received_at, Item.id)).all()
    kept = [(item_id, comment.strip()) for item_id, comment, label in rows if analysable(comment, label)]
    return kept, len(rows) - len(kept)


# A topic's label names what customers talk about; a verdict alone names nothing ("hubspot integration ·
# good": "good" is how, not what). Terms made only of these words are left out of labels (not of topics).
VERDICT_WORDS = frozenset({
    "good", "great", "bad", "nice", "love", "loved", "awesome", "terrible", "amazing", "excellent", "poor", "fine",
    "happy", "best", "worst", "horrible", "fantastic", "perfect", "solid", "okay", "wonderful", "awful", "cool",
    "better", "worse", "ok", "decent", "superb", "brilliant", "outstanding",
})


def _label(terms: Sequence[str]) -> list[str]:
    """The first LABEL_TERMS terms sharing no word with an earlier one ("support · support team" says it twice),
    leaving out terms that are only a verdict ("good", "great support" stays)."""
    chosen: list[str] = []
    seen: set[str] = set()
    for term in terms:
        words = set(term.split())
        if words & seen or words <= VERDICT_WORDS:
            continue
        chosen.append(term)
        seen |= words
        if len(chosen) == LABEL_TERMS:
            break
    return chosen


def _vectorizer():
    from sklearn.feature_extraction.text import (  # lazy: scikit-learn takes seconds to import; only topics need it
        ENGLISH_STOP_WORDS,
        TfidfVectorizer,
    )

    return TfidfVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS), token_pattern=_TOKEN,
                           ngram_range=(1, 2), min_df=2, max_df=0.8, sublinear_tf=True, max_features=5000)


def warm_up() -> None:
    """Import scikit-learn now (a second or more, longer on a busy machine) rather than at the first
    card's render: the delivery worker calls this in a thread of its own when it starts."""
    _term_counts(["warm up"])


def discover_topics(session: Session, *, week: str, team: str | None, teams: Sequence[str] | None,
                    timezone: str) -> Discovery:
    """Topics of the ISO `week` (local days in `timezone`) over the comments of `teams` (None: every
    team), and how the previous week's comments fall in them. Reads only: the caller stores it."""
    monday = parse_week(week)
    start, end = local_span(monday, monday + timedelta(days=7), timezone)
    before, _ = local_span(monday - timedelta(days=7), monday, timezone)
    comments, skipped = _comments(session, teams, start, end)
    base = Discovery(week=iso_week_label(monday), scope=scope_of(team), timezone=timezone,
                     analysed=len(comments), skipped=skipped, note=None, topics=[])
    if len(comments) < MIN_COMMENTS:
        return replace(base, note=f"too few comments to find topics: {len(comments)} this week, "
                                  f"at least {MIN_COMMENTS} needed")
    from sklearn.decomposition import NMF  # lazy: scikit-learn takes seconds to import; only topics need it
    from sklearn.preprocessing import normalize  # lazy: as above

    vectorizer = _vectorizer()
    try:
        matrix = vectorizer.fit_transform([text for _, text in comments])
    except ValueError:  # no term in two comments: nothing in common to group
        return replace(base, note="the comments share no words: no topics")
    terms = vectorizer.get_feature_names_out()
    k = min(MAX_TOPICS, max(2, len(comments) // COMMENTS_PER_TOPIC), matrix.shape[1])
    if k < 2:
        return replace(base, note="the comments share too few words: no topics")
    model = NMF(n_components=k, init="nndsvd", random_state=RANDOM_STATE, max_iter=400)
    weights = model.fit_transform(matrix)
    components = model.components_
    closeness = (normalize(matrix) @ normalize(components).T)          # cosine, comment × topic

    def assigned(w, close) -> list[int | None]:
        picks = w.argmax(axis=1)
        return [int(t) if w[row, t] > 0 and close[row, t] >= MIN_CLOSENESS else None
                for row, t in enumerate(picks)]

    topic_of = assigned(weights, closeness)
    previous_counts = [0] * k
    previous, _ = _comments(session, teams, before, start)
    if previous:
        prev_matrix = vectorizer.transform([text for _, text in previous])
        prev_topic = assigned(model.transform(prev_matrix), normalize(prev_matrix) @ normalize(components).T)
        for t in prev_topic:
            if t is not None:
                previous_counts[t] += 1
    found = []
    for t in range(k):
        rows = [row for row, topic in enumerate(topic_of) if topic == t]
        if len(rows) < MIN_TOPIC_SIZE:
            continue
        members = sorted(((comments[row][0], float(closeness[row, t])) for row in rows),
                         key=lambda pair: (-pair[1], pair[0]))
        top = [str(terms[j]) for j in components[t].argsort()[::-1][:STORED_TERMS * 3]]
        label_terms = _label(top)
        found.append(FoundTopic(label=" · ".join(label_terms), terms=top[:STORED_TERMS], count=len(rows),
                                previous_count=previous_counts[t], members=members, quote_item_id=members[0][0]))
    found.sort(key=lambda topic: (-topic.count, topic.label))
    note = None if found else f"no group of at least {MIN_TOPIC_SIZE} similar comments this week"
    return replace(base, topics=found, note=note)


# --- storing ----------------------------------------------------------------------------------------


def store_topics(session: Session, discovery: Discovery, *, now: datetime) -> TopicRun:
    """Replace the stored run of the discovery's week and scope with it."""
    session.execute(delete(TopicRun).where(TopicRun.week == discovery.week, TopicRun.scope == discovery.scope))
    run = TopicRun(week=discovery.week, scope=discovery.scope, timezone=discovery.timezone, computed_at=now,
                   analysed=discovery.analysed, skipped=discovery.skipped, note=discovery.note)
    session.add(run)
    session.flush()
    for rank, found in enumerate(discovery.topics, start=1):
        topic = Topic(run_id=run.id, rank=rank, label=found.label[:200], terms=found.terms, count=found.count,
                      previous_count=found.previous_count, quote_item_id=found.quote_item_id)
        session.add(topic)
        session.flush()
        session.execute(insert(TopicMember), [{"topic_id": topic.id, "item_id": item_id, "closeness": close}
                                              for item_id, close in found.members])
    return run


def compute_topics(session: Session, *, week: str, team: str | None, teams: Sequence[str] | None,
                   timezone: str, now: datetime) -> TopicRun:
    """Discover and store the topics of a week (on demand, or by the weekly job)."""
    discovery = discover_topics(session, week=week, team=team, teams=teams, timezone=timezone)
    run = store_topics(session, discovery, now=now)
    log.info("topics of %s for %s: %s from %s comments (%s skipped)", discovery.week, discovery.scope,
             len(discovery.topics), discovery.analysed, discovery.skipped)
    return run



@dataclass(frozen=True)
class TopicWeek:
    """One week to group, for all teams (team None) or one team, in its timezone."""
    week: str
    team: str | None
    teams: tuple[str, ...]
    timezone: str


def imported_weeks(session: Session, *, imported_at: datetime, teams: Sequence[tuple[str, str]],
                   timezone: str) -> list[TopicWeek]:
    """The weeks that the comments of one history import (items marked `imported_at`) fall in, for all
    teams (in `timezone`) and for each of `teams` ((name, timezone), in its own), oldest first: what
    the weekly job would have grouped had cxloop been running then."""
    zones = dict(teams)
    rows = session.execute(select(Item.team, Item.received_at)
                           .where(Item.imported_at == imported_at, Item.comment.is_not(None))).all()
    found: set[tuple[str, str | None]] = set()
    for team, received in rows:
        when = received if received.tzinfo else received.replace(tzinfo=UTC)
        found.add((iso_week_label(local_today(when, timezone)), None))
        if team in zones:
            found.add((iso_week_label(local_today(when, zones[team])), team))
    every = tuple(zones)
    return [TopicWeek(week=week, team=team, teams=(team,) if team else every,
                      timezone=zones[team] if team else timezone)
            for week, team in sorted(found, key=lambda pair: (pair[0], pair[1] or ""))]

# --- reading, for the weekly report and the dashboard ----------------------------------------------


@dataclass(frozen=True)
class TopicQuote:
    item_id: int
    text: str            # raw, at most QUOTE_CHARS: escape it to show it
    who: str             # "Maya Chen (Acme)"
    score: str           # "NPS 3"
    link: str | None     # the item's Slack message


@dataclass(frozen=True)
class TopicLine:
    rank: int
    label: str
    count: int
    previous_count: int
    quote: TopicQuote | None
    topic_id: int | None = None  # the stored topic: its comments are /dashboard/comments?topic=<id>

    @property
    def trend(self) -> str:
        """ "▲ from 4 the week before", "▼ from 20 …", "as many as the week before", "new this week"."""
        if self.previous_count == 0:
            return "new this week"
        if self.count == self.previous_count:
            return "as many as the week before"
        return f"{'▲' if self.count > self.previous_count else '▼'} from {self.previous_count} the week before"

    @property
    def summary(self) -> str:
        """ "14 comments, ▲ from 4 the week before" """
        return f"{plural(self.count, 'comment')}, {self.trend}"


@dataclass(frozen=True)
class WeekTopics:
    week: str
    scope: str
    timezone: str
    computed_at: datetime
    analysed: int
    skipped: int
    note: str | None
    topics: list[TopicLine] = field(default_factory=list)

    @property
    def explanation(self) -> str:
        """What was grouped: "From 120 comments (8 empty, very short or not English left out)." """
        return (f"From {plural(self.analysed, 'comment')} ({self.skipped} empty, very short or not in English "
                "left out).")


def _quote(item: Item, link: str | None) -> TopicQuote:
    text = (item.comment or "").strip()
    text = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
    return TopicQuote(item_id=item.id, text=text,
                      who=customer_label(item.customer_name, item.customer_email, item.account_name),
                      score=score_label(item.kind, item.score, item.priority), link=link)


def _read_run(session: Session, run: TopicRun) -> WeekTopics:
    topics = list(session.scalars(select(Topic).where(Topic.run_id == run.id).order_by(Topic.rank)))
    quote_ids = [t.quote_item_id for t in topics if t.quote_item_id is not None]
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(quote_ids)))} \
        if quote_ids else {}
    links = {row.item_id: message_link(row.channel, row.ts) for row in session.scalars(
        select(SlackMessage).where(SlackMessage.item_id.in_(quote_ids)))} if quote_ids else {}
    lines = []
    for topic in topics:
        item = items.get(topic.quote_item_id) if topic.quote_item_id is not None else None
        quote = _quote(item, links.get(item.id)) if item is not None and item.erased_at is None else None
        lines.append(TopicLine(rank=topic.rank, label=topic.label, count=topic.count,
                               previous_count=topic.previous_count, quote=quote, topic_id=topic.id))
    return WeekTopics(week=run.week, scope=run.scope, timezone=run.timezone, computed_at=run.computed_at,
                      analysed=run.analysed, skipped=run.skipped, note=run.note, topics=lines)


def week_topics(session: Session, *, week: str, scope: str) -> WeekTopics | None:
    """The stored topics of `week` for `scope`, or None when they were not computed."""
    run = session.scalar(select(TopicRun).where(TopicRun.week == week, TopicRun.scope == scope))
    return _read_run(session, run) if run is not None else None


def ensure_week_topics(session: Session, *, week: str, team: str | None, teams: Sequence[str] | None,
                       timezone: str, now: datetime) -> WeekTopics:
    """The stored topics of `week`, computed now (on demand) when the weekly job has not."""
    found = week_topics(session, week=week, scope=scope_of(team))
    if found is not None:
        return found
    return _read_run(session, compute_topics(session, week=week, team=team, teams=teams, timezone=timezone,
                                             now=now))


def latest_topics(session: Session, *, scope: str, up_to: date) -> WeekTopics | None:
    """The stored topics of `scope` shown for a range ending `up_to` (the dashboard): those of the latest
    week that ends by then (a whole week, so its trend compares like with like), else of the latest week
    that starts by then (a range shorter than a week)."""
    for last_week in (up_to - timedelta(days=6), up_to):
        run = session.scalar(select(TopicRun).where(TopicRun.scope == scope,
                                                    TopicRun.week <= iso_week_label(last_week))
                             .order_by(TopicRun.week.desc()).limit(1))
        if run is not None:
            return _read_run(session, run)
    return None


def topics_data(topics: WeekTopics | None) -> dict | None:
    """JSON-safe, for a posted report's stored payload (erasure re-renders from it)."""
    if topics is None:
        return None
    return {**asdict(topics), "computed_at": topics.computed_at.isoformat()}


def topics_from_data(data: dict | None) -> WeekTopics | None:
    if not data:
        return None
    lines = [TopicLine(**{**line, "quote": TopicQuote(**line["quote"]) if line.get("quote") else None})
             for line in data.get("topics", [])]
    return WeekTopics(**{**data, "computed_at": datetime.fromisoformat(data["computed_at"]), "topics": lines})


def quoted_in(topics: WeekTopics | None) -> list[int]:
    return [line.quote.item_id for line in (topics.topics if topics else []) if line.quote is not None]


def without_quotes(topics: WeekTopics | None, item_ids: set[int]) -> WeekTopics | None:
    """The topics with the quotes of `item_ids` left out (a customer was forgotten)."""
    if topics is None:
        return None
    return replace(topics, topics=[replace(line, quote=None) if line.quote and line.quote.item_id in item_ids
                                   else line for line in topics.topics])


# --- "N other customers said something similar this month" ------------------------------------------


@dataclass(frozen=True)
class Similar:
    customers: int                        # other customers, each counted once
    links: tuple[tuple[int, str], ...]    # (item id, its Slack message) of up to SIMILAR_LINKS of them


def _customer_key(row) -> tuple[str, str | int]:
    if row.customer_email:
        return ("email", row.customer_email.strip().lower())
    if row.account_name:
        return ("account", row.account_name.strip().lower())
    return ("item", row.id)


# Each comment's hashed term counts, by (database, item id, revision, content hash): a card's render hashes
# only the comments it has not seen, so it costs a query and some sparse arithmetic, not the tokenising of
# 500 comments. None: the comment is not analysable. Per process, bounded; an edit bumps the revision.
_TERM_COUNTS: LRUCache[tuple, tuple[Any, Any] | None] = LRUCache(maxsize=SIMILAR_CACHE_COMMENTS)
_TERM_COUNTS_LOCK = threading.Lock()
_HASHED_TERMS = 2 ** 18


@cache
def _hasher():
    """One stateless hasher per process (building one checks its stop words: a millisecond each time)."""
    from sklearn.feature_extraction.text import (  # lazy: scikit-learn takes seconds to import; only topics need it
        ENGLISH_STOP_WORDS,
        HashingVectorizer,
    )

    return HashingVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS), token_pattern=_TOKEN,
                             n_features=_HASHED_TERMS, alternate_sign=False, norm=None)


def _term_counts(texts: list[str]) -> list[tuple[Any, Any]]:
    matrix = _hasher().transform(texts).tocsr()
    return [(matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]].copy(),
             matrix.data[matrix.indptr[row]:matrix.indptr[row + 1]].copy()) for row in range(matrix.shape[0])]


_UNSEEN = object()


def _neighbours(session: Session, item: Item, since: datetime, now: datetime) -> list:
    """Items (rows) of the item's team in [since, now] whose comment is close to its comment by TF-IDF cosine
    (sublinear term counts, scikit-learn's smoothed idf over these comments), closest first, among the
    newest SIMILAR_CANDIDATES. The arithmetic is numpy over the terms present (scikit-learn's own
    normalize and a 2^18-column matrix cost more in checks than in sums at this size)."""
    import numpy as np  # lazy: with scikit-learn, only similarity needs it

    rows = session.execute(
        select(Item.id, Item.revision, Item.content_hash, Item.sentiment_label, Item.customer_email,
               Item.account_name)
        .where(Item.team == item.team, Item.received_at >= since, Item.received_at <= now, Item.id != item.id,
               Item.erased_at.is_(None), Item.comment.is_not(None))
        .order_by(Item.received_at.desc(), Item.id.desc()).limit(SIMILAR_CANDIDATES)).all()
    database = str(session.get_bind().url)
    keys = [(row.id, database, row.revision, row.content_hash) for row in rows]
    with _TERM_COUNTS_LOCK:
        found = [_TERM_COUNTS.get(key, _UNSEEN) for key in keys]
    missing = [(n, key) for n, (key, counts) in enumerate(zip(keys, found, strict=True)) if counts is _UNSEEN]
    if missing:
        texts = dict(session.execute(select(Item.id, func.substr(Item.comment, 1, COMMENT_CHARS))
                                     .where(Item.id.in_([key[0] for _, key in missing]))).all())
        usable = [(n, key) for n, key in missing if analysable(texts.get(key[0]), rows[n].sentiment_label)]
        counted = _term_counts([texts[key[0]] for _, key in usable]) if usable else []
        for n, _key in missing:
            found[n] = None
        for (n, _key), counts in zip(usable, counted, strict=True):
            found[n] = counts
        with _TERM_COUNTS_LOCK:
            for n, key in missing:
                _TERM_COUNTS[key] = found[n]
    candidates = [(n, counts) for n, counts in enumerate(found) if counts is not None]
    query = _term_counts([item.comment[:COMMENT_CHARS]])[0]
    if not candidates or not len(query[0]):
        return []  # nobody to compare with, or only stop words
    counts = [c for _, c in candidates] + [query]
    last = len(counts) - 1
    row_of = np.repeat(np.arange(len(counts)), [len(indices) for indices, _ in counts])
    columns, column_of = np.unique(np.concatenate([indices for indices, _ in counts]), return_inverse=True)
    documents = np.bincount(column_of, minlength=len(columns))
    idf = np.log((1 + len(counts)) / (1 + documents)) + 1.0
    weights = (1.0 + np.log(np.concatenate([data for _, data in counts]))) * idf[column_of]
    norms = np.sqrt(np.bincount(row_of, weights=weights * weights, minlength=len(counts)))
    asked = np.zeros(len(columns))
    asked[column_of[row_of == last]] = weights[row_of == last] / norms[last]
    dots = np.bincount(row_of, weights=weights * asked[column_of], minlength=len(counts))
    cosine = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    order = sorted((i for i in range(len(candidates)) if cosine[i] >= SIMILAR_MIN_COSINE),
                   key=lambda i: (-cosine[i], candidates[i][0]))   # ties: the newer first
    return [rows[candidates[i][0]] for i in order]


def similar_items(session: Session, item_id: int, *, now: datetime) -> Similar | None:
    """Other customers who said something similar in the last SIMILAR_DAYS days (see the module's doc);
    None when the item has no comment to compare or nobody did."""
    item = session.get(Item, item_id)
    if item is None or item.erased_at is not None or not analysable(item.comment, item.sentiment_label):
        return None
    since = now - timedelta(days=SIMILAR_DAYS)
    membership = session.scalar(select(TopicMember.topic_id).join(Topic, Topic.id == TopicMember.topic_id)
                                .join(TopicRun, TopicRun.id == Topic.run_id)
                                .where(TopicMember.item_id == item.id, TopicRun.scope == item.team))
    if membership is not None:
        ordered = session.execute(
            select(Item.id, Item.customer_email, Item.account_name)
            .join(TopicMember, TopicMember.item_id == Item.id)
            .where(TopicMember.topic_id == membership, Item.id != item.id, Item.erased_at.is_(None),
                   Item.received_at >= since, Item.received_at <= now)
            .order_by(TopicMember.closeness.desc(), Item.id)).all()
    else:
        last = session.scalar(select(TopicRun).where(TopicRun.scope == item.team)
                              .order_by(TopicRun.week.desc()).limit(1))
        if last is not None:
            monday = parse_week(last.week)
            _, covered_until = local_span(monday, monday + timedelta(days=7), last.timezone)
            if item.received_at < min(covered_until, last.computed_at):
                return None  # the last run grouped it with its week, and it fell in no topic
        ordered = _neighbours(session, item, since, now)
    own = _customer_key(item)
    seen: dict[tuple[str, str | int], int] = {}
    for row in ordered:  # closest first: each other customer's closest comment
        key = _customer_key(row)
        if key != own and key not in seen:
            seen[key] = row.id
    if not seen:
        return None
    # Links to the closest few that were posted (an item may still wait for its post).
    firsts = list(seen.values())[:SIMILAR_LINKS * 5]
    posted = {row.item_id: message_link(row.channel, row.ts) for row in session.scalars(
        select(SlackMessage).where(SlackMessage.item_id.in_(firsts)))}
    links = tuple((other, posted[other]) for other in firsts if other in posted)[:SIMILAR_LINKS]
    return Similar(customers=len(seen), links=links)


# --- erasure ----------------------------------------------------------------------------------------


def forget_in_topics(session: Session, item_ids: Sequence[int]) -> int:
    """`cxloop forget`: delete the items' membership rows, and give each topic they quoted the next
    closest remaining member as its quote (or none). Counts stay: they are anonymous facts. Returns
    the membership rows deleted."""
    if not item_ids:
        return 0
    deleted = session.execute(delete(TopicMember).where(TopicMember.item_id.in_(list(item_ids)))
                              .execution_options(synchronize_session=False)).rowcount or 0
    for topic in session.scalars(select(Topic).where(Topic.quote_item_id.in_(list(item_ids)))):
        topic.quote_item_id = session.scalar(
            select(TopicMember.item_id).join(Item, Item.id == TopicMember.item_id)
            .where(TopicMember.topic_id == topic.id, Item.erased_at.is_(None))
            .order_by(TopicMember.closeness.desc(), TopicMember.item_id).limit(1))
    return deleted
