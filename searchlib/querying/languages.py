"""Languages: which languages the articles of an index are in, so that a query is analysed with
the chain of each (engine/analysis.py: one chain per stemmer).

Stage: querying, read from the index's `lang` field (its few distinct values) once per reader:
a commit that adds a language is seen by the next searcher, which has a new reader.
"""
from __future__ import annotations

import weakref

from ..engine.analysis import DEFAULT_LANGUAGE, stemmer_name
from ..engine.ranking import language_counts

# reader → its languages (from each segment's codes, read once per segment: language_counts)
_KNOWN: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def languages_in(reader) -> tuple[str, ...]:
    """The languages of the indexed articles, one code per stemmer (the default language first,
    when some article has no language or one analysed as it): a query is analysed with each."""
    try:
        return _KNOWN[reader]
    except (KeyError, TypeError):
        pass
    found = languages_of(language_counts(reader), reader.doc_count_all())
    try:
        _KNOWN[reader] = found
    except TypeError:  # (a reader that cannot be weakly referenced: read each time)
        pass
    return found


def languages_of(counts: dict[str, int], articles: int) -> tuple[str, ...]:
    """The languages of `articles` articles (deleted ones included) whose declared codes are
    `counts` (code → articles declaring it), as `languages_in` gives them: one code per stemmer,
    the first of each in the lexicon's order, the default language first when some article has
    none or one analysed as it. (A sharded index sums its shards' counts: sharding.statistics.)"""
    by_stemmer: dict[str | None, str] = {}
    for code in sorted(counts, key=lambda c: c.encode("utf-8")):
        by_stemmer.setdefault(stemmer_name(code), code)
    default = stemmer_name(DEFAULT_LANGUAGE)
    if sum(counts.values()) < articles or default in by_stemmer or not by_stemmer:
        by_stemmer.pop(default, None)
        return (DEFAULT_LANGUAGE, *sorted(by_stemmer.values()))
    return tuple(sorted(by_stemmer.values()))
