"""Comment sentiment that reads like a CX person: negative / neutral / positive / mixed, with the reason.

This is the only module that imports textblob (and vaderSentiment). Both are lexicons that work
offline; neither is the verdict alone:
- VADER (`vaderSentiment`, MIT) reads negation, "but", intensifiers, caps and emoticons; TextBlob's
  PatternAnalyzer polarity is a second opinion. Negative first: if either reads the text as negative
  and the other does not read it as clearly positive, it is negative (complaints are what a CX team
  must not miss).
- Complaint cues: customer-service language that the lexicons score as neutral or even positive
  ("never replied", "still waiting", "can't export", "since Monday", "keeps crashing", "too slow").
- Mixed: one part of the comment clearly praises and another clearly complains ("support was great
  but the app keeps crashing").
- The survey score: a detractor's comment is not positive unless the text clearly is, and a neutral
  comment takes the score's side.
- A team's own words ([sentiment] in the config) decide before all of this.
- Comments not in English are "not analysed (language)" instead of a meaningless "neutral".
`reason` names the words or cue that decided, for the Slack message and the dashboard.

We use just textblob's default PatternAnalyzer polarity (its lexicon, `textblob.en.sentiment`): `.words`, `.sentences`, `.tags`,
`.noun_phrases` and NaiveBayesAnalyzer need NLTK corpora we cannot download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from textblob.en import sentiment as pattern_sentiment
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.common.vocabulary import DATA_LOSS_PHRASES, SentimentWords
from bot.intake.keywords import (
    APOSTROPHES,
    COUNTERFACTUAL_DENIALS,
    Keyword,
    KeywordIndex,
    compile_keyword,
    dependent_on,
    is_negator,
    negated_at,
    phrase_at,
    tokenize,
)
from bot.intake.language import is_english

SentimentLabel = Literal["negative", "neutral", "positive", "mixed", "not_analysed"]

# TextBlob polarity in [-0.1, 0.1] is too weak to call either way; the lexicon scores lots of
# plain factual text slightly off zero.
NEGATIVE_AT_OR_BELOW = -0.1
POSITIVE_AT_OR_ABOVE = 0.1
# VADER's compound score: its authors' recommended thresholds for negative / positive.
VADER_NEGATIVE = -0.05
VADER_POSITIVE = 0.05
# "Clearly" positive or negative, for a clause of a mixed comment or against the survey score.
VADER_CLEAR = 0.5
CLAUSE_CLEAR = 0.3

# Survey comments are short; anything longer is pasted logs or email threads. The opening
# carries the customer's own words, and capping keeps a 20 000-char comment fast.
MAX_ANALYSED_CHARS = 5000
MAX_REASON_CHARS = 120

# Customer-service complaint language the general lexicons miss or under-weight. Written from how
# customers describe problems in tickets and surveys; keyword syntax as in the themes ("crash*").
COMPLAINT_CUES: tuple[str, ...] = (
    *DATA_LOSS_PHRASES,  # "half of our customer records are gone", "users lose their work"
    # What makes a product hard to use: a complaint even beside a mild praise idiom ("Not bad, not great.
    # The permissions model is confusing").
    "take forever", "taking forever", "take ages", "takes hours to", "take hours to", "taking hours to",
    "is a joke", "what a joke", "a complete joke", "an absolute joke",
    "confusing", "unintuitive", "not intuitive", "clunky", "hard to use", "difficult to use", "hard to find",
    "hard to navigate", "difficult to navigate", "too complicated", "overly complicated",
    "never replied", "never responded", "never answered", "never heard back", "never got back",
    "never got a", "never received", "never arrived", "never came", "never showed", "never fixed",
    "never resolved", "never works", "never worked", "no reply", "no response", "no answer", "no callback",
    "no follow up", "no one", "nobody", "still waiting", "still not", "still no", "still broken",
    "still doesn't", "still hasn't", "still can't", "still haven't", "still having", "still getting",
    "waited", "waiting for", "on hold", "took weeks", "took days", "took months", "took hours", "took forever",
    "takes forever", "takes ages", "weeks later", "days later", "hours later", "several days",
    "several weeks", "doesn't work", "does not work", "didn't work", "did not work", "not working",
    "stopped working", "quit working", "won't work", "won't load", "won't open", "won't start",
    "won't let", "doesn't let", "doesn't allow", "not loading", "not showing", "not responding",
    "crashes", "crashing", "crashed", "freezes", "freezing", "froze", "buggy", "bugs", "glitch*", "laggy",
    "lagging", "outage*", "downtime", "went down", "is down", "was down", "went offline", "is offline", "was offline", "were offline",
    "been offline", "goes offline", "offline again", "unusable", "unreliable",
    "broken", "broke", "defective", "faulty", "damaged", "junk", "flimsy", "mediocre", "subpar",
    "inaccurate", "incorrect", "wrong", "overcharged", "double charged", "charged twice", "hidden fees",
    "rip off", "ripoff", "scam", "misleading", "not as described", "not as advertised", "not worth",
    "waste of", "wasted", "refund*", "money back", "return it", "returned it", "sent it back",
    "sending it back", "gave up", "give up", "cancel my", "cancel our", "cancelling", "canceling", "switching to", "not renewing", "won't renew",
    "disappoint*", "unacceptable", "ridiculous", "nightmare", "hassle", "headache", "tedious",
    "cumbersome", "clunky", "overpriced", "expensive", "slow", "slower", "sluggish", "lags", "error*",
    "fail*", "issue", "issues", "problem*", "complain*", "frustrat*", "annoy*", "hard to", "difficult to",
    "impossible to", "unable to", "no way to", "lost my", "lost our", "lost all", "not happy",
    "not impressed", "not satisfied", "unhappy", "dissatisfied", "not helpful", "unhelpful", "rude",
    "ignored", "avoid", "stay away", "don't buy", "do not buy", "wouldn't recommend", "would not recommend",
    "not recommend", "beware", "worse", "worst", "poor", "poorly", "lacks", "lacking", "missing",
    # Leaving, regret and things that gave out: how customers say they are done.
    "never again", "will never", "won't be back", "not be back", "never be back", "never coming back",
    "not coming back", "never going back", "won't be returning", "no longer", "only lasted", "lasted only",
    "stopped", "died", "dead", "fell apart", "fell off", "poor quality", "low quality", "bad quality",
    "cheaply made", "regret", "mistake", "should have bought", "should have gone", "barely", "hardly",
    # Opinion rules the word lexicons cannot see (Liu, "Sentiment Analysis and Opinion Mining", Morgan &
    # Claypool 2012, §5.2 "rules of opinions"): a deviation from what was expected or promised, a lack of
    # something desirable, resources consumed, and advice to others not to buy.
    "was supposed to", "were supposed to", "supposed to work", "expected more", "expected better",
    "was expecting more", "was expecting better", "had high hopes", "not what i expected",
    "not what i ordered", "not what i paid for", "should have been", "should've been",
    "could have been better", "could've been better", "could be better", "could be improved",
    "to be desired", "fell short", "falls short", "falling short", "below average", "below par",
    "not up to par", "nothing special", "nothing to write home about", "not a fan", "not a big fan",
    "not my cup of tea", "lack of", "drains", "save your money", "save yourself", "don't bother",
    "do not bother", "wouldn't bother", "don't waste", "do not waste", "look elsewhere", "buyer beware",
    # A change for the worse (Liu 2012, §5.2, "decreased quality").
    "step backwards", "step backward", "a step back", "went backwards", "gone backwards", "regression",
    "regressed",
    # Service failures as customers write them to a support handle: late, lost, hung up on, left waiting.
    "delayed", "delay", "delays", "overdue", "arrived late", "was late", "is late", "running late",
    "late again", "too late", "where is my", "where's my", "where is our", "where's our", "hung up on",
    "hang up on", "hangs up on", "i'm done with", "we're done with", "done with this",
    # Sarcasm is a positive word for a negative situation (Riloff et al., "Sarcasm as contrast between a
    # positive sentiment and negative situation", EMNLP 2013): the fixed forms, and the situations.
    "thanks for nothing", "yeah right", "oh great", "just great", "love that for us", "love that for me",
    "love that for you", "price hike", "price increase",
    "price increases", "raised prices", "raised the price", "raised our price", "price went up",
    "prices went up", "price has gone up", "prices have gone up", "bill went up", "cost went up",
    "costs went up", "with no warning", "without warning", "without notice", "with no notice",
    "without telling", "without asking", "took a while", "takes a while", "took a long time",
    "takes a long time", "took too long", "takes too long", "steep learning curve", "learning curve is steep",
    "is steep", "too steep",
    # Something that has to be mended is broken now.
    "needs to be fixed", "need to be fixed", "needs fixing", "need fixing", "has to be fixed",
    "have to be fixed", "must be fixed", "should be fixed", "please fix",
)

# Praise the lexicons under-weight, and idioms that contain a denial but praise ("can't complain").
PRAISE_CUES: tuple[str, ...] = (
    "works great", "works well", "works perfectly", "works like a charm", "well done", "thank you",
    "thanks", "must have", "game changer", "life saver", "lifesaver", "above and beyond", "five stars",
    "5 stars", "highly recommend", "would recommend", "no complaints", "no issues", "no problems",
    "no problem", "never had a problem", "never had an issue", "never had any", "never had a single",
    "rock solid", "can't wait",
    "can't recommend enough", "cannot recommend enough", "couldn't be happier", "could not be happier",
    "couldn't be better", "can't complain", "cannot complain", "can't beat", "can't go wrong",
    "can't say enough", "exceeded", "solved", "resolved quickly", "fixed quickly", "quick response",
    "fast response", "quickly resolved", "right away", "in no time", "easy to use", "user friendly",
    "intuitive", "reliable", "seamless", "smooth", "straightforward", "on time",
    # The absence of a nuisance, and nothing left to wish for: "no wait at all", "can't ask for more".
    "no wait", "no waiting", "no hassle", "no hassles", "no fuss", "no delay", "no delays", "no downtime",
    "nothing to improve", "can't ask for more", "couldn't ask for more", "could not ask for more",
    "keep doing what", "keep up the good work", "keep it up",
    # A refund that arrived is a problem dealt with ("your refund came through fast").
    "refund came through", "refund arrived", "got my refund", "got the refund", "refunded quickly",
    "refund was processed", "refunded right away",
)

# "can't <verb>", "won't <verb>", "unable to <verb>": a customer saying something cannot be done is
# complaining, unless the verb carries its own sentiment (the lexicon handles "doesn't disappoint").
_INABILITY = frozenset({"can't", "cannot", "cant", "couldn't", "couldnt", "won't", "wont", "doesn't",
                        "doesnt", "didn't", "didnt", "unable"})
# Function words after which the next word is the one to read ("can't even log in", "unable to get").
_FILLERS = frozenset({"to", "even", "really", "seem", "seems", "be", "get", "ever", "always", "just"})
_NOT_A_COMPLAINT_AFTER_INABILITY = frozenset({
    "wait", "complain", "beat", "fault", "recommend", "say", "stop", "go", "miss", "imagine", "thank",
    "praise", "believe", "help", "hesitate", "regret", "hurt", "matter", "mind", "ask", "live", "tell",
    "express", "emphasize", "overstate", "fathom", "argue", "top", "think", "expect",
})
# "too slow", "too small", "too much": a complaint unless what follows is praise ("too good to be true").
_TOO = "too"
# "keeps crashing", "kept logging me out".
_KEEPS = frozenset({"keeps", "kept", "keep", "constantly", "always"})
# What is good to keep doing ("keep doing what you're doing", "keeps improving", "always helping").
_KEPT_GOING = frozenset({"doing", "going", "improving", "growing", "innovating", "building", "shipping", "helping",
                         "working", "getting", "adding", "delivering", "listening"})
# "less reliable", "fewer options": less of a good thing is a complaint (Liu 2012, §5.2, "decreased
# quantity of a positive item").
_LESS = frozenset({"less", "fewer"})
_PRAISE_WORDS = frozenset(cue for cue in PRAISE_CUES if " " not in cue)
# "since Monday", "since yesterday", "since the update": something has been wrong for a while.
_SINCE = "since"
_SINCE_WHEN = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                         "yesterday", "last", "the", "update", "updating", "upgrade", "upgrading", "then"})
# "took four days", "waited 3 weeks", "takes several hours": a long wait stated as a number. (Minutes
# and seconds are not: "took 5 minutes to set up" is praise more often than not.)
_WAITED = frozenset({"took", "takes", "take", "taking", "waited", "waiting", "wait"})
_QUANTITY = frozenset({"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                       "twelve", "several", "many", "multiple", "countless", "couple"})
_QUANTITY_FILLERS = frozenset({"over", "almost", "nearly", "about", "around", "more", "than", "a", "of",
                               "for", "another", "like", "business", "working"})
_LONG_UNITS = frozenset({"hours", "days", "weeks", "months"})
# "could be faster", "should be easier", "could be a lot more stable": a wish for a better state is a
# complaint about the current one (Liu 2012, §5.2: the "could be better" rule, with any comparative).
_WISH_MODALS = frozenset({"could", "should"})
# Below this polarity a positive reading is one weak word, which a detractor's score outweighs.
MILDLY_POSITIVE = 0.2
_COMPARATIVE_ADVERBS = frozenset({"faster", "quicker", "sooner", "better", "earlier"})
# Words ending in -er that are not comparatives ("could be a user", "should be together").
_NOT_COMPARATIVE = frozenset({"together", "other", "another", "never", "ever", "user", "customer", "order",
                              "number", "over", "under", "after", "whatever", "however", "answer", "either",
                              "neither", "rather", "paper", "partner", "member", "offer", "power", "folder",
                              "filter", "server", "browser", "provider", "manager", "water", "later"})
_STOP = frozenset({"and", "or", "the", "a", "an", "it", "is", "i", "me", "you", "we", "to", "of", "for", "in",
                   "on", "at", "but", "so", "that", "this", "with", "was", "be"})
# @handles (tweets, chat transcripts), e-mail addresses and links: names, not words to score ("@united").
_ADDRESSES = re.compile(r"\S+@\S+|@\w+|\w+://\S+")
# Where a comment turns: each side is read on its own to find mixed feelings.
_CLAUSE_BREAK = re.compile(r"[.!?;\n]+|\b(?:but|however|although|though|except|yet|whereas|otherwise)\b",
                           re.IGNORECASE)


@dataclass(frozen=True)
class Sentiment:
    polarity: float  # -1.0 .. 1.0, rounded to 3 places
    label: SentimentLabel
    reason: str = ""  # the words or cue that decided, e.g. 'complaint: "never replied"'


NEUTRAL = Sentiment(polarity=0.0, label="neutral")
NOT_ANALYSED = Sentiment(polarity=0.0, label="not_analysed", reason="language: not English")


def label_for(polarity: float) -> SentimentLabel:
    """TextBlob-only label of a polarity (the thresholds above)."""
    if polarity <= NEGATIVE_AT_OR_BELOW:
        return "negative"
    if polarity >= POSITIVE_AT_OR_ABOVE:
        return "positive"
    return "neutral"


# Words VADER's general-purpose lexicon scores that name things in customer feedback rather than judge
# them: "support took four days" is about the support team, not praise (VADER: support +1.7); "security
# review", "store credit", "the PO number" (po -2.6, slang). A general lexicon needs
# adapting to its domain (Hamilton, Clark, Leskovec & Jurafsky, "Inducing domain-specific sentiment
# lexicons from unlabeled corpora", EMNLP 2016); VADER's authors suggest editing its lexicon for that.
# The judgement stays with the words around them ("great support", "support was useless").
CX_TOPIC_WORDS: frozenset[str] = frozenset({
    "support", "supported", "supports", "help", "care", "credit", "credits", "security", "po",
    "alert", "share", "sharing", "resolve",
    # A way of working, not a failure ("an offline mode", "works offline"): the failure has its cue
    # ("went offline", "was offline" below).
    "offline",
    # Politeness and plain nouns VADER scores as praise: "please let me know when this is fixed" (please
    # +1.3), "we copy it by hand" (hand +2.2, as in "give a hand"), "the PO number" (number +0.3).
    "please", "pls", "plz", "hand", "hands", "number",
    # Certainty, not opinion: "make sure the admins get it" (sure +1.3); a discourse marker: "honestly, we
    # are evaluating other tools" (honestly +2.0).
    "sure", "honestly",
    # "Yeah sure, 'same day appointments'", "instead of the 3 weeks promised": a reply and a report of a
    # promise, not praise (yeah +1.2, promised +1.5).
    "yeah", "promised",
    # Operations on data: "they need a restore from backup" (restore +1.2), "service restored" is told by
    # what restored it, not by the verb.
    "restore", "restored",
    # Operations on a page: "without refreshing the page" (refreshing +2.4, as of a drink).
    "refreshing", "refresh",
})


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    for word in CX_TOPIC_WORDS:
        analyzer.lexicon.pop(word, None)
    return analyzer


def textblob_polarity(text: str) -> float:
    """TextBlob's PatternAnalyzer polarity, rounded (what cxloop used alone before). The analyzer's own
    lexicon is called directly: `TextBlob(text).sentiment` gives the same number but builds a namedtuple
    class per call, which was half its cost."""
    polarity = round(float(pattern_sentiment(text[:MAX_ANALYSED_CHARS])[0]), 3)
    # Rounding can yield -0.0; normalise so it compares and serialises as plain 0.0.
    return polarity + 0.0


# Words of quantity, order and age TextBlob's lexicon scores as opinions: "every new hire needs a walkthrough"
# (new +0.14), "add more themes" (more +0.5), "many bugs" (many +0.5), "the first time" (first +0.25),
# "make sure" (sure +0.5), "right now" (right +0.29). They say how many or which, not how good.
TEXTBLOB_NOT_OPINIONS: frozenset[str] = frozenset({
    "new", "old", "first", "more", "many", "much", "other", "real", "full", "whole", "latest", "previous",
    "main", "top", "high", "general", "direct", "sure", "right",
    "honestly",  # a discourse marker ("honestly, we're evaluating other tools"), +0.6 in TextBlob
    "really",  # an intensifier, not praise ("we really need a bulk edit"), +0.2 in TextBlob
})
_NOT_OPINIONS_RE = re.compile(r"\b(?:" + "|".join(sorted(TEXTBLOB_NOT_OPINIONS)) + r")\b", re.IGNORECASE)


def _blob_polarity(text: str) -> float:
    """textblob_polarity without the words of quantity and order (TEXTBLOB_NOT_OPINIONS)."""
    return textblob_polarity(_NOT_OPINIONS_RE.sub(" ", text))


def compile_words(owner: str, keywords: Iterable[str]) -> tuple[Keyword, ...]:
    """Pre-tokenise sentiment words; raises ValueError naming `owner` for a keyword with no words."""
    return tuple(compile_keyword(owner, keyword) for keyword in keywords)


@lru_cache(maxsize=1)
def _builtin() -> tuple[KeywordIndex[None], KeywordIndex[None]]:
    return (KeywordIndex((k, None) for k in compile_words("complaint cue", COMPLAINT_CUES)),
            KeywordIndex((k, None) for k in compile_words("praise cue", PRAISE_CUES)))


@lru_cache(maxsize=8)
def _team(words: SentimentWords) -> tuple[KeywordIndex[None], KeywordIndex[None]]:
    return (KeywordIndex((k, None) for k in compile_words("sentiment.negative", words.negative)),
            KeywordIndex((k, None) for k in compile_words("sentiment.positive", words.positive)))


def _hits(tokens: list[str], index: KeywordIndex[None], *, deny: bool = True) -> list[tuple[int, str]]:
    """(position, matched words) of each keyword found; denied matches ("no issues") are skipped."""
    return [(start, phrase_at(tokens, start, keyword)) for start, keyword, _ in index.find(tokens)
            if not (deny and not is_negator(keyword[0][0]) and negated_at(tokens, start, len(keyword[0]), window=2))]


def _valence(word: str) -> float:
    return float(_vader().lexicon.get(word, 0.0))


def _decreases(tokens: list[str], index: int) -> bool:
    """ "less"/"fewer" at `index`, but not "no less", "more or less"."""
    return tokens[index] in _LESS and not (index > 0 and (tokens[index - 1] == "or" or is_negator(tokens[index - 1])))


def _pattern_hits(tokens: list[str]) -> list[tuple[int, str]]:
    """General complaint patterns: "can't export", "too slow", "keeps crashing", "since Monday"."""
    found = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1:index + 4]
        if not following:
            continue
        if token in _INABILITY:
            words = [w for w in following if w not in _FILLERS][:1]
            if (words and words[0] not in _NOT_A_COMPLAINT_AFTER_INABILITY and _valence(words[0]) == 0.0
                    and not (index > 0 and tokens[index - 1] in ("you", "we"))):
                found.append((index, f"{token} {' '.join(following[:following.index(words[0]) + 1])}"))
        elif token == _TOO and following[0] not in _STOP and _valence(following[0]) <= 0.0:
            found.append((index, f"too {following[0]}"))
        elif (token in _KEEPS and following[0].endswith("ing") and _valence(following[0]) <= 0.0
              and following[0] not in _KEPT_GOING):
            found.append((index, f"{token} {following[0]}"))
        elif _decreases(tokens, index) and (_valence(following[0]) > 0.0 or following[0] in _PRAISE_WORDS):
            found.append((index, f"{token} {following[0]}"))
        elif token in _WAITED and (wait := _long_wait(tokens, index)):
            found.append((index, wait))
        elif token in _WISH_MODALS and (wish := _wished_better(tokens, index)):
            found.append((index, wish))
        elif token == "if" and (failure := _if_it_did_not_fail(tokens, index)):
            found.append((index, failure))
        elif token == _SINCE and following[0] in _SINCE_WHEN and not _better_before(tokens, index):
            found.append((index, f"since {' '.join(following[:2] if following[0] in ('last', 'the') else following[:1])}"))
    return found


# "It would be great if the app didn't crash every time": a wish that a failure stopped is a report of it (a
# counterfactual: the failure happens), not praise of "didn't crash".
_COUNTERFACTUAL_DENIALS = COUNTERFACTUAL_DENIALS | {"stopped"}  # "if it stopped logging me out"
_FAILURES = frozenset({"crash", "crashing", "freeze", "freezing", "lag", "lagging", "log", "logging", "kick",
                       "kicking", "glitch", "glitching", "drop", "dropping", "break", "breaking", "fail", "failing",
                       "time", "timing", "hang", "hanging", "slow", "buggy", "broken", "down"})


def _if_it_did_not_fail(tokens: list[str], index: int) -> str | None:
    """ "if the app didn't crash", "if it stopped logging me out": the words, or None."""
    for offset, token in enumerate(tokens[index + 1:index + 5], start=1):
        if token in _COUNTERFACTUAL_DENIALS or (token == "not" and tokens[index + offset - 1] in ("did", "would")):
            following = tokens[index + offset + 1:index + offset + 3]
            word = next((w for w in following if w in _FAILURES), None)
            return " ".join(tokens[index:index + offset + 1 + following.index(word) + 1]) if word else None
    return None


def _better_before(tokens: list[str], index: int) -> bool:
    """ "has improved a lot since the update", "works great since Monday": what has lasted is good."""
    return any(_valence(token) > 0 or token in _PRAISE_WORDS for token in tokens[max(0, index - 6):index])


def _long_wait(tokens: list[str], index: int) -> str | None:
    """ "took four days", "waited over 3 weeks", "took a couple of days": the words, or None."""
    position, seen_quantity = index + 1, False
    while position < len(tokens) and position <= index + 5:
        token = tokens[position]
        if token in _LONG_UNITS and seen_quantity:
            return " ".join(tokens[index:position + 1])
        if token.isdigit() or token in _QUANTITY:
            seen_quantity = True
        elif token not in _QUANTITY_FILLERS:
            return None
        position += 1
    return None


def _wished_better(tokens: list[str], index: int) -> str | None:
    """ "could be faster", "should be much easier", "could be more stable": the words, or None."""
    rest = tokens[index + 1:index + 5]
    if len(rest) > 1 and rest[0] != "be" and rest[1] in _COMPARATIVE_ADVERBS:
        return " ".join(tokens[index:index + 3])  # "support could respond faster", "it should load quicker"
    if not rest or rest[0] != "be":
        return None
    for offset, word in enumerate(rest[1:], start=2):
        if word in ("more", "less") or (word.endswith("er") and len(word) > 4 and word not in _NOT_COMPARATIVE):
            return " ".join(tokens[index:index + offset + (1 if word in ("more", "less") else 0) + 1])
        if word not in ("much", "a", "lot", "way", "far", "bit", "little"):
            return None
    return None


def _praise_pattern_hits(tokens: list[str]) -> list[tuple[int, str]]:
    """ "can't thank them enough", "cannot recommend this team enough": a denial that praises; "couldn't
    run our agency without it", "can't imagine work without you": dependence on the product praises it."""
    return [(index, f"{token} … enough") for index, token in enumerate(tokens)
            if token in _INABILITY and "enough" in tokens[index + 1:index + 6]] + [
        (index, f"{token} … without {dependent_on(tokens, index)}") for index, token in enumerate(tokens)
        if token in _INABILITY and dependent_on(tokens, index)]


