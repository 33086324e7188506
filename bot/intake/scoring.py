"""Turn a raw survey score and comment into what the Slack message shows and routes on.

Pure functions: category from the score, sentiment from the comment (and the score), themes from a
keyword taxonomy, each with the words that decided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.common.vocabulary import (
    _UPPER_BOUNDS,
    DEFAULT_THEMES,
    NEGATABLE_THEMES,
    SCORE_RANGES,
    SentimentWords,
)
from bot.intake.keywords import (
    Keyword,
    KeywordIndex,
    compile_keyword,
    is_negator,
    negated_at,
    phrase_at,
    tokenize,
)
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


CompiledTaxonomy = tuple[tuple[str, tuple[Keyword, ...]], ...]


def compile_taxonomy(taxonomy: Mapping[str, Iterable[str]]) -> CompiledTaxonomy:
    """Validate and pre-tokenise a taxonomy. Call it at config load to fail fast on bad keywords."""
    compiled: list[tuple[str, tuple[Keyword, ...]]] = []
    for theme, keywords in taxonomy.items():
        # A bare string would otherwise be iterated character by character.
        items = (keywords,) if isinstance(keywords, str) else tuple(keywords)
        compiled.append((theme, tuple(compile_keyword(f"theme {theme!r}", k) for k in items)))
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


@lru_cache(maxsize=8)
def _theme_index(compiled: CompiledTaxonomy) -> KeywordIndex[str]:
    return KeywordIndex((keyword, theme) for theme, keywords in compiled for keyword in keywords)


def match_themes(text: str | None, taxonomy: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """{theme: the words that matched first}, in taxonomy order: "It keeps crashing" -> {"bugs": "crashing"}.

    Keywords of the problem themes (bugs, performance, reliability, data_loss, churn_risk) do not count
    right after a denial ("no bugs", "never had a crash", "not cancelling") or before "free" ("bug-free").
    """
    tokens = tokenize((text or "")[:MAX_THEME_CHARS])
    if not tokens:
        return {}
    compiled = _default_compiled() if taxonomy is None else _compiled_for(taxonomy)
    found: dict[str, str] = {}
    for start, keyword, theme in _theme_index(compiled).find(tokens):
        words = keyword[0]
        if theme in found or (theme in NEGATABLE_THEMES and not is_negator(words[0])
                              and negated_at(tokens, start, len(words))):
            continue
        found[theme] = phrase_at(tokens, start, keyword)
    return {theme: found[theme] for theme, _ in compiled if theme in found}


def detect_themes(text: str | None, taxonomy: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Theme names whose keywords appear in `text`, in taxonomy order, each once."""
    return list(match_themes(text, taxonomy))


@dataclass(frozen=True)
class Scored:
    category: str | None
    sentiment_polarity: float
    sentiment_label: str
    themes: tuple[str, ...]
    # Why the sentiment is what it is ("complaint: 'never replied'"), and the words each theme matched.
    sentiment_reason: str = ""
    theme_matches: tuple[tuple[str, str], ...] = ()


def score_response(
    kind: str,
    score: int | None,
    comment: str | None,
    taxonomy: Mapping[str, Iterable[str]] | None = None,
    words: SentimentWords | None = None,
) -> Scored:
    """Everything derived from one response. Raises ValueError for a bad kind or score.

    The score's category informs the sentiment: a detractor's comment is not positive unless the text
    clearly is. `words` are the team's own sentiment words ([sentiment] in the config).
    """
    category = categorize(kind, score)
    sentiment = analyze_sentiment(comment, category=category, words=words)
    matches = match_themes(comment, taxonomy)
    return Scored(
        category=category,
        sentiment_polarity=sentiment.polarity,
        sentiment_label=sentiment.label,
        themes=tuple(matches),
        sentiment_reason=sentiment.reason,
        theme_matches=tuple(matches.items()),
    )
