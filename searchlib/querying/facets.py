"""Facets: how the matches of a query spread over a field's values or over time.

Stage: querying, after the matches are known. Counts cover every match, not only the page shown.
Whole-value fields (source, section, author, dateline, lang, format) are read from their sortable
columns, list fields (tags, topics, places, people, orgs) from their terms; the matches without a
value are counted last, as "(none)". Dates are bucketed by day, month or year, listing only the
buckets that hold matches; `date` is the timeline: every bucket from the first match to the last,
empty ones too, in the finest unit (day, month, year, decade, century) that needs at most
MAX_BARS of them. Undated matches come last in each.
"""
from __future__ import annotations

import threading
import weakref
from bisect import bisect_right
from collections import Counter
from contextlib import nullcontext
from datetime import datetime

from ..engine.summaries import SEGMENT_PARTS, reading, segment_id, segment_part
from ..errors import QueryError

VALUE_FACETS = ("source", "section", "author", "dateline", "lang", "format")
LIST_FACETS = ("tags", "topics", "places", "people", "orgs")
DATE_FACETS = ("day", "month", "year", "date")
FACETS = VALUE_FACETS + LIST_FACETS + DATE_FACETS
TOP = 10  # values listed per field facet, before the (none) count
NONE = "(none)"  # the bucket of matches with no value, after the TOP values
UNDATED = "undated"
MAX_BARS = 80  # the timeline takes the finest unit that needs at most this many buckets
_UNITS = ("day", "month", "year", "decade", "century")
_YEARS = {"year": 1, "decade": 10, "century": 100}  # the years a bucket of these units spans


def check_facets(names) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(names))  # unique, in order
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise QueryError(unknown[0], f"cannot count by {unknown[0]!r}; facets are {', '.join(FACETS)}")
    return names


def count_facets(reader, docnums, names, top: int = TOP) -> dict[str, list[tuple[str, int]]]:
    """For each facet name, (value, count) pairs over the documents `docnums` of `reader` (in
    ascending order: a list, or a NumPy int64 array as the matches are gathered): field values
    most frequent first (at most `top`), then the (none) count; day, month and year buckets
    holding matches, in time order; the `date` timeline's buckets with the empty ones between
    the first and the last; the undated count last (each only when not zero)."""
    import numpy as np
    docs = np.asarray(docnums, dtype=np.int64)
    out: dict[str, list[tuple[str, int]]] = {}
    days = listed = None
    for name in names:
        if name in VALUE_FACETS:
            counts = _count_values(reader, name, docs)
        elif name in LIST_FACETS:
            listed = docs.tolist() if listed is None else listed  # (once for all the list facets)
            counts = _count_terms(reader, name, listed)
        else:
            days = days or _count_days(reader, docs)
            out[name] = _timeline(*days, name)
            continue
        none = counts.pop(None, 0)
        out[name] = _top(counts, top) + ([(NONE, none)] if none else [])
    return out


def _top(counts: Counter, top: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].lower(), item[0]))[:top]


def _count_values(reader, name: str, docs) -> Counter:
    """Counts by value over `docs` (a NumPy int64 array); the documents without one counted
    under None. The fields whose codes the summaries keep per segment (source, section, format)
    are counted from those, a NumPy count a segment, not a column value a match; the others from
    their columns."""
    kind = f"codes.{name}"
    if kind not in SEGMENT_PARTS or not len(docs):
        return Counter(value or None for value in column_values(reader, name, docs.tolist()))
    import numpy as np
    counts: Counter = Counter()
    leaves = list(reader.leaf_readers())
    with _summaries_for(reader, leaves, kind) as store:
        for leaf, offset, here in _by_segment(leaves, docs):
            values, codes = _segment_codes(leaf, store, kind)
            found = codes[docs[here] - offset]
            counts[None] += int(np.count_nonzero(found < 0))  # (-1: no value)
            tally = np.bincount(found[found >= 0], minlength=len(values))
            present = np.flatnonzero(tally)
            for code, n in zip(present.tolist(), tally[present].tolist()):
                counts[values[code] or None] += n
    if not counts[None]:
        del counts[None]
    return counts


_CODES: dict[tuple[str, str], tuple] = {}  # (part kind, segment id) → _segment_codes
_CODES_MAX = 512  # (kind, segment)s a process keeps them for