def _strong_words(tokens: list[str], sign: int, limit: int = 2) -> list[str]:
    """The lexicon words that pull hardest towards `sign`, negation applied ("not good")."""
    scored = []
    for index, token in enumerate(tokens):
        valence = _valence(token)
        if not valence:
            continue
        denier = next((t for t in reversed(tokens[max(0, index - 2):index]) if is_negator(t)), None)
        value = -valence if denier else valence
        if value * sign > 0:
            scored.append((abs(value), (f"{denier} {token}" if denier else token)))
    scored.sort(key=lambda pair: -pair[0])
    unique = list(dict.fromkeys(word for _, word in scored))
    return unique[:limit]


def _blob_words(tokens: list[str], sign: int, limit: int = 2) -> list[str]:
    """The words of TextBlob's lexicon that lean towards `sign`, for a reading VADER's lexicon did not
    explain (TextBlob alone called "Please add dark mode" negative: the reason names "dark")."""
    found = [token for token in dict.fromkeys(tokens)
             if token not in TEXTBLOB_NOT_OPINIONS and pattern_sentiment(token)[0] * sign > 0]
    return found[:limit]


def _quote(words: Iterable[str]) -> str:
    return ", ".join(f'"{word}"' for word in words)


@dataclass(frozen=True)
class _Reading:
    vader: float
    blob: float
    complaints: list[str]
    praise: list[str]


