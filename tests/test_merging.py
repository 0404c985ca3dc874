"""Merging small segments (issue 18, months of cron): the policy's arithmetic (indexing.merging),
a segment copied a term at a time giving what Whoosh's add_reader gives (engine.segments), an index
grown by many small runs keeping few segments within each run's budget, and a run killed in the
middle of a merge losing nothing."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import searchlib
from searchlib.engine.segments import add_segment
from searchlib.engine.storage import open_for_writing
from searchlib.engine.writer import open_writer
from searchlib.indexing import merging
from searchlib.indexing import run as run_module

ROOT = Path(__file__).resolve().parents[1]


def test_levels_by_size():
    assert [merging.level(n, 250, 4) for n in (1, 250, 251, 1000, 1001, 4000, 4001)] == [0, 0, 1, 1, 2, 2, 3]


def test_budget_is_a_multiple_of_the_run_with_a_floor():
    assert merging.budget(0) == merging.MIN_BUDGET
    assert merging.budget(10) == merging.MIN_BUDGET
    big = merging.MIN_BUDGET  # a run as large as the floor may merge BUDGET_PER_ARTICLE times itself
    assert merging.budget(big) == merging.BUDGET_PER_ARTICLE * big


def test_plan_merges_a_full_level_smallest_first_within_the_budget():
    assert merging.plan([60, 60, 60], 10_000, 250, 4) == []  # fewer than FACTOR in the level
    assert merging.plan([60, 70, 50, 80], 10_000, 250, 4) == [2, 0, 1, 3]
    assert merging.plan([100, 100, 100, 100], 250, 250, 4) == [0, 1]  # two fit the budget
    assert merging.plan([100, 100, 100, 100], 150, 250, 4) == []     # one alone is no merge
    # the lowest full level first; a big segment stays apart
    sizes = [5000, 900, 800, 700, 600, 90, 80, 70, 60]
    assert merging.plan(sizes, 10_000, 250, 4) == [8, 7, 6, 5]
    # the small level is not full: the next one is merged
    assert merging.plan(sizes[:5] + [90], 10_000, 250, 4) == [4, 3, 2, 1]
    # a level whose merge the budget cannot pay for is left
    assert merging.plan([900, 800, 700, 600], 1000, 250, 4) == []


def _records(prefix: str, count: int, words: str) -> str:
    return "".join(json.dumps({"id": f"{prefix}-{i}", "title": f"{words} {prefix} number {i}",
                               "body": f"{words} report {i} from the {prefix} desk. " * (1 + i % 3),
                               "date": f"2021-0{1 + i % 9}-1{i % 10}T10:00:00Z",
                               "source": f"{prefix.title()} Desk", "tags": ["t" + str(i % 4)]}) + "\n"
                   for i in range(count))


def _segments(index: Path) -> list[int]:
    from whoosh.index import open_dir
    return [segment.doc_count_all() for segment in open_dir(str(index))._segments()]


def _no_merging(monkeypatch):
    monkeypatch.setattr(run_module, "budget", lambda articles: 0)


def _three_segments(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """An index of three segments, the first with a deleted article (its file edited later)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    _no_merging(monkeypatch)
    idx = searchlib.Index(index)
    for name, words in (("north", "flood river"), ("south", "harvest grain"), ("east", "election vote")):
        (corpus / f"{name}.jsonl").write_text(_records(name, 7, words), encoding="utf-8")
        idx.update([corpus], jobs=1)
    edited = corpus / "north.jsonl"
    lines = edited.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    record["body"] += " Corrected."
    edited.write_text("\n".join(lines[:2] + [json.dumps(record)] + lines[3:]) + "\n", encoding="utf-8")
    idx.update([corpus], jobs=1)
    assert len(_segments(index)) == 4
    return corpus, index


def _merged_copy(index: Path, dest: Path, copy) -> Path:
    """A copy of `index` with all its segments merged into one by `copy(writer, reader)`."""
    from whoosh.reading import SegmentReader
    shutil.copytree(index, dest)
    ix = open_for_writing(dest)
    writer = open_writer(ix, compound=False)

    def merge_all(writer, segments):
        for segment in segments:
            with SegmentReader(writer.storage, writer.schema, segment) as reader:
                copy(writer, reader)
        return []

    writer.commit(mergetype=merge_all)
    return dest


def _contents(index: Path) -> dict:
    from whoosh.index import open_dir
    ix = open_dir(str(index))
    with ix.reader() as reader:
        # (a spelling word's posting carries, by Whoosh's own writer, the last posting's value of
        # the article it came from, in a field of 4-byte values: bytes no reader reads, cut at
        # other places when blocks are made otherwise; only its word and document are compared)
        postings = [p[:4] if p[0].startswith("spell_") else p for p in reader.iter_postings()]
        stored = [reader.stored_fields(d) for d in reader.all_doc_ids()]
        lengths = [(d, f, reader.doc_field_length(d, f)) for d in reader.all_doc_ids() for f in ("title", "body")]
        columns = {name: list(reader.column_reader(name)) for name in ("date", "source", "story")
                   if reader.has_column(name)}
        return {"postings": postings, "stored": stored, "lengths": lengths, "columns": columns,
                "segments": len(ix._segments()), "docs": reader.doc_count_all()}


