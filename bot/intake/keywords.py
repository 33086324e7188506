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
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})
# Contractions typed without the apostrophe ("doesnt work", "cant login", "wont open"): usual in app
# reviews, tweets and mobile survey answers. Restored so the keywords and cues written with the
# apostrophe match them too. One compiled scan; only the matched words are looked up.
_BARE_CONTRACTIONS = {
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "wont": "won't",
    "isnt": "isn't", "wasnt": "wasn't", "arent": "aren't", "werent": "weren't", "havent": "haven't",
    "hasnt": "hasn't", "hadnt": "hadn't", "couldnt": "couldn't", "wouldnt": "wouldn't", "shouldnt": "shouldn't",
}
_BARE_CONTRACTION_RE = re.compile(r"\b(?:" + "|".join(_BARE_CONTRACTIONS) + r")\b")

# Words that deny what follows: "no bugs", "never crashes", "without any downtime", "isn't slow".
NEGATORS: frozenset[str] = frozenset({
    "no", "not", "never", "without", "nothing", "none", "zero", "nor", "neither", "hardly", "barely",
    "cannot", "cant", "dont", "doesnt", "didnt", "wont", "isnt", "wasnt", "arent", "werent", "havent",
    "hasnt", "hadnt", "aint", "couldnt", "wouldnt", "shouldnt",
})
# How many words before a keyword a denial reaches ("never had a single crash").
NEGATION_WINDOW = 4
# A problem someone has already dealt with is not a problem reported: "support resolved our issue",
# "they fixed the crash". Past forms only: "please fix the crash" still reports one. A denied resolution
# reports it again ("they never fixed the crash", "hasn't solved my problem"): the denial belongs to the
# verb, not to the problem (negation scope: Councill, McDonald & Velikovich, "What's great and what's not:
# learning to classify the scope of negation for improved sentiment analysis", NeSp-NLP 2010).
RESOLVED: frozenset[str] = frozenset({
    "resolved", "fixed", "solved", "sorted", "addressed", "handled", "squashed", "cleared", "corrected",
    "repaired", "patched",
})
# The same verbs asked for or denied ("please fix", "didn't solve"): a denial before them is theirs.
TO_RESOLVE: frozenset[str] = frozenset({"resolve", "fix", "solve", "sort", "address", "repair", "patch", "correct"})
_RESOLUTION_VERBS = RESOLVED | TO_RESOLVE

# A compiled keyword: its tokens, and whether the last token is a prefix.
Keyword = tuple[tuple[str, ...], bool]
T = TypeVar("T")


def tokenize(text: str | None) -> list[str]:
    """Lower-case word tokens: 'Doesn’t work!' -> ["doesn't", 'work']."""
    if not text:
        return []
    text = text.translate(APOSTROPHES).lower()
    if "nt" in text:
        text = _BARE_CONTRACTION_RE.sub(lambda match: _BARE_CONTRACTIONS[match.group()], text)
    return _TOKEN_RE.findall(text)


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
    """Many keywords, found in one pass over the tokens: a word trie (nested dicts, one per word), so a
    token costs one dict lookup however many phrases start with it ("please add", "please include", …);
    a prefix last word ("crash*", "force close*") is tried with `str.startswith` at its node. The cost
    grows with the comment, not with the taxonomy."""

    def __init__(self, keywords: Iterable[tuple[Keyword, T]]):
        # node: {word: (child node, [(order, keyword, tag) ending here], [(stem, order, keyword, tag)])}
        self._root: dict[str, tuple[dict, list, list]] = {}
        self._root_prefixes: list[tuple[str, int, Keyword, T]] = []
        for order, (keyword, tag) in enumerate(keywords):
            words, prefix = keyword
            node, prefixes = self._root, self._root_prefixes
            for word in words[:-1]:
                child = node.setdefault(word, ({}, [], []))
                node, prefixes = child[0], child[2]
            if prefix:
                prefixes.append((words[-1], order, keyword, tag))
            else:
                node.setdefault(words[-1], ({}, [], []))[1].append((order, keyword, tag))
        self._prefix_starts = tuple(stem for stem, _, _, _ in self._root_prefixes)

    def find(self, tokens: list[str]) -> list[tuple[int, Keyword, T]]:
        """(start, keyword, tag) of every match, in text order (keywords in index order at one position)."""
        found: list[tuple[int, Keyword, T]] = []
        count = len(tokens)
        for start, token in enumerate(tokens):
            here: list[tuple[int, Keyword, T]] = []
            if self._prefix_starts and token.startswith(self._prefix_starts):
                here.extend((order, keyword, tag) for stem, order, keyword, tag in self._root_prefixes
                            if token.startswith(stem))
            entry = self._root.get(token)
            position = start
            while entry is not None:
                children, ending, prefixes = entry
                here.extend(ending)
                position += 1
                if position >= count:
                    break
                following = tokens[position]
                if prefixes:
                    here.extend((order, keyword, tag) for stem, order, keyword, tag in prefixes
                                if following.startswith(stem))
                entry = children.get(following)
            if here:
                if len(here) > 1:
                    here.sort(key=lambda match: match[0])
                found.extend((start, keyword, tag) for _, keyword, tag in here)
        return found