def _vader_compound(text: str) -> float:
    return float(_vader().polarity_scores(text)["compound"])


def _read(text: str, tokens: list[str], team: tuple[KeywordIndex[None], KeywordIndex[None]] | None,
          *, blob: bool = True, vader: bool = True) -> _Reading:
    complaint_cues, praise_cues = _builtin()
    raw_complaints = _hits(tokens, complaint_cues) + _pattern_hits(tokens)
    # A longer complaint around a praise word wins: "thanks for nothing" is not "thanks".
    spans = [(start, start + len(phrase.split())) for start, phrase in raw_complaints]
    praise_hits = [(start, phrase) for start, phrase in _hits(tokens, praise_cues, deny=False) + _praise_pattern_hits(tokens)
                   if not (start and _decreases(tokens, start - 1))  # "less reliable" is not praise
                   and not any(first <= start and start + len(phrase.split()) < last for first, last in spans)]
    # A praise idiom covers the words inside it ("can't complain", "no problems").
    covered = {position for start, phrase in praise_hits for position in range(start, start + len(phrase.split()))}
    covered |= {start for start, phrase in praise_hits if phrase.endswith("… enough") or " … without " in phrase}
    complaint_hits = [(s, p) for s, p in raw_complaints if s not in covered]
    complaints = _without_overlaps(complaint_hits)
    praise = [p for _, p in sorted(praise_hits)]
    if team is not None:
        complaints = [p for _, p in _hits(tokens, team[0])] + complaints
        praise = [p for _, p in _hits(tokens, team[1])] + praise
    return _Reading(vader=_vader_compound(text) if vader else 0.0, blob=_blob_polarity(text) if blob else 0.0,
                    complaints=list(dict.fromkeys(complaints)), praise=list(dict.fromkeys(praise)))


