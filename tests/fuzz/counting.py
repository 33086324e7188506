"""How many examples each fuzz test ran, shared by the tests and conftest.py's closing summary.

A module of its own: pytest imports conftest.py under another name than `tests.fuzz.conftest`, so state
kept there would exist twice.
"""

from __future__ import annotations

import functools
from collections import Counter

EXAMPLES: Counter[str] = Counter()
# Each test's count travels in its report under this key, for the process that writes the summary.
EXAMPLES_PROPERTY = "fuzz_examples"
REPORTED: dict[str, int] = {}
FAILED: Counter[str] = Counter()
current: list[str] = [""]


def counted(test):
    """Counts each example hypothesis runs (put it under @given, on the test function itself)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        EXAMPLES[current[0]] += 1
        return test(*args, **kwargs)
    return run
