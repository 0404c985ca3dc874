"""Index lifecycle: create, update, replace, skip, refuse foreign indexes, lock."""
import json
import os
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

import pytest

import searchlib
from searchlib import Article, Hit, IndexFormatError, IndexLockedError, IndexNotFoundError, PathNotFoundError

from searchlib.indexing.update import RunLock

from .conftest import ids, write_records


def test_update_twice_does_not_duplicate(index, corpus):
    report = index.update([corpus])
    assert (report.articles, report.unchanged, len(index)) == (0, 1, 5)


def test_changed_file_replaces_its_articles(index, corpus):
    write_records(corpus, {"alpha": {"title": "Alpha renamed", "body": "Nothing about water."}})
    report = index.update(corpus)
    assert (report.articles, report.removed, report.updated, len(index)) == (1, 5, 1, 1)
    assert ids(index.search("flood")) == []


def test_problems_are_reported_and_everything_else_indexed(tmp_path, corpus):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blob.txt").write_bytes(b"\x00\x01\x02")
    (corpus / "lines.jsonl").write_text('{"title": "Fine", "body": "ok"}\n{oops\n', encoding="utf-8")
    idx = searchlib.Index(tmp_path / "ix")
    report = idx.update([corpus])
    assert (report.files, report.files_indexed, report.articles) == (4, 2, 6)
    assert [(s.path.name, s.record, s.reason.split(" (")[0]) for s in report.skipped] == [
        ("blob.txt", None, "binary file"),
        ("empty.txt", None, "empty file"),
        ("lines.jsonl", "line 2", "invalid JSON: Expecting property name enclosed in double quotes"),
    ]
    assert not report.ok
    assert json.loads(json.dumps(report.to_dict()))["skipped"][0]["reason"] == "binary file (contains NUL bytes)"


def test_a_file_that_breaks_keeps_its_indexed_articles(index, corpus):
    (corpus / "fixture.jsonl").write_bytes(b"\x00garbage")
    report = index.update(corpus)
    assert [s.reason.split(" ")[0] for s in report.skipped] == ["binary"]
    assert len(index) == 5


def test_duplicate_url_is_skipped_with_its_origin(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    for name in ("a.json", "b.json"):
        (folder / name).write_text('{"title": "Same", "body": "x", "url": "https://x.org/1"}', encoding="utf-8")
    idx = searchlib.Index(tmp_path / "ix")
    report = idx.update(folder)
    assert report.articles == 1
    assert [(s.path.name, s.reason) for s in report.skipped] == [
        ("b.json", f"duplicate of https://x.org/1 (already indexed from {folder.resolve() / 'a.json'})")]
    again = idx.update(folder)  # stable on re-runs: a.json unchanged, b.json still a duplicate
    assert (again.unchanged, again.articles, [s.path.name for s in again.skipped]) == (1, 0, ["b.json"])
    assert len(idx) == 1


def test_ids_are_urls_or_paths_relative_to_the_project(tmp_path, index):
    assert index.search("harvest").hits[0].id == "corpus/fixture.jsonl#gamma"


def test_get_returns_the_whole_article(index):
    article = index.get("corpus/fixture.jsonl#gamma")
    assert isinstance(article, Article)
    assert article.title == "Gamma harvest festival"
    assert article.date == datetime(2022, 9, 30, 22, 30, tzinfo=timezone.utc)
    assert index.get("nope") is None


def test_hits_hold_plain_python_values_only(index):
    hit = index.search("flood").hits[0]
    allowed = (str, int, float, list, datetime, Path, type(None))
    assert all(isinstance(getattr(hit, f.name), allowed) for f in fields(Hit))
    assert json.loads(json.dumps(hit.to_dict()))["date"] == "2022-09-06T11:50:00Z"


def test_missing_index_and_paths(tmp_path):
    with pytest.raises(IndexNotFoundError, match="search index PATH"):
        searchlib.Index(tmp_path / "none", create=False)
    assert not (tmp_path / "none").exists()
    with pytest.raises(PathNotFoundError):
        searchlib.Index(tmp_path / "ix").update([tmp_path / "missing"])


def test_folder_with_only_gitignore_is_not_an_index(tmp_path):
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / ".gitignore").write_text("*\n")
    assert not searchlib.exists(tmp_path / "ix")


def test_index_of_another_schema_version_is_refused(index):
    meta = index.path / "searchlib.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "schema_version": 999}))
    with pytest.raises(IndexFormatError, match="rebuild it with: search index --rebuild"):
        searchlib.Index(index.path)


def test_rebuild_starts_empty(index, tmp_path):
    idx = searchlib.create(index.path, replace=True)
    assert len(idx) == 0 and searchlib.exists(index.path)


def test_second_run_gets_a_clear_lock_error(index, corpus):
    with RunLock(index.path, wait=0):
        with pytest.raises(IndexLockedError, match="another reindex is running"):
            index.update(corpus, wait=0.2)
    (corpus / "more.txt").write_text("More\n\nText.", encoding="utf-8")
    assert index.update(corpus).articles == 1  # the lock was released


