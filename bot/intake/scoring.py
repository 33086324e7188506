"""Turn a raw survey score and comment into what the Slack message shows and routes on.

Pure functions: category from the score, sentiment from the comment (and the score), themes from a
keyword taxonomy, each with the words that decided it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.common.vocabulary import (
    _UPPER_BOUNDS,
    DEFAULT_THEMES,
    LOSS_ADJECTIVE_AFTER,
    LOSS_BREAKS,
    LOSS_STATES,
    LOSS_SUBJECTS,
    LOSS_VERBS,
    NEGATABLE_THEMES,
    REQUEST_ABOUT_FAILURE,
    REQUEST_ADVICE_WORDS,
    REQUEST_CONDEMNATION,
    REQUEST_CONDITIONS,
    REQUEST_DETERMINERS,
    REQUEST_FAILED_OPERATIONS,
    REQUEST_GREETINGS,
    REQUEST_IMPERATIVE_VERBS,
    REQUEST_NEGATION_WINDOW,
    REQUEST_NOT_A_FEATURE,
    REQUEST_NOUN_VERBS,
    REQUEST_OBJECT_STARTERS,
    REQUEST_PARTICIPLES,
    REQUEST_POSTPOSED,
    REQUEST_PRODUCT_OBJECTS,
    REQUEST_PROPOSING_COMPLEMENTS,
    REQUEST_RATING_DEGREES,
    REQUEST_RATING_WORDS,
    REQUEST_REGRET_VERBS,
    REQUEST_SERVICE_PHRASES,
    REQUEST_SUBJECT_VERBS,
    REQUEST_SUPPORTED_PEOPLE,
    REQUEST_THEMES,
    REQUEST_VAGUE_VERBS,
    REQUEST_WISH_ADDRESSEES,
    SCORE_RANGES,
    STORED_WORK,
    SentimentWords,
)
from bot.intake.keywords import (
    Keyword,
    KeywordIndex,
    compile_keyword,
    dependent_on,
    is_negator,
    negated_at,
    phrase_at,
    tokenize,
)
from bot.intake.sentiment import TextSentiment, read_sentiment, with_category

# Themes only need the gist; a pasted log of megabytes must not stall the webhook.
MAX_THEME_CHARS = 20_000
# "Add a widget." / "Please include a search. Needs a dark mode": a sentence opening with a verb of adding.
_IMPERATIVE_ASK = re.compile(
    r"(?:^|[.!?;:\n)(]\s*)(?:(?:please|pls|plz)\s+)?(" + "|".join(
        r"\s+".join(map(re.escape, verb.split())) for verb in REQUEST_IMPERATIVE_VERBS) + r")\b",
    re.IGNORECASE)


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
def _default_compiled() -> tuple[CompiledTaxonomy, KeywordIndex[str]]:
    compiled = compile_taxonomy(DEFAULT_THEMES)
    return compiled, _theme_index(compiled)


def _compiled_for(taxonomy: Mapping[str, Iterable[str]]) -> tuple[CompiledTaxonomy, KeywordIndex[str]]:
    # Compiling tokenises every keyword: once per taxonomy, not once per webhook (it was ~1/3 of intake).
    key = tuple((theme, (keywords,) if isinstance(keywords, str) else tuple(keywords))
                for theme, keywords in taxonomy.items())
    return _compiled_by_content(key)


@lru_cache(maxsize=8)
def _compiled_by_content(key: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[CompiledTaxonomy, KeywordIndex[str]]:
    compiled = compile_taxonomy(dict(key))
    return compiled, _theme_index(compiled)


def _theme_index(compiled: CompiledTaxonomy) -> KeywordIndex[str]:
    # Built once per taxonomy and kept beside it: hashing the compiled taxonomy on every comment (an
    # lru_cache key) cost more than matching once the taxonomy held a thousand phrases.
    return KeywordIndex((keyword, theme) for theme, keywords in compiled for keyword in keywords)


def match_themes(text: str | None, taxonomy: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """{theme: the words that matched first}, in taxonomy order: "It keeps crashing" -> {"bugs": "crashing"}.

    Keywords of the problem themes (bugs, performance, reliability, data_loss, churn_risk) do not count
    right after a denial ("no bugs", "never had a crash", "not cancelling") or before "free" ("bug-free");
    a feature request does not count right after a denial ("doesn't allow me to") or when it asks for the
    product to work ("would be 5 stars if it worked": that is a bug).
    """
    tokens = tokenize((text or "")[:MAX_THEME_CHARS])
    if not tokens:
        return {}
    compiled, index = _default_compiled() if taxonomy is None else _compiled_for(taxonomy)
    found: dict[str, str] = {}
    found_at: dict[str, tuple[int, int]] = {}
    for start, keyword, theme in index.find(tokens):
        words = keyword[0]
        # The first match of a theme is kept; a longer phrase at the same word wins ("fails to save").
        if theme in found and not (found_at[theme][0] == start and len(words) > found_at[theme][1]):
            continue
        if theme in NEGATABLE_THEMES and not is_negator(words[0]) and negated_at(tokens, start, len(words)):
            continue
        if theme in NEGATABLE_THEMES and is_negator(words[0]) and dependent_on(tokens, start):
            continue  # "couldn't run our agency without it": dependence, not a failure
        if theme in REQUEST_THEMES and _not_an_ask(tokens, start, len(words)):
            continue
        if _topic_look_alike(theme, tokens, start, words):
            continue
        found[theme] = phrase_at(tokens, start, keyword)
        found_at[theme] = (start, len(words))
    if DATA_LOSS not in found and any(name == DATA_LOSS for name, _ in compiled):
        lost = data_loss_at(tokens)
        if lost:
            found[DATA_LOSS] = lost
    for theme in REQUEST_THEMES:
        if theme not in found and any(name == theme for name, _ in compiled):
            ask = _imperative_ask(text[:MAX_THEME_CHARS])
            if ask:
                found[theme] = ask
    return {theme: found[theme] for theme, _ in compiled if theme in found}


DATA_LOSS = "data_loss"
# "Does it support SSO?", "we need it to support Xero": the verb, not the support team.
_AUXILIARIES = frozenset({"does", "do", "did", "will", "would", "can", "could", "should", "doesn't", "don't",
                          "didn't", "won't", "can't", "cannot"})
_SUPPORT_AS_VERB = _AUXILIARIES | {"to", "it", "not", "also", "that", "which", "they", "you", "please", "must",
                                   "officially", "fully", "natively"}
_SUPPORT_DOES = frozenset({"team", "teams", "staff", "agent", "agents", "rep", "reps", "call", "help", "answer",
                           "reply", "respond", "get", "look", "contact", "fix", "check", "explain", "tell", "email",
                           "ticket", "tickets", "chat", "line", "person", "people", "was", "is", "were", "are"})
# What "this"/"as" compares when a wish praises by comparison ("were this responsive", "had been this smooth").
_PRAISED_QUALITIES = frozenset({"responsive", "smooth", "easy", "fast", "good", "great", "helpful", "simple",
                                "reliable", "intuitive", "quick", "nice", "friendly", "clear", "painless", "well"})
# What a cancellation is of when it is not the customer leaving ("had to cancel and reorder", "cancel the
# appointment"), and what a speed is of when it is the service, not the product ("support could respond
# faster", "fast shipping").
_CANCELLED_ERRANDS = frozenset({"order", "orders", "reorder", "appointment", "appointments", "booking", "meeting",
                                "call", "transfer", "payment", "shipment", "delivery", "flight", "reservation",
                                "rebook", "request", "ticket", "invite", "invitation", "consultation", "session",
                                "visit", "class", "event", "webinar", "demo", "trip"})
_SERVICE_SPEED = frozenset({"respond", "response", "responses", "responded", "reply", "replies", "replied", "answer",
                            "answered", "support", "shipping", "delivery", "shipped", "delivered", "ships", "refund",
                            "team", "agent", "agents", "pricing", "price", "prices", "cost", "costs", "bill",
                            "bills", "renewal", "invoice"})
_EMAIL_FEATURES = frozenset({"page", "link", "links", "button", "rate", "rates", "flow", "form", "footer", "list",
                             "header", "settings"})


def _topic_look_alike(theme: str, tokens: list[str], start: int, words: tuple[str, ...]) -> bool:
    """A keyword in a use that is not the theme's topic (see the sets above)."""
    if theme == "support" and words in (("support",), ("supports",)):
        following = tokens[start + 1] if start + 1 < len(tokens) else ""
        if following == "for":
            return True  # "support for monorepos": a capability, not the team
        # "does it support SSO", "does the platform support SSO": an auxiliary a few words back; but "can
        # support call me back", "will support help": the team, doing something.
        if following in _SUPPORT_DOES:
            return False
        return bool(start) and (tokens[start - 1] in _SUPPORT_AS_VERB
                                or any(token in _AUXILIARIES for token in tokens[max(0, start - 3):start]))
    if theme == "churn_risk" and words[0].startswith("cancel"):
        if start and tokens[start - 1] in ("was", "were", "got", "been", "be", "is", "are"):
            return True  # "a consultation that was cancelled by the clinic": done to the customer
        if "other" in tokens[start + len(words):start + len(words) + 2]:
            return True  # "cancelled my other subscriptions because this does everything": leaving others
        return any(token in _CANCELLED_ERRANDS for token in tokens[max(0, start - 4):start + 5])
    if theme == "churn_risk" and words[0].startswith("unsubscribe"):
        return tokens[start + 1:start + 2] != [] and tokens[start + 1] in _EMAIL_FEATURES  # "the unsubscribe page"
    if theme == "security" and words == ("spam",):
        # Deliverability ("land in Gmail spam", "marked as spam", "the spam folder"), not an attack.
        return bool(start) and tokens[start - 1] in ("in", "to", "as", "gmail", "junk", "outlook") or (
            tokens[start + 1:start + 2] in (["folder"], ["folders"], ["filter"], ["filters"], ["score"]))
    if theme == "performance" and words[0] in ("fast", "faster", "slow", "slower", "quick", "quickly"):
        return any(token in _SERVICE_SPEED for token in tokens[max(0, start - 3):start + 5])
    return False