def _segment_codes(leaf, store, kind: str) -> tuple[list, object]:
    """A segment's values of a field and each document's code among them (summaries' `kind`
    part), read once per process and segment (a segment never changes)."""
    sid = segment_id(leaf)
    found = _CODES.get((kind, sid)) if sid is not None else None
    if found is None:
        part = segment_part(store, leaf, kind)
        found = (part["values"], part["codes"])
        if sid is not None:
            _keep(_CODES, (kind, sid), found, _CODES_MAX)
    return found


def column_values(reader, name: str, docnums: list[int], translate: bool = True) -> list:
    """The column values of `docnums` (None where a segment has no such column). Per segment:
    Whoosh 2.7's MultiReader.column_reader misplaces documents when a segment lacks the column.
    Each segment's column reader is kept while the segment's reader lives (making one reads
    the column's offsets: milliseconds, for every search that asks)."""
    leaves = list(reader.leaf_readers())
    offsets = [offset for _, offset in leaves]
    columns: dict[int, object] = {}
    values = []
    for n in docnums:
        i = bisect_right(offsets, n) - 1
        column = columns.get(i, False)
        if column is False:
            column = columns[i] = _column(leaves[i][0], name, translate)
        values.append(column[n - offsets[i]] if column is not None else None)
    return values


# a segment's reader → {(column, translated): its column reader}
_COLUMNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _keep(cache: dict, key, value, most: int) -> None:
    """cache[key] = value, the oldest entry dropped first when it holds `most` (under the lock:
    the web page's threads search at once, and two dropping the same entry would fail)."""
    with _LOCK:
        while len(cache) >= most:
            cache.pop(next(iter(cache)))
        cache[key] = value


def _column(leaf, name: str, translate: bool):
    with _LOCK:
        kept = _COLUMNS.setdefault(leaf, {})
        if (name, translate) not in kept:
            kept[(name, translate)] = (leaf.column_reader(name, translate=translate)
                                       if leaf.has_column(name) else None)
        return kept[(name, translate)]


def _count_terms(reader, name: str, docnums: list[int]) -> Counter:
    """Counts by list item; the documents with no item counted under None."""
    wanted, counts, listed = set(docnums), Counter(), set()
    if name in reader.indexed_field_names():
        for term in reader.lexicon(name):
            found = [n for n in reader.postings(name, term).all_ids() if n in wanted]
            if found:
                counts[term.decode("utf-8")] = len(found)
                listed.update(found)
    if len(wanted) > len(listed):
        counts[None] = len(wanted) - len(listed)
    return counts


def dated_docs(reader, start: datetime | None, end: datetime | None) -> set[int]:
    """The documents dated in [start, end) (naive UTC; None: open), from the date column sorted
    once per segment: two bisections per segment, where a DateRange query expands into a term per
    distinct timestamp and Whoosh then tests it as a filter bit by bit (seconds on a newswire)."""
    docs: set[int] = set()
    for docnums, lo, hi, offset in _dated_slices(reader, start, end):
        docs.update((docnums[lo:hi] + offset).tolist())
    return docs


def dated_count(reader, start: datetime | None, end: datetime | None) -> int:
    """How many documents dated_docs would give (deleted ones included), without listing them."""
    return sum(hi - lo for _, lo, hi, _ in _dated_slices(reader, start, end))


def _dated_slices(reader, start: datetime | None, end: datetime | None):
    """(docnums sorted by date, lo, hi, offset) of each segment: docnums[lo:hi] are dated in [start, end)."""
    import numpy as np
    field = reader.schema["date"]
    lo_key = field.to_column_value(start) if start else None
    hi_key = field.to_column_value(end) if end else None
    leaves = list(reader.leaf_readers())
    with _summaries_for(reader, leaves) as store:
        for leaf, offset in leaves:
            _, keys, docnums = _segment_dates(leaf, store)
            lo = int(np.searchsorted(keys, np.uint64(lo_key))) if lo_key is not None else 0
            hi = int(np.searchsorted(keys, np.uint64(hi_key))) if hi_key is not None else len(keys)
            yield docnums, lo, hi, offset


_DATES: dict[str, tuple] = {}  # segment id → _segment_dates
_DATES_MAX = 256  # segments a process keeps them for


