"""Turn a raw survey score and comment into what the Slack message shows and routes on.

Pure functions: category from the score, sentiment from the comment, themes from a keyword
taxonomy. No NLTK: tokenising is a single regex so it works offline and stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.common.vocabulary import _UPPER_BOUNDS, DEFAULT_THEMES, SCORE_RANGES
from bot.intake.sentiment import analyze_sentiment

# Themes only need the gist; a pasted log of megabytes must not stall the webhook.
MAX_THEME_CHARS = 20_000


def categorize(kind: str, score: int | None) -> str | None:
    """'detractor' | 'passive' | 'promoter' for a survey score; None for escalations or no score.

    Raises ValueError for an unknown kind or a score outside the kind's range.
    """
    if kind == "escalation":
        return None
    if kind not in SCORE_RANGES:
        raise ValueError(f"unknown kind: {kind[:40]!r}")
    if score is None:
        return None
    # bool is an int subclass; a True/False "score" is a payload bug, not a 1 or 0.
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(f"{kind} score must be an integer, got {type(score).__name__}")
    low, high = SCORE_RANGES[kind]
    if not low <= score <= high:
        raise ValueError(f"{kind} score {score} outside {low}-{high}")
    detractor_max, passive_max = _UPPER_BOUNDS[kind]
    if score <= detractor_max:
        return "detractor"
    if score <= passive_max:
        return "passive"
    return "promoter"


# Letters/digits (any script) with apostrophes allowed only *inside* a word ("doesn't"),
# so quotes around a word are not part of it. Underscore is excluded from \w on purpose.
_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Typographic apostrophes are normalised so "doesn’t" and "doesn't" match the same keyword.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})


def tokenize(text: str | None) -> list[str]:
    """Lower-case word tokens: 'Doesn’t work!' -> ["doesn't", 'work']."""
    if not text:
        return []
    return _TOKEN_RE.findall(text.translate(_APOSTROPHES).lower())




# A compiled keyword: its tokens, and whether the last token is a prefix.
_Keyword = tuple[tuple[str, ...], bool]
CompiledTaxonomy = tuple[tuple[str, tuple[_Keyword, ...]], ...]


def _compile_keyword(theme: str, keyword: str) -> _Keyword:
    raw = keyword.strip()
    prefix = raw.endswith("*")
    tokens = tuple(tokenize(raw.rstrip("*")))
    if not tokens:
        raise ValueError(f"theme {theme!r}: keyword {keyword!r} has no words")
    return tokens, prefix


def compile_taxonomy(taxonomy: Mapping[str, Iterable[str]]) -> CompiledTaxonomy:
    """Validate and pre-tokenise a taxonomy. Call it at config load to fail fast on bad keywords."""
    compiled: list[tuple[str, tuple[_Keyword, ...]]] = []
    for theme, keywords in taxonomy.items():
        # A bare string would otherwise be iterated character by character.
        items = (keywords,) if isinstance(keywords, str) else tuple(keywords)
        compiled.append((theme, tuple(_compile_keyword(theme, k) for k in items)))
    return tuple(compiled)


@lru_cache(maxsize=1)
def _default_compiled() -> CompiledTaxonomy:
    return compile_taxonomy(DEFAULT_THEMES)


def _compiled_for(taxonomy: Mapping[str, Iterable[str]]) -> CompiledTaxonomy:
    # Compiling tokenises every keyword: once per taxonomy, not once per webhook (it was ~1/3 of intake).
    key = tuple((theme, (keywords,) if isinstance(keywords, str) else tuple(keywords))
                for theme, keywords in taxonomy.items())
    return _compiled_by_content(key)


@lru_cache(maxsize=8)
def _compiled_by_content(key: tuple[tuple[str, tuple[str, ...]], ...]) -> CompiledTaxonomy:
    return compile_taxonomy(dict(key))


def _token_matches(token: str, want: str, prefix: bool) -> bool:
    return token.startswith(want) if prefix else token == want


def _keyword_in(tokens: list[str], vocabulary: frozenset[str], keyword: _Keyword) -> bool:
    words, prefix = keyword
    last = len(words) - 1
    # Fast reject via the set of distinct tokens before scanning positions.
    if len(words) == 1:
        if not prefix:
            return words[0] in vocabulary
        return any(t.startswith(words[0]) for t in vocabulary)
    if words[0] not in vocabulary:
        return False
    for start in range(len(tokens) - last):
        if all(_token_matches(tokens[start + i], w, prefix and i == last) for i, w in enumerate(words)):
            return True
    return False


@lru_cache(maxsize=8)
def _theme_matchers(compiled: CompiledTaxonomy) -> tuple[tuple[str, frozenset[str], tuple[str, ...],
                                                             tuple[_Keyword, ...]], ...]:
    """Per theme: its one-word keywords as a set and a prefix tuple, so most of the ~200 keywords are
    tested in two C-level operations per webhook; keywords of several words keep the scan."""
    matchers = []
    for theme, keywords in compiled:
        exact = frozenset(words[0] for words, prefix in keywords if len(words) == 1 and not prefix)
        prefixes = tuple(words[0] for words, prefix in keywords if len(words) == 1 and prefix)
        phrases = tuple((words, prefix) for words, prefix in keywords if len(words) > 1)
        matchers.append((theme, exact, prefixes, phrases))
    return tuple(matchers)


def detect_themes(text: str | None, taxonomy: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Theme names whose keywords appear in `text`, in taxonomy order, each once."""
    tokens = tokenize((text or "")[:MAX_THEME_CHARS])
    if not tokens:
        return []
    compiled = _default_compiled() if taxonomy is None else _compiled_for(taxonomy)
    vocabulary = frozenset(tokens)
    found: list[str] = []
    for theme, exact, prefixes, phrases in _theme_matchers(compiled):
        if theme in found:
            continue
        if (not vocabulary.isdisjoint(exact)
                or (prefixes and any(token.startswith(prefixes) for token in vocabulary))
                or any(_keyword_in(tokens, vocabulary, phrase) for phrase in phrases)):
            found.append(theme)
    return found


@dataclass(frozen=True)
class Scored:
    category: str | None
    sentiment_polarity: float
    sentiment_label: str
    themes: tuple[str, ...]


def score_response(
    kind: str,
    score: int | None,
    comment: str | None,
    taxonomy: Mapping[str, Iterable[str]] | None = None,
) -> Scored:
    """Everything derived from one response. Raises ValueError for a bad kind or score."""
    category = categorize(kind, score)
    sentiment = analyze_sentiment(comment)
    return Scored(
        category=category,
        sentiment_polarity=sentiment.polarity,
        sentiment_label=sentiment.label,
        themes=tuple(detect_themes(comment, taxonomy)),
    )
