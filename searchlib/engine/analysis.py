"""Analysis: the analyzer chains that turn text into index terms, one per language, used for
indexing and querying alike.

Stage: text → tokens. Whoosh applies a field's analyzer both when a document is added and when a
query is parsed, so defining the chains here, once, keeps the two in step.

- Tokens: words and numbers (with their combining marks: Devanagari vowel signs, Arabic
  harakat), words joined by apostrophes or inner dots kept whole (`U.S.`, `o'neill`). Scripts
  written without spaces (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar) become
  overlapping character bigrams, as Lucene's and Elasticsearch's `cjk` analyzers make them:
  `梁振英` → `梁振 振英`, so a name or word of two or more characters is found as a phrase of
  its bigrams; a lone character is one token.
- `TEXT` (title, summary, body): each word normalised (NFKC: full-width forms, ligatures),
  case-folded (`Straße` → `strasse`), Arabic letters normalised (alef forms, teh marbuta, alef
  maksura; tatweel and harakat dropped), Hebrew points dropped, a soft hyphen or zero-width
  space inside a word dropped (`Bundes&shy;regierung` is one word), stemmed with the Snowball stemmer of the article's
  language (PyStemmer; English when the language is unknown, none for languages without one),
  then accents folded (`café` → `cafe`, `ё` → `е`, `æ` → `ae`). Every word is indexed, stop
  words too (a query decides what to do with them); one-letter words are dropped.
- `NAME` (source, section, author, dateline): the same tokens and folding without stemming.

A query has no language: it is parsed with the chain of every language in the index
(`chain_for`) and the variants are joined (querying/query.py). Each chain drops any token
longer than `MAX_TOKEN_CHARS` (255, Lucene's `maxTokenLength`): such a "word" is an inline
blob, never typed. Indexing a text field does not run Whoosh's token generator:
`term_positions` gives the same terms and positions in one pass.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain
from operator import sub
from pickle import dumps

from whoosh.analysis import Analyzer, Token
from whoosh.analysis.analyzers import STOP_WORDS
from whoosh.formats import Positions
from whoosh.lang.stopwords import stoplists
from whoosh.system import pack_uint

# The longest token indexed or searched (characters, after folding).
MAX_TOKEN_CHARS = 255
# Words whose term a chain remembers (an LRU cache; one per chain, in each indexing worker): a
# news archive's common words, at a fraction of a large build's memory (README "Build memory").
TERM_CACHE = 100_000
# The language whose stemmer analyses an article that declares none and is not detected, and a
# query's words when the index holds no language at all.
DEFAULT_LANGUAGE = "en"

# The words of a typed question that say nothing about its subject ("what", "which", "how", "only",
# "more", ...): NLTK's 127 English stop words and Whoosh's 34, for the query side (the index keeps
# every word); but `us`, which a news query in capitals (`US TROOPS`) means as the country.
QUESTION_STOP_WORDS = (frozenset(STOP_WORDS) | frozenset(stoplists["en"])) - {"us"}

# ISO 639-1 code → PyStemmer's (Snowball's) algorithm.
STEMMERS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
    "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish",
    "fr": "french", "de": "german", "el": "greek", "hi": "hindi", "hu": "hungarian",
    "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "no": "norwegian", "nb": "norwegian", "nn": "norwegian", "fa": "persian", "pl": "polish",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "st": "sesotho",
    "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}


def stemmer_name(lang: str | None) -> str | None:
    """The Snowball algorithm for a language code (`de`, `pt`), the default language's for None,
    and None (no stemming) for a language Snowball does not cover (`zh`, `ja`, `th`)."""
    primary = (lang or DEFAULT_LANGUAGE).lower().replace("_", "-").split("-")[0]
    return STEMMERS.get(primary or DEFAULT_LANGUAGE)


# --- tokens -------------------------------------------------------------------------------------

# Scripts written without spaces between words: Thai, Lao, Myanmar, Hangul Jamo, Khmer,
# Hiragana, Katakana, Hangul compatibility Jamo, Katakana extension, CJK extension A, CJK
# ideographs, Hangul Jamo extension A, Hangul syllables and extension B, CJK compatibility
# ideographs, half-width Katakana, and the supplementary ideographs.
_UNSPACED = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1100, 0x11FF), (0x1780, 0x17FF), (0x3040, 0x30FF),
             (0x3130, 0x318F), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F),
             (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3134F))
_LETTER_BLOCKS = {(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0x20000, 0x3134F)}


def _is_wordish(c: str) -> bool:
    return c.isalnum() or unicodedata.category(c) in ("Mn", "Mc", "Me")


def _class(ranges) -> str:
    out = []
    for a, b in ranges:
        out.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return "".join(out)


def _runs(codes) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for c in codes:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return [(a, b) for a, b in runs]


def _unspaced_ranges() -> list[tuple[int, int]]:
    """_UNSPACED without its punctuation (`・`, `๏`, `។`): the big ideograph and syllable blocks
    are letters throughout and taken whole, the small alphabetic ones checked character by character."""
    codes = []
    for a, b in _UNSPACED:
        if (a, b) in _LETTER_BLOCKS:
            continue
        codes.extend(c for c in range(a, b + 1) if _is_wordish(chr(c)))
    return sorted(_runs(codes) + list(_LETTER_BLOCKS))


# Combining marks outside those scripts (Latin and Cyrillic diacritics typed decomposed, Hebrew
# points, Arabic harakat, the vowel signs of Indic scripts): parts of a word, which `\w` is not.
_MARKS = _class(_runs(c for a, b in ((0x0300, 0x0DFF), (0x0F00, 0x0FFF), (0x1AB0, 0x1DFF), (0x20D0, 0x20FF),
                                     (0xFE20, 0xFE2F))
                      for c in range(a, b + 1) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")))
# Invisible characters that pages put inside words, parts of the word and then dropped: the soft
# hyphen (`Bundes&shy;regierung`), zero-width space, non-joiner and joiner, word joiner, BOM.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_BIGRAM_CHARS = _class(_unspaced_ranges())
_WORD_CHARS = rf"[^\W{_BIGRAM_CHARS}]"
_WORD = rf"{_WORD_CHARS}+(?:[{_MARKS}{INVISIBLE}]+{_WORD_CHARS}*)*"
# A word: word characters (and marks), joined by single inner dots (`u.s`); a run of unspaced
# script. TOKEN_PATTERN finds both.
WORD_PATTERN = rf"{_WORD}(?:\.{_WORD})*"
RUN_PATTERN = rf"[{_BIGRAM_CHARS}]+"
TOKEN_PATTERN = rf"{RUN_PATTERN}|{WORD_PATTERN}"
RUN = re.compile(RUN_PATTERN)
# Text with neither unspaced script nor combining marks (nearly all of it) has the tokens of this
# much simpler pattern, whose compiling costs a tenth as much at start-up.
_PLAIN_WORDS = re.compile(r"\w+(?:\.\w+)*")
_SPECIAL_CHARS = rf"[{_BIGRAM_CHARS}{_MARKS}{INVISIBLE}]"


@lru_cache(maxsize=None)
def _special() -> re.Pattern:
    return re.compile(_SPECIAL_CHARS)  # (6 ms to compile: only once some text is not ASCII)


class _Tokens:
    """TOKEN_PATTERN as a compiled pattern (`findall`, `finditer`, `match`, `fullmatch`), compiled
    only for text that needs it: the rest is scanned with the plain pattern, which finds the same."""

    def pattern_for(self, text: str) -> re.Pattern:
        """The compiled pattern that finds TOKEN_PATTERN's tokens in `text` (to scan it many times)."""
        if text.isascii() or _special().search(text) is None:
            return _PLAIN_WORDS
        return _full_tokens()

    def findall(self, text: str, *pos) -> list[str]:
        return self.pattern_for(text).findall(text, *pos)

    def finditer(self, text: str, *pos):
        return self.pattern_for(text).finditer(text, *pos)

    def search(self, text: str, *pos):
        return self.pattern_for(text).search(text, *pos)

    def match(self, text: str, *pos):
        return self.pattern_for(text).match(text, *pos)

    def fullmatch(self, text: str, *pos):
        return self.pattern_for(text).fullmatch(text, *pos)


