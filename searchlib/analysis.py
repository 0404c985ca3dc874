"""Analysis: the one analyzer chain that turns text into index terms, for indexing and querying.

Stage: text → tokens. Whoosh applies a field's analyzer both when a document is added and when a
query is parsed, so defining the chains here, once, keeps the two in step.

- `TEXT` (title, summary, body): words and numbers, lower-cased, accents folded (`café` → `cafe`),
  English stop words and one-letter tokens dropped, Porter-stemmed (`shells` → `shell`).
- `NAME` (source, section, author): the same tokens without stemming or stop words, so
  `source:"new york times"` and `author:kim` match names as written.
"""
from __future__ import annotations

from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.analyzers import STOP_WORDS
from whoosh.support.charset import accent_map

# Words joined by apostrophes or inner dots stay one token ("U.S.", "o'neill"), as Whoosh's default.
TOKEN_PATTERN = r"\w+(\.?\w+)*"


def text_analyzer():
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=STOP_WORDS, minsize=2)
        | StemFilter(cachesize=50_000)
    )


def name_analyzer():
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)


TEXT = text_analyzer()
NAME = name_analyzer()
