"""DateSpanQuery: the articles dated within a span of time, answered from the date column.

The date field has no terms (schema version 8): Whoosh's trie terms for a date (8 a value, 4.4
an article distinct) were a ninth of the index at 300,000 articles and grew with it. A `date:`
clause anywhere in a query (inside OR or NOT too, times of day included) is answered from each
segment's date column, sorted once per process (facets.dated_docs: two bisections a segment),
and scores its boost, as Whoosh's DateRange (a constant-score query) did.
"""
from __future__ import annotations

from datetime import datetime

from whoosh import query as wq
from whoosh.matching import ListMatcher, NullMatcher


class DateSpanQuery(wq.Query):
    """Articles dated in [startdate, enddate) (naive UTC datetimes; None: an open end)."""

    fieldname = "date"

    def __init__(self, startdate: datetime | None, enddate: datetime | None, boost: float = 1.0):
        self.startdate, self.enddate, self.boost = startdate, enddate, boost

    def __eq__(self, other):
        return (type(other) is type(self) and other.startdate == self.startdate
                and other.enddate == self.enddate and other.boost == self.boost)

    def __hash__(self):
        return hash((type(self).__name__, self.startdate, self.enddate, self.boost))

    def __repr__(self):
        return f"{type(self).__name__}({self.startdate!r}, {self.enddate!r}, boost={self.boost!r})"

    def __str__(self):
        ends = [d.isoformat() if d else "*" for d in (self.startdate, self.enddate)]
        return f"date:[{ends[0]} TO {ends[1]}}}"

    def docs(self, reader) -> list[int]:
        """The live documents of `reader` (a segment's or a whole index's) dated in the span,
        in order."""
        from .facets import dated_docs
        found = dated_docs(reader, self.startdate, self.enddate)
        if reader.has_deletions():
            return sorted(d for d in found if not reader.is_deleted(d))
        return sorted(found)

    def estimate_size(self, ixreader):
        from .facets import dated_count
        return dated_count(ixreader, self.startdate, self.enddate)

    def matcher(self, searcher, context=None):
        """The matches in `searcher`'s reader (a segment's or the whole index's, numbered as
        that reader numbers them)."""
        ids = self.docs(searcher.reader())
        return ListMatcher(ids, weights=[self.boost] * len(ids)) if ids else NullMatcher()