def data_loss_at(tokens: list[str]) -> str | None:
    """Stored work reported lost, with words between: "lost two days of timesheet entries", "wiped the
    attached files", "silently drops records", "our workspace history from 2024 is gone". A verb of losing
    then a noun of stored work within a few words, or the noun then "is/are/was gone|missing|deleted";
    not after a denial ("never lost any data"), nor what the speaker did ("we deleted the old files")."""
    for position, token in enumerate(tokens):
        before = tokens[position - 1] if position else ""
        if token in LOSS_VERBS:
            if before in ("i", "we", "you") and token not in ("lost", "lose"):
                continue  # "we deleted the old files": what the speaker did
            if token == "lost" and before in LOSS_ADJECTIVE_AFTER:
                continue  # "I feel lost", "new users get lost"
            stored, gap = _lost_object(tokens, position + 1)
            if stored is None or negated_at(tokens, position):
                continue
            if not gap and before not in LOSS_SUBJECTS:
                continue  # "recover deleted records", "Deleted files can be restored": an adjective
            if token.startswith("drop") and any(t in ("into", "onto", "here") for t in tokens[position + 2:position + 6]):
                continue  # "dropping files into the uploader": drag and drop
            return f"{token} … {stored}" if gap else f"{token} {stored}"
        elif token in STORED_WORK:
            following = tokens[position + 1:position + 6]
            for index, word in enumerate(following[:-1]):
                if word in ("is", "are", "was", "were", "got", "been") and following[index + 1] in LOSS_STATES:
                    state_at = position + 1 + index + 1
                    lacking = tokens[state_at + 1:state_at + 2] in (["a"], ["an"], ["the"], ["some"], ["any"])
                    if not negated_at(tokens, state_at) and not lacking:  # "notes are missing a due date": a lack
                        return f"{token} … {word} {following[index + 1]}"
                    break
    return None


