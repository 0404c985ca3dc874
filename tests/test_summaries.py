"""Summaries (engine.summaries): what passes over whole commits found, kept beside the index by the
indexer, so that a new process neither reads every article's story (one hit per story) nor every
article's columns (`search stats`). A summary is a cache: each test compares what it gives with
an independent count over the index's live stored fields, and breaks it (stale, garbage, absent,
a full disk) to see that searches still answer the same."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import pytest

import searchlib
from searchlib.engine import summaries
from searchlib.engine.layout import SUMMARIES_FILE
from searchlib.engine.storage import open_for_reading
from searchlib.stories import grouping

from .conftest import RECORDS, write_records
from .test_stories import BODY, PARAS, story


def _truth(folder: Path) -> dict:
    """Counted from the live articles' stored fields, with none of the code under test."""
    ix = open_for_reading(folder)
    with ix.searcher() as searcher:
        docs = list(searcher.all_stored_fields())
        by_story: dict[str, list[str]] = {}
        for doc in docs:
            by_story.setdefault(doc.get("story") or "", []).append(doc["id"])
        return {
            "articles": len(docs), "files": len({d["path"] for d in docs}),
            "sources": Counter(d.get("source") or "(none)" for d in docs),
            "sections": Counter(d.get("section") or "(none)" for d in docs),
            "formats": Counter(d.get("format") or "(unknown)" for d in docs),
            "undated": sum(1 for d in docs if d.get("date") is None),
            "stories": sorted(sorted(members) for s, members in by_story.items() if s and len(members) > 1),
        }


def _stats_of(idx: searchlib.Index) -> dict:
    stats = idx.stats()
    return {"articles": stats.articles, "files": stats.files, "sources": Counter(dict(stats.sources)),
            "sections": Counter(dict(stats.sections)), "formats": Counter(dict(stats.formats)),
            "undated": stats.undated}


def _stories_of(folder: Path) -> list:
    """The table of shared stories a search uses, as sorted lists of article ids."""
    ix = open_for_reading(folder)
    with ix.searcher() as searcher:
        grouping._cache.clear()
        table = grouping.table(searcher.reader())
        return sorted(sorted(searcher.stored_fields(d)["id"] for d in members)
                      for members in table.members.values())


def _part_names(folder: Path) -> set[str]:
    with sqlite3.connect(folder / SUMMARIES_FILE) as db:
        return {name for (name,) in db.execute("SELECT name FROM parts")}


def _segment_ids(folder: Path) -> set[str]:
    ix = open_for_reading(folder)
    with ix.reader() as reader:
        return {summaries.segment_id(leaf) for leaf in summaries.leaves(reader)}


COPIES = story(
    first={"title": "River Tamsin floods Marlow again", "body": BODY},
    second={"title": "Hundreds flee as Marlow floods", "body": BODY, "source": "The Courier",
            "date": "2024-01-09T10:00:00Z"},
    third={"title": "Floods in Marlow", "source": "Daily Post", "date": "2024-01-09T12:00:00Z",
           "body": "\n\n".join(PARAS[:4])},
)


@pytest.fixture
def grown(tmp_path) -> Path:
    """An index grown over three runs (three segments): the fixture records, then copies of one
    story in two files, then one record changed (a deletion in the first segment)."""
    corpus = tmp_path / "corpus"
    write_records(corpus / "a")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    (corpus / "b").mkdir()
    (corpus / "b" / "one.jsonl").write_text(json.dumps({"id": "first", **COPIES["first"]}) + "\n")
    (corpus / "b" / "two.jsonl").write_text(
        "".join(json.dumps({"id": k, **COPIES[k]}) + "\n" for k in ("second", "third")))
    idx.update([corpus], jobs=1)
    changed = dict(RECORDS, beta={**RECORDS["beta"], "source": "West Desk", "title": "Beta recount"})
    write_records(corpus / "a", changed)
    report = idx.update([corpus], jobs=1)
    assert report.updated == 1 and report.ok
    idx.close()
    return tmp_path / "index"


