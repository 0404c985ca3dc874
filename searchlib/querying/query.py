"""Query: the text a user types → a Whoosh query.

Stage: querying, before searching. Whoosh's QueryParser supplies AND / OR / NOT, parentheses,
quoted phrases, `field:` scoping, wildcards and boosts; unfielded words search the fields in
`schema.DEFAULT_FIELDS`, and all of them must match (AND), as Elasticsearch's `default_operator=AND`.

Also `+must -mustnot`, fuzzy `artilery~` and proximity `"korea artillery"~5` (its words in any
order, as Lucene's sloppy phrases: a `ranking.SloppyPhrase`, for any `~N` from `~1`; the exact
phrase, `"a b"` or `"a b"~0`, keeps its order).

Checked before parsing (`_check_syntax`), as Lucene's parser refuses them too: a query longer
than MAX_QUERY_CHARS; a `name:` prefix that is no field (field names are case-insensitive:
`Title:` is `title:`); one field inside another (`title:date:x`); a boost that is not a number
(`korea^abc`); a fuzzy distance or proximity that is not a number (`oil~abc`, `"a b"~x`).
Only an ASCII-letters word straight before a colon and straight before a value is taken as a
field name: field names are such words, while times (`12:30`), ratios (`3:2`),
URLs (`http://`, the colon followed by `/`) and a colon before a space (`note: …`) are text, as
a typed question holds them. After parsing, a phrase on a field without word positions (the
comma-separated lists, `places:"usa,uk"`) is refused rather than failing in the search.

A query of plain words (no quotes, operators, prefixes or other syntax, each word one token) is
built here directly, as the parser would build it (tested against it), in a tenth of the time.

Queries as people type them: a query typed entirely in capitals is read in lower case
(`read_capitals`: its AND, OR, NOT are words); a plain query needs only its content words, not
its question and filler words (`without_stop_words`), and a query of filler words only is one
phrase (`the who`).

`date:` clauses are parsed here, not by Whoosh's DateParserPlugin (which silently widens
`[2024-03-01 to 2024-03-31]` to all of 2024): each becomes a `DateSpanQuery` over whole
days/months/years in UTC, via `searchlib.dates`, answered from the date column (datequery.py).
Accepted forms: `date:2022`, `date:2022-09`, `date:2022-09-06`, `date:[2022-09-01 TO 2022-09-30]`
(`*` for an open end, `{}` to exclude the ends), `date:>=2022-09-01`, `date:<2023`,
`date:yesterday`, `date:"last week"`, `date:"Sept 2022"`.

The library's arguments are checked here too, before anything is read or written (`check_arguments`
for a search, `check_id`, `check_similar_arguments`, `check_update_arguments`): a wrong type or a
value out of range is a QueryError (an ArgumentError for `update`), never a TypeError from deep
inside; text holding lone surrogates (bytes that are not UTF-8, as Python decodes them from a
command line) is refused with a clear error rather than failing when it is encoded.
"""
from __future__ import annotations

import copy
import functools
import math
import os
import re
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from whoosh import query as wq

from ..engine.analysis import DEFAULT_LANGUAGE, QUESTION_STOP_WORDS, TOKEN, bigrams, is_run, stemmer_name
from ..dates import DateSpan, parse_span
from ..errors import ArgumentError, DateError, QueryError
from ..ingest.language import normalise_tag
from ..engine.ranking import LanguageFilter, SloppyPhrase
from ..engine.schema import DEFAULT_FIELDS, SCHEMA, SEARCHABLE_FIELDS, schema_for
from .datequery import DateSpanQuery

if TYPE_CHECKING:
    from whoosh.qparser import MultifieldParser

DATE_FIELD = "date"
LANG_FIELD = "lang"
# A longer query is refused before it is parsed: Whoosh's parser time grows with the text (a
# 99 KB query took half a minute), and no typed question comes near this.
MAX_QUERY_CHARS = 4096
FIELD_NAMES = tuple(sorted(set(SEARCHABLE_FIELDS) | {DATE_FIELD}))


_COMPARE = re.compile(r"^(>=|<=|>|<)\s*(.+)$")
_RANGE = re.compile(r"^([\[{])\s*(.*?)\s+to\s+(.*?)\s*([\]}])$", re.I)


