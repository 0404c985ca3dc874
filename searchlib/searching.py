"""Searching: run a parsed query against the index and return plain `Hit`s inside a `Results`.

Stage: querying. Hits are converted to dataclasses (with their snippets) before the Whoosh
searcher closes, so no Whoosh object ever leaves this module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from whoosh import query as wq
from whoosh.fields import TEXT

from . import snippets
from .dates import DateSpan, isoformat, to_utc_aware
from .query import parse_query, span_query
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
    """The hits of one query (at most `limit`) and how many articles matched in all."""

    query: str
    total: int
    hits: list[Hit]
    since: datetime | None = None
    until: datetime | None = None

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
            "since": isoformat(self.since),
            "until": isoformat(self.until),
            "hits": [hit.to_dict() for hit in self.hits],
        }


def run_search(ix, text: str, *, since: datetime | None = None, until: datetime | None = None,
               limit: int = 10, now: datetime | None = None) -> Results:
    """Search an open Whoosh index. `since` / `until` are naive UTC bounds, `until` exclusive."""
    q = parse_query(text, now)
    date_filter = span_query(DateSpan(since, until)) if since or until else None
    with ix.searcher() as searcher:
        found = searcher.search(q, limit=max(1, limit), filter=date_filter)
        words = _matched_words(q, searcher.reader())
        hits = [_to_hit(hit, rank, words) for rank, hit in enumerate(found, start=1)][:limit]
        total = len(found)
    return Results(query=text, total=total, hits=hits, since=to_utc_aware(since), until=to_utc_aware(until))


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
        score=float(hit.score or 0.0),
        snippet=body_snippet.text,
        highlights=body_snippet.spans,
        title_highlights=title.spans,
        section=fields.get("section"),
        author=fields.get("author"),
        rank=rank,
    )