def _lost_object(tokens: list[str], start: int) -> tuple[str | None, bool]:
    """The stored work a verb of losing takes within five words (and whether words stand between), up to
    a preposition, a conjunction, an idiom's object or another verb ("lose time re-typing contacts")."""
    for offset, token in enumerate(tokens[start:start + 5]):
        if token in STORED_WORK and not (offset and token in ("work", "progress")):  # "lost a week of work to the flu"
            return token, offset > 0
        if token in LOSS_BREAKS or token.endswith("ing"):
            return None, False
    return None, False


def _imperative_ask(text: str) -> str | None:
    """The verb of the first sentence that opens with a request ("Add a widget."), if it is one."""
    for match in _IMPERATIVE_ASK.finditer(text):
        verb = tokenize(match.group(1))
        after = tokenize(text[match.end():match.end() + 60])
        if verb[-1] in REQUEST_NOUN_VERBS and (not after or after[0] not in REQUEST_OBJECT_STARTERS):
            continue  # "Support took four days": a noun, the subject
        if len(verb) == 1 and len(after) > 1 and (after[1] in REQUEST_SUBJECT_VERBS or (
                after[0] in ("for", "of") and len(after) > 2 and after[2] in REQUEST_SUBJECT_VERBS)):
            continue  # "Enable button is greyed out", "Support for monorepos is excellent": the subject
        if not _not_an_ask(verb + after, 0, len(verb)):
            return " ".join(verb)
    return None


