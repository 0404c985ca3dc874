"""Incremental reindexing: change detection, multi-article files, locking, searches during a run,
and recovery from runs killed mid-commit (in subprocesses, with SIGKILL)."""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import searchlib
from searchlib.indexing.update import RunLock

ROOT = Path(__file__).resolve().parents[1]


def article_ids(idx) -> list[str]:
    with idx._whoosh.searcher() as searcher:
        return sorted(fields["id"] for fields in searcher.all_stored_fields())


def write(folder: Path, name: str, title: str, body: str = "Body text.") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    for i in range(5):
        write(folder, f"a{i}.txt", f"Article {i}")
    return folder


@pytest.fixture
def idx(tmp_path, corpus):
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update(corpus)
    assert (report.added, report.articles) == (5, 5)
    return idx


def counts(report):
    return report.added, report.updated, report.deleted, report.unchanged, len(report.skipped)


def test_nothing_changed_reads_nothing(idx, corpus, monkeypatch):
    calls = []
    import searchlib.indexing.update as indexing
    monkeypatch.setattr(indexing, "parse_file", lambda path: calls.append(path) or iter(()))
    report = idx.update(corpus)
    assert counts(report) == (0, 0, 0, 5, 0) and calls == [] and report.commits == 0


def test_add_modify_delete_rename(idx, corpus):
    write(corpus, "new.txt", "Brand new")
    write(corpus, "a1.txt", "Article one rewritten")
    (corpus / "a2.txt").unlink()
    (corpus / "sub").mkdir()
    (corpus / "a3.txt").rename(corpus / "sub" / "a3.txt")
    report = idx.update(corpus)
    # the rename is a deletion and an addition (the id is path-based for files without a URL)
    assert counts(report) == (2, 1, 2, 2, 0)
    assert article_ids(idx) == ["corpus/a0.txt", "corpus/a1.txt", "corpus/a4.txt", "corpus/new.txt",
                                "corpus/sub/a3.txt"]
    assert [h.id for h in idx.search("rewritten")] == ["corpus/a1.txt"]
    assert idx.search("title:one").total == 1


def test_a_broken_file_is_retried_without_an_empty_commit(idx, corpus):
    (corpus / "broken.txt").write_bytes(b"\x00")
    generation = idx._whoosh.latest_generation()
    for _ in range(2):
        report = idx.update(corpus)
        assert counts(report) == (0, 0, 0, 5, 1) and report.commits == 0
    assert idx._whoosh.latest_generation() == generation


def test_touched_but_identical_file_is_confirmed_by_hash(idx, corpus):
    path = corpus / "a0.txt"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert counts(idx.update(corpus)) == (0, 0, 0, 5, 0)
    assert counts(idx.update(corpus)) == (0, 0, 0, 5, 0)  # re-stamped: no hashing needed next time