def _segment_dates(leaf, store) -> tuple:
    """A segment's date column as numbers (NumPy uint64: ticks, the field's default when
    undated; none at all without the column), and its dated documents' numbers sorted, with
    their document numbers (equal dates in document order). Read once per process and segment
    (a segment never changes; deleted articles are never matched anyway), from the summaries
    kept beside the index when they are there."""
    sid = segment_id(leaf)
    found = _DATES.get(sid) if sid is not None else None
    if found is None:
        import numpy as np
        numbers = segment_part(store, leaf, "numbers.date")["numbers"]
        dated = np.nonzero(numbers != np.uint64(leaf.schema["date"].default))[0]
        order = dated[np.argsort(numbers[dated], kind="stable")]
        found = (numbers, numbers[order], order)
        if sid is not None:
            _keep(_DATES, sid, found, _DATES_MAX)
    return found


def _summaries_for(reader, leaves: list, kind: str = "numbers.date"):
    """The summaries kept beside the index, opened when a segment's dates (or `kind` codes)
    are not in hand."""
    have = (lambda sid: sid in _DATES) if kind == "numbers.date" else (lambda sid: (kind, sid) in _CODES)
    if all(have(segment_id(leaf)) for leaf, _ in leaves):
        return nullcontext()
    return reading(reader)


def date_numbers(reader, docnums):
    """The date column's numbers (its raw values: ticks, the field's default when undated) of
    `docnums`, a NumPy int64 array of the reader's document numbers (_segment_dates)."""
    import numpy as np
    missing = np.uint64(reader.schema["date"].default)
    leaves = list(reader.leaf_readers())
    out = np.full(len(docnums), missing, dtype=np.uint64)
    if not leaves or not len(docnums):
        return out
    with _summaries_for(reader, leaves) as store:
        for leaf, offset, here in _by_segment(leaves, docnums):
            numbers = _segment_dates(leaf, store)[0]
            if len(numbers):  # (none: the segment has no date column)
                out[here] = numbers[docnums[here] - offset]
    return out


def _by_segment(leaves: list, docnums):
    """(leaf, offset, where) for each segment of `leaves` (a reader's leaf_readers) holding some
    of `docnums` (a NumPy int64 array of the reader's document numbers): `where` picks them, a
    slice when they are in order (as the matches are), else a mask."""
    import numpy as np
    offsets = np.asarray([offset for _, offset in leaves], dtype=np.int64)
    if len(docnums) < 2 or bool(np.all(docnums[1:] >= docnums[:-1])):
        bounds = np.searchsorted(docnums, offsets[1:]).tolist()
        for (leaf, offset), lo, hi in zip(leaves, [0, *bounds], [*bounds, len(docnums)]):
            if hi > lo:
                yield leaf, offset, slice(lo, hi)
        return
    which = np.searchsorted(offsets, docnums, side="right") - 1
    for i, (leaf, offset) in enumerate(leaves):
        here = which == i
        if here.any():
            yield leaf, offset, here


def by_date(reader, docnums, newest: bool, limit: int | None) -> list[int]:
    """The first `limit` of `docnums` (a sorted NumPy int64 array) newest or oldest first,
    undated ones last either way, ties by document number (as Whoosh's sorted search orders
    them); all of them for None."""
    import numpy as np
    raw = date_numbers(reader, docnums)
    missing = raw == np.uint64(reader.schema["date"].default)
    key = np.where(missing, 0, raw).astype(np.int64)  # ticks fit in 63 bits
    if newest:
        key = -key
    key = np.where(missing, np.iinfo(np.int64).max, key)
    if limit is not None and limit < len(key):
        kth = np.partition(key, limit - 1)[limit - 1]
        chosen = np.nonzero(key <= kth)[0]  # (every tie at the limit, then ordered by docnum)
    else:
        chosen = np.arange(len(key))
    order = chosen[np.lexsort((docnums[chosen], key[chosen]))]
    return [int(d) for d in docnums[order[:limit] if limit is not None else order]]


def article_dates(reader, docnums: list[int]) -> list[datetime | None]:
    """Dates from the sortable date column (naive UTC); None where an article has none."""
    field = reader.schema["date"]
    missing = field.default  # the column's value for an undated article
    return [None if raw is None or raw == missing else field.from_column_value(raw)
            for raw in column_values(reader, "date", docnums, translate=False)]