def negated_at(tokens: list[str], start: int, length: int = 1, window: int = NEGATION_WINDOW) -> bool:
    """Whether a denial stands within `window` words before the match at `start`, or "free" right after it
    ("bug free", "crash-free"), or the problem is reported as dealt with ("fixed the crash", "the issue was
    resolved"); a denied or asked-for fix denies nothing ("never fixed the crash", "please fix the crash")."""
    end = start + length
    if end < len(tokens) and tokens[end] == "free":
        return True
    if _resolved_after(tokens, end):
        return True
    first = max(0, start - window)
    for verb in range(start - 1, first - 1, -1):
        if tokens[verb] in _RESOLUTION_VERBS:
            # "fixed the crash": dealt with; "never fixed the crash", "hasn't fixed it", "didn't solve the
            # problem", "please fix the crash": still there.
            if any(is_negator(token) for token in tokens[max(0, verb - 3):verb]):
                return False
            return tokens[verb] in RESOLVED or any(is_negator(token) for token in tokens[verb + 1:start])
    for position in range(first, start):
        if is_negator(tokens[position]):
            # "if the app didn't crash every time": a wish that the failure stopped reports it (counterfactual).
            return not ("if" in tokens[max(0, position - 4):position] and tokens[position] in COUNTERFACTUAL_DENIALS)
    return False


# Denials that, after "if", wish a failure away instead of denying it ("if the app didn't crash").
COUNTERFACTUAL_DENIALS = frozenset({"didn't", "wouldn't", "wasn't", "weren't"})

# "the issue was resolved quickly", "the crash has been fixed", "bug got squashed": a problem reported
# as dealt with. Not a wish or a plan ("needs to be fixed", "should be fixed", "when it gets fixed").
_RESOLVED_AUX = frozenset({"was", "were", "got", "has", "have", "had", "been", "is", "are", "now", "finally",
                           "already", "quickly", "promptly", "eventually", "fully", "completely", "all"})


def _resolved_after(tokens: list[str], end: int) -> bool:
    position = end
    while position < len(tokens) and position < end + 4:
        token = tokens[position]
        if token in RESOLVED:
            return position > end  # "crash fixed" alone is a headline, not a sentence: needs its verb
        if token not in _RESOLVED_AUX:
            return False
        position += 1
    return False


# "couldn't run our agency without it", "can't live without this app": what cannot be done without the
# product is praise of it, not a failure (a counterfactual of dependence). Only these objects: "can't log
# in without it crashing" has a verb after the pronoun.
_DEPENDED_ON = frozenset({"it", "this", "you", "them", "cxloop", "y'all", "u"})


def dependent_on(tokens: list[str], start: int, window: int = 7) -> str | None:
    """The object of "without" when the inability at `start` depends on the product: "it" in "couldn't
    run our agency without it"; None otherwise."""
    for position in range(start + 1, min(len(tokens) - 1, start + window)):
        if tokens[position] == "without":
            following = tokens[position + 1]
            # "without you guys fixing this": a verb after the pronoun (its fillers skipped) is a condition.
            after = [t for t in tokens[position + 2:position + 5] if t not in ("guys", "folks", "all", "people", "team")]
            if following in _DEPENDED_ON and not any(t.endswith("ing") for t in after[:2]):
                return following
            return None
    return None


def phrase_at(tokens: list[str], start: int, keyword: Keyword) -> str:
    """The words of the text that matched (the prefix keyword 'crash*' shows as 'crashing')."""
    return " ".join(tokens[start:start + len(keyword[0])])
