"""The typo benchmark's corpus (bench/vip_typos.py): big enough, every kind of typo, the same every run."""

from __future__ import annotations

from collections import Counter

from bench.vip_typos import corpus, demo_book


def test_the_corpus_is_deterministic_and_covers_every_kind_of_typo():
    book = demo_book()
    queries = corpus(book)
    assert len(queries) >= 200
    assert queries == corpus(demo_book())
    kinds = Counter(q.kind for q in queries)
    assert set(kinds) == {"substitution", "deletion", "insertion", "transposition", "two typos", "missing word",
                          "one word", "domain fragment", "e-mail fragment"}
    assert min(kinds.values()) >= 20
    names = {r.name for r in book}
    assert all(q.expected in names for q in queries)
    typos = [q for q in queries if q.kind not in ("missing word", "domain fragment", "e-mail fragment")]
    assert all(q.query != q.expected.lower() for q in typos)
