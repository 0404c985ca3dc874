"""A parallel rebuild's memory does not grow with the archive (issue 18): a worker gives back each
segment's postings once written (workers.release_memory), writes its files' records (ids, band
keys) to a temporary file rather than holding them (building._records reads them back), the
committing process writes band keys to the band table in chunks, and relinking keeps a bounded
number of shingle hashes. What the index holds must not change with any of it."""
from __future__ import annotations

import json
import queue
import sqlite3
import tempfile
from pathlib import Path

import searchlib
from searchlib.engine.storage import open_for_writing
from searchlib.engine.writer import open_writer
from searchlib.indexing import building, workers
from searchlib.indexing.manifest import FILE_NAME, stat_file
from searchlib.ingest.limits import current as current_limits
from searchlib.stories import bands, relinking

WORDS = ("harbour council ferry storm budget vote river bridge school hospital market union strike "
         "railway airport museum festival court judge police minister farmers drought flood").split()


URL = "https://news.example/"


def _body(seed: int, length: int = 60) -> str:
    return " ".join(WORDS[(seed * 7 + i * (seed % 5 + 1)) % len(WORDS)] + str((seed + i) % 13)
                    for i in range(length))


def _corpus(folder: Path, files: int = 18, per_file: int = 4) -> Path:
    """JSON Lines files of distinct articles, a copy of file 0's first article in the last file
    (copies written by different workers: relinked) and one id in two files (the later dropped)."""
    folder.mkdir(parents=True)
    for n in range(files):
        records = [{"url": f"https://news.example/a{n}-{i}", "title": f"Report {n} {i}", "body": _body(n * per_file + i),
                    "date": f"2024-03-{1 + n % 20:02d}T10:00:00Z"} for i in range(per_file)]
        if n == files - 1:
            records.append({"url": "https://news.example/copy", "title": "Copy", "body": _body(0) + " updated",
                            "date": "2024-03-01T12:00:00Z"})
            records.append({"url": "https://news.example/a3-1", "title": "Same id", "body": _body(999),
                            "date": "2024-03-04T10:00:00Z"})
        (folder / f"f{n:02d}.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return folder


def test_release_memory_empties_the_pool_and_trims(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(workers, "_TRIM", calls.append)
    ix = open_for_writing(searchlib.create(tmp_path / "ix").path)
    writer = open_writer(ix, _lk=False, compound=False)
    try:
        writer.pool.add(("body", b"river", 0, 1.0, b""))
        writer.pool.add(("body", b"river", 1, 1.0, b""))
        assert writer.pool.count == 2
        workers.release_memory(writer)
        assert writer.pool.count == 0 and writer.pool.fields == {}
        assert calls == [0]
    finally:
        writer.cancel()


def test_release_memory_without_malloc_trim(monkeypatch):
    monkeypatch.setattr(workers, "_TRIM", None)  # (not glibc): only the collection
    workers.release_memory()


def test_a_worker_releases_each_full_segment_and_writes_records_in_plan_order(tmp_path, monkeypatch):
    folder = _corpus(tmp_path / "corpus", files=6)
    ix = searchlib.create(tmp_path / "ix")
    released = []
    monkeypatch.setattr(workers, "release_memory", released.append)
    todo, done = queue.Queue(), queue.Queue()
    paths = sorted(folder.iterdir())
    for place, path in enumerate(paths):
        todo.put((place, str(path), stat_file(path)))
    todo.put(None)
    building._take_queues(todo, done)
    spill = tmp_path / "spill"
    spill.mkdir()
    out = building._write_from_queue(str(ix.path), str(tmp_path), current_limits(), 1 << 30, 250,
                                     spill=str(spill))
    assert len(out.segments) >= 3                       # 250 postings a segment: several
    assert len(released) == len(out.segments) - 1       # each but the last, given back at once
    assert out.files.parent == spill and out.files.exists()
    records = list(building._records(out, 5))
    assert [r[0] for r in records] == list(range(len(paths)))
    assert [r[1] for r in records] == [str(p) for p in paths]
    assert sum(len(r[3]) for r in records) == 6 * 4 + 1  # (the id seen in f03 skipped here)
    assert {n for r in records for _, _, n, _ in r[3]} == set(range(5, 5 + len(out.segments)))
    assert all(len(keys) == len(r[3]) and all(keys.values()) for r in records for keys in [r[4]])


def _built(tmp_path: Path, folder: Path, name: str) -> tuple[dict, list]:
    index = searchlib.Index(tmp_path / name)
    report = index.update([folder], rebuild=True, jobs=2)
    assert report.articles == 18 * 4 + 1
    assert [s.reason for s in report.skipped] == ["duplicate of https://news.example/a3-1 (already indexed from "
                                                  f"{folder / 'f03.jsonl'})"]
    from whoosh.index import open_dir
    with open_dir(str(index.path)).searcher() as searcher:
        stored = {f["id"]: (f["title"], f["path"], f["story"]) for f in searcher.all_stored_fields()}
    with sqlite3.connect(index.path / FILE_NAME) as db:
        rows = sorted(db.execute("SELECT article, id, path, keys FROM band_rows"))
    return stored, rows


def test_a_parallel_rebuild_leaves_no_records_and_holds_the_same_whatever_the_chunks(tmp_path, monkeypatch):
    folder = _corpus(tmp_path / "corpus")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    read, records = [], building._records
    monkeypatch.setattr(building, "_records", lambda written, offset: read.append(written.files)
                        or records(written, offset))
    stored, rows = _built(tmp_path, folder, "ix_default")
    assert len(read) == 2 and all(f.parent.parent == tmp_path / ".ix_default.rebuild"  # (the new index)
                                  and f.parent.name.startswith("searchlib-build-") for f in read)
    assert not [p for p in temporary.iterdir() if p.name.startswith("searchlib-build-")]  # (not the system's)
    assert not any(f.exists() or f.parent.exists() for f in read)  # the workers' records removed
    assert stored[URL + "copy"][2] == stored[URL + "a0-0"][2]       # the copy joined its story
    assert len(rows) == 18 * 4 + 1
    monkeypatch.setattr(bands._Loader, "BATCH", 1)      # band keys spilled one article at a time
    monkeypatch.setattr(relinking, "HASHES_KEPT", 1)    # shingle hashes kept for one article
    assert _built(tmp_path, folder, "ix_small") == (stored, rows)
    assert len(read) == 4 and not any(f.exists() for f in read)