def parse_date_clause(value: str, now: datetime | None = None) -> DateSpan:
    """The span of a `date:` clause's value; raises DateError with a pointer to the problem."""
    raw = value
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            raise DateError(raw, "the quote is not closed")
        value = value[1:-1]
    if not value.strip():
        raise DateError(raw, "date: needs a value, e.g. date:2022-09 or date:[2022-09-01 TO 2022-09-30]")
    if value[0] in "[{":
        m = _RANGE.match(value)
        if not m:
            raise DateError(raw, "write a range as date:[2022-09-01 TO 2022-09-30]")
        open_, low, high, close = m.groups()
        start = None if low in ("*", "") else parse_span(low, now)
        end = None if high in ("*", "") else parse_span(high, now)
        first = (start.start if open_ == "[" else start.end) if start else None
        last = (end.end if close == "]" else end.start) if end else None
        if first and last and last <= first:
            if end.start < start.start:
                raise QueryError(f"date:{raw}", f"the range ends before it starts ({high} is "
                                                f"before {low}); write date:[{high} TO {low}]")
            raise QueryError(f"date:{raw}", f"the range {raw} holds no time at all")
        return DateSpan(first, last)
    m = _COMPARE.match(value)
    if m:
        op, operand = m.groups()
        span = parse_span(operand, now)
        return {
            ">=": DateSpan(span.start, None), ">": DateSpan(span.end, None),
            "<": DateSpan(None, span.start), "<=": DateSpan(None, span.end),
        }[op]
    return parse_span(value, now)


def span_query(span: DateSpan) -> wq.Query:
    """A query matching articles dated within the span (half-open)."""
    if span.start is None and span.end is None:
        return wq.Every(DATE_FIELD)
    return DateSpanQuery(span.start, span.end)


# Plain queries have no operators, +/- prefixes or known `field:` prefixes (those mean exactly
# what they say). When too few articles have all of a plain query's words, the best partial
# matches follow them; quotes and parentheses are fine there (one more optional clause), and
# question marks, colons and asterisks in a typed question are not taken as intent.
_SYNTAX = re.compile(r"""\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b|(?<![^\s(])[+\-]|(?i:\b(?:%s):)"""
                     % "|".join(FIELD_NAMES))
# Partial matches are ranked by BM25F over the OR of the words: an article scores for every
# word it contains, so more words usually rank higher, but a rare word counts for more than a
# common one. Hard word-count tiers (each word adding a constant above any BM25F score) were
# measured on CISI/CRAN/MED questions and cost a fifth of the MAP (scripts/ranking_experiments.py:
# 0.239 vs 0.305 mean MAP with the same BM25F), so they are not used.


def is_plain(text: str) -> bool:
    """No operator, +/- prefix or field: prefix (quotes and parentheses are fine: in the OR pass
    a phrase or a group is one more optional clause). A query in capitals is read as words."""
    return not _SYNTAX.search(natural(read_capitals(text)))


def read_capitals(text: str) -> str:
    """A query typed entirely in capitals (no lower-case letter, some upper-case ones), as wire
    copy and old archives are written, in lower case: its AND, OR and NOT are words, not
    operators, and it finds what the same words in lower case find. Any other text as it is."""
    if any(c.islower() for c in text) or not any(c.isupper() for c in text):
        return text
    return text.lower()


# A quoted phrase, with its proximity or boost, and a range (`[a TO z]`) are kept whole; outside
# them, a word with syntax in it is kept.
_QUOTED = re.compile(r'("[^"]*"?(?:[~^][\w.]*)?|[\[{][^\]}]*[\]}]?)')
_SYNTAX_CHARS = frozenset("*?~^:()[]{}")
_EDGE_PUNCTUATION = ".,;!?'"


def without_stop_words(text: str) -> str:
    """A plain query's words that must all match: its text without the bare question and filler
    words (analysis.QUESTION_STOP_WORDS: `what`, `did`, `the` ...), so that they neither make an
    article a complete match nor rank it. Quoted phrases and words with syntax (`the*`, `with^2`)
    are kept as typed. A query of stop words only (`the who`, `to be or not to be`) becomes one
    phrase of all its words, so it still finds the articles that hold it. A word in capitals
    among others that are not (`WHO guidance on masks`, `what did the US do`) names something:
    it is kept (an all-capitals query is read in lower case before, by read_capitals)."""
    kept, content = [], False
    for i, part in enumerate(_QUOTED.split(text)):
        if i % 2:  # a quoted phrase
            kept.append(part)
            content = content or bool(TOKEN.search(part))
            continue
        for chunk in part.split():
            core = chunk.strip(_EDGE_PUNCTUATION)
            words = TOKEN.findall(core)
            if words and _SYNTAX_CHARS.isdisjoint(core) and all(
                    w.lower() in QUESTION_STOP_WORDS and not _is_acronym(w) for w in words):
                continue
            kept.append(chunk)
            content = content or bool(words)
    if content:
        return " ".join(kept)
    words = TOKEN.findall(text)
    return '"' + " ".join(words) + '"' if words else text