def test_a_segment_copied_term_by_term_is_what_whooshs_add_reader_gives(tmp_path, monkeypatch):
    _, index = _three_segments(tmp_path, monkeypatch)
    ours = _contents(_merged_copy(index, tmp_path / "ours", add_segment))
    theirs = _contents(_merged_copy(index, tmp_path / "theirs", lambda w, r: w.add_reader(r)))
    assert ours["segments"] == theirs["segments"] == 1
    assert ours["docs"] == theirs["docs"] == 21  # 22 written, the replaced version dropped
    assert len(ours["postings"]) > 400  # (words and ids: dates and stories have no terms)
    assert ours == theirs
    assert {"date", "story"} <= set(ours["columns"])


def test_a_merged_index_answers_as_a_rebuilt_one(tmp_path, monkeypatch):
    corpus, index = _three_segments(tmp_path, monkeypatch)
    merged = _merged_copy(index, tmp_path / "merged", add_segment)
    fresh = searchlib.Index(tmp_path / "fresh")
    fresh.update([corpus], jobs=1)
    query = "flood OR harvest OR vote"
    after = searchlib.Index(merged, create=False).search(query, limit=50)
    rebuilt = fresh.search(query, limit=50)
    assert len(after.hits) == 21
    # the same articles with the same scores but for the field lengths' total, which a merge sums
    # from the per-article lengths as stored (one byte each, Whoosh's approximation) as Whoosh does
    ours = {h.id: h.score for h in after.hits}
    theirs = {h.id: h.score for h in rebuilt.hits}
    assert ours.keys() == theirs.keys()
    assert all(ours[i] == pytest.approx(theirs[i], rel=1e-3) for i in ours)
    assert "Corrected" in searchlib.Index(merged, create=False).get("corpus/north.jsonl#north-2").body


def test_many_small_runs_keep_few_segments_each_within_its_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(merging, "FLOOR", 6)
    monkeypatch.setattr(merging, "FACTOR", 3)
    monkeypatch.setattr(merging, "MIN_BUDGET", 30)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    idx = searchlib.Index(index)
    merged_runs = 0
    for run in range(30):
        (corpus / f"run{run:02d}.jsonl").write_text(_records(f"r{run}", 3, "flood river"), encoding="utf-8")
        report = idx.update([corpus], jobs=1)
        assert report.articles == 3
        assert report.merged <= merging.budget(report.articles) == 30
        merged_runs += report.merged > 0
        sizes = _segments(index)
        assert sum(sizes) == 3 * (run + 1)
        # the smallest level never holds more than FACTOR segments (a run adds one)
        assert sum(1 for n in sizes if merging.level(n) == 0) <= 3
    assert merged_runs >= 8
    assert len(_segments(index)) <= 6  # 30 runs, at most 6 segments (without merging: 30)
    assert idx.search("flood", limit=100).total == 90
    assert idx.update([corpus], jobs=1).to_dict()["merged"] == 0  # nothing to write, nothing to merge


_KILLED_IN_A_MERGE = """
import os, signal, sys
from searchlib.engine import segments
from searchlib.indexing import merging
import searchlib
merging.FLOOR, merging.FACTOR, merging.MIN_BUDGET = 6, 3, 1000
copied = []
real = segments.add_segment
def add_then_die(writer, reader):
    real(writer, reader)
    copied.append(1)
    if len(copied) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
segments.add_segment = add_then_die
searchlib.Index(sys.argv[1]).update([sys.argv[2]], jobs=1)
"""


def test_a_run_killed_in_the_middle_of_a_merge_loses_nothing(tmp_path, monkeypatch):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    _no_merging(monkeypatch)
    idx = searchlib.Index(index)
    for run in range(3):
        (corpus / f"run{run}.jsonl").write_text(_records(f"r{run}", 3, "flood river"), encoding="utf-8")
        idx.update([corpus], jobs=1)
    assert _segments(index) == [3, 3, 3]
    (corpus / "run3.jsonl").write_text(_records("r3", 3, "flood river"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _KILLED_IN_A_MERGE, str(index), str(corpus)],
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert _segments(index) == [3, 3, 3]  # the last commit, whole
    assert idx.search("flood", limit=100).total == 9
    monkeypatch.undo()
    monkeypatch.setattr(merging, "FLOOR", 6)
    monkeypatch.setattr(merging, "FACTOR", 3)
    report = idx.update([corpus], jobs=1)  # the next run redoes the file, and the merge
    assert (report.added, report.articles, report.merged) == (1, 3, 9)
    assert _segments(index) == [12]
    assert idx.search("flood", limit=100).total == 12
    assert sorted(h.id for h in idx.search("flood", limit=100).hits) == sorted(
        f"corpus/run{run}.jsonl#r{run}-{i}" for run in range(4) for i in range(3))
