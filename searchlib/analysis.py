"""Analysis: the one analyzer chain that turns text into index terms, for indexing and querying.

Stage: text → tokens. Whoosh applies a field's analyzer both when a document is added and when a
query is parsed, so defining the chains here, once, keeps the two in step.

- `TEXT` (title, summary, body): words and numbers, lower-cased, accents folded (`café` → `cafe`),
  English stop words and one-letter tokens dropped, Porter-stemmed (`shells` → `shell`).
- `NAME` (source, section, author): the same tokens without stemming or stop words, so
  `source:"new york times"` and `author:kim` match names as written.
"""
from __future__ import annotations

from functools import lru_cache

from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.analyzers import STOP_WORDS
from whoosh.lang.porter2 import stem as porter2
from whoosh.lang.stopwords import stoplists
from whoosh.support.charset import accent_map

# Words joined by apostrophes or inner dots stay one token ("U.S.", "o'neill"), as Whoosh's default.
TOKEN_PATTERN = r"\w+(\.?\w+)*"


# The words of a typed question that say nothing about its subject ("what", "which", "how", "only",
# "more", ...): NLTK's 127 English stop words, as shipped by Whoosh. Dropped from the OR pass only,
# so a plain search for `only` or `the who` still finds them.
QUESTION_STOP_WORDS = frozenset(STOP_WORDS) | frozenset(stoplists["en"])


class CachedStemFilter(StemFilter):
    """Whoosh's StemFilter with functools' cache, written in C: Whoosh's own LFU cache is a
    Python call per token and sorts itself whenever it fills, which a news vocabulary does.
    Pickles (into the index's table of contents) as StemFilter does, without the cache."""

    def clear(self):
        self._stem = lru_cache(maxsize=self.cachesize if self.cachesize and self.cachesize > 0 else None)(
            self.stemfn)


def text_analyzer(stoplist=STOP_WORDS):
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=stoplist, minsize=2)
        | CachedStemFilter(stemfn=porter2, cachesize=200_000)
    )


def name_analyzer():
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)


TEXT = text_analyzer()
QUESTION_TEXT = text_analyzer(QUESTION_STOP_WORDS)  # query side, partial-match (OR) pass only
NAME = name_analyzer()