@lru_cache(maxsize=None)
def _full_tokens() -> re.Pattern:
    return re.compile(TOKEN_PATTERN)


TOKEN = _Tokens()


def has_runs(text: str) -> bool:
    """Whether `text` holds any unspaced script (ASCII text, most of it, is known not to)."""
    return not text.isascii() and RUN.search(text) is not None


def is_run(token: str) -> bool:
    """Whether a token of TOKEN_PATTERN is a run of unspaced script (indexed as bigrams)."""
    return RUN.match(token) is not None


def bigrams(run: str, start: int = 0) -> list[tuple[str, int, int]]:
    """A run of unspaced script as (bigram, start, end): overlapping pairs of characters, or the
    one character of a run of one. Normalised (NFKC: half-width Katakana); the offsets are the
    run's own characters where normalising kept its length, else the whole run's."""
    text = unicodedata.normalize("NFKC", run).casefold()
    same = len(text) == len(run)
    if len(text) == 1:
        return [(text, start, start + len(run))]
    return [(text[i:i + 2], start + i if same else start, start + i + 2 if same else start + len(run))
            for i in range(len(text) - 1)]


# --- folding ------------------------------------------------------------------------------------

# Arabic: alef with madda / hamza above / hamza below / wasla → alef, alef maksura → yeh, teh
# marbuta → heh (Lucene's ArabicNormalizer); tatweel and harakat dropped.
_ARABIC = {**{ord(c): "ا" for c in "آأإٱ"}, ord("ى"): "ي", ord("ة"): "ه", ord("ـ"): None,
           **{c: None for c in range(0x064B, 0x0660)}, 0x0670: None}
