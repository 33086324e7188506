"""`cxloop analyze`: sentiment and themes of a team's own export, before going live.

Input: JSON lines {"comment": …, "kind": …, "score": …} or a CSV with those columns (kind and score
optional; a score needs its kind). Output: one JSON line per input line, in order, with
sentiment, polarity, reason, themes (and the words each theme matched); a bad line gets
{"line": n, "error": …} in its place so the output stays aligned with the input.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

from bot.common.vocabulary import KINDS, SentimentWords
from bot.intake.scoring import score_response

# A comment longer than this is cut for analysis anyway (see bot.intake.sentiment); the line is refused
# beyond it so a binary file piped in by mistake fails fast.
MAX_LINE_CHARS = 100_000


class BadRecord(ValueError):
    """A line that cannot be analysed; the message says why."""


def _record(raw: Mapping[str, Any]) -> tuple[str | None, int | None, str | None]:
    comment, kind, score = raw.get("comment"), raw.get("kind"), raw.get("score")
    if comment is not None and not isinstance(comment, str):
        raise BadRecord("comment must be a string")
    if kind in (None, ""):
        kind = None
    elif not isinstance(kind, str) or kind.strip().lower() not in KINDS:
        raise BadRecord(f"kind must be one of {', '.join(KINDS)}")
    else:
        kind = kind.strip().lower()
    if score in (None, ""):
        score = None
    else:
        if isinstance(score, str) and score.strip().lstrip("-").isdigit():
            score = int(score.strip())
        if isinstance(score, bool) or not isinstance(score, int):
            raise BadRecord("score must be a whole number")
        if kind is None:
            raise BadRecord("a score needs its kind (nps, csat, ces or psat)")
    return comment, score, kind


def analyze_one(raw: Mapping[str, Any], themes: Mapping[str, Iterable[str]] | None = None,
                words: SentimentWords | None = None) -> dict[str, Any]:
    """The analysis of one record, as `cxloop analyze` prints it. Raises BadRecord."""
    comment, score, kind = _record(raw)
    try:
        # Without a kind the comment is read alone, like an escalation's.
        scored = score_response(kind or "escalation", score, comment, themes, words)
    except ValueError as exc:
        raise BadRecord(str(exc)) from None
    return {"sentiment": scored.sentiment_label, "polarity": scored.sentiment_polarity,
            "reason": scored.sentiment_reason, "themes": list(scored.themes),
            "theme_matches": dict(scored.theme_matches), "category": scored.category}


def json_lines(stream: TextIO) -> Iterator[Mapping[str, Any] | BadRecord]:
    """Each non-blank line as a JSON object, or the BadRecord that says why it is not one."""
    for line in stream:
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield BadRecord(f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRecord(f"not JSON: {exc.msg}")
            continue
        yield value if isinstance(value, dict) else BadRecord("expected a JSON object")


def csv_rows(stream: TextIO) -> Iterator[Mapping[str, Any] | BadRecord]:
    """Each CSV row (header: comment, and optionally kind and score) as a record."""
    reader = csv.DictReader(stream)
    if not reader.fieldnames or "comment" not in [name.strip().lower() for name in reader.fieldnames]:
        yield BadRecord("the CSV needs a header row with a 'comment' column")
        return
    for row in reader:
        yield {(key or "").strip().lower(): value for key, value in row.items()}


def analyze_stream(records: Iterable[Mapping[str, Any] | BadRecord], out: TextIO,
                   themes: Mapping[str, Iterable[str]] | None = None, words: SentimentWords | None = None) -> int:
    """Write one JSON line per record; returns how many records were bad."""
    bad = 0
    for number, record in enumerate(records, 1):
        try:
            if isinstance(record, BadRecord):
                raise record
            result: dict[str, Any] = analyze_one(record, themes, words)
        except BadRecord as exc:
            bad += 1
            result = {"line": number, "error": str(exc)}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return bad