def _without_overlaps(hits: list[tuple[int, str]]) -> list[str]:
    """The matched phrases in text order, a phrase inside or overlapping an earlier one left out
    ("still waiting for" is one cue, not "still waiting" and "waiting for")."""
    kept, end = [], -1
    for start, phrase in sorted(hits, key=lambda hit: (hit[0], -len(hit[1]))):
        if start > end:
            kept.append(phrase)
            end = start + len(phrase.split()) - 1
    return kept


def _clauses(text: str) -> list[str]:
    return [part for part in (piece.strip() for piece in _CLAUSE_BREAK.split(text)) if len(part) > 2]


# Which side of a contrast a reader takes away (Polanyi & Zaenen, "Contextual valence shifters", 2006;
# the "but" rule of VADER, Hutto & Gilbert, ICWSM 2014): after "but/however/yet" the second part
# dominates; a concession ("although/though/even though/while ...") yields to the main clause.
_CONTRAST = re.compile(r"\b(?:but|however|yet|nevertheless|nonetheless)\b", re.IGNORECASE)
_CONCESSION = re.compile(r"\b(?:even\s+though|although|though|while|whereas)\b", re.IGNORECASE)
_CONTRAST_WORDS = frozenset({"but", "however", "yet", "nevertheless", "nonetheless", "although", "though",
                             "while", "whereas"})
