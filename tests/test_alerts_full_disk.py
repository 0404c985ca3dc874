"""A full disk while searchlib replaces one of its small files (the watches with their cursors,
a watch's feed): a one-line error, the old file as it was, no temporary file left behind, and
nothing lost: the articles the failed run would have reported come at the next run."""
from __future__ import annotations

import errno
import json
import os

import pytest

import searchlib
from searchlib.alerts import files

from .test_watches import keys, put


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def setup(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    put(corpus, "a", "River flood in the valley", "The river flooded the town.")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    idx.watches.add("floods", "flood")
    return idx, corpus


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_adding_a_watch_on_a_full_disk_keeps_the_watches_as_they_were(setup, run, monkeypatch):
    idx, _ = setup
    store = idx.path / "watches.json"
    before = store.read_bytes()
    monkeypatch.setattr(files.os, "fsync", full_disk)
    result = run("watch", "add", "harvest", "harvest", "--index", str(idx.path))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "No space left on device" in result.output
    assert "Traceback" not in result.output
    assert store.read_bytes() == before
    assert leftovers(idx.path) == []
    monkeypatch.undo()
    assert [w.name for w in idx.watches.list()] == ["floods"]


def test_a_watch_run_on_a_full_disk_moves_no_cursor_and_reports_again(setup, tmp_path, monkeypatch):
    idx, corpus = setup
    feeds = tmp_path / "feeds"
    assert idx.watches.run(["floods"], digest_dir=feeds).errors == []  # the feed, searchlib's
    old_feed = (feeds / "floods.atom").read_bytes()
    put(corpus, "b", "Flood defences", "Voters chose flood defences.")
    idx.update([corpus], jobs=1)
    cursor = idx.watches.get("floods").cursor
    monkeypatch.setattr(files.os, "fsync", full_disk)
    done = idx.watches.run(["floods"], digest_dir=feeds)
    assert len(done.errors) == 1 and "No space left on device" in str(done.errors[0])
    assert "'floods'" in str(done.errors[0])
    monkeypatch.undo()
    assert (feeds / "floods.atom").read_bytes() == old_feed
    assert leftovers(feeds) == [] and leftovers(idx.path) == []
    assert idx.watches.get("floods").cursor == cursor
    again = idx.watches.run(["floods"], digest_dir=feeds)
    assert again.errors == [] and keys(again.outcomes[0]) == ["b"]
    assert "Flood defences" in (feeds / "floods.atom").read_text(encoding="utf-8")
    assert json.loads((idx.path / "watches.json").read_text())["watches"]["floods"]["query"] == "flood"