def _is_acronym(word: str) -> bool:
    """A word of two or more letters, all capitals (`WHO`, `US`, `IT`)."""
    return len(word) > 1 and word.isupper()


def content_words(text: str) -> set[str]:
    """The distinct words of a query (in lower case) that are not question or filler words
    (analysis.QUESTION_STOP_WORDS): how much a typed question says about its subject."""
    words = {word.lower() for word in TOKEN.findall(natural(read_capitals(text)))}
    return {word for word in words if word not in QUESTION_STOP_WORDS}


# Typed questions: `?` is a one-character wildcard only between two word characters (`wom?n`);
# elsewhere it is punctuation (`titles?`, `?slip?`). A `+`/`-` followed by a space is punctuation,
# not an operator (`schemes - DDC, UDC` must not exclude DDC).
_STRAY_QUESTION_MARK = re.compile(r"(?<!\w)\?+|\?+(?!\w)")
_SPACED_PLUS_MINUS = re.compile(r"(?<![^\s(])[+-]+(?![\w\"(])")
# A word the query repeats n times weighs (K3 + 1) n / (K3 + n) times (BM25's query-term
# frequency; Whoosh's normalize() would count it once).
K3 = 8.0


def natural(text: str) -> str:
    return _SPACED_PLUS_MINUS.sub(" ", _STRAY_QUESTION_MARK.sub(" ", text))


def _weight_repeats(q: wq.Query) -> wq.Query:
    counts = Counter((t.fieldname, t.text) for t in q.leaves() if isinstance(t, wq.Term))
    q = q.normalize()
    if max(counts.values(), default=0) < 2:
        return q
    q = copy.deepcopy(q)  # one Term object may stand in two places: boost each place once
    for leaf in q.leaves():
        if isinstance(leaf, wq.Term) and counts[(leaf.fieldname, leaf.text)] > 1:
            n = counts[(leaf.fieldname, leaf.text)]
            leaf.boost *= (K3 + 1) * n / (K3 + n)
    return q