_SENTENCE_END = re.compile(r"[.!?;\n]")


def _dominant_clause(text: str, tokens: list[str]) -> str | None:
    """The part of a contrasted comment that carries its verdict, or None when there is no contrast."""
    if _CONTRAST_WORDS.isdisjoint(tokens):
        return None
    contrasts = list(_CONTRAST.finditer(text))
    if contrasts:
        return _SENTENCE_END.split(text[contrasts[-1].end():], maxsplit=1)[0] or None
    concession = _CONCESSION.search(text)
    if concession is None:
        return None
    before = text[:concession.start()].rstrip()
    if not before or before[-1] in ".!?;\n":
        # "Although the staff were nice, the food was cold": the main clause follows the comma.
        sentence = _SENTENCE_END.split(text[concession.end():], maxsplit=1)[0]
        return sentence.split(",", 1)[1] if "," in sentence else None
    if concession.group().lower() == "while":
        return None  # mid-sentence "while" is mostly time: "it crashed while uploading"
    # "The staff were rude, although the food was great": the main clause comes first.
    return _SENTENCE_END.split(before)[-1] or None


def _dominant_side(text: str, tokens: list[str], team) -> tuple[int, str]:
    """(-1 complaint / +1 praise / 0 neither or no contrast, the deciding words) of the dominant clause."""
    clause = _dominant_clause(text, tokens)
    if not clause or not clause.strip():
        return 0, ""
    tokens = tokenize(clause)
    reading = _read(clause, tokens, team, blob=False)
    if reading.complaints or reading.vader <= VADER_NEGATIVE:
        return -1, (reading.complaints[:1] or _strong_words(tokens, -1, 1) or [clause.strip()[:30]])[0]
    if reading.praise or reading.vader >= VADER_POSITIVE:
        return 1, (reading.praise[:1] or _strong_words(tokens, +1, 1) or [clause.strip()[:30]])[0]
    return 0, ""


