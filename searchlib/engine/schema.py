"""Schema: the index's fields, defined once, and the mapping between Article and stored document.

Stage: indexing and searching both read the schema from here. `SCHEMA_VERSION` goes into the
index folder's `searchlib.json`; an index written with another version is refused with a message
to rebuild, never misread.
"""
from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from . import analysis
from ..article import Article
from ..dates import to_utc_aware, to_utc_naive

# 6: `url` holds the URL's words (`url:cnn`), not the whole URL as one term
# 7: stop words are indexed; text is analysed in its article's language (CJK as bigrams)
# 8: `date` and `story` have no terms, only their columns (`date:` is answered from the
#    column, querying/datequery.py; a story's articles from its hashes, stories/grouping.py)
SCHEMA_VERSION = 8

# Fields searched by a word with no `field:` prefix, and their weights.
DEFAULT_FIELDS = {"title": 0.5, "summary": 1.0, "body": 1.0}
# Text fields with stored text that snippets and highlights are drawn from.
SNIPPET_FIELD = "body"


def _text(analyzer, **options) -> TEXT:
    """A positional TEXT field, indexed with its chain's fused pass (analysis.FastPositions)."""
    field = TEXT(analyzer=analyzer, phrase=True, **options)
    if hasattr(analyzer, "term_positions"):
        field.format = analysis.FastPositions(field_boost=field.format.field_boost)
    return field


def _not_indexed(field):
    """The field stored and kept as a column only: read per article, never searched."""
    field.indexed = False
    return field


# A URL's words: its runs of letters and digits, lower-cased (`https://edition.cnn.com/2022/…`
# → https, edition, cnn, com, 2022, …), so `url:cnn` finds it, and `url:"cnn com"` as a phrase.
URL_WORDS = RegexTokenizer(r"[^\W_]+") | LowercaseFilter()


def build_schema(text=analysis.TEXT) -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        key=STORED(),
        format=ID(stored=True, sortable=True),
        url=_text(URL_WORDS, stored=True),
        # spelling: the title's words also unstemmed, for "did you mean" (see spelling.py)
        title=_text(text, stored=True, spelling=True),
        summary=_text(text, stored=True),
        body=_text(text, stored=True),
        source=_text(analysis.NAME, stored=True, sortable=True),
        section=_text(analysis.NAME, stored=True, sortable=True),
        author=_text(analysis.NAME, stored=True, sortable=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        topics=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        places=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        people=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        orgs=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        dateline=_text(analysis.NAME, stored=True, sortable=True),
        notes=STORED(),
        lang=ID(stored=True, sortable=True),
        region=ID(stored=True),  # the region of a declared language tag (en-US → US), apart from lang
        # searched through its column (querying/datequery.py): no trie terms, which were a
        # ninth of the index (4.4 distinct terms an article)
        date=_not_indexed(DATETIME(stored=True, sortable=True)),
        # when the article's current text entered the index (indexing.stamps): watches report
        # what entered after they last ran; stored and a column, not indexed (no postings)
        entered=_not_indexed(NUMERIC(numtype=int, bits=64, signed=False, stored=True, sortable=True)),
        # stories (searchlib.stories): the id of the story (its copies) the article belongs to,
        # a column for collapsing results (its band keys are in the band table, stories/bands.py;
        # indexes written before that have them as terms of a `bands` field)
        # (no terms: a story's articles are found from the column's hashes, stories/grouping.py)
        story=_not_indexed(ID(stored=True, sortable=True)),
    )


SCHEMA = build_schema()
# The same fields for parsing the partial-match (OR) pass: more stop words (analysis.QUESTION_TEXT).
QUESTION_SCHEMA = build_schema(analysis.QUESTION_TEXT)


def schema_for(lang: str | None, question: bool = False) -> Schema:
    """The schema whose text fields analyse a query as the articles in language `lang` were
    analysed (with `question`, as QUESTION_SCHEMA drops question words): a query is parsed with
    the schema of each language in the index (one per stemmer, see querying/query.py)."""
    if analysis.stemmer_name(lang) == analysis.stemmer_name(None):
        return QUESTION_SCHEMA if question else SCHEMA
    return _language_schema(analysis.stemmer_name(lang) or "", question)


@functools.lru_cache(maxsize=None)
def _language_schema(algorithm: str, question: bool) -> Schema:
    lang = next((code for code, name in analysis.STEMMERS.items() if name == algorithm), "und")
    stops = analysis.QUESTION_STOP_WORDS if question else ()
    return build_schema(analysis.text_analyzer(stops, lang))
# Fields a user may scope a query to (`title:korea`); `date` is handled by the query module.
SEARCHABLE_FIELDS = ("title", "summary", "body", "source", "section", "author", "tags",
                     "topics", "places", "people", "orgs", "dateline", "lang", "url", "id", "format")
# Article list fields stored as comma-separated KEYWORD fields.
KEYWORD_FIELDS = ("tags", "topics", "places", "people", "orgs")


def to_document(article: Article) -> dict:
    """The Whoosh document for an article (dates as naive UTC: Whoosh ignores offsets)."""
    doc = {
        "id": article.id,
        "path": str(article.path) if article.path else "",
        "key": article.key,
        "format": article.format or "",
        "title": article.title,
        "body": article.body,
    }
    for name in ("url", "summary", "source", "section", "author", "lang", "region", "dateline"):
        value = getattr(article, name)
        if value:
            doc[name] = value
    for name in KEYWORD_FIELDS:
        values = getattr(article, name)
        if values:
            doc[name] = ",".join(v.replace(",", " ") for v in values)
    if article.notes:
        doc["notes"] = list(article.notes)
    if article.date:
        doc["date"] = to_utc_naive(article.date)
    return doc


def to_article(fields: dict) -> Article:
    """Rebuild an Article from a stored document (the inverse of `to_document`)."""
    date = fields.get("date")
    return Article(
        id=fields.get("id", ""),
        path=Path(fields["path"]) if fields.get("path") else None,
        key=fields.get("key"),
        format=fields.get("format") or None,
        url=fields.get("url"),
        title=fields.get("title", ""),
        summary=fields.get("summary"),
        body=fields.get("body", ""),
        source=fields.get("source"),
        section=fields.get("section"),
        author=fields.get("author"),
        lang=fields.get("lang"),
        region=fields.get("region"),
        dateline=fields.get("dateline"),
        notes=list(fields.get("notes") or []),
        **{name: [v for v in fields.get(name, "").split(",") if v] for name in KEYWORD_FIELDS},
        date=to_utc_aware(date) if isinstance(date, datetime) else None,
    )