def test_the_indexer_keeps_a_part_of_each_segment_and_of_the_commit(grown):
    names = _part_names(grown)
    segments = _segment_ids(grown)
    assert len(segments) >= 2
    expected = {f"{kind}:{sid}" for sid in segments for kind in summaries.SEGMENT_PARTS}
    assert {n for n in names if ":" in n and "@" not in n} == expected  # none of a segment gone
    assert [n.split("@")[0] for n in names if "@" in n] == [grouping.STORY_TABLE]


def test_stats_from_the_kept_parts_equal_a_count_of_the_stored_fields(grown):
    truth = _truth(grown)
    with searchlib.Index(grown) as idx:
        assert _stats_of(idx) == {k: truth[k] for k in ("articles", "files", "sources", "sections",
                                                        "formats", "undated")}
        sources = dict(idx.stats().sources)
    assert sources["West Desk"] == 1 and "South Desk" not in sources  # the changed record's


def test_the_kept_story_table_is_the_stories_with_two_live_articles(grown):
    truth = _truth(grown)
    assert truth["stories"] == [["corpus/b/one.jsonl#first", "corpus/b/two.jsonl#second",
                                 "corpus/b/two.jsonl#third"]]
    assert _stories_of(grown) == truth["stories"]


def test_a_new_process_reads_no_story_column_when_the_table_is_kept(grown, monkeypatch):
    def refuse(leaf):
        raise AssertionError("read every article's story")
    monkeypatch.setitem(summaries.SEGMENT_PARTS, "hashes.story", refuse)
    assert _stories_of(grown) == _truth(grown)["stories"]


def test_without_the_file_searches_compute_the_same_and_write_nothing(grown):
    with searchlib.Index(grown) as idx:
        kept_stats, kept = _stats_of(idx), [h.id for h in idx.search("Marlow", limit=10).hits]
    (grown / SUMMARIES_FILE).unlink()
    grouping._cache.clear()
    with searchlib.Index(grown) as idx:
        assert _stats_of(idx) == kept_stats
        results = idx.search("Marlow", limit=10)
        assert [h.id for h in results.hits] == kept and results.hits[0].copies == 3
    assert _stories_of(grown) == _truth(grown)["stories"]
    assert not (grown / SUMMARIES_FILE).exists()  # a search never writes into the index folder


def test_a_stale_file_from_an_earlier_commit_is_never_used(grown, tmp_path):
    stale = tmp_path / "stale.sqlite"
    stale.write_bytes((grown / SUMMARIES_FILE).read_bytes())
    corpus = tmp_path / "corpus"
    (corpus / "b" / "two.jsonl").unlink()  # the story's copies gone: no story has two articles
    with searchlib.Index(grown) as idx:
        idx.update([corpus], jobs=1)
    (grown / SUMMARIES_FILE).write_bytes(stale.read_bytes())  # the earlier commit's parts back
    truth = _truth(grown)
    assert truth["stories"] == []
    assert _stories_of(grown) == []
    with searchlib.Index(grown) as idx:
        assert _stats_of(idx)["articles"] == truth["articles"] == len(RECORDS) + 1
        assert _stats_of(idx)["files"] == 2


@pytest.mark.parametrize("content", [b"not a database at all" * 100, b""])
def test_a_damaged_file_costs_only_the_pass(grown, content):
    truth = _truth(grown)
    (grown / SUMMARIES_FILE).write_bytes(content)
    grouping._cache.clear()
    assert _stories_of(grown) == truth["stories"]
    with searchlib.Index(grown) as idx:
        assert _stats_of(idx)["sources"] == truth["sources"]
        assert idx.search("Marlow").hits[0].copies == 3


def test_garbage_parts_under_the_right_names_are_refused_not_unpickled(grown):
    with sqlite3.connect(grown / SUMMARIES_FILE) as db:
        db.execute("UPDATE parts SET blob = ?", (b"\x80\x04K\x01.",))  # a pickle of 1
    truth = _truth(grown)
    assert _stories_of(grown) == truth["stories"]
    with searchlib.Index(grown) as idx:
        assert _stats_of(idx)["formats"] == truth["formats"]


