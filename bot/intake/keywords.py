"""Words and phrases in a comment: one tokenizer and one phrase matcher for themes and sentiment cues.

No NLTK: tokenising is a single regex so it works offline and stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Generic, TypeVar

# Letters/digits (any script) with apostrophes allowed only *inside* a word ("doesn't"),
# so quotes around a word are not part of it. Underscore is excluded from \w on purpose.
_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Typographic apostrophes are normalised so "doesn’t" and "doesn't" match the same keyword.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})

# Words that deny what follows: "no bugs", "never crashes", "without any downtime", "isn't slow".
NEGATORS: frozenset[str] = frozenset({
    "no", "not", "never", "without", "nothing", "none", "zero", "nor", "neither", "hardly", "barely",
    "cannot", "cant", "dont", "doesnt", "didnt", "wont", "isnt", "wasnt", "arent", "werent", "havent",
    "hasnt", "hadnt", "aint", "couldnt", "wouldnt", "shouldnt",
})
# How many words before a keyword a denial reaches ("never had a single crash").
NEGATION_WINDOW = 4

# A compiled keyword: its tokens, and whether the last token is a prefix.
Keyword = tuple[tuple[str, ...], bool]
T = TypeVar("T")


def tokenize(text: str | None) -> list[str]:
    """Lower-case word tokens: 'Doesn’t work!' -> ["doesn't", 'work']."""
    if not text:
        return []
    return _TOKEN_RE.findall(text.translate(_APOSTROPHES).lower())


def is_negator(token: str) -> bool:
    return token in NEGATORS or token.endswith("n't")


def compile_keyword(owner: str, keyword: str) -> Keyword:
    """'crash*' -> (('crash',), True). Raises ValueError naming `owner` when the keyword has no words."""
    raw = keyword.strip()
    prefix = raw.endswith("*")
    tokens = tuple(tokenize(raw.rstrip("*")))
    if not tokens:
        raise ValueError(f"{owner}: keyword {keyword!r} has no words")
    return tokens, prefix


class KeywordIndex(Generic[T]):
    """Many keywords, found in one pass over the tokens: keywords are looked up by their first word (a
    dict) or, for a one-word prefix ("crash*"), by `str.startswith` with a tuple, so the cost grows with
    the comment, not with the taxonomy."""

    def __init__(self, keywords: Iterable[tuple[Keyword, T]]):
        self._by_first: dict[str, list[tuple[Keyword, T]]] = {}
        prefixes: list[tuple[str, Keyword, T]] = []
        for keyword, tag in keywords:
            words, prefix = keyword
            if len(words) == 1 and prefix:
                prefixes.append((words[0], keyword, tag))
            else:
                self._by_first.setdefault(words[0], []).append((keyword, tag))
        self._prefixes = tuple(prefixes)
        self._prefix_starts = tuple(stem for stem, _, _ in prefixes)

    def find(self, tokens: list[str]) -> list[tuple[int, Keyword, T]]:
        """(start, keyword, tag) of every match, in text order (keywords in index order at one position)."""
        found: list[tuple[int, Keyword, T]] = []
        for start, token in enumerate(tokens):
            for keyword, tag in self._by_first.get(token, ()):
                words, prefix = keyword
                end = start + len(words)
                if end <= len(tokens) and all(
                        (tokens[start + i].startswith(w) if prefix and i == len(words) - 1 else tokens[start + i] == w)
                        for i, w in enumerate(words[1:], 1)):
                    found.append((start, keyword, tag))
            if self._prefix_starts and token.startswith(self._prefix_starts):
                found.extend((start, keyword, tag) for stem, keyword, tag in self._prefixes if token.startswith(stem))
        return found


def negated_at(tokens: list[str], start: int, length: int = 1, window: int = NEGATION_WINDOW) -> bool:
    """Whether a denial stands within `window` words before the match at `start`, or "free" right after it
    ("bug free", "crash-free")."""
    end = start + length
    if end < len(tokens) and tokens[end] == "free":
        return True
    return any(is_negator(token) for token in tokens[max(0, start - window):start])


def phrase_at(tokens: list[str], start: int, keyword: Keyword) -> str:
    """The words of the text that matched (the prefix keyword 'crash*' shows as 'crashing')."""
    return " ".join(tokens[start:start + len(keyword[0])])