def _count_days(reader, docnums) -> tuple[object, object, int]:
    """The matches by day: the days holding dates as proleptic ordinals (datetime.toordinal) in
    time order and how many matches were dated on each (NumPy int64 arrays), from the date
    column's numbers (date_numbers); and how many are undated."""
    import numpy as np
    field = reader.schema["date"]
    raw = date_numbers(reader, np.asarray(docnums, dtype=np.int64))
    dated = raw[raw != np.uint64(field.default)]
    since_min = dated - np.uint64(field.to_column_value(datetime.min))  # microseconds since 0001-01-01
    days, counts = np.unique(since_min // np.uint64(86_400_000_000), return_counts=True)
    return days.astype(np.int64) + 1, counts.astype(np.int64), len(raw) - len(dated)


_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()


def _timeline(ordinals, counts, undated: int, name: str) -> list[tuple[str, int]]:
    """Day, month and year facets: the buckets holding dates, in time order. The `date` timeline:
    every bucket from the first date to the last, in the finest unit that needs at most MAX_BARS
    (when even centuries need more, only those holding dates). Then the undated count.
    `ordinals`, `counts`: the days holding dates, in time order, and the dates on each (NumPy
    arrays, as _count_days gives them); a bucket depends on the day alone, so the days are summed
    into buckets with NumPy and only the buckets are labelled."""
    import numpy as np
    buckets: list[tuple[str, int]] = []
    if len(ordinals):
        first, last = datetime.fromordinal(int(ordinals[0])), datetime.fromordinal(int(ordinals[-1]))
        unit = name if name != "date" else _fitting_unit(first, last)
        if unit == "day":
            keys = ordinals
        else:  # months since the year 0, from the days as NumPy dates
            months = ((ordinals - _EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[M]")
                      .astype(np.int64) + 1970 * 12)
            keys = months if unit == "month" else months // (12 * _YEARS[unit])
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])  # (keys are in time order)
        sums = np.add.reduceat(counts, starts).tolist()
        counts_by = {_key_label(key, unit): n for key, n in zip(keys[starts].tolist(), sums)}
        buckets = list(counts_by.items())
        if name == "date" and _span(first, last, unit) <= MAX_BARS:
            buckets = [(label, counts_by.get(label, 0)) for label in _labels(first, last, unit)]
    if undated:
        buckets.append((UNDATED, undated))
    return buckets


def _key_label(key: int, unit: str) -> str:
    """The label of a bucket key as _timeline makes them: a day's ordinal, months since the year
    0, or years, decades or centuries since it."""
    if unit == "day":
        return _label(datetime.fromordinal(key), unit)
    if unit == "month":
        return f"{key // 12:04d}-{key % 12 + 1:02d}"
    return _year_label(key * _YEARS[unit], unit)


def _fitting_unit(first: datetime, last: datetime) -> str:
    return next((unit for unit in _UNITS if _span(first, last, unit) <= MAX_BARS), _UNITS[-1])


def _span(first: datetime, last: datetime, unit: str) -> int:
    """How many buckets of `unit` the dates from `first` to `last` take, both ends included."""
    if unit == "day":
        return last.toordinal() - first.toordinal() + 1
    if unit == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    size = _YEARS[unit]
    return last.year // size - first.year // size + 1


def _label(d: datetime, unit: str) -> str:
    if unit == "day":
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    if unit == "month":
        return f"{d.year:04d}-{d.month:02d}"
    return _year_label(d.year, unit)


def _year_label(year: int, unit: str) -> str:
    if unit == "year":
        return f"{year:04d}"
    if unit == "decade":
        return f"{year // 10 * 10:04d}s"
    return f"{year // 100 * 100:04d}-{year // 100 * 100 + 99:04d}"


def _labels(first: datetime, last: datetime, unit: str) -> list[str]:
    """Every bucket's label from `first` to `last` (at most MAX_BARS of them: see _span)."""
    if unit == "day":
        return [_label(datetime.fromordinal(n), unit)
                for n in range(first.toordinal(), last.toordinal() + 1)]
    if unit == "month":
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
        return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    size = _YEARS[unit]
    return [_year_label(year, unit) for year in range(first.year // size * size, last.year + 1, size)]


def timeline(days: dict[datetime, int], undated: int, name: str) -> list[tuple[str, int]]:
    """A date facet (`day`, `month`, `year`, or the `date` timeline) of matches counted by day
    (`days`: a day at midnight → its matches) and `undated`, as count_facets gives it: for a
    sharded index, whose shards' matches are counted together."""
    import numpy as np
    ordered = sorted(days.items())
    return _timeline(np.array([day.toordinal() for day, _ in ordered], dtype=np.int64),
                     np.array([n for _, n in ordered], dtype=np.int64), undated, name)
