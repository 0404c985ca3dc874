"""The analyzer's term cache (engine.analysis.TERM_CACHE) is bounded: an indexing worker that meets
more distinct words than that keeps at most that many, and the terms are the same as uncached."""
from __future__ import annotations

from searchlib.engine import analysis
from searchlib.engine.schema import SCHEMA


def test_the_term_cache_holds_at_most_term_cache_words(monkeypatch):
    monkeypatch.setattr(analysis, "TERM_CACHE", 500)
    chain = type(SCHEMA["body"].analyzer)()  # (a chain of its own: the schema's keeps its cache)
    words = [f"word{n}x running{n}s" for n in range(2000)]
    terms = [chain.term_positions(text) for text in words]
    info = chain._term.cache_info()
    assert info.maxsize == 500 and info.currsize == 500 and info.misses >= 4000
    fresh = type(SCHEMA["body"].analyzer)()
    monkeypatch.setattr(analysis, "TERM_CACHE", 10_000)
    assert [fresh.term_positions(text) for text in words] == terms
    assert fresh._term.cache_info().currsize == 4000
