"""Every read of a sharded index across a rebuild's swap (the old folder renamed away, the new
one renamed in, as the read opens the shards) answers from the new index, as a search does
(tests/test_sharded_swap.py): stats, get, similar, copies, thread, history, marks, len, head,
arrivals. The new index holds one article more than the old, so an answer from the old shards,
or a mix of both, shows."""
from __future__ import annotations

import dataclasses
import os

import pytest

import searchlib
from searchlib.sharding import searching as sharded

from .conftest import RECORDS, write_records

NEW = {**RECORDS, "zeta": {"title": "Zeta river flood again", "body": "The river flooded the valley town overnight again.",
                           "date": "2022-09-07T08:00:00Z", "source": "West Desk", "section": "Weather"}}


def _built(folder, shards: int | None, records: dict):
    write_records(folder / "corpus", records)
    with searchlib.Index(folder / "index") as idx:
        idx.update([folder / "corpus"], jobs=1, shards=shards)
    return folder / "index"


def _plain(value):
    """A result as plain data to compare (dataclasses as dicts, with the index's path left out)."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "path"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


ALPHA, ZETA = "corpus/fixture.jsonl#alpha", "corpus/fixture.jsonl#zeta"
READS = {
    "search": lambda idx: [(h.id, h.score) for h in idx.search("river flood", limit=10).hits],
    "stats": lambda idx: _plain(idx.stats()),
    "get": lambda idx: _plain(idx.get(ZETA)),
    "similar": lambda idx: [h.id for h in idx.similar(ALPHA, limit=10).hits],
    "copies": lambda idx: _plain(idx.copies(ZETA)),
    "thread": lambda idx: _plain(idx.thread(ALPHA)),
    "history": lambda idx: _plain(idx.history(ZETA)),
    "marks": lambda idx: idx.marks(ZETA, "river"),
    "len": lambda idx: len(idx),
    "head": lambda idx: idx.head(),
    "arrivals": lambda idx: [_plain(a) for a in idx.arrivals("river", after=0).items],
}


@pytest.mark.parametrize("new_shards", [2, None])
@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_across_a_swap_answers_from_the_new_index(tmp_path, monkeypatch, read, new_shards):
    path = _built(tmp_path / "a", 3, RECORDS)
    fresh = _built(tmp_path / "b", new_shards, NEW)
    with searchlib.Index(fresh, create=False) as idx:
        expected = READS[read](idx)  # (the new index read where it was built)
    real = sharded.open_shard
    swapped = []

    def swapping(shard_path):
        if not swapped:  # the rebuild's two renames, as the read opens its first shard
            swapped.append(shard_path)
            os.rename(path, tmp_path / "old")
            os.rename(fresh, path)
        return real(shard_path)

    monkeypatch.setattr(sharded, "open_shard", swapping)
    with searchlib.Index(path, create=False) as idx:
        assert READS[read](idx) == expected
    assert swapped  # (the swap did happen in the read)


def test_the_old_answers_differ(tmp_path):
    """The check above could not pass on the old index's answers: they differ for every read."""
    old = _built(tmp_path / "a", 3, RECORDS)
    new = _built(tmp_path / "b", 2, NEW)
    with searchlib.Index(old, create=False) as a, searchlib.Index(new, create=False) as b:
        for name, read in READS.items():
            try:
                before = read(a)
            except searchlib.ArticleNotFoundError:
                before = "not found"
            assert before != read(b), name


def test_a_shard_gone_without_a_swap_is_still_an_error_for_every_read(tmp_path):
    path = _built(tmp_path / "a", 2, NEW)
    shard = sorted(p for p in path.iterdir() if p.is_dir())[1]
    os.rename(shard, tmp_path / "moved-away")
    with searchlib.Index(path, create=False) as idx:
        for name, read in READS.items():
            with pytest.raises(searchlib.IndexFormatError):
                read(idx)


def test_reads_while_a_real_rebuild_swaps_shard_counts_never_fail(tmp_path):
    """The same with a real rebuild in another process (3 shards to 2), and one long-lived Index
    reading all the while, as `search serve` does: every read answers, and always the same."""
    import json
    import subprocess
    import sys
    import time
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.jsonl").write_text("".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": f"river number{i} " * 50}) + "\n"
        for i in range(1500)), encoding="utf-8")
    path = tmp_path / "index"
    with searchlib.Index(path) as idx:
        idx.update([corpus], jobs=1, shards=3)
    one = "corpus/big.jsonl#b7"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--rebuild", "--shards", "2",
                             "--index", str(path), "-j", "1", str(corpus)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    with searchlib.Index(path, create=False) as idx:
        while proc.poll() is None:
            seen.append((len(idx), idx.stats().articles, idx.get(one).id))
            time.sleep(0.02)
        seen.append((len(idx), idx.stats().articles, idx.get(one).id))
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert len(seen) > 1 and set(seen) == {(1500, 1500, one)}
    assert len(list(path.glob("shard-*"))) == 2