# Hebrew points and cantillation marks (niqqud, dagesh, shin/sin dots): a pointed word is the
# unpointed word readers type; and the invisible characters inside words.
_DROPPED = {**_ARABIC, **{c: None for c in (*range(0x0591, 0x05BE), 0x05BF, 0x05C1, 0x05C2, 0x05C4, 0x05C5,
                                              0x05C7)},
            **{ord(c): None for c in INVISIBLE}}


def _accent_table() -> dict[int, str]:
    """Latin and Greek letters with diacritics → their base letters (NFKD without its marks),
    Cyrillic `ё` → `е` (Russian readers write either), and the Latin letters that do not
    decompose: `æ` → `ae`, `œ` → `oe`, `ø` → `o`, `ł` → `l`, `đ`/`ð` → `d`, `þ` → `th`, `ı` → `i`."""
    table: dict[int, str] = {}
    for a, b in ((0x00C0, 0x024F), (0x0370, 0x03FF), (0x1E00, 0x1EFF), (0x1F00, 0x1FFF)):
        for c in range(a, b + 1):
            base = "".join(ch for ch in unicodedata.normalize("NFKD", chr(c)) if not unicodedata.combining(ch))
            if base and base != chr(c):
                table[c] = base.casefold()
    table.update({ord("ё"): "е", ord("Ё"): "е", ord("æ"): "ae", ord("œ"): "oe", ord("ø"): "o",
                  ord("ł"): "l", ord("đ"): "d", ord("ð"): "d", ord("þ"): "th", ord("ı"): "i"})
    table.update({c: None for c in range(0x0300, 0x0370)})  # marks left over
    return table


_accents = lru_cache(maxsize=None)(_accent_table)


def normalise(word: str) -> str:
    """A word as the chains see it before stemming: NFKC, case-folded, Arabic normalised,
    Hebrew points and invisible characters (soft hyphen, zero-width space) dropped."""
    if word.isascii():
        return word.lower()
    word = unicodedata.normalize("NFKC", word).casefold()
    return word.translate(_DROPPED) if "\u0591" <= max(word) or "\u00ad" in word else word


def fold(word: str) -> str:
    """Accents folded, after stemming (Snowball's French, German and Spanish rules read them)."""
    return word if word.isascii() else word.translate(_accents())


@lru_cache(maxsize=None)
def _stemmer(name: str):
    import Stemmer  # PyStemmer: Snowball in C
    return Stemmer.Stemmer(name, 0)


# --- the chains ---------------------------------------------------------------------------------