def test_an_object_array_is_not_a_part():
    import numpy as np
    blob = summaries.pack({"values": [1], "codes": np.arange(3, dtype=np.int32)})
    part = summaries.unpack(blob)
    assert part["values"] == [1] and part["codes"].tolist() == [0, 1, 2]
    raw = zlib.decompress(blob)
    assert b'"<i4"' in raw
    with pytest.raises(ValueError):  # an array of Python objects would be a pickle
        summaries.unpack(zlib.compress(raw.replace(b'"<i4"', b'"|O8"')))
    with pytest.raises(ValueError):
        summaries.unpack(zlib.compress(raw[:-4]))  # cut short
    with pytest.raises(ValueError):
        summaries.unpack(b"garbage")


def test_a_full_disk_while_keeping_them_fails_nothing(tmp_path, monkeypatch):
    def full(self, wanted):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(summaries.Store, "keep", full)
    write_records(tmp_path / "corpus")
    with searchlib.Index(tmp_path / "index") as idx:
        report = idx.update([tmp_path / "corpus"], jobs=1)
        assert report.ok and report.articles == len(RECORDS)
        assert idx.stats().articles == len(RECORDS)
        assert len(idx.search("river").hits) == 4
    assert _part_names(tmp_path / "index") == set()  # the table made, nothing in it


def test_a_run_with_nothing_changed_keeps_them_and_mends_a_missing_file(grown, tmp_path):
    before = _part_names(grown)
    (grown / SUMMARIES_FILE).unlink()
    with searchlib.Index(grown) as idx:
        report = idx.update([tmp_path / "corpus"], jobs=1)
    assert report.unchanged == 3 and report.commits == 0
    assert _part_names(grown) == before


def test_a_search_after_a_kept_table_imports_no_numpy(grown):
    code = ("import sys, searchlib\n"
            f"idx = searchlib.Index({str(grown)!r}, create=False)\n"
            "hits = idx.search('Marlow').hits\n"
            "print(hits[0].copies, 'numpy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "False"]


def test_each_shard_keeps_its_own(tmp_path):
    write_records(tmp_path / "corpus")
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([tmp_path / "corpus"], shards=2, jobs=1)
        stats = idx.stats()
    assert stats.articles == len(RECORDS)
    shards = sorted(p for p in (tmp_path / "index").iterdir() if p.is_dir())
    assert len(shards) == 2
    for shard in shards:
        names = _part_names(shard)
        assert {n.split(":")[0] for n in names if ":" in n} == set(summaries.SEGMENT_PARTS)


def test_parts_that_are_not_this_index_s_are_made_again(grown):
    """Well-formed parts with the wrong content (another segment's lengths, codes past their
    values, a story table naming documents the commit does not have): refused, not trusted."""
    import numpy as np
    with sqlite3.connect(grown / SUMMARIES_FILE) as db:
        names = [name for (name,) in db.execute("SELECT name FROM parts")]
        for name in names:
            if name.startswith("codes.source:"):
                forged = summaries.pack({"values": ["Forged"], "codes": np.zeros(3, dtype=np.int32)})
            elif name.startswith("codes.section:"):
                part = summaries.unpack(db.execute("SELECT blob FROM parts WHERE name = ?", (name,)).fetchone()[0])
                forged = summaries.pack({"values": part["values"][:1], "codes": part["codes"] + 5})
            elif name.startswith("stories@"):
                forged = summaries.pack({"stories": ["x", "x"], "docnums": [10**6, 10**6 + 1]})
            else:
                continue
            db.execute("UPDATE parts SET blob = ? WHERE name = ?", (forged, name))
    truth = _truth(grown)
    assert _stories_of(grown) == truth["stories"]
    with searchlib.Index(grown) as idx:
        stats = _stats_of(idx)
    assert stats["sources"] == truth["sources"] and stats["sections"] == truth["sections"]