def test_searching_while_a_writer_holds_the_lock(index, corpus):
    holder = index._whoosh.writer()
    try:
        assert len(index.search("flood").hits) == 3
    finally:
        holder.cancel()


def test_searches_reuse_one_searcher_until_something_is_committed(index, corpus, tmp_path):
    assert ids(index.search("flood")) == ["alpha", "delta", "beta"]
    kept = index._idle[0][1]
    index.search("valley")
    assert [s for _, s in index._idle] == [kept]  # the same open searcher served both
    # another process (here: another Index object) commits: the next search sees it
    write_records(tmp_path / "more", {"zeta": {"title": "Zeta flood", "body": "Floods again."}})
    searchlib.Index(index.path).update([tmp_path / "more"])
    assert ids(index.search("zeta")) == ["zeta"]
    assert [s for _, s in index._idle] != [kept] and kept.is_closed


def test_a_rebuild_elsewhere_is_seen_even_at_the_same_generation(index, corpus, tmp_path):
    assert ids(index.search("harvest")) == ["gamma"]
    generation = index._idle[0][0][2]
    write_records(tmp_path / "other", {"eta": {"title": "Eta harvest", "body": "A new harvest."}})
    searchlib.Index(index.path).update([tmp_path / "other"], rebuild=True)  # a new folder swapped in
    assert index._whoosh.latest_generation() == generation
    assert ids(index.search("harvest")) == ["eta"]


def test_closing_an_index_closes_its_kept_searchers(index):
    index.search("flood")
    kept = index._idle[0][1]
    with index as same:
        assert same is index
    assert kept.is_closed and index._idle == []
    assert ids(index.search("river"))[:1] == ["alpha"]  # still usable: it opens a new one


def test_searchers_read_segment_files_with_positional_reads_not_maps(index, tmp_path):
    from searchlib.engine.storage import ReadingStorage, _ReadFile

    assert index.search("flood").total > 0
    assert index.search("river", facets=["source"]).total > 0  # (columns and stored fields too)
    with index._searcher() as searcher:
        files = [sub.reader()._terms._postfile for sub, _ in searcher.leaf_searchers()]
        assert files and all(isinstance(f, _ReadFile) for f in files)
        # no page of the index is mapped into the process (its RSS would keep every page read)
        mapped = Path("/proc/self/maps")
        if mapped.exists():
            assert str(index.path) not in mapped.read_text()
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "some").write_bytes(b"0123456789")
    storage = ReadingStorage(str(tmp_path))
    empty, some = storage.open_file("empty"), storage.open_file("some")
    assert empty.read() == b"" and empty.get(0, 4) == b""
    assert some.get(3, 4) == b"3456" and some.read(2) == b"01"  # (get moves no position)
    assert some.get(8, 5) == b"89" and some.read(3) == b"234"
    some.seek(0, 2)
    assert some.tell() == 10 and some.read(1) == b""
    (tmp_path / "some").unlink()  # an open file is still read after it is deleted
    some.seek(5)
    assert some.read(2) == b"56" and some.get(0, 1) == b"0"
    empty.close()
    some.close()
    assert some.is_closed
    with pytest.raises(OSError):
        os.fstat(some._fd)  # its own descriptor is closed with it


def test_readers_of_one_pinned_file_keep_positions_of_their_own(tmp_path):
    from searchlib.engine.storage import ReadingStorage

    (tmp_path / "MAIN_x.pst").write_bytes(bytes(range(100)))
    storage = ReadingStorage(str(tmp_path))
    storage.pin(["MAIN_x"])
    first, second = storage.open_file("MAIN_x.pst"), storage.open_file("MAIN_x.pst")
    assert first.read(3) == bytes([0, 1, 2])
    second.seek(50)
    assert first.read(2) == bytes([3, 4]) and second.read(2) == bytes([50, 51])
    first.close()  # (the pinned descriptor stays open for the next reader)
    third = storage.open_file("MAIN_x.pst")
    assert third.get(98, 5) == bytes([98, 99]) and second.read(1) == bytes([52])
    second.close()
    third.close()


def test_threads_sharing_a_file_each_read_what_they_ask(tmp_path):
    import threading

    from searchlib.engine.storage import ReadingStorage

    data = bytes(i % 251 for i in range(200_000))
    (tmp_path / "big").write_bytes(data)
    shared = ReadingStorage(str(tmp_path)).open_file("big")
    wrong = []

    def read(seed: int) -> None:
        for n in range(2000):
            at = (seed * 7919 + n * 104729) % (len(data) - 64)
            if shared.get(at, 64) != data[at:at + 64]:
                wrong.append(at)

    threads = [threading.Thread(target=read, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shared.close()
    assert wrong == []


def test_an_update_collects_garbage_less_often_and_then_as_before(tmp_path):
    import gc

    from searchlib.indexing import workers as indexing
    before = gc.get_threshold()
    with indexing.fewer_collections():
        during = gc.get_threshold()
    assert all(d >= max(b, i) for d, b, i in zip(during, before, indexing.INDEXING_GC_THRESHOLDS))
    assert during != before and gc.get_threshold() == before
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Title\n\nSome body text.\n", encoding="utf-8")
    searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], jobs=1)
    assert gc.get_threshold() == before