def _lean(side: int, polarity: float) -> float:
    """A mixed comment's polarity on the side of its dominant clause (unchanged without one)."""
    return side * max(abs(polarity), 0.05) if side else polarity


def _mixed(text: str, team) -> tuple[str, str] | None:
    """(praise, complaint) when one clause clearly praises and another clearly complains."""
    parts = _clauses(text)
    if len(parts) < 2:
        return None
    good = bad = None
    for part in parts:
        tokens = tokenize(part)
        # A clause is judged on VADER and the cues: TextBlob adds little on five words and costs the most.
        # VADER only when the cues do not decide (a complaint makes the clause bad whatever VADER says).
        reading = _read(part, tokens, team, blob=False, vader=False)
        vader = None if reading.complaints else _vader_compound(part)
        if reading.complaints or vader <= -CLAUSE_CLEAR:
            bad = bad or (reading.complaints[:1] or _strong_words(tokens, -1, 1) or [part[:30]])[0]
        elif reading.praise or vader >= CLAUSE_CLEAR:
            good = good or (reading.praise[:1] or _strong_words(tokens, +1, 1) or [part[:30]])[0]
        if good and bad:
            break  # the first of each is kept: later clauses change nothing
    return (good, bad) if good and bad else None


def _clip(polarity: float) -> float:
    return round(max(-1.0, min(1.0, polarity)), 3) + 0.0


