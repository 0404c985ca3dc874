"""Analysis: the one analyzer chain that turns text into index terms, for indexing and querying.

Stage: text → tokens. Whoosh applies a field's analyzer both when a document is added and when a
query is parsed, so defining the chains here, once, keeps the two in step.

- `TEXT` (title, summary, body): words and numbers, lower-cased, accents folded (`café` → `cafe`),
  English stop words and one-letter tokens dropped, Porter-stemmed (`shells` → `shell`).
- `NAME` (source, section, author): the same tokens without stemming or stop words, so
  `source:"new york times"` and `author:kim` match names as written.

Both drop any token longer than `MAX_TOKEN_CHARS` (255, Lucene's `maxTokenLength`), in indexing
and querying alike: such a "word" is an inline blob (base64, an expanded entity), never typed,
and one of megabytes made every prefix query and snippet that met it slow. Lucene's
StandardTokenizer splits such a token into 255-character pieces instead; we drop it, so that a
blob leaves no meaningless pieces in the vocabulary (the stored text keeps it).

Indexing a text field does not run the chain token by token: `NewsAnalyzer.term_positions` (and
`NameAnalyzer.term_positions`) give the same terms and positions in one pass (see
`FastPositions`), several times faster.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain
from operator import sub
from pickle import dumps

from whoosh.analysis import (
    CharsetFilter,
    CompositeAnalyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.analyzers import STOP_WORDS
from whoosh.formats import Positions
from whoosh.lang.porter2 import stem as porter2
from whoosh.lang.stopwords import stoplists
from whoosh.system import pack_uint
from whoosh.support.charset import accent_map

# Words joined by apostrophes or inner dots stay one token ("U.S.", "o'neill"), as Whoosh's default.
TOKEN_PATTERN = r"\w+(\.?\w+)*"
# The longest token indexed or searched (characters, after lower-casing and accent folding).
MAX_TOKEN_CHARS = 255


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


class NewsAnalyzer(CompositeAnalyzer):
    """The TEXT chain (tokenize, lower-case, fold accents, drop stop words, stem), which Whoosh
    runs for queries and highlights, plus `term_positions`: the same chain fused into one pass
    for indexing, with one cached call per token instead of a generator step per filter."""

    def __init__(self, stoplist=STOP_WORDS, minsize=2, maxsize=MAX_TOKEN_CHARS):
        super().__init__(RegexTokenizer(TOKEN_PATTERN), LowercaseFilter(), CharsetFilter(accent_map),
                         StopFilter(stoplist=stoplist, minsize=minsize, maxsize=maxsize),
                         CachedStemFilter(stemfn=porter2, cachesize=200_000))

    def term_positions(self, text: str) -> dict[str, list[int]]:
        """Each term of `text` and its positions, exactly as the chain numbers them: a token's
        place among all tokens for the first term kept, then one more for each term after it
        (Whoosh's StopFilter renumbers the tokens it keeps)."""
        term = self.__dict__.get("_term") or self._make_term()
        words = list(map(term, TOKEN.findall(text)))  # None for a dropped token (never "")
        kept = list(filter(None, words))
        if not kept:
            return {}
        return _positions(kept, words.index(kept[0]))  # (the first kept token: none before it is)

    def terms_with_chars(self, text: str) -> list[tuple[str, int, int]]:
        """(term, start, end) for each token the chain keeps: what it gives with chars=True,
        in one pass (snippets mark phrases with these)."""
        term = self.__dict__.get("_term") or self._make_term()
        out = []
        for m in TOKEN.finditer(text):
            word = term(m.group())
            if word is not None:
                out.append((word, m.start(), m.end()))
        return out

    def spell_words(self, text: str) -> list[str]:
        """The words of `text` as the chain keeps them but unstemmed, each once, sorted: what
        Whoosh's `spellable_words` gives (the chain run with no_morph=True), in one pass."""
        if "_unstemmed" not in self.__dict__:
            self._make_term()
        words = set(map(self._unstemmed, TOKEN.findall(text)))
        words.discard(None)
        return sorted(words)

    def term(self, token: str) -> str | None:
        """The chain's term for one token of TOKEN_PATTERN (None: dropped), cached."""
        return (self.__dict__.get("_term") or self._make_term())(token)

    def _make_term(self):
        _, _, charset, stop, stemmer = self.items
        charmap, stops, minsize, maxsize, stem = (charset.charmap, stop.stops, stop.min, stop.max,
                                                  stemmer.stemfn)
        ignore = stemmer.ignore

        def unstemmed(token: str) -> str | None:  # the chain but its stemmer
            word = token.lower().translate(charmap)
            if len(word) < minsize or (maxsize is not None and len(word) > maxsize) or word in stops:
                return None
            return word

        def term(token: str) -> str | None:
            word = unstemmed(token)
            return word if word is None or word in ignore else stem(word)

        self._unstemmed = unstemmed
        self._term = lru_cache(maxsize=200_000)(term)
        return self._term

    def __getstate__(self):  # the functions are made again on first use, not pickled into the index
        return {k: v for k, v in self.__dict__.items() if k not in ("_term", "_unstemmed")}


# TOKEN_PATTERN without its group, so that `findall` gives whole matches (the same matches).
TOKEN = re.compile(TOKEN_PATTERN.replace("(", "(?:"), re.UNICODE)


class FastPositions(Positions):
    """Whoosh's `Positions` posting format (the same bytes on disk) that indexes a string with
    its analyzer's `term_positions` when it has one (the writer, writer.direct_terms, does the
    same without this generator)."""

    def word_values(self, value, analyzer, **kwargs):
        term_positions = getattr(analyzer, "term_positions", None)
        if term_positions is None or not isinstance(value, str) or set(kwargs) - {"mode"}:
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost, encode = self.field_boost, self.encode_cached
        for word, poslist in term_positions(value).items():
            yield word, len(poslist), len(poslist) * boost if len(poslist) > 1 else boost, encode(poslist)

    def encode(self, poslist: list[int]) -> bytes:
        """Positions.encode (the count, then the pickled list of gaps), without a Python loop."""
        return pack_uint(len(poslist)) + dumps(list(map(sub, poslist, chain((0,), poslist))), 2)

    def encode_cached(self, poslist: list[int]) -> bytes:
        """`encode`; a single position's bytes (below SINGLE_POSITIONS_CACHED) are made once and
        shared by every posting."""
        if len(poslist) != 1:
            return self.encode(poslist)
        pos = poslist[0]
        vbytes = SINGLE_POSITIONS.get(pos)
        if vbytes is None:
            vbytes = self.encode(poslist)
            if pos < SINGLE_POSITIONS_CACHED:
                SINGLE_POSITIONS[pos] = vbytes
        return vbytes


# Positions.encode([p]) for each single position p seen, p < SINGLE_POSITIONS_CACHED: the cache
# lives as long as the process, so one huge document must not fill it with a million positions
# (a news article has a few thousand tokens).
SINGLE_POSITIONS_CACHED = 1 << 16
SINGLE_POSITIONS: dict[int, bytes] = {}


def text_analyzer(stoplist=STOP_WORDS):
    return NewsAnalyzer(stoplist)


class NameAnalyzer(CompositeAnalyzer):
    """The NAME chain (tokenize, lower-case, fold accents, drop tokens over MAX_TOKEN_CHARS), with
    `term_positions`: the same terms and positions in one pass, for indexing."""

    def __init__(self, maxsize=MAX_TOKEN_CHARS):
        super().__init__(RegexTokenizer(TOKEN_PATTERN), LowercaseFilter(), CharsetFilter(accent_map),
                         StopFilter(stoplist=(), minsize=1, maxsize=maxsize))

    def term_positions(self, text: str) -> dict[str, list[int]]:
        """Each term of `text` and its positions: every token's place among all tokens, as the
        chain numbers them (after a dropped overlong token, the kept ones are renumbered on)."""
        charmap = self.items[2].charmap
        maxsize = self.items[3].max if len(self.items) > 3 else None  # (an index made before the cap)
        words = [token.lower().translate(charmap) for token in TOKEN.findall(text)]
        if maxsize is None or all(len(word) <= maxsize for word in words):
            return _positions(words)
        kept = [word for word in words if len(word) <= maxsize]
        if not kept:
            return {}
        return _positions(kept, next(i for i, word in enumerate(words) if len(word) <= maxsize))


def _positions(words: list[str], first: int = 0) -> dict[str, list[int]]:
    """Each word and its places in `words`, counted from `first`."""
    positions: dict[str, list[int]] = {}
    for pos, word in enumerate(words, first):
        if word in positions:
            positions[word].append(pos)
        else:
            positions[word] = [pos]
    return positions


def name_analyzer():
    return NameAnalyzer()


TEXT = text_analyzer(())  # every word is indexed: `to be or not to be` is a phrase to find
QUESTION_TEXT = text_analyzer(QUESTION_STOP_WORDS)  # query side, partial-match (OR) pass only
NAME = name_analyzer()