def _not_an_ask(tokens: list[str], start: int, length: int) -> bool:
    """ "doesn't allow me to", "you shouldn't add"; "would be 5 stars if it worked", "please make it work";
    "I'd like a refund"; "should have bought another one"; and the look-alikes of vocabulary.REQUEST_*:
    rating hyperbole, regret, greetings, advice to other users, backing the makers, condemnation,
    comparisons ("works as it should", "more options than"), "why can't I log in"."""
    end = start + length
    words = tokens[start:end]
    after = tokens[end:end + 4]
    if not is_negator(tokens[start]) and any(is_negator(t) for t in tokens[max(0, start - REQUEST_NEGATION_WINDOW):start]):
        return True
    if any(token in REQUEST_ABOUT_FAILURE for token in after):
        return True
    if after[:1] in (["if"], ["when"]) and any(token in REQUEST_ABOUT_FAILURE for token in tokens[end:end + 8]):
        return True  # "it would be great if the app didn't crash every time": a bug, phrased as a wish
    thing = next((token for token in after[:3] if token not in REQUEST_DETERMINERS), None)
    if thing in REQUEST_NOT_A_FEATURE:
        return True
    if after and words[-1] in ("have", "had") and (
            after[0] in REQUEST_PARTICIPLES or (len(after[0]) > 3 and after[0].endswith(("ed", "en")))):
        return True
    if after and after[0] == "than":  # "it has more options than any other", "would be much better than X"
        return True
    following = tokens[end:end + 10]
    if any(tuple(following[i:i + len(phrase)]) == phrase for phrase in REQUEST_SERVICE_PHRASES
           for i in range(len(following))):
        return True  # "it would be nice if someone could call me back": a service, not a feature
    return _only_looks_like_an_ask(tokens, start, end, words, after)


def _past(token: str) -> bool:
    """A past tense or participle: the irregular ones listed, the regular ones by their ending."""
    return token in REQUEST_PARTICIPLES - {"let", "put", "had"} or (len(token) > 3 and token.endswith("ed"))


