"""A rebuild's worker keeps the ids it wrote compactly (indexing.seen, issue 18: at 1,000,000
articles a dict of id strings cost each worker ~75 MB): hashes in sorted arrays, each hash found
checked against what the file really wrote, so duplicates are found as before and a collision of
hashes never makes a distinct article a duplicate. The index must not change with any of it."""
from __future__ import annotations

import queue
from pathlib import Path

import searchlib
from searchlib.indexing import building, seen, workers
from searchlib.indexing.manifest import stat_file
from searchlib.indexing.seen import SeenIds
from searchlib.ingest.limits import current as current_limits

from .test_build_memory import _corpus


def test_seen_ids_answer_as_a_dict_across_compactions_and_collisions(monkeypatch):
    truth: dict[str, Path] = {}
    asked = []

    def confirm(article_id, path):
        asked.append((article_id, path))
        return truth.get(article_id) == path

    monkeypatch.setattr(seen, "id_hash", lambda text: len(text) % 3)  # collisions everywhere
    ids = SeenIds(confirm, compact_from=4)
    for n in range(30):
        path = Path(f"f{n // 7}.jsonl")
        truth[f"id-{n}"] = path
        ids[f"id-{n}"] = path
    assert len(ids) == 30 and len(ids._hashes) == 28  # 7 compactions of 4, two ids still exact
    assert all(ids.get(i) == p for i, p in truth.items())
    assert ids.get("id-99") is None and ids.get("nope") is None
    assert asked  # (answers came from the arrays, each hash found checked)
    ids.clear()
    assert ids.get("id-3") is None and len(ids) == 0


def test_seen_ids_without_confirm_stay_exact():
    ids = SeenIds(compact_from=2)
    for n in range(10):
        ids[f"id-{n}"] = Path("a")
    assert len(ids._hashes) == 0 and ids.get("id-9") == Path("a")


def _worker(tmp_path: Path, folder: Path, name: str) -> list:
    """One worker's records (building._write_from_queue in this process) for the files of `folder`."""
    ix = searchlib.create(tmp_path / name)
    todo, done = queue.Queue(), queue.Queue()
    for place, path in enumerate(sorted(folder.iterdir())):
        todo.put((place, str(path), stat_file(path)))
    todo.put(None)
    building._take_queues(todo, done)
    spill = tmp_path / f"spill-{name}"
    spill.mkdir()
    out = building._write_from_queue(str(ix.path), str(tmp_path), current_limits(), 1 << 30, 300,
                                     spill=str(spill))
    return [(place, path, ids, sorted(keys)) for place, path, _, ids, keys in building._records(out, 0)]


def test_a_worker_finds_the_same_duplicates_with_every_id_compacted_and_hashes_colliding(tmp_path, monkeypatch):
    folder = _corpus(tmp_path / "corpus", files=6)
    (folder / "f06.jsonl").write_text((folder / "f01.jsonl").read_text())  # a whole file of duplicates
    monkeypatch.setattr(workers, "release_memory", lambda writer=None: None)
    exact = _worker(tmp_path, folder, "exact")
    assert [len(r[2]) for r in exact] == [4, 4, 4, 4, 4, 5]  # f05's a3-1 and all of f06 skipped
    monkeypatch.setattr(seen, "COMPACT_FROM", 1)                      # every id into the arrays
    monkeypatch.setattr(seen, "id_hash", lambda text: len(text) % 2)  # and nearly all colliding
    checked = []
    confirm = SeenIds.__init__

    def counting(self, confirm_=None, compact_from=None):
        confirm(self, (lambda i, p: checked.append(i) or confirm_(i, p)) if confirm_ else None, compact_from)

    monkeypatch.setattr(SeenIds, "__init__", counting)
    assert _worker(tmp_path, folder, "compact") == exact
    assert "https://news.example/a3-1" in checked and len(checked) > 24  # from the records read back


def test_a_rebuild_keeps_its_records_in_the_new_index_and_removes_them(tmp_path, monkeypatch):
    folder = _corpus(tmp_path / "corpus")
    index = searchlib.Index(tmp_path / "ix")
    index.update([folder], rebuild=True, jobs=2)
    read, records = [], building._records
    monkeypatch.setattr(building, "_records", lambda written, offset: read.append(written.files)
                        or records(written, offset))
    report = index.update([folder], rebuild=True, jobs=2)  # beside the old index, then swapped in
    assert report.articles == 18 * 4 + 1 and len(read) == 2
    assert all(f.parent.name.startswith("searchlib-build-") and f.parent.parent.name != "ix" for f in read)
    assert not any(f.parent.exists() for f in read)
    assert not [p for p in index.path.iterdir() if p.name.startswith("searchlib-build-")]  # (none left)