def make_parser(now: datetime | None = None, group=None, schema=SCHEMA) -> MultifieldParser:
    """Whoosh's parser with our plugins; `group` joins the words (default: AndGroup).

    Whoosh's query parser is imported here, on first use: a query of plain words never needs it
    (3 ms of a cold start)."""
    from whoosh.qparser import AndGroup, FuzzyTermPlugin, MultifieldParser, PhrasePlugin, PlusMinusPlugin
    parser = MultifieldParser(list(DEFAULT_FIELDS), schema, fieldboosts=DEFAULT_FIELDS,
                              group=group or AndGroup)
    parser.remove_plugin_class(PhrasePlugin)
    parser.add_plugin(_phrase_plugin()())  # "a b"~1 is sloppy, as "a b"~5 is
    parser.add_plugin(_date_plugin()(now))
    # +must -mustnot, only at the start of a word: `el-salvador`, `west-germany` stay words
    parser.add_plugin(PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+(?=[\w\"(])",
                                      minusexpr=r"(?<![^\s(])-(?=[\w\"(])"))
    parser.add_plugin(FuzzyTermPlugin())  # artilery~ (edit distance 1), artilery~2
    return parser


@functools.lru_cache(maxsize=16)
def _parser(now: datetime | None, any_word: bool, lang: str | None = None) -> MultifieldParser:
    """A parser made once and reused (making one compiles a dozen regular expressions); with
    now=None, relative dates are resolved against the clock at each parse. `lang`: the language
    whose chain analyses the words (schema_for)."""
    from whoosh.qparser import OrGroup
    parser = make_parser(now, OrGroup if any_word else None, schema_for(lang, any_word))
    parser.multitoken_query = functools.partial(_multitoken_query, parser)
    return parser


def _multitoken_query(parser, spec, texts, fieldname, termclass, boost):
    """A typed word that analyses to several tokens: a word of unspaced script (`梁振英`, its
    bigrams `梁振 振英`) is the phrase of its tokens, so it matches only where it is written;
    any other (`U.S.-China`) as Whoosh makes it (an And, an Or in the any-word pass). A run of
    one character in it (`Trump氏`: `trump 氏`) is indexed inside the bigrams of a longer run
    (`氏が`), so it is required apart, beside the phrase of the other tokens (lone_characters)."""
    lone = [text for text in texts if len(text) == 1 and is_run(text)]
    if lone and len(lone) < len(texts):
        rest = [text for text in texts if text not in lone]
        words = wq.Phrase(fieldname, rest, boost=boost) if len(rest) > 1 else wq.Term(fieldname, rest[0], boost=boost)
        return wq.And([words, *(wq.Term(fieldname, text, boost=boost) for text in dict.fromkeys(lone))])
    if any(is_run(text) for text in texts):
        return wq.Phrase(fieldname, list(texts), boost=boost)
    return type(parser).multitoken_query(parser, spec, texts, fieldname, termclass, boost)


@functools.cache
def _date_plugin():
    """The parser plugin for `date:` clauses (a class made on first use, with the parser)."""
    from whoosh.qparser import syntax
    from whoosh.qparser.plugins import TaggingPlugin

    class DateNode(syntax.SyntaxNode):
        """A `date:` clause, already resolved to a span of time."""

        def __init__(self, span: DateSpan, text: str):
            self.span = span
            self.text = text

        def r(self):
            return f"DATE {self.text!r}"

        def query(self, parser):
            return span_query(self.span)

    class DatePlugin(TaggingPlugin):
        # `date:` followed by a [range], {range}, "quoted text", or a run of characters up to a
        # space or parenthesis. Runs before the FieldsPlugin (priority 0).
        expr = (r"(?<![\w:])date:(?P<value>[\[{][^\]}]*[\]}]?|\"[^\"]*\"?|[^\s()]*)")
        priority = -10

        def __init__(self, now: datetime | None):
            super().__init__()
            self.now = now

        def create(self, parser, match):
            text = match.group(0)
            node = DateNode(parse_date_clause(match.group("value"), self.now), text)
            node.startchar, node.endchar = match.start(), match.end()
            return node

    return DatePlugin


@functools.cache
def _phrase_plugin():
    """Whoosh's phrase plugin, but a phrase with `~N` (N of 1 or more) becomes a SloppyPhrase:
    Whoosh reads `"a b"~1` as `"a b"` (its slop 1 is the exact phrase), so the two cannot be told
    apart after parsing. `~0` is the exact phrase, as in Lucene."""
    from whoosh.qparser.plugins import PhrasePlugin
    from whoosh.qparser.taggers import RegexTagger

    class ProximityNode(PhrasePlugin.PhraseNode):
        sloppy = False

        def query(self, parser):
            q = super().query(parser)
            if self.sloppy and type(q) is wq.Phrase:
                near = SloppyPhrase(q.fieldname, q.words, slop=q.slop, boost=q.boost,
                                    char_ranges=q.char_ranges)
                near.startchar, near.endchar = q.startchar, q.endchar
                return near
            return q

    class ProximityTagger(RegexTagger):
        def create(self, parser, match):
            slop = match.group("slop")
            node = ProximityNode(match.group("text"), match.start("text"), max(1, int(slop or 1)))
            node.sloppy = slop is not None and int(slop) >= 1
            return node

    class ProximityPlugin(PhrasePlugin):
        def __init__(self):
            super().__init__(expr=r'"(?P<text>.*?)"(~(?P<slop>[0-9]+))?')

        def taggers(self, parser):
            return [(ProximityTagger(self.expr), 0)]

    return ProximityPlugin


# Text the parser would read as words only: no quotes, brackets, prefixes, wildcards, boosts or
# operators. Such a query is built here directly (what the parser gives, in a tenth of the time).
_WORDS_ONLY = re.compile(r"[\w\s.,;!]*")
_OPERATOR = re.compile(r"\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b")


def _words_query(text: str, any_word: bool, lang: str | None = None) -> wq.Query | None:
    """The parser's query for a text of plain words, each of them one token or none (None when
    the text is not that simple): per word, an Or of its term in each default field (boosted as
    the fields are), and an And of the words (an Or with any_word)."""
    if not _WORDS_ONLY.fullmatch(text) or _OPERATOR.search(text):
        return None
    schema = schema_for(lang, any_word)
    analyzer = schema[next(iter(DEFAULT_FIELDS))].analyzer
    if not hasattr(analyzer, "term") or any(schema[name].analyzer is not analyzer for name in DEFAULT_FIELDS):
        return None
    term = analyzer.term
    groups = []
    for m in re.finditer(r"\S+", text):
        tokens = TOKEN.findall(m.group())
        if len(tokens) > 1 or (tokens and is_run(tokens[0]) and len(tokens[0]) > 2):
            return None  # several tokens (a run of unspaced script: several bigrams)
        analysed = term(tokens[0]) if tokens else None
        if analysed is not None:
            terms = [wq.Term(name, analysed, boost=boost) for name, boost in DEFAULT_FIELDS.items()]
            for t in terms:  # where the word was typed, as the parser marks it (in_languages)
                t.startchar, t.endchar = m.start(), m.end()
            groups.append(wq.Or(terms))
    return (wq.Or if any_word else wq.And)(groups)



# In a query, outside quotes: a `name:` prefix (ASCII letters, not after a word character, a
# dot, colon, slash or hyphen, and straight before a value: not a space, `)`, `:` or `/`), and a
# boost (`^` straight after a word, quote or bracket) with what follows it.
_SCAN = re.compile(r"""(?P<quote>"[^"]*"?)
                       |(?<![\w.:/\\-])(?P<field>[A-Za-z]+):(?=[^\s):/])
                       |(?<=[\w")\]}*?~])\^(?P<boost>[^\s()]*)
                       |(?<=[\w"*?])~(?P<tilde>[^\s()^]*)""", re.X)
# what may follow a word's `~` (edits, and a prefix length: korea~, korea~2, korea~/3, korea~2/3)
# and a phrase's (a number of positions)
_FUZZY = re.compile(r"(?P<edits>\d*)(?:/\d+)?")
_SLOP = re.compile(r"\d*")
_NESTED = re.compile(r"[A-Za-z]+:(?=[^\s):/])")
_BOOST = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)")


