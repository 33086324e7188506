"""Hypothesis strategies for bad input: documented payloads with fields deleted, retyped, oversized and
unicode-heavy, and raw garbage. Also the example budget of each test (see conftest.py's profiles)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"

# HYPOTHESIS_PROFILE=ci runs 4× and =thorough 20× the examples of the default profile (see conftest.py).
SCALE = {"default": 1, "ci": 4, "thorough": 20}.get(os.environ.get("HYPOTHESIS_PROFILE", "default"), 1)


def budget(examples: int) -> int:
    """A test's example count in the selected profile."""
    return examples * SCALE


def fixture_json(provider: str, name: str) -> Any:
    return json.loads((FIXTURES / provider / name).read_bytes())


def fixture_bytes(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def provider_fixtures(provider: str, suffix: str = ".json") -> list[str]:
    return sorted(p.name for p in (FIXTURES / provider).glob(f"*{suffix}"))


# --- values -----------------------------------------------------------------------------------------------

MENTIONS = ["<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<#C123ABC>", "<!subteam^S1>",
            "<!subteam^S0ONCALL|@oncall>", "&lt;!channel&gt;", "&amp;lt;!here&amp;gt;", "<http://x|y>",
            "<https://evil.example|click me>", "<mailto:a@b.c|mail>", "<!date^1^{date}|x>", "< !channel >",
            "&<!channel>&", "<<!channel>>", "<@W999|someone>"]

SPECIAL_STRINGS = [
    "", " ", "\t\n", "\x00", "a\x00b", "\u202eRTL override\u202c", "مرحبا بالعالم", "שלום", "🙂🔥👍🏽‍",
    "\u200b\u200d\ufeff", "\U0010ffff", "\ud800", "x\udfffy", "null", "true", "0", "-1", "7.5", "1e400",
    "NaN", "Infinity", "9" * 40, "-" + "9" * 30, "{{ticket.id}}", "'; DROP TABLE items; --", "%00", "..\\..",
    "https://", "http://x", "javascript:alert(1)", "a@b", "@", "foo@", " a@b.c ", "x" * 300, "é" * 256,
    *MENTIONS,
]

# A 100k-character string (and one just over the comment limit) cost little: built once.
HUGE_STRINGS = ["x" * 100_000, "🙂" * 50_001, "<!channel> " * 10_000, "a" * 100_001]

unicode_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60)
weird_text = st.one_of(
    st.sampled_from(SPECIAL_STRINGS),
    unicode_text,
    st.sampled_from(HUGE_STRINGS),
    st.lists(st.sampled_from(SPECIAL_STRINGS), min_size=1, max_size=6).map("".join),
)
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    weird_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(weird_text.filter(lambda s: len(s) < 200), children, max_size=4)),
    max_leaves=12,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for index in range(depth):
        value = {"a": value} if index % 2 else [value]
    return value


retyped = st.one_of(scalars, st.just([]), st.just({}), st.lists(scalars, max_size=3),
                    st.dictionaries(st.sampled_from(["id", "name", "type", "value", "x"]), scalars, max_size=3),
                    st.sampled_from([nested(60), nested(200, "<!channel>")]), json_values)


@st.composite
def mutated(draw, value: Any, depth: int = 0) -> Any:
    """`value` (a documented payload) with some fields deleted, retyped or recursively mutated."""
    if depth > 8:
        return value
    # Most of a payload stays as documented, so the parser gets past its first checks.
    action = draw(st.integers(0, 99))
    if action < 8:
        return draw(retyped)
    if isinstance(value, dict):
        result = {}
        for key, child in value.items():
            roll = draw(st.integers(0, 99))
            if roll < 10:
                continue  # deleted
            result[key] = draw(mutated(child, depth + 1)) if roll < 60 else child
        if draw(st.integers(0, 9)) == 0:
            result[draw(weird_text.filter(lambda s: len(s) < 100))] = draw(json_values)
        return result
    if isinstance(value, list):
        result = [draw(mutated(child, depth + 1)) if draw(st.booleans()) else child for child in value]
        roll = draw(st.integers(0, 9))
        if roll == 0:
            result.append(draw(json_values))
        elif roll == 1:
            result = result[: draw(st.integers(0, len(result)))]
        elif roll == 2:
            result = result * 60  # many repeats of the same element
        return result
    if isinstance(value, str):
        roll = draw(st.integers(0, 9))
        if roll < 4:
            return draw(weird_text)
        if roll < 6:
            return value + draw(weird_text)
        return value
    if isinstance(value, bool | int | float) or value is None:
        return draw(scalars) if draw(st.booleans()) else value
    return value


def encode_json(value: Any, *, ascii_only: bool) -> bytes:
    """JSON bytes; with ascii_only=False a lone surrogate becomes invalid UTF-8, as a broken sender's would."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def json_body(draw, value: Any) -> bytes:
    return encode_json(draw(mutated(value)), ascii_only=draw(st.booleans()))


garbage_bytes = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", b"{", b"[]", b"null", b"1", b'"x"', b"{}", b"[{}]", b"[" * 5000 + b"]" * 5000,
                     b'{"a":' * 3000 + b"1" + b"}" * 3000, b"\xff\xfe{}", b"\xef\xbb\xbf{}", b'{"id": NaN}',
                     b'{"score": 1e999}', b"{'single': 'quotes'}", b"\x00" * 50, b"a=1&a[b]=2", b"%%%",
                     b"payload=%7B", b"x" * 200_000]),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


def form_encode(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Rack-style form pairs (`a[b][c]=1`, `a[]=2`) of a nested value, as Wootric posts."""
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            pairs += form_encode(child, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list):
        for child in value:
            pairs += form_encode(child, f"{prefix}[]")
    else:
        text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        pairs.append((prefix or "value", text))
    return pairs


@st.composite
def form_body(draw, value: Any) -> bytes:
    pairs = form_encode(draw(mutated(value)))
    return "&".join(f"{quote(k, safe='[]', errors='surrogatepass')}={quote(v, errors='surrogatepass')}"
                    for k, v in pairs).encode("ascii")
