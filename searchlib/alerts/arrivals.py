"""Arrivals: the articles matching a query whose current text entered the index after a cursor.

Stage: alerts, reading an open Whoosh searcher (called through `Index.arrivals`). Every article
carries the stamp of the update run that indexed its current text (`indexing.stamps`); a watch
keeps the highest stamp it has reported as its cursor, and what is new for it is what matches
its query with a stamp above the cursor, up to the index's `head` (its highest stamp) when the
run began. The query is matched as written (all of its words, no partial matches); the articles
come newest first by publication date (undated last, then by stamp).
"""
from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from whoosh.columns import NumericColumn

from ..dates import to_utc_aware
from ..errors import ArticleNotFoundError
from ..engine.schema import SCHEMA, SNIPPET_FIELD
from ..indexing.stamps import ENTERED
from ..querying.languages import languages_in
from ..querying.query import parse_query
from ..querying.searching import Hit
from ..querying.snippets import Terms, make_snippets
from ..stories.grouping import annotate, collapse


def stamp_time(stamp: int) -> datetime:
    """A stamp (µs since 1970) as an aware UTC datetime."""
    return datetime.fromtimestamp(stamp / 1_000_000, tz=timezone.utc)


@dataclass
class Arrival:
    """One article new to a watch: the hit (its snippet the article's opening) and when its
    current text entered the index."""

    hit: Hit
    entered: datetime

    def to_dict(self) -> dict:
        return {**self.hit.to_dict(), "entered": self.entered.isoformat()}


@dataclass
class Arrivals:
    """The articles matching a query that entered the index after `after`, up to `head`."""

    query: str
    after: int
    head: int
    items: list[Arrival] = field(default_factory=list)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def head_of(searcher) -> int:
    """The index's highest `entered` stamp (0 for an empty index, or one without the field)."""
    return max((stamp for _, stamp in _stamps(searcher.reader())), default=0)


def _stamps(reader):
    """(document number, stamp) of every live article, read a segment's column at once."""
    if ENTERED not in reader.schema:
        return
    for sub, offset in reader.leaf_readers():
        if not sub.has_column(ENTERED):
            continue
        deleted = sub.deleted_docs_set if sub.has_deletions() else ()  # (a cached property)
        for docnum, stamp in enumerate(_column(sub)):
            if stamp and docnum not in deleted:
                yield offset + docnum, stamp


def _column(reader) -> Sequence[int]:
    """The segment's `entered` column as numbers: its bytes read at once where it is the plain
    big-endian array Whoosh's NumericColumn writes (one Python call per article otherwise: 1 s
    per million articles, for each watch)."""
    column = reader.column_reader(ENTERED, translate=False)
    if isinstance(column, NumericColumn.Reader) and column._typecode == "Q" and column._default == 0:
        values = array("Q", column._dbfile.get(column._basepos, column._count * 8))
        if sys.byteorder == "little":
            values.byteswap()
        return values
    return list(column)


def find_arrivals(searcher, query: str, *, after: int, head: int | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  now: datetime | None = None, all_copies: bool = False) -> Arrivals:
    """The articles matching `query` (parsed as a search would, `now` pinning relative dates)
    stamped after `after` and at most `head` (default: the index's head now), copies of one
    story among them shown once (its newest; `all_copies`: each), published within
    [since, until) (naive UTC bounds, as `dates.parse_window` gives) if given."""
    reader = searcher.reader()
    # (QueryError for a query the index can no longer take); analysed in each language of the
    # index, as a search is
    q = parse_query(query, now, languages=languages_in(reader))
    stamps = dict(_stamps(reader))
    if head is None:
        head = max(stamps.values(), default=0)
    fresh = {docnum for docnum, stamp in stamps.items() if after < stamp <= head}
    items = []
    if fresh:
        for match in searcher.search(q, filter=fresh, limit=None):
            fields = match.fields()
            date = fields.get("date")
            if isinstance(date, datetime) and (since and date < since or until and date >= until):
                continue
            if not isinstance(date, datetime) and (since or until):
                continue  # an undated article never matches a date filter
            items.append((Arrival(_hit(fields, match.score), stamp_time(stamps[match.docnum])),
                          match.docnum))
    items.sort(key=lambda pair: (pair[0].hit.date is None,
                                 -(pair[0].hit.date.timestamp() if pair[0].hit.date else 0),
                                 -pair[0].entered.timestamp(), pair[0].hit.id))
    if not all_copies:  # copies of one story that arrived together: the newest stands for them
        items, _ = collapse(reader, items, len(items), key=lambda pair: pair[1])
    annotate(searcher, [arrival.hit for arrival, _ in items], [docnum for _, docnum in items])
    items = [arrival for arrival, _ in items]
    for rank, item in enumerate(items, start=1):
        item.hit.rank = rank
    return Arrivals(query=query, after=after, head=head, items=items)


def _hit(fields: dict, score: float) -> Hit:
    text = fields.get(SNIPPET_FIELD) or fields.get("summary") or ""
    opening = make_snippets(text, Terms(), SCHEMA[SNIPPET_FIELD].analyzer)[0]
    date = fields.get("date")
    return Hit(id=fields.get("id", ""), title=fields.get("title", ""),
               date=to_utc_aware(date) if isinstance(date, datetime) else None,
               source=fields.get("source"), url=fields.get("url"),
               path=Path(fields["path"]) if fields.get("path") else None,
               score=float(score or 0.0), snippet=opening.text, fragments=[opening],
               section=fields.get("section"),
               author=fields.get("author"))


def matches(searcher, query: str, article_id: str, *, since: datetime | None = None,
            until: datetime | None = None, now: datetime | None = None) -> bool:
    """Whether the article `article_id` matches `query` (parsed as `find_arrivals` parses it,
    published within [since, until) if given), whatever any cursor says: which watches an
    article belongs to."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        raise ArticleNotFoundError(article_id)
    reader = searcher.reader()
    q = parse_query(query, now, languages=languages_in(reader))
    if not searcher.search(q, filter={docnum}, limit=1).scored_length():
        return False
    date = reader.stored_fields(docnum).get("date")
    if since or until:
        return isinstance(date, datetime) and not (since and date < since or until and date >= until)
    return True
