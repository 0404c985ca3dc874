"""Facets: how the matches of a query spread over a field's values or over time.

Stage: querying, after the matches are known. Counts cover every match, not only the page shown.
Whole-value fields (source, section, author, dateline, lang, format) are read from their sortable
columns, list fields (tags, topics, places, people, orgs) from their terms, and dates are
bucketed by day, month or year (`date` picks the bucket that fits the span: a timeline).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from datetime import datetime

from .errors import QueryError

VALUE_FACETS = ("source", "section", "author", "dateline", "lang", "format")
LIST_FACETS = ("tags", "topics", "places", "people", "orgs")
DATE_FACETS = ("day", "month", "year", "date")
FACETS = VALUE_FACETS + LIST_FACETS + DATE_FACETS
TOP = 10  # values listed per field facet (date facets list every bucket)
UNDATED = "undated"
MAX_BUCKETS = 400  # beyond this many date buckets, the empty ones are left out
_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def check_facets(names) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(names))  # unique, in order
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise QueryError(unknown[0], f"cannot count by {unknown[0]!r}; facets are {', '.join(FACETS)}")
    return names


def count_facets(reader, docnums: list[int], names, top: int = TOP) -> dict[str, list[tuple[str, int]]]:
    """For each facet name, (value, count) pairs over the documents `docnums` of `reader`:
    field values most frequent first (at most `top`), date buckets in time order with the empty
    buckets between the first and the last, and the undated count last."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name in names:
        if name in VALUE_FACETS:
            out[name] = _top(_count_values(reader, name, docnums), top)
        elif name in LIST_FACETS:
            out[name] = _top(_count_terms(reader, name, docnums), top)
        else:
            out[name] = _timeline(article_dates(reader, docnums), name)
    return out


def _top(counts: Counter, top: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].lower(), item[0]))[:top]


def _count_values(reader, name: str, docnums: list[int]) -> Counter:
    counts = Counter(column_values(reader, name, docnums))
    counts.pop("", None)
    counts.pop(None, None)
    return counts


def column_values(reader, name: str, docnums: list[int], translate: bool = True) -> list:
    """The column values of `docnums` (None where a segment has no such column). Per segment:
    Whoosh 2.7's MultiReader.column_reader misplaces documents when a segment lacks the column."""
    leaves = list(reader.leaf_readers())
    offsets = [offset for _, offset in leaves]
    columns: dict[int, object] = {}
    values = []
    for n in docnums:
        i = bisect_right(offsets, n) - 1
        if i not in columns:
            leaf = leaves[i][0]
            columns[i] = leaf.column_reader(name, translate=translate) if leaf.has_column(name) else None
        column = columns[i]
        values.append(column[n - offsets[i]] if column is not None else None)
    return values


def _count_terms(reader, name: str, docnums: list[int]) -> Counter:
    wanted, counts = set(docnums), Counter()
    if name not in reader.indexed_field_names():
        return counts
    for term in reader.lexicon(name):
        found = sum(1 for n in reader.postings(name, term).all_ids() if n in wanted)
        if found:
            counts[term.decode("utf-8")] = found
    return counts


def dated_docs(reader, start: datetime | None, end: datetime | None) -> set[int]:
    """The documents dated in [start, end) (naive UTC; None: open), from the date column sorted
    once per segment: two bisections per segment, where a DateRange query expands into a term per
    distinct timestamp and Whoosh then tests it as a filter bit by bit (seconds on a newswire)."""
    field = reader.schema["date"]
    lo_key = field.to_column_value(start) if start else None
    hi_key = field.to_column_value(end) if end else None
    docs: set[int] = set()
    for leaf, offset in reader.leaf_readers():
        keys, docnums = _sorted_dates(leaf, field)
        lo = bisect_left(keys, lo_key) if lo_key is not None else 0
        hi = bisect_left(keys, hi_key) if hi_key is not None else len(keys)
        docs.update(docnums[lo:hi] if not offset else [offset + n for n in docnums[lo:hi]])
    return docs


_SORTED: dict[str, tuple[list[int], list[int]]] = {}  # segment id → its dates, sorted, and docnums
_SORTED_MAX = 256


def _sorted_dates(leaf, field) -> tuple[list[int], list[int]]:
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    key = segment.segment_id() if segment is not None else None
    if key is not None and key in _SORTED:
        return _SORTED[key]
    pairs: list[tuple[int, int]] = []
    if leaf.has_column("date"):
        column = leaf.column_reader("date", translate=False)
        pairs = sorted((value, n) for n, value in enumerate(column) if value != field.default)
    result = ([v for v, _ in pairs], [n for _, n in pairs])
    if key is not None:  # a segment never changes (deleted articles are never matched anyway)
        if len(_SORTED) >= _SORTED_MAX:
            _SORTED.pop(next(iter(_SORTED)))
        _SORTED[key] = result
    return result


def article_dates(reader, docnums: list[int]) -> list[datetime | None]:
    """Dates from the sortable date column (naive UTC); None where an article has none."""
    field = reader.schema["date"]
    missing = field.default  # the column's value for an undated article
    return [None if raw is None or raw == missing else field.from_column_value(raw)
            for raw in column_values(reader, "date", docnums, translate=False)]


def _timeline(dates: list[datetime | None], name: str) -> list[tuple[str, int]]:
    known = sorted(d for d in dates if isinstance(d, datetime))
    undated = len(dates) - len(known)
    buckets: list[tuple[str, int]] = []
    if known:
        unit = name if name != "date" else _fitting_unit(known[0], known[-1])
        counts = Counter(d.strftime(_FORMATS[unit]) for d in known)
        labels = _labels(known[0], known[-1], unit)
        if len(labels) > MAX_BUCKETS:  # centuries apart: list only the years that have articles
            labels = sorted(counts)
        buckets = [(label, counts.get(label, 0)) for label in labels]
    if undated:
        buckets.append((UNDATED, undated))
    return buckets


def _fitting_unit(first: datetime, last: datetime) -> str:
    days = (last - first).days
    return "day" if days <= 62 else "month" if days <= 6 * 366 else "year"


def _labels(first: datetime, last: datetime, unit: str) -> list[str]:
    if unit == "year":
        return [str(y) for y in range(first.year, last.year + 1)]
    if unit == "month":
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
        return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    labels, day = [], first.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= last:
        labels.append(day.strftime(_FORMATS["day"]))
        day = day.fromordinal(day.toordinal() + 1)
    return labels
