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
