"""Facet counts from the summaries' codes and the date column's numbers (querying.facets) against
counts made here from every match's own fields: over several segments, deleted and replaced
articles, segments without a source or a date at all, empty values, dates at the edges of a
day, and with the summaries file kept, deleted or damaged."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest

import searchlib
from searchlib.engine.layout import SUMMARIES_FILE

SOURCES = ["North Desk", "South Desk", "", "East Desk", "north desk"]


def _records(start: int, count: int, *, source: bool = True, dated: bool = True) -> str:
    lines = []
    for i in range(start, start + count):
        rec = {"id": f"a{i}", "title": f"river report {i}", "body": f"the river rose {i % 7} metres"}
        if source and SOURCES[i % len(SOURCES)]:
            rec["source"] = SOURCES[i % len(SOURCES)]
        if i % 3 == 0:
            rec["section"] = "Weather" if i % 2 else "Science"
        if dated and i % 11:
            # 23:59:59.999999 and midnight alternate, across years, months and days
            base = datetime(2019 + i % 4, 1 + i % 12, 1 + i % 28)
            rec["date"] = (base + timedelta(days=1, microseconds=-1) if i % 2 else base).isoformat() + "Z"
        lines.append(json.dumps(rec))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("facets")
    corpus = root / "corpus"
    corpus.mkdir()
    path = root / "index"
    with searchlib.Index(path) as idx:  # three runs, three segments (a fourth would merge them)
        (corpus / "one.jsonl").write_text(_records(0, 40), encoding="utf-8")
        idx.update([corpus], jobs=1)
        (corpus / "two.jsonl").write_text(_records(40, 30, source=False, dated=False), encoding="utf-8")
        idx.update([corpus], jobs=1)
        (corpus / "three.jsonl").write_text(_records(70, 25), encoding="utf-8")
        (corpus / "one.jsonl").write_text(_records(0, 20) + _records(200, 7), encoding="utf-8")
        idx.update([corpus], jobs=1)  # 20 articles deleted from the first segment, 7 new ones
    return path


def _expected(idx, query: str, name: str) -> Counter:
    hits = idx.search(query, limit=1000, all_copies=True).hits
    if name in ("source", "section"):
        return Counter(getattr(h, name) or None for h in hits)
    unit = {"day": 10, "month": 7, "year": 4}[name]
    return Counter(h.date.strftime("%Y-%m-%d")[:unit] if h.date else "undated" for h in hits)


def _counted(idx, query: str, name: str) -> Counter:
    found = idx.search(query, limit=1, facets=[name], all_copies=True).facets[name]
    return Counter({None if label == "(none)" else label: n for label, n in found})


QUERIES = ["river", "metres 3", "report -1", "rose 1 OR rose 5"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("name", ["source", "section", "day", "month", "year"])
def test_counts_equal_those_of_every_match(index, query, name):
    with searchlib.Index(index, create=False) as idx:
        expected = _expected(idx, query, name)
        assert sum(expected.values()) == idx.search(query, limit=1, all_copies=True).total > 0
        counted = _counted(idx, query, name)
    if name in ("source", "section"):  # the top 10 then (none): here fewer values than 10
        assert len(expected) <= 11
    assert counted == expected


def test_the_index_has_what_the_counts_must_cover(index):
    with searchlib.Index(index, create=False) as idx:
        hits = idx.search("river", limit=1000, all_copies=True).hits
        assert len(hits) == 20 + 7 + 30 + 25
        assert {h.source for h in hits} == {None, *[s for s in SOURCES if s]}
        assert {h.date.time() for h in hits if h.date} == {datetime.min.time(), datetime.max.time()}
        assert sum(1 for h in hits if h.date is None) == 30 + 4  # two.jsonl, and the ids that are multiples of 11
        assert len(idx.stats().sources) > 1


@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_the_same_counts_without_the_summaries(index, tmp_path, damage):
    import shutil
    copy = tmp_path / "index"
    shutil.copytree(index, copy)  # (a copy of the index this test made: the damage stays here)
    summaries = copy / SUMMARIES_FILE
    assert summaries.exists()
    if damage == "deleted":
        summaries.unlink()
    else:
        summaries.write_bytes(b"not a database" * 100)
    for name in ("source", "section", "month"):
        with searchlib.Index(index, create=False) as a, searchlib.Index(copy, create=False) as b:
            assert _counted(b, "river", name) == _counted(a, "river", name) == _expected(a, "river", name)


def test_the_timeline_spans_every_month_between(index):
    with searchlib.Index(index, create=False) as idx:
        found = idx.search("river", limit=1, facets=["date"], all_copies=True).facets["date"]
        months = _expected(idx, "river", "month")
    labels = [label for label, _ in found]
    assert labels[-1] == "undated" and dict(found)["undated"] == months["undated"]
    dated = [m for m in months if m != "undated"]
    first, last = min(dated), max(dated)
    span = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
    assert span <= 80 and labels[:-1][0] == first and labels[:-1][-1] == last and len(labels) - 1 == span
    assert {label: n for label, n in found if n and label != "undated"} == {m: months[m] for m in dated}


def test_the_index_has_several_segments_and_deletions(index):
    from searchlib.engine.storage import open_for_reading
    with open_for_reading(index).reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert len(leaves) >= 3
        assert any(leaf.has_deletions() for leaf in leaves)
        assert any(not leaf.has_column("source") for leaf in leaves)
        assert any(not leaf.has_column("date") for leaf in leaves)


def test_the_kept_parts_stay_bounded_when_threads_add_at_once():
    """The per-process caches of segment parts are filled by the web page's threads at once:
    none may fail dropping an entry another dropped, and the bound holds."""
    import threading

    from searchlib.querying import facets
    cache: dict = {}
    failures = []

    def add(start):
        try:
            for n in range(start, start + 3000):
                facets._keep(cache, n, n, 8)
        except Exception as exc:  # (what an unlocked drop raised: KeyError)
            failures.append(exc)

    import sys
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # (threads switch between any two steps: the race shows)
    try:
        threads = [threading.Thread(target=add, args=(k * 10_000,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == [] and len(cache) <= 8


@pytest.mark.parametrize("query", ["river", "metres 3", "rose 1 OR rose 5", "river zebra"])
def test_facets_count_the_matches_of_the_ranking_pass_itself(index, monkeypatch, query):
    """The facets of a search ranked by relevance count the matches its ranking found (the
    partial matches too, for `river zebra`: no article has both), not a second pass."""
    from searchlib.querying import searching
    with searchlib.Index(index, create=False) as idx:
        expected = _expected(idx, query, "source")
        monkeypatch.setattr(searching, "matching_docs", None)  # (a second pass would fail)
        results = idx.search(query, limit=1, facets=["source"], all_copies=True)
        assert results.partial == (query == "river zebra")
        assert _counted(idx, query, "source") == expected


EDGE_DATES = ["1800-01-01T00:00:00Z", "1899-12-31T12:00:00Z", "1900-02-28T00:00:00Z", "1969-12-31T23:59:59Z",
              "1970-01-01T00:00:00Z", "1999-12-31T23:00:00Z", "2000-02-29T08:00:00Z", "2000-03-01T00:00:00Z",
              "2024-02-29T00:00:00Z", "2200-12-31T23:59:59Z"]  # (the years a date may have: dates.py)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    """Articles dated across centuries: before 1970 and after, leap days, the ends of a day,
    a decade and a century, the first and last days a date can have, and one undated."""
    root = tmp_path_factory.mktemp("edges")
    (root / "corpus").mkdir()
    lines = [json.dumps({"id": f"e{i}", "title": f"flood {i}", "body": "flood waters", "date": date})
             for i, date in enumerate(EDGE_DATES * 2 + EDGE_DATES[2:6])]
    lines.append(json.dumps({"id": "undated", "title": "flood", "body": "flood waters"}))
    (root / "corpus" / "edges.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with searchlib.Index(root / "index") as idx:
        idx.update([root / "corpus"], jobs=1)
    return root / "index"


@pytest.mark.parametrize("name", ["day", "month", "year"])
def test_date_buckets_across_centuries_before_and_after_1970(edges, name):
    with searchlib.Index(edges, create=False) as idx:
        counted = idx.search("flood", limit=1, facets=[name], all_copies=True).facets[name]
        expected = _expected(idx, "flood", name)
    assert sum(expected.values()) == len(EDGE_DATES) * 2 + 4 + 1
    assert counted == sorted(counted, key=lambda pair: pair[0] == "undated")  # undated last
    assert [label for label, _ in counted[:-1]] == sorted(label for label, _ in counted[:-1])
    assert Counter(dict(counted)) == expected


def test_the_timeline_of_four_centuries_counts_every_decade(edges):
    with searchlib.Index(edges, create=False) as idx:
        found = idx.search("flood", limit=1, facets=["date"], all_copies=True).facets["date"]
        years = _expected(idx, "flood", "year")
    # 1800 to 2200: 401 years, more than MAX_BARS (80); 41 decades, every one listed
    decades: Counter = Counter()
    for year, n in years.items():
        if year != "undated":
            decades[f"{int(year) // 10 * 10}s"] += n
    assert found == [(f"{d}s", decades[f"{d}s"]) for d in range(1800, 2201, 10)] + [("undated", 1)]
    assert dict(found)["1960s"] == 3 and dict(found)["1970s"] == 3 and dict(found)["2200s"] == 2


def test_counts_of_documents_out_of_order_are_those_in_order(index):
    """count_facets takes the matches in order; given them in another order (a caller's list),
    each segment's documents are picked by a mask instead, with the same counts."""
    import random

    from searchlib.engine.storage import open_for_reading
    from searchlib.querying.facets import count_facets
    with open_for_reading(index).reader() as reader:
        docs = [d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)]
        shuffled = docs[:]
        random.Random(5).shuffle(shuffled)
        names = ["source", "section", "day", "month", "date"]
        in_order = count_facets(reader, docs, names)
        assert count_facets(reader, shuffled, names) == in_order
        assert sum(n for _, n in in_order["month"]) == len(docs)
