"""Comment sentiment, kept behind one function so textblob stays an implementation detail.

This is the only module that imports textblob. We use just the default PatternAnalyzer's
polarity: it is lexicon-based and works offline, whereas `.words`, `.sentences`, `.tags`,
`.noun_phrases` and NaiveBayesAnalyzer need NLTK corpora we cannot download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textblob import TextBlob

SentimentLabel = Literal["negative", "neutral", "positive"]

# Polarity in [-0.1, 0.1] is too weak to call either way; the lexicon scores lots of
# plain factual text slightly off zero.
NEGATIVE_AT_OR_BELOW = -0.1
POSITIVE_AT_OR_ABOVE = 0.1

# Survey comments are short; anything longer is pasted logs or email threads. The opening
# carries the customer's own words, and capping keeps a 20 000-char comment fast.
MAX_ANALYSED_CHARS = 5000


@dataclass(frozen=True)
class Sentiment:
    polarity: float  # -1.0 .. 1.0, rounded to 3 places
    label: SentimentLabel


NEUTRAL = Sentiment(polarity=0.0, label="neutral")


def label_for(polarity: float) -> SentimentLabel:
    if polarity <= NEGATIVE_AT_OR_BELOW:
        return "negative"
    if polarity >= POSITIVE_AT_OR_ABOVE:
        return "positive"
    return "neutral"


def analyze_sentiment(text: str | None) -> Sentiment:
    """Polarity and a coarse label for a free-text comment; empty or None is neutral."""
    if not text or not text.strip():
        return NEUTRAL
    polarity = round(float(TextBlob(text[:MAX_ANALYSED_CHARS]).sentiment.polarity), 3)
    # Rounding can yield -0.0; normalise so it compares and serialises as plain 0.0.
    polarity = polarity + 0.0
    return Sentiment(polarity=polarity, label=label_for(polarity))