@dataclass(frozen=True)
class TextSentiment:
    """What a comment's words say (read_sentiment), before the score's category has its say
    (with_category): a comment repeated under other scores is read once."""

    label: SentimentLabel
    reason: str
    polarity: float  # not yet clipped
    clearly_positive: bool = False
    complaints: bool = False
    vader: float = 0.0
    final: Sentiment | None = None  # empty or not English: the category changes nothing


def analyze_sentiment(text: str | None, *, category: str | None = None,
                      words: SentimentWords | None = None, request: bool | str = False) -> Sentiment:
    """The sentiment of a free-text comment, with the reason; empty or None is neutral.

    `category` is the survey score's ("detractor", "passive", "promoter" or None); `words` a team's own;
    `request`: the comment asks for something (the feature-request theme matched it), or the words of the
    ask ("would also be nice"): those are the frame of a wish, not praise of what is there.
    """
    return with_category(read_sentiment(text, words=words, request=request), category)


def read_sentiment(text: str | None, *, words: SentimentWords | None = None,
                   request: bool | str = False, problem: str | None = None) -> TextSentiment:
    """analyze_sentiment's reading of the words, which does not depend on the score. `problem`: the words
    of a problem the themes found that no lexicon scores ("wiped … files": data loss), read as a complaint."""
    if not text or not text.strip():
        return TextSentiment(label=NEUTRAL.label, reason=NEUTRAL.reason, polarity=0.0, final=NEUTRAL)
    text = text[:MAX_ANALYSED_CHARS]
    if "\u2019" in text or "\u2018" in text or "\u02bc" in text:
        text = text.translate(APOSTROPHES)  # "It’d be nice", "don’t": the lexicons and the ask know "'"
    if isinstance(request, str) and request:
        text = _without_ask(text, request)
    if "@" in text or "://" in text:
        text = _ADDRESSES.sub(" ", text)  # "@united flight delayed": a handle or a link is no opinion
    tokens = tokenize(text)
    if tokens and not is_english(text, tokens):
        return TextSentiment(label=NOT_ANALYSED.label, reason=NOT_ANALYSED.reason, polarity=0.0, final=NOT_ANALYSED)
    team = _team(words) if words is not None and (words.negative or words.positive) else None
    reading = _read(text, tokens, team)
    if problem and problem not in reading.complaints:
        reading = replace(reading, complaints=[problem, *reading.complaints])
    polarity = (reading.vader + reading.blob) / 2
    polarity -= 0.25 * min(len(reading.complaints), 2)
    polarity += 0.2 * min(len(reading.praise), 2)

    mixed = _mixed(text, team)
    clearly_positive = (reading.vader >= VADER_CLEAR and reading.blob >= 0 and not reading.complaints) or (
        bool(reading.praise) and not reading.complaints and reading.vader > VADER_NEGATIVE)
    if mixed:
        label: SentimentLabel = "mixed"
        reason = f"{_quote(mixed[:1])} but {_quote(mixed[1:])}"
        polarity = _lean(_dominant_side(text, tokens, team)[0], polarity)
    elif reading.praise and not reading.complaints and reading.vader > -VADER_CLEAR:
        # A praise idiom the lexicons read backwards ("couldn't be happier", "can't complain").
        label, reason = "positive", f"praise: {_quote(reading.praise[:2])}"
        polarity = max(polarity, 0.1)
    elif reading.complaints and not (reading.praise and reading.vader >= VADER_CLEAR):
        label, reason = "negative", f"complaint: {_quote(reading.complaints[:2])}"
        polarity = min(polarity, -0.1)
    elif (reading.vader <= VADER_NEGATIVE and reading.blob < POSITIVE_AT_OR_ABOVE * 3) or (
            reading.blob <= NEGATIVE_AT_OR_BELOW and reading.vader < VADER_CLEAR):
        if request and reading.vader > VADER_NEGATIVE:
            # "Please add dark mode": asking is not complaining; a lexicon word of the thing asked for
            # ("dark") is no complaint either. A complaint cue or VADER's negative reading still is.
            label, reason = "neutral", "a request, no complaint words"
            polarity = max(-0.09, min(0.09, polarity))
        else:
            label = "negative"
            reason = f"words: {_quote(_strong_words(tokens, -1) or _blob_words(tokens, -1) or ['negative tone'])}"
            polarity = min(polarity, -0.1)
    elif reading.praise or reading.vader >= VADER_POSITIVE or reading.blob >= POSITIVE_AT_OR_ABOVE:
        label = "positive"
        reason = f"words: {_quote(reading.praise[:1] + _strong_words(tokens, +1) or _blob_words(tokens, +1) or ['positive tone'])}"
        polarity = max(polarity, 0.1)
    else:
        label, reason = "neutral", "no sentiment words"
        polarity = max(-0.09, min(0.09, polarity))

    if label in ("positive", "negative"):
        # "Nice screen but the battery dies by noon": the part after the contrast disagrees -> mixed,
        # leaning its way.
        side, words = _dominant_side(text, tokens, team)
        if side and (side > 0) != (label == "positive"):
            first = reason.split(": ", 1)[-1]
            label, reason = "mixed", (f"{first} but {_quote([words])}" if side < 0 else f"{_quote([words])} but {first}")
            polarity = _lean(side, polarity)
    return TextSentiment(label=label, reason=reason, polarity=polarity, clearly_positive=clearly_positive,
                         complaints=bool(reading.complaints), vader=reading.vader)