class NewsAnalyzer(Analyzer):
    """The TEXT chain for one language (`lang`, a code such as `de`; `stoplist`: words dropped,
    none in the index), as Whoosh runs it for queries, plus `term_positions`: the same chain in
    one pass for indexing. `for_language(code)` gives the chain of another language."""

    stem = True

    def __init__(self, stoplist=(), minsize=2, maxsize=MAX_TOKEN_CHARS, lang=DEFAULT_LANGUAGE):
        super().__init__()
        self.stoplist = frozenset(stoplist)
        self.min, self.max = minsize, maxsize
        self.lang = lang
        self.algorithm = stemmer_name(lang) if self.stem else None

    def __repr__(self):
        return f"{type(self).__name__}(lang={self.lang!r}, stop={len(self.stoplist)})"

    def __eq__(self, other):
        return (type(other) is type(self) and self.lang == other.lang and self.stoplist == other.stoplist
                and (self.min, self.max) == (other.min, other.max))

    def __hash__(self):
        return hash((type(self), self.lang, self.stoplist, self.min, self.max))

    def for_language(self, lang: str | None) -> "NewsAnalyzer":
        """This chain for articles in language `lang` (None: the default language)."""
        return _chain(type(self), self.stoplist, self.min, self.max, lang or DEFAULT_LANGUAGE)

    def has_morph(self) -> bool:
        """Whether terms are stems (Whoosh then keeps a field's unstemmed words apart for spelling)."""
        return self.algorithm is not None

    @property
    def prefix_safe(self) -> bool:
        """Whether a word's term keeps the word's first letters but the last three (Porter2, or no
        stemming): snippets then analyse only the words that start like a matched term."""
        return self.algorithm in (None, "english")

    # the chain, token by token
    def term(self, token: str) -> str | None:
        """The term of one word token (None: dropped); a run of unspaced script → its first bigram."""
        if is_run(token):
            return bigrams(token)[0][0]
        return (self.__dict__.get("_term") or self._make_term())(token)

    def _make_term(self):
        stops, minsize, maxsize = self.stoplist, self.min, self.max
        stem = _stemmer(self.algorithm).stemWord if self.algorithm else None

        def unstemmed(token: str) -> str | None:
            word = normalise(token)
            if len(word) < minsize or (maxsize is not None and len(word) > maxsize) or word in stops:
                return None
            return word

        def term(token: str) -> str | None:
            word = unstemmed(token)
            if word is None:
                return None
            return fold(stem(word) if stem else word)

        def unstemmed_folded(token: str) -> str | None:
            word = unstemmed(token)
            return word if word is None else fold(word)

        self._unstemmed = unstemmed_folded
        self._term = lru_cache(maxsize=TERM_CACHE)(term)
        return self._term

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """(term, start, end) for each token the chain keeps, in order (a kept token's position
        is its place in this list)."""
        term = self.__dict__.get("_term") or self._make_term()
        out = []
        if not has_runs(text):
            for m in TOKEN.finditer(text):
                word = term(m.group())
                if word is not None:
                    out.append((word, m.start(), m.end()))
            return out
        for m in TOKEN.finditer(text):
            token = m.group()
            if is_run(token):
                out.extend(bigrams(token, m.start()))
            else:
                word = term(token)
                if word is not None:
                    out.append((word, m.start(), m.end()))
        return out

    def term_positions(self, text: str) -> dict[str, list[int]]:
        """Each term of `text` and its positions (its places among the kept tokens)."""
        if not has_runs(text):
            term = self.__dict__.get("_term") or self._make_term()
            return _positions(list(filter(None, map(term, TOKEN.findall(text)))))
        return _positions([t for t, _, _ in self.tokens(text)])

    def terms_with_chars(self, text: str) -> list[tuple[str, int, int]]:
        """(term, start, end) for each token the chain keeps (snippets mark phrases with these)."""
        return self.tokens(text)

    def spell_words(self, text: str) -> list[str]:
        """The words of `text` unstemmed, each once, sorted, for "did you mean" (the chain run
        with no_morph=True). Runs of unspaced script are left out: no suggestion is made there."""
        if "_unstemmed" not in self.__dict__:
            self._make_term()
        tokens = TOKEN.findall(text)
        words = set(map(self._unstemmed, tokens if not has_runs(text) else
                        [t for t in tokens if not is_run(t)]))
        words.discard(None)
        return sorted(words)

    # Whoosh's analyzer protocol
    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", no_morph=False, **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:  # a wildcard's, fuzzy word's or range end's text: folded (and stemmed) whole
            word = normalise(value)
            if self.algorithm and not no_morph:
                word = _stemmer(self.algorithm).stemWord(word)
            items = [(fold(word), 0, len(value))]
        elif no_morph:
            items = [(w, 0, 0) for w in self.spell_words(value)]
        else:
            chain_ = self if removestops or not self.stoplist else text_analyzer((), self.lang)
            items = chain_.tokens(value)
        for pos, (text, s, e) in enumerate(items):
            t.text, t.boost, t.stopped = text, 1.0, False
            if keeporiginal:
                t.original = value[s:e]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + s, start_char + e
            yield t

    def __getstate__(self):  # the functions are made again on first use, not pickled into the index
        return {k: v for k, v in self.__dict__.items() if k not in ("_term", "_unstemmed")}


class NameAnalyzer(NewsAnalyzer):
    """The NAME chain: the TEXT chain's tokens and folding, without stemming, every token kept."""

    stem = False

    def __init__(self, maxsize=MAX_TOKEN_CHARS, lang=DEFAULT_LANGUAGE):
        super().__init__(stoplist=(), minsize=1, maxsize=maxsize, lang=lang)

    def for_language(self, lang: str | None) -> "NameAnalyzer":
        return self


@lru_cache(maxsize=None)
def _chain(cls, stoplist: frozenset, minsize: int, maxsize: int, lang: str) -> NewsAnalyzer:
    return cls(stoplist, minsize, maxsize, lang)


def _positions(words: list[str]) -> dict[str, list[int]]:
    """Each word and its places in `words`."""
    positions: dict[str, list[int]] = {}
    for pos, word in enumerate(words):
        if word in positions:
            positions[word].append(pos)
        else:
            positions[word] = [pos]
    return positions


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


def text_analyzer(stoplist=(), lang=DEFAULT_LANGUAGE) -> NewsAnalyzer:
    return _chain(NewsAnalyzer, frozenset(stoplist), 2, MAX_TOKEN_CHARS, lang)


def name_analyzer() -> NameAnalyzer:
    return NameAnalyzer()


TEXT = text_analyzer()  # every word is indexed: `to be or not to be` is a phrase to find
QUESTION_TEXT = text_analyzer(QUESTION_STOP_WORDS)  # query side, partial-match (OR) pass only
NAME = name_analyzer()