def _only_looks_like_an_ask(tokens: list[str], start: int, end: int, words: list[str], after: list[str]) -> bool:
    """True when the match is one of the constructions that only look like an ask (see _not_an_ask)."""
    if REQUEST_RATING_WORDS.intersection(words) or (words[-1] in ("5", "five") and after[:1] and after[0] in REQUEST_RATING_WORDS):
        # A rating conditional asks only with a condition that is not the rater's own ("if I could").
        rest = after[1:] if after and after[0] in REQUEST_RATING_WORDS else after
        condition = rest if words[-1] in REQUEST_CONDITIONS else rest[1:] if rest and rest[0] in REQUEST_CONDITIONS else None
        return condition is None or condition[:2] == ["i", "could"] or condition[:2] == ["i", "can"] or (
            condition[:1] == ["possible"])
    following = tokens[end:end + 8]
    if any(token in REQUEST_RATING_WORDS and i and (following[i - 1] in REQUEST_RATING_DEGREES or following[i - 1].isdigit())
           for i, token in enumerate(following)):
        return True  # "I wish I could give it zero stars", "if there was a 0 star option"
    if "wish" in words:
        wished_at = start + words.index("wish") + 1
        wished, clause = tokens[wished_at:wished_at + 4], tokens[wished_at:wished_at + 9]
        if wished[:1] in (["i"], ["we"]) and len(wished) > 1 and (
                wished[1] in REQUEST_REGRET_VERBS or _past(wished[1])
                or (wished[1] == "had" and wished[2:3] and _past(wished[2]))
                or (wished[1] == "could" and wished[2:3] in (["give"], ["rate"]))):
            return True  # "I wish I had found it sooner", "I wish I never downloaded it"
        if wished[:1] in (["i'd"], ["we'd"]) and len(wished) > 1 and _past(wished[1]):
            return True  # "I wish I'd switched sooner": the contracted past perfect, regret
        if any(token in ("this", "as") and following in _PRAISED_QUALITIES
               for token, following in zip(clause, clause[1:], strict=False)):
            return True  # "I wish the rest of our vendors were this responsive": praise by comparison
        if any(token in ("happy", "merry", "best", "luck", "success", "congratulations") for token in clause[:5]):
            return True  # "I wish your team a happy holiday season": a greeting
        if wished[:1] and wished[0] in REQUEST_WISH_ADDRESSEES:
            greeting = [token for token in wished[1:] if token not in ("guys", "all", "both", "folks")][:1]
            if wished[1:2] == ["all"] or (greeting and greeting[0] in REQUEST_GREETINGS):
                return True
    if words[-1] in ("suggest", "recommend"):
        for token in after[:3]:
            if token in REQUEST_ADVICE_WORDS:
                return True
            if token.startswith(("add", "includ", "implement")):
                break
    if words[-1] == "support" and (any(token in REQUEST_SUPPORTED_PEOPLE for token in after[:2])
                                   or after[:1] in (["my"], ["our"])):
        return True  # "support the developers"; "doesn't support my phone" is a compatibility problem
    if "should" in words:
        if any(token in ("as", "like", "what") for token in tokens[max(0, start - 2):start]):
            return True  # "works as it should", "does what it should"
        # "It should sync by itself but it doesn't": an expectation then its denial is a bug report; "it
        # should have a widget but it doesn't" stays an ask (what it should have, it lacks).
        clause = tokens[end:end + 10] if words[-1] == "should" and after[:1] and after[0] not in (
            "have", "let", "allow", "support", "include", "offer", "be", "add", "also") else []
        for i, token in enumerate(clause):
            if token in ("but", "however", "instead") and (token == "instead" or any(
                    is_negator(t) or t == "instead" for t in clause[i + 1:i + 4])):
                return True
        if after[:1] == ["be"] and after[1:2] and after[1] in REQUEST_CONDEMNATION:
            return True
    if words[-1] in REQUEST_VAGUE_VERBS:
        rest = [token for token in after if token not in REQUEST_DETERMINERS]
        if rest and rest[0] in REQUEST_PRODUCT_OBJECTS:
            complement = next((token for token in rest if token not in REQUEST_PRODUCT_OBJECTS), None)
            if complement not in REQUEST_PROPOSING_COMPLEMENTS:
                return True  # "please improve the app", "make it better"
    if REQUEST_POSTPOSED.intersection(words) and any(
            token in REQUEST_ABOUT_FAILURE for token in tokens[max(0, start - 4):start]):
        return True  # "hope it gets fixed in the next version"
    if words[:1] == ["let"] and after[:1] == ["be"]:
        return True  # "let me be honest", "let us be clear": a manner of speaking
    if words[-2:] == ["no", "way"] and after[:1] not in (["to"], ["of"]):
        return True  # "there's no way I'm paying": a refusal; "there's no way to export" names a lack
    if "why" in words and after[:1] and after[0] in REQUEST_FAILED_OPERATIONS:
        return True
    return words == ["would", "pay", "for"] and after[:1] in (["this"], ["it"], ["that"])


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
    return scored_as(category, read_comment(comment, taxonomy, words))


@dataclass(frozen=True)
class CommentReading:
    """What score_response reads in a comment whatever the score: its themes and its words' sentiment."""

    matches: tuple[tuple[str, str], ...]
    text: TextSentiment


def read_comment(comment: str | None, taxonomy: Mapping[str, Iterable[str]] | None = None,
                 words: SentimentWords | None = None) -> CommentReading:
    matches = match_themes(comment, taxonomy)
    return CommentReading(matches=tuple(matches.items()),
                          text=read_sentiment(comment, words=words, request=matches.get("feature_request", False),
                                              problem=matches.get(DATA_LOSS)))


def scored_as(category: str | None, reading: CommentReading) -> Scored:
    """score_response of a comment read by read_comment, given the score's category."""
    sentiment = with_category(reading.text, category)
    return Scored(
        category=category,
        sentiment_polarity=sentiment.polarity,
        sentiment_label=sentiment.label,
        themes=tuple(theme for theme, _ in reading.matches),
        sentiment_reason=sentiment.reason,
        theme_matches=reading.matches,
    )
