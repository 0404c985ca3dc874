"""Searching: run a parsed query against the index and return plain `Hit`s inside a `Results`.

Stage: querying. Hits are converted to dataclasses (with their snippets) before the Whoosh
searcher closes, so no Whoosh object ever leaves this module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
import math

from whoosh import query as wq
from whoosh import scoring, sorting
from whoosh.fields import TEXT

from . import snippets
from .dates import DateSpan, isoformat, to_utc_aware
from .errors import ArticleNotFoundError, QueryError
from .query import is_plain, parse_query, span_query
from .schema import SCHEMA, SNIPPET_FIELD


@dataclass
class Hit:
    """One search result. `highlights` are (start, end) spans of the matches in `snippet`."""

    id: str
    title: str
    date: datetime | None
    source: str | None
    url: str | None
    path: Path | None
    score: float
    snippet: str
    highlights: list[tuple[int, int]] = field(default_factory=list)
    title_highlights: list[tuple[int, int]] = field(default_factory=list)
    section: str | None = None
    author: str | None = None
    rank: int = 0

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "id": self.id,
            "title": self.title,
            "date": isoformat(self.date),
            "source": self.source,
            "section": self.section,
            "author": self.author,
            "url": self.url,
            "path": str(self.path) if self.path else None,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "title_highlights": [list(span) for span in self.title_highlights],
        }


@dataclass
class Results:
    """One page of hits (`offset` hits skipped, at most `limit` shown) and the total match count.

    `partial` is True when fewer than the hits asked for had all the words of a plain query, and
    the best partial matches follow the `complete` ones that had them all (with `sort` newest or
    oldest, only when none had them all). `total` then counts articles with any of the words.
    """

    query: str
    total: int
    hits: list[Hit]
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "relevance"
    offset: int = 0
    partial: bool = False
    complete: int | None = None

    def __iter__(self):
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __bool__(self) -> bool:
        return self.total > 0

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "sort": self.sort,
            "partial": self.partial,
            "complete": self.complete,
            "since": isoformat(self.since),
            "until": isoformat(self.until),
            "hits": [hit.to_dict() for hit in self.hits],
        }


SORTS = ("relevance", "newest", "oldest")


class _BM25F(scoring.BM25F):
    """BM25F with the Robertson-Sparck Jones IDF, floored as SQLite FTS5 does: a word in half the
    articles or more weighs (almost) nothing. Whoosh's ln(N/(df+1))+1 keeps it near 1."""

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        n, df = parent.doc_count_all(), parent.doc_frequency(fieldname, text)
        return max(math.log((n - df + 0.5) / (df + 0.5)), 1e-6)


RANKING = _BM25F(B=0.75, K1=3.0)


def run_search(ix, text: str, *, since: datetime | None = None, until: datetime | None = None,
               limit: int = 10, offset: int = 0, sort: str = "relevance",
               now: datetime | None = None) -> Results:
    """Search an open Whoosh index. `since` / `until` are naive UTC bounds, `until` exclusive.

    A plain query of several words ranks the articles with all of them first; when there are
    fewer of those than the page needs, the best partial matches (BM25F over any of the words,
    minus question words such as "what" and "which") follow them (`Results.partial`).
    """
    if sort not in SORTS:
        raise QueryError(text, f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")
    q = parse_query(text, now)
    date_filter = span_query(DateSpan(since, until)) if since or until else None
    options = {"limit": max(1, offset + limit), "filter": date_filter}
    if sort != "relevance":
        options["sortedby"] = _by_date(newest=sort == "newest")
    with ix.searcher(weighting=RANKING) as searcher:
        found = searcher.search(q, **options)
        ranked, total, complete = list(found), len(found), None
        wanted = options["limit"] if sort == "relevance" else 1  # date order is not interleaved
        if len(ranked) < wanted and len(text.split()) > 1 and is_plain(text):
            # Operators, +/- prefixes and fields mean what they say: no fallback for those.
            any_q = parse_query(text, now, any_word=True)
            more = searcher.search(any_q, **{**options, "limit": options["limit"] + len(ranked)})
            seen = {hit.docnum for hit in ranked}
            extra = [hit for hit in more if hit.docnum not in seen]
            if extra:
                q, complete = any_q, total
                ranked, total = ranked + extra, max(total, len(more))
        words = _matched_words(q, searcher.reader())
        page = ranked[offset:offset + limit]
        hits = [_to_hit(hit, rank, words) for rank, hit in enumerate(page, start=offset + 1)]
    return Results(query=text, total=total, hits=hits, since=to_utc_aware(since),
                   until=to_utc_aware(until), sort=sort, offset=offset,
                   partial=complete is not None, complete=complete)


def run_similar(ix, article_id: str, *, limit: int = 10) -> Results:
    """Articles most like the given one (by the key terms of its body and title)."""
    with ix.searcher() as searcher:
        docnum = searcher.document_number(id=article_id)
        if docnum is None:
            raise ArticleNotFoundError(article_id)
        found = searcher.more_like(docnum, SNIPPET_FIELD, top=limit + 1, numterms=15)
        page = [hit for hit in found if hit.docnum != docnum][:limit]
        hits = [_to_hit(hit, rank, {}) for rank, hit in enumerate(page, start=1)]
        return Results(query=f"similar:{article_id}", total=len(hits), hits=hits)


def _by_date(newest: bool):
    """Sort by date, undated articles last either way (Whoosh would put them first when reversed)."""
    dated = sorting.QueryFacet({"dated": wq.Every("date")}, other="~undated")
    return sorting.MultiFacet([dated, sorting.FieldFacet("date", reverse=newest)])


def _matched_words(q: wq.Query, reader) -> dict[str, frozenset[str]]:
    """The index terms the query matched, by field, as text (wildcards expanded)."""
    # Not Query.existing_terms(): in Whoosh 2.7 its loop variable shadows its `fieldname`
    # argument, so it drops the terms of every field after the first one it sees.
    by_field: dict[str, set[str]] = {}
    for leaf in q.leaves():
        for fieldname, term in leaf.expanded_terms(reader, phrases=True):
            field = SCHEMA[fieldname] if fieldname in SCHEMA else None
            if not isinstance(field, TEXT):
                continue
            text = term if isinstance(term, str) else field.from_bytes(term)
            if (fieldname, field.to_bytes(text)) in reader:
                by_field.setdefault(fieldname, set()).add(text)
    return {name: frozenset(words) for name, words in by_field.items()}


def _to_hit(hit, rank: int, words: dict[str, frozenset[str]]) -> Hit:
    fields = hit.fields()
    body_snippet = snippets.make_snippet(
        fields.get(SNIPPET_FIELD, "") or fields.get("summary", ""),
        words.get(SNIPPET_FIELD, frozenset()) | words.get("summary", frozenset()),
        SCHEMA[SNIPPET_FIELD].analyzer,
    )
    title = snippets.highlight(fields.get("title", ""), words.get("title", frozenset()),
                               SCHEMA["title"].analyzer)
    date = fields.get("date")
    return Hit(
        id=fields.get("id", ""),
        title=title.text,
        date=to_utc_aware(date) if isinstance(date, datetime) else None,
        source=fields.get("source"),
        url=fields.get("url"),
        path=Path(fields["path"]) if fields.get("path") else None,
        score=float(hit.score) if isinstance(hit.score, (int, float)) else 0.0,  # a sort key when sorted by date
        snippet=body_snippet.text,
        highlights=body_snippet.spans,
        title_highlights=title.spans,
        section=fields.get("section"),
        author=fields.get("author"),
        rank=rank,
    )
