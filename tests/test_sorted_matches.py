"""A sort by date and the facets read every match from ranking's own postings path
(ranking.matching_docs, facets.by_date), not Whoosh's matcher tree: the same articles in the
same order as a sort of the stored dates, ties by document number, undated ones last; and the
same matches as a relevance search counts."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest

import searchlib
from searchlib.engine.ranking import matching_docs
from searchlib.engine.storage import open_for_reading
from searchlib.querying import facets

DAYS = ["2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z", "2023-12-31T23:00:00Z", None,
        "2024-03-05T08:00:00Z", "2024-03-01T10:00:00Z", None, "2022-01-01T00:00:00Z"]


def _records(start: int, count: int, source: str) -> str:
    out = []
    for n in range(start, start + count):
        date = DAYS[n % len(DAYS)]
        out.append(json.dumps({"id": f"a{n:03d}", "title": f"Harbour report {n}",
                               "body": f"The harbour ferry ran late on day {n}." + (" Storm." if n % 3 else ""),
                               "source": source if n % 4 else "Other Desk",
                               **({"date": date} if date else {})}))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """Three segments (three runs), one record rewritten (a deletion in the first)."""
    base = tmp_path_factory.mktemp("sorted")
    corpus = base / "corpus"
    corpus.mkdir()
    idx = searchlib.Index(base / "index")
    (corpus / "one.jsonl").write_text(_records(0, 20, "North Desk"))
    idx.update([corpus], jobs=1)
    (corpus / "two.jsonl").write_text(_records(20, 20, "South Desk"))
    idx.update([corpus], jobs=1)
    (corpus / "one.jsonl").write_text(_records(0, 20, "North Desk").replace("day 5.", "day five."))
    (corpus / "three.jsonl").write_text(_records(40, 13, "East Desk"))
    idx.update([corpus], jobs=1)
    yield idx, base / "index"
    idx.close()


def _expected(folder, query: str, newest: bool) -> list[str]:
    """Every match of `query` ordered from the stored dates: a sort of its own."""
    ix = open_for_reading(folder)
    with ix.searcher() as searcher:
        from searchlib.querying.query import parse_query
        docs = matching_docs(searcher, parse_query(query))
        rows = []
        for d in docs.tolist():
            fields = searcher.stored_fields(d)
            date = fields.get("date")
            stamp = date.replace(tzinfo=timezone.utc).timestamp() if isinstance(date, datetime) else None
            rows.append((stamp is None, -(stamp or 0) if newest else (stamp or 0), d, fields["id"]))
        return [row[3] for row in sorted(rows)]


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_a_date_sort_is_the_stored_dates_sorted_ties_by_document_number(index, sort, limit):
    idx, folder = index
    results = idx.search("harbour", sort=sort, limit=limit)
    expected = _expected(folder, "harbour", sort == "newest")
    assert results.total == len(expected) == 53
    assert [hit.id.rsplit("#", 1)[-1] for hit in results.hits] == [e.rsplit("#", 1)[-1] for e in expected[:limit]]


def test_undated_articles_come_last_both_ways(index):
    idx, _ = index
    for sort in ("newest", "oldest"):
        hits = idx.search("harbour", sort=sort, limit=100).hits
        dated = [hit.date is not None for hit in hits]
        assert dated == sorted(dated, reverse=True) and dated.count(False) == 13


def test_pages_of_a_date_sort_follow_on(index):
    idx, _ = index
    whole = [h.id for h in idx.search("storm", sort="newest", limit=40).hits]
    pages = [h.id for offset in range(0, 40, 7) for h in idx.search("storm", sort="newest", limit=7, offset=offset).hits]
    assert pages == whole and len(whole) == 35


def test_a_sort_and_facets_count_what_relevance_counts(index):
    idx, _ = index
    for query in ("harbour -storm", "storm OR late", '"ferry ran"', "harbour source:\"South Desk\""):
        relevance = idx.search(query, limit=5)
        newest = idx.search(query, sort="newest", limit=5, facets=["source"])
        assert newest.total == relevance.total
        assert sum(n for _, n in newest.facets["source"]) == relevance.total


def test_facets_are_the_stored_values_counted(index):
    idx, folder = index
    results = idx.search("harbour", facets=["source", "month"], limit=1)
    ix = open_for_reading(folder)
    with ix.searcher() as searcher:
        stored = [searcher.stored_fields(d) for d in searcher.document_numbers()]
    by_source: dict[str, int] = {}
    for fields in stored:
        by_source[fields["source"]] = by_source.get(fields["source"], 0) + 1
    assert dict(results.facets["source"]) == by_source == {"North Desk": 15, "South Desk": 15,
                                                           "East Desk": 9, "Other Desk": 14}
    assert dict(results.facets["month"])["2024-03"] == sum(
        1 for f in stored if f.get("date") and f["date"].strftime("%Y-%m") == "2024-03")


def test_by_date_with_a_filter_and_an_empty_match(index):
    idx, folder = index
    since = idx.search("harbour", sort="oldest", since="2024-01-01", limit=100)
    assert since.total == len(since.hits) > 0
    assert all(hit.date >= datetime(2024, 1, 1, tzinfo=timezone.utc) for hit in since.hits)
    assert [h.date for h in since.hits] == sorted(h.date for h in since.hits)
    assert idx.search("nowhere", sort="newest").total == 0
    ix = open_for_reading(folder)
    with ix.searcher() as searcher:
        assert facets.by_date(searcher.reader(), np.zeros(0, dtype=np.int64), True, 10) == []