def test_renamed_file_with_a_url_keeps_its_id_without_a_duplicate_warning(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.json").write_text('{"title": "T", "body": "B", "url": "https://x.org/1"}', encoding="utf-8")
    idx = searchlib.Index(tmp_path / "ix")
    idx.update(folder)
    (folder / "a.json").rename(folder / "b.json")
    report = idx.update(folder)
    assert counts(report) == (1, 0, 1, 0, 0)
    assert article_ids(idx) == ["https://x.org/1"]
    assert idx.get("https://x.org/1").path.name == "b.json"


def test_multi_article_file_has_exactly_its_articles_replaced(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    feed = folder / "wire.jsonl"
    rows = [{"id": k, "title": f"Story {k}", "body": f"text {k}"} for k in ("x", "y", "z")]
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    write(folder, "other.txt", "Other story")
    idx = searchlib.Index(tmp_path / "ix")
    idx.update(folder)
    rows = [{"id": "x", "title": "Story x", "body": "changed text"}, {"id": "w", "title": "Story w", "body": "new"}]
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = idx.update(folder)
    assert counts(report) == (0, 1, 0, 1, 0) and (report.articles, report.removed) == (2, 3)
    assert article_ids(idx) == ["c/other.txt", "c/wire.jsonl#w", "c/wire.jsonl#x"]
    assert idx.search("changed").total == 1 and idx.search("title:z").total == 0


def test_a_run_only_deletes_within_its_own_paths(tmp_path):
    write(tmp_path / "a", "one.txt", "One")
    write(tmp_path / "b", "two.txt", "Two")
    idx = searchlib.Index(tmp_path / "ix")
    idx.update(tmp_path / "a")
    report = idx.update(tmp_path / "b")
    assert counts(report) == (1, 0, 0, 0, 0)
    assert article_ids(idx) == ["a/one.txt", "b/two.txt"]


def test_batches_commit_as_they_go(idx, corpus):
    for i in range(7):
        write(corpus, f"b{i}.txt", f"Batch {i}")
    report = idx.update(corpus, batch_files=3)
    assert (report.added, report.commits) == (7, 3)


def test_rebuild_swaps_in_a_complete_index(idx, corpus, tmp_path):
    (tmp_path / "index" / ".gitignore").write_text("*\n")
    (corpus / "a0.txt").unlink()
    report = idx.update(corpus, rebuild=True)
    assert (report.added, report.articles) == (4, 4)
    assert len(searchlib.Index(tmp_path / "index")) == 4
    assert (tmp_path / "index" / ".gitignore").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "index"]


def test_second_run_waits_for_the_lock_or_gives_up(idx, corpus):
    lock = RunLock(idx.path, wait=0).__enter__()
    threading.Timer(0.5, lock.__exit__, (None, None, None)).start()
    with pytest.raises(searchlib.IndexLockedError):
        idx.update(corpus, wait=0)
    assert counts(idx.update(corpus, wait=10)) == (0, 0, 0, 5, 0)  # waited for the release


def test_cli_exit_code_75_when_locked(idx, corpus):
    with RunLock(idx.path, wait=0):
        result = run_cli("index", str(corpus), "--index", str(idx.path), cwd=corpus.parent)
    assert result.returncode == 75
    assert result.stderr.startswith(f"search: error: another reindex is running on {idx.path}/")


# When a commit deletes a merged segment while a searcher is opening, Whoosh's FileIndex._reader
# leaves the readers it already opened for the garbage collector (a ResourceWarning, not a leak
# that outlives the failed attempt); searchlib retries on the new commit.
def test_searches_during_a_reindex_never_fail(tmp_path):
    folder = tmp_path / "c"
    for i in range(60):
        write(folder, f"{i:03}.txt", f"Story {i}", "common words here")
    searchlib.Index(tmp_path / "ix")  # create it empty, so searching can start before the first commit
    errors, totals = [], []

    def reindex():
        try:
            idx_writer = searchlib.Index(tmp_path / "ix")
            idx_writer.update(folder, batch_files=2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=reindex)
    worker.start()
    reader = searchlib.Index(tmp_path / "ix")
    while worker.is_alive():
        totals.append(reader.search("common").total)
    worker.join()
    totals.append(reader.search("common").total)
    assert errors == []
    assert totals == sorted(totals) and totals[-1] == 60


CRASH = """
import os, signal, sys
sys.path.insert(0, {root!r})
import searchlib
from whoosh import writing
from searchlib.indexing import manifest
target, calls = {target!r}, []
def die_on_second(original):
    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return wrapper
if target == "toc":
    writing.SegmentWriter._commit_toc = die_on_second(writing.SegmentWriter._commit_toc)
else:
    manifest.Manifest.record = die_on_second(manifest.Manifest.record)
searchlib.Index({index!r}).update({corpus!r}, batch_files=2)
"""


@pytest.mark.parametrize("target, committed", [("toc", 2), ("manifest", 4)])
def test_a_run_killed_mid_commit_is_recovered_by_the_next(tmp_path, target, committed):
    folder = tmp_path / "c"
    for i in range(6):
        write(folder, f"{i}.txt", f"Story {i}")
    index_dir = tmp_path / "ix"
    script = CRASH.format(root=str(ROOT), target=target, index=str(index_dir), corpus=str(folder))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    idx = searchlib.Index(index_dir)
    assert len(idx) == committed  # the last commit before the kill, intact and openable
    report = idx.update(folder)
    assert report.added + report.updated + report.unchanged == 6 and report.skipped == []
    assert article_ids(idx) == [f"c/{i}.txt" for i in range(6)]  # complete, no duplicates
    assert counts(idx.update(folder)) == (0, 0, 0, 6, 0)


def test_lock_of_a_killed_run_is_released(tmp_path, idx, corpus):
    script = (f"import os, signal, sys; sys.path.insert(0, {str(ROOT)!r}); "
              f"from searchlib.indexing.update import RunLock; RunLock({str(idx.path)!r}, 0).__enter__(); "
              f"os.kill(os.getpid(), signal.SIGKILL)")
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == -9
    assert counts(idx.update(corpus, wait=0)) == (0, 0, 0, 5, 0)


def run_cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "searchlib.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_commit_waits_to_delete_files_while_a_search_has_the_index_open(tmp_path):
    from searchlib.engine.storage import open_for_writing, reading
    ix_dir = tmp_path / "ix"
    searchlib.Index(ix_dir)
    (ix_dir / "MAIN_old.seg").write_bytes(b"")  # stands for a merged-away segment file
    deleter = threading.Thread(target=open_for_writing(ix_dir).storage.delete_file, args=("MAIN_old.seg",))
    with reading(ix_dir):
        deleter.start()
        deleter.join(0.3)
        assert deleter.is_alive() and (ix_dir / "MAIN_old.seg").exists()
    deleter.join(5)
    assert not deleter.is_alive() and not (ix_dir / "MAIN_old.seg").exists()


def test_parallel_parsing_gives_the_same_index_as_serial(tmp_path, monkeypatch):
    folder = tmp_path / "c"
    for i in range(20):
        write(folder, f"{i:03}.txt", f"Story {i}", f"common words here, number {i}")
    (folder / "bad.jsonl").write_text('{"title": "Fine", "body": "common"}\n{not json\n', encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (folder / "big.txt").write_text("Big\n\n" + "common " * 300_000, encoding="utf-8")
    monkeypatch.setenv("SEARCHLIB_MAX_FILE_MB", "1")  # big.txt (2 MB) is over it, in the workers too
    reports = {}
    for jobs in (1, 2):
        idx = searchlib.Index(tmp_path / f"ix{jobs}")
        report = idx.update(folder, jobs=jobs)
        reports[jobs] = (report.added, report.articles, sorted((s.path.name, s.reason) for s in report.skipped),
                         sorted(hit.id for hit in idx.search("common", limit=100)))
    assert reports[1] == reports[2]
    added, articles, skipped, found = reports[2]
    assert (added, articles, len(found)) == (21, 21, 21)
    assert [name for name, _ in skipped] == ["bad.jsonl", "big.txt", "binary.txt"]


def _rebuild_corpus(folder: Path) -> None:
    """24 stories, an article whose URL is in the first and the last file, and a bad file."""
    for i in range(24):
        write(folder, f"b{i:03}.txt", f"Story {i}", f"common words here, number {i}")
    twin = {"title": "Twin", "body": "common twin", "url": "https://example.com/twin"}
    (folder / "a.jsonl").write_text(json.dumps(twin) + "\n", encoding="utf-8")
    (folder / "z.jsonl").write_text(json.dumps({**twin, "title": "Twin again"}) + "\n", encoding="utf-8")
    (folder / "bad.jsonl").write_text("{not json\n", encoding="utf-8")


def _summary(idx, report):
    hits = idx.search("common", limit=100)
    return (report.added, report.articles, sorted((s.path.name, s.reason) for s in report.skipped),
            sorted((hit.id, Path(hit.path).name) for hit in hits), hits.total)


def test_a_parallel_rebuild_gives_the_same_index_as_serial(tmp_path):
    folder = tmp_path / "c"
    _rebuild_corpus(folder)
    summaries = {}
    for jobs in (1, 2):
        idx = searchlib.Index(tmp_path / f"ix{jobs}")
        summaries[jobs] = _summary(idx, idx.update([folder], rebuild=True, jobs=jobs))
        again = idx.update([folder], jobs=jobs)  # the manifest knows every file it indexed
        assert (again.unchanged, again.added, again.articles) == (25, 0, 0)  # not z.jsonl, bad.jsonl
    assert summaries[1] == summaries[2]
    added, articles, skipped, found, total = summaries[2]
    assert (added, articles, total) == (25, 25, 25)
    assert ("https://example.com/twin", "a.jsonl") in found  # the first file keeps the id
    assert [name for name, _ in skipped] == ["bad.jsonl", "z.jsonl"]
    assert skipped[1][1] == f"duplicate of https://example.com/twin (already indexed from {folder / 'a.jsonl'})"


def test_parallel_segment_writers_split_their_work_into_batches(tmp_path):
    from whoosh import index as whoosh_index

    from searchlib.indexing.update import update_index
    folder = tmp_path / "c"
    _rebuild_corpus(folder)
    idx = searchlib.Index(tmp_path / "ix")
    report = update_index(idx.path, [folder], base=tmp_path, batch_articles=4, jobs=2, merge=False)
    assert (report.added, report.articles, report.commits) == (25, 25, 1)
    segments = whoosh_index.open_dir(str(idx.path))._segments()
    assert len(segments) >= 7 and max(s.doc_count_all() for s in segments) <= 4  # batches of 4
    assert idx.search("common", limit=100).total == 25


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split()[2] == "Z")  # a zombie has ended


def test_worker_processes_end_when_the_indexing_process_is_killed(tmp_path):
    script = (
        "import os, sys, time\n"
        "from searchlib.indexing.update import worker_pool\n"
        "if __name__ == '__main__':\n"
        "    with worker_pool(2) as pool:\n"
        "        pids = {pool.submit(os.getpid).result() for _ in range(8)}\n"
        "        print(' '.join(map(str, pids)), flush=True)\n"
        "        time.sleep(60)\n")
    (tmp_path / "run.py").write_text(script, encoding="utf-8")
    with subprocess.Popen([sys.executable, str(tmp_path / "run.py")], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}) as proc:
        workers = [int(pid) for pid in proc.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
        proc.kill()  # as a cron `timeout -s KILL` would
        proc.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def test_a_script_without_a_main_guard_gets_a_clear_error(tmp_path):
    folder = tmp_path / "c"
    for i in range(20):
        write(folder, f"{i:03}.txt", f"Story {i}")
    script = (  # no `if __name__ == "__main__":`: each worker process re-runs the script
        "import searchlib, sys\n"
        f"try:\n    searchlib.Index({str(tmp_path / 'ix')!r}).update([{str(folder)!r}], jobs=2)\n"
        "except searchlib.SearchlibError as exc:\n    print(exc)\n    sys.exit(3)\n")
    (tmp_path / "run.py").write_text(script, encoding="utf-8")
    done = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 3
    assert done.stdout.splitlines()[-1].startswith("a worker process died while indexing (killed, out of memory, or started "
                                  "from a script without `if __name__ == \"__main__\":`)")


def test_commits_are_synced_to_disk_before_the_manifest_records_them(tmp_path, monkeypatch):
    import searchlib.engine.storage as storage
    events = []
    real_fsync = os.fsync

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(storage.os, "fsync", fsync)
    idx = searchlib.Index(tmp_path / "ix")
    write(tmp_path / "c", "a.txt", "Story", "Body text.")
    idx.update([tmp_path / "c"], jobs=1)
    synced = [Path(name).name for _, name in events]
    toc = [i for i, name in enumerate(synced) if name.startswith("_MAIN_1.toc")]  # (its temporary name)
    segment_files = [i for i, name in enumerate(synced) if name.startswith("MAIN_")]
    folder = [i for i, name in enumerate(synced) if name == "ix"]
    assert toc and segment_files and folder
    assert max(segment_files) < toc[-1] < folder[-1]  # segment files, then the TOC, then its rename


def test_a_writer_holding_many_postings_writes_a_segment(tmp_path):
    """The memory bound: writers write segments once they hold `segment_postings` postings
    together (one writer; each of 2 parallel writers at half of it), however large the batches.
    Most of the 25 articles have 10-11 postings (their title's spelling words included)."""
    from whoosh import index as whoosh_index

    from searchlib.indexing.update import update_index
    folder = tmp_path / "c"
    _rebuild_corpus(folder)
    sizes = {}
    for jobs in (1, 2):
        idx = searchlib.Index(tmp_path / f"ix{jobs}")
        report = update_index(idx.path, [folder], base=tmp_path, batch_files=1 << 30,
                              batch_articles=1 << 30, jobs=jobs, merge=False, segment_postings=20)
        segments = whoosh_index.open_dir(str(idx.path))._segments()
        sizes[jobs] = [s.doc_count_all() for s in segments]
        # (a parallel build writes both copies of the twin article and deletes the second)
        assert sum(s.doc_count() for s in segments) == 25
        assert report.articles == 25 and idx.search("common", limit=100).total == 25
    assert max(sizes[1]) <= 3 and len(sizes[1]) >= 9, sizes  # 20 postings: about 2 articles
    assert max(sizes[2]) <= 2 and len(sizes[2]) > 1.5 * len(sizes[1]), sizes  # 10 each: about 1


def test_a_rebuild_writes_one_segment_per_worker(tmp_path):
    from whoosh import index as whoosh_index
    folder = tmp_path / "c"
    _rebuild_corpus(folder)
    idx = searchlib.Index(tmp_path / "ix")
    report = idx.update([folder], rebuild=True, jobs=2)
    segments = whoosh_index.open_dir(str(idx.path))._segments()
    assert report.articles == 25 and 1 <= len(segments) <= 2