def _without_ask(text: str, ask: str) -> str:
    """The text without the words of its ask: "It would also be nice to export to PDF" is a wish, and
    VADER's "nice" in it is the frame of the wish, not praise ("Reporting is fine. It would also be nice
    to …" from a detractor read Positive). Words of the ask that are not evaluative stay ("please add")."""
    evaluative = [word for word in ask.split() if word in _ASK_EVALUATIONS]
    if not evaluative:
        return text
    pattern = r"\b" + r"\W+".join(map(re.escape, ask.split())) + r"\b"
    kept = " ".join(word for word in ask.split() if word not in _ASK_EVALUATIONS)
    return re.sub(pattern, kept, text, count=1, flags=re.IGNORECASE)


# The evaluative words of request frames ("would be nice", "would love to see", "would be a great addition").
_ASK_EVALUATIONS = frozenset({"nice", "great", "awesome", "cool", "good", "helpful", "useful", "handy", "wonderful",
                              "fantastic", "amazing", "perfect", "better", "love", "like", "appreciate", "welcome",
                              "easier", "convenient", "ideal", "even"})


def with_category(text: TextSentiment, category: str | None) -> Sentiment:
    """The sentiment of words read by read_sentiment, given the score's category."""
    if text.final is not None:
        return text.final
    label, reason, polarity, clearly_positive = text.label, text.reason, text.polarity, text.clearly_positive
    # The score: a detractor's comment is not positive unless the text clearly is; a plain one takes
    # the score's side. A promoter's mild grumble is not a complaint; a cue is.
    if category == "detractor":
        if label == "neutral":
            label, reason, polarity = "negative", "detractor score; text neutral", -0.2
        elif label == "positive" and not clearly_positive and polarity < MILDLY_POSITIVE:
            # "Approvals take ages, like 30 seconds" from a 2: one weak lexicon word ("like") is no
            # counterweight to the score.
            label, reason, polarity = ("negative", f"detractor score; text only mildly positive "
                                       f"({reason.removeprefix('words: ')})", -0.1)
        elif label == "positive" and not clearly_positive:
            label, reason = "mixed", f"detractor score but {reason.removeprefix('words: ')}"
    elif category == "promoter":
        if label == "neutral":
            label, reason, polarity = "positive", "promoter score; text neutral", 0.2
        elif label == "negative" and not text.complaints and text.vader > -VADER_CLEAR:
            label, reason = "mixed", f"promoter score but {reason.removeprefix('words: ')}"
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS - 1] + "…"
    return Sentiment(polarity=_clip(polarity), label=label, reason=reason)