def check_arguments(query, limit, offset, *, snippets: int = 1, fresh: float | None = None) -> None:
    """A library call's query, page size, offset, passages and recency half-life, checked before
    anything is read: a query is text (valid UTF-8), `limit` and `offset` whole numbers, 0 or
    more (a negative offset would count from the end of the hits), `snippets` a whole number, 1
    or more, `fresh` None or a number of days above 0."""
    check_query(query)
    for name, value in (("limit", limit), ("offset", offset)):
        _check_count(query, name, value)
    _check_count(query, "snippets", snippets, least=1)
    if fresh is not None and (not _is_number(fresh) or not math.isfinite(fresh) or fresh <= 0):
        raise QueryError(query, f"fresh is a half-life in days, a number above 0 (or None for no "
                                f"recency boost), not {fresh!r}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_count(query: str, name: str, value, least: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise QueryError(query, f"{name} must be a whole number, not {value!r}")
    if value < least:
        raise QueryError(query, f"{name} must be {least} or more, not {value}")


def check_text(text: str, what: str, query: str | None = None) -> None:
    """Raise QueryError if `text` holds lone surrogates: bytes that are not UTF-8, as Python
    decodes them from a command line or a file name; no index word or id can hold them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryError(text if query is None else query,
                         f"{what} is not valid text: it holds bytes that are not UTF-8") from None


def check_id(article_id) -> None:
    """An article id (`Index.get`, `Index.similar`): text, valid UTF-8."""
    if not isinstance(article_id, str):
        raise QueryError(repr(article_id), f"an article id is text (str), not {type(article_id).__name__}")
    check_text(article_id, "the article id")


def check_similar_arguments(article_id, limit) -> None:
    """`Index.similar`'s id and page size (a whole number, 0 or more)."""
    check_id(article_id)
    _check_count(article_id, "limit", limit)


def check_update_arguments(paths, *, jobs=None, batch_files=None, batch_articles=None, wait=0.0,
                           exclude=()) -> tuple[list, list]:
    """`Index.update`'s arguments, checked before anything is read or written; the paths and the
    exclude patterns as lists (one path, or an iterable of them: str or os.PathLike, not bytes). `jobs`,
    `batch_files`, `batch_articles`: None or a whole number, 1 or more; `wait`: seconds, a
    number, 0 or more; `exclude`: an iterable of gitignore patterns (str), not one string.
    Raises ArgumentError."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif isinstance(paths, (bytes, bytearray)) or not isinstance(paths, Iterable):
        raise ArgumentError("paths", paths, "give a path (str or pathlib.Path) or a list of them")
    paths = list(paths)
    for path in paths:
        if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
            raise ArgumentError("paths", path, "each path is text (str) or a pathlib.Path"
                                + (", not bytes: decode it with os.fsdecode"
                                   if isinstance(path, (bytes, bytearray)) else ""))
    for name, value in (("jobs", jobs), ("batch_files", batch_files), ("batch_articles", batch_articles)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ArgumentError(name, value, "a whole number, 1 or more (or None for the default)")
    if not _is_number(wait) or not 0 <= wait < math.inf:
        raise ArgumentError("wait", wait, "seconds to wait for another run's lock, a finite number, 0 or more")
    if isinstance(exclude, (str, bytes)) or not isinstance(exclude, Iterable):
        raise ArgumentError("exclude", exclude, "a list of gitignore patterns, as ['*.md', 'drafts/']")
    exclude = list(exclude)
    for pattern in exclude:
        if not isinstance(pattern, str):
            raise ArgumentError("exclude", pattern, "each pattern is text (str), as '*.md'")
    return paths, exclude


def check_query(text) -> None:
    """A query is text, not empty, valid UTF-8, of at most MAX_QUERY_CHARS characters (checked
    before it is parsed: Whoosh's parser took seconds on long ones)."""
    if not isinstance(text, str):
        raise QueryError(repr(text), f"a query is text (str), not {type(text).__name__}")
    if not text.strip():
        raise QueryError(text, "the query is empty")
    _check_length(text)
    check_text(text, "the query")


def _check_length(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(text[:40] + "…", f"it is {len(text):,} characters long; the most is "
                                          f"{MAX_QUERY_CHARS:,} characters")


def _check_syntax(text: str) -> str:
    """The text with its field names in lower case; raises QueryError for an unknown field, a
    field inside another, a boost, fuzzy distance or proximity that is not a number (see the
    module's docstring). A fuzzy distance of several digits is given to Whoosh's parser, which
    reads one, as 9 (searching counts any above 2 as 2)."""
    out, pos = [], 0
    for m in _SCAN.finditer(text):
        name, boost, tilde = m.group("field"), m.group("boost"), m.group("tilde")
        if name is not None:
            field = name.lower()
            if field not in FIELD_NAMES:
                raise QueryError(text, f"unknown field {name!r}; the fields are "
                                       f"{', '.join(FIELD_NAMES)}")
            inner = _NESTED.match(text, m.end())
            if inner:
                raise QueryError(text, f"{name}:{inner.group()} puts a field inside another; "
                                       f"write {name}:WORD AND {inner.group()}WORD")
            if field != name:
                out.append(text[pos:m.start("field")] + field)
                pos = m.end("field")
        elif boost is not None and not _BOOST.fullmatch(boost):
            raise QueryError(text, f"a boost is a number, as in korea^2, not ^{boost}")
        elif tilde is not None and text[m.start() - 1] == '"':
            if not _SLOP.fullmatch(tilde):
                raise QueryError(text, f'a proximity is a whole number of positions, as in '
                                       f'"korea artillery"~5, not ~{tilde}')
        elif tilde is not None:
            fuzzy = _FUZZY.fullmatch(tilde)
            if not fuzzy:
                raise QueryError(text, f"a fuzzy distance is a number of edits, as in korea~2 (or "
                                       f"korea~ for one), not ~{tilde}")
            if len(fuzzy.group("edits")) > 1:
                out.append(text[pos:m.start("tilde")] + "9")
                pos = m.start("tilde") + len(fuzzy.group("edits"))
    return "".join(out) + text[pos:] if out else text


def _checked(q: wq.Query, text: str) -> wq.Query:
    """The parsed query with its proximity phrases made SloppyPhrases; raises QueryError for a
    phrase on a field without word positions."""
    def visit(leaf: wq.Query) -> wq.Query:
        if getattr(leaf, "fieldname", None) == DATE_FIELD and not isinstance(leaf, (DateSpanQuery, wq.Every)):
            # `date:` where the date plugin does not see it (`x:date:…`): Whoosh's own date
            # parsing fails only when the search runs
            raise QueryError(text, "write a date clause as date:2022-09, after a space or a bracket")
        if isinstance(leaf, (wq.Term, wq.Phrase)) and leaf.fieldname == LANG_FIELD:
            return language_term(leaf, text)
        if isinstance(leaf, wq.Phrase):
            field = SCHEMA[leaf.fieldname] if leaf.fieldname in SCHEMA else None
            if field is not None and len(leaf.words) > 1 and not field.format.supports("positions"):
                raise QueryError(text, f"{leaf.fieldname} holds whole values, not running text: "
                                       f"search one at a time, as {leaf.fieldname}:{leaf.words[0]}"
                                       f" OR {leaf.fieldname}:{leaf.words[1]}")
            if leaf.slop > 1 and type(leaf) is wq.Phrase:
                return SloppyPhrase(leaf.fieldname, leaf.words, slop=leaf.slop, boost=leaf.boost,
                                    char_ranges=leaf.char_ranges)
            if leaf.slop < 1:  # "a b"~0 is the exact phrase, as in Lucene
                leaf = copy.copy(leaf)
                leaf.slop = 1
        return leaf
    return q.accept(visit)


def language_term(term: wq.Term | wq.Phrase, text: str) -> wq.Term:
    """`lang:en-US`, `lang:EN`, `lang:"pt_BR"` as the normalised code the index holds (`lang:en`,
    `lang:pt`: `ingest.language.normalise_tag`); QueryError for a value that is no language."""
    value = " ".join(term.words) if isinstance(term, wq.Phrase) else term.text
    lang, _ = normalise_tag(value)
    if lang is None:
        raise QueryError(text, f"lang:{value} names no language; write a language code, as "
                               "lang:en, lang:de or lang:zh")
    if isinstance(term, wq.Term) and lang == term.text:
        return term
    return wq.Term(LANG_FIELD, lang, boost=term.boost)


def parse_query(text: str, now: datetime | None = None, *, any_word: bool = False,
                languages: Iterable[str | None] = (DEFAULT_LANGUAGE,)) -> wq.Query:
    """Parse a user's query; raises QueryError (with the reason) when it cannot be understood.

    Words are ANDed; `any_word=True` ORs them instead (ranked by BM25F). `languages`: those of
    the articles searched (one per stemmer); the text is parsed with the first one's chain, and
    each word then stands for its form in every one of them (`in_languages`), so `Straßen` finds
    a German article's `Straße`.
    """
    check_query(text)
    try:
        typed = _check_syntax(natural(read_capitals(text)))
        if not _SYNTAX.search(typed):  # plain: its content words must match (or its phrase)
            typed = without_stop_words(typed)
        languages = list(dict.fromkeys(languages)) or [DEFAULT_LANGUAGE]
        q = _words_query(typed, any_word, languages[0])
        if q is None:
            q = _checked(_parser(now, any_word, languages[0]).parse(typed, normalize=False), text)
        return _weight_repeats(lone_characters(in_languages(q, typed, languages, any_word)))
    except QueryError as exc:
        if exc.query == text:
            raise
        raise QueryError(text, exc.problem) from None
    except DateError as exc:
        raise QueryError(text, str(exc)) from None
    except RecursionError:
        raise QueryError(text, "too deeply nested") from None
    except Exception as exc:  # Whoosh's parser is lenient; anything it still throws is the query's fault
        raise QueryError(text, f"{type(exc).__name__}: {exc}") from None


class CharacterTerms(wq.PatternQuery):
    """A word of one character of unspaced script (`北`, `氏`): indexed as a term of its own only
    where it stands alone, and otherwise inside its run's bigrams, it matches each bigram that
    holds it, first (`北朝`) or second (`来日`), and the character alone. In a phrase, where a
    word of another script stands before it (`Trump氏`), only a bigram it begins can be there,
    and only one it ends where a word stands after it (`first`, `second`)."""

    def __init__(self, fieldname: str, text: str, boost: float = 1.0, *, first: bool = True,
                 second: bool = True):
        super().__init__(fieldname, text, boost, constantscore=False)
        self.first, self.second = first, second

    def __eq__(self, other):
        return super().__eq__(other) and (self.first, self.second) == (other.first, other.second)

    def __hash__(self):
        return super().__hash__() ^ hash((self.first, self.second))

    def __unicode__(self):
        return f"{self.fieldname}:{self.text}"

    __str__ = __unicode__

    def _btexts(self, ixreader):
        field = ixreader.schema[self.fieldname]
        found = {btext for btext in ixreader.expand_prefix(self.fieldname, self.text)  # `北朝`
                 if self.first or len(field.from_bytes(btext)) == 1}
        if not self.second:
            return sorted(found)
        # the bigrams ending with it: the terms of unspaced scripts (from U+0E00 up) are read
        for fieldname, btext in ixreader.terms_from(self.fieldname, _FIRST_UNSPACED):
            if fieldname != self.fieldname:
                break
            text = field.from_bytes(btext)
            if len(text) == 2 and text[1] == self.text:
                found.add(btext)
        return sorted(found)


_FIRST_UNSPACED = "\u0e00"


def lone_characters(q: wq.Query) -> wq.Query:
    """`q` with each term of one character of unspaced script made a CharacterTerms, and each
    phrase holding one (`"Trump氏"`) a Sequence of its words in adjacent positions, where that
    character matches the bigrams it can be indexed in there (the character alone, or a bigram
    it begins at the phrase's end, or ends at its start)."""
    def lone(fieldname: str, text: str) -> bool:
        field = SCHEMA[fieldname] if fieldname in SCHEMA else None
        return (len(text) == 1 and is_run(text)  # (not in a field of whole values:)
                and hasattr(getattr(field, "analyzer", None), "term"))

    def visit(leaf: wq.Query) -> wq.Query:
        if type(leaf) is wq.Phrase and leaf.slop == 1 and any(lone(leaf.fieldname, w) for w in leaf.words):
            last = len(leaf.words) - 1
            return wq.Sequence([
                CharacterTerms(leaf.fieldname, word, first=i == last, second=i == 0)
                if lone(leaf.fieldname, word) else wq.Term(leaf.fieldname, word)
                for i, word in enumerate(leaf.words)], boost=leaf.boost)
        if type(leaf) is not wq.Term or not lone(leaf.fieldname, leaf.text):
            return leaf
        return CharacterTerms(leaf.fieldname, leaf.text, boost=leaf.boost)

    return q.accept(visit)


class Restricted(wq.Require):
    """Whoosh's Require (scored by its first part, kept to the documents of its second), whose
    `with_boost` multiplies the first part's boost: Require's replaces it, and normalising an Or
    of fields (`title:rat^0.5`) re-boosts each part, which lost the title's weight."""

    def with_boost(self, boost):
        return self.__class__(self.a.with_boost(self.a.boost * boost), self.b)


def in_languages(q: wq.Query, typed: str, languages: list, any_word: bool = False) -> wq.Query:
    """The query parsed with the first language's chain, each word (a Term or a Phrase's word on
    a stemmed field, found by where it was typed in `typed`) standing for its form in every
    language: where the chains disagree (`strassen` by English rules, `strass` by German ones),
    an Or of the forms in that place, so what must match and what is a phrase stay as typed. A
    word of several tokens, a wildcard or a fuzzy word keeps the first language's form."""
    if len(languages) < 2:
        return q
    schemas = [schema_for(lang, any_word) for lang in languages]

    def analysed(fieldname: str) -> bool:
        return fieldname in schemas[0] and hasattr(schemas[0][fieldname].analyzer, "term")

    def forms(fieldname: str, start, end) -> list | None:
        tokens = TOKEN.findall(typed[start:end]) if start is not None and end is not None else ()
        if len(tokens) != 1 or (is_run(tokens[0]) and len(tokens[0]) > 2):
            return None
        if is_run(tokens[0]):  # one bigram of a phrase (`発表`): the same in every language
            return [bigrams(tokens[0])[0][0]] * len(schemas)
        return [schema[fieldname].analyzer.term(tokens[0]) for schema in schemas]

    def word_forms(leaf: wq.Phrase) -> list:
        """A phrase made of one typed word of several tokens (`iPhone発表`: `iphon 発表`): the
        word's tokens by each language's chain (None where they are not as many)."""
        start, end = getattr(leaf, "startchar", None), getattr(leaf, "endchar", None)
        if start is None or end is None:
            return [None] * len(schemas)
        out = []
        for schema in schemas:
            words = tuple(t for t, _, _ in schema[leaf.fieldname].analyzer.tokens(typed[start:end]))
            out.append(words if len(words) == len(leaf.words) else None)
        return out

    def variants(leaf: wq.Query, first, per_language: list, make) -> wq.Query:
        """`leaf` (the first language's form, `first`) or'ed with each other form, made by
        `make(form)` and kept to the articles of the languages whose rules give that form:
        `rates` is `rat` by German rules, which must not find an English article on rats."""
        algorithms: dict = {}
        for lang, form in zip(languages, per_language):
            if form is not None and form != first:
                algorithms.setdefault(form, set()).add(stemmer_name(lang))
        if not algorithms:
            return leaf
        return wq.Or([leaf, *(Restricted(make(form), LanguageFilter(algs))
                              for form, algs in algorithms.items())])

    def visit(leaf: wq.Query) -> wq.Query:
        if type(leaf) is wq.Term and analysed(leaf.fieldname):
            found = forms(leaf.fieldname, getattr(leaf, "startchar", None), getattr(leaf, "endchar", None))
            return variants(leaf, leaf.text, [w or None for w in found or ()],
                            lambda w: wq.Term(leaf.fieldname, w, boost=leaf.boost))
        if isinstance(leaf, wq.Phrase) and not leaf.char_ranges and analysed(leaf.fieldname):
            per_language = word_forms(leaf)
        elif isinstance(leaf, wq.Phrase) and leaf.char_ranges and analysed(leaf.fieldname):
            per_word = [forms(leaf.fieldname, *span) for span in leaf.char_ranges]
            if any(found is None for found in per_word):
                return leaf
            per_language = [tuple(found[i] for found in per_word) for i in range(len(schemas))]
            per_language = [words if None not in words else None for words in per_language]
        else:
            return leaf

        def phrase(words):
            variant = copy.copy(leaf)
            variant.words = list(words)
            return variant
        return variants(leaf, tuple(leaf.words), per_language, phrase)

    return q.accept(visit)
