"""Attacks on watches.json, which lives in the index folder and can be edited or copied from
elsewhere: a name that is a path must not put a feed outside --digest-dir, a watch stored under
another name must not report the same articles forever, and one unreadable watch must not stop
the others (the README's promise: bad input never stops the other watches)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import index_of


@pytest.fixture
def idx(tmp_path):
    with index_of(tmp_path) as idx:
        idx.watches.add("floods", "flood", backfill=True)
        yield idx


def edit(idx, change) -> None:
    path = idx.path / "watches.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data["watches"])
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_name_that_is_a_path_writes_no_feed_outside_the_digest_dir(idx, tmp_path):
    edit(idx, lambda w: w.__setitem__("../../escaped", dict(w["floods"], name="../../escaped")))
    feeds = tmp_path / "a" / "b" / "feeds"
    run = idx.watches.run(digest_dir=feeds)
    by_name = {o.name: o for o in run.outcomes}
    assert list(tmp_path.rglob("escaped*")) == []
    assert by_name["../../escaped"].error is not None
    assert "cannot read" in str(by_name["../../escaped"].error)
    assert by_name["floods"].error is None and by_name["floods"].new == 3
    assert (feeds / "floods.atom").is_file()


def test_a_watch_stored_under_another_name_is_an_error_not_a_loop(idx):
    edit(idx, lambda w: w.__setitem__("other", dict(w["floods"], name="different")))
    first = {o.name: o for o in idx.watches.run().outcomes}
    assert first["other"].error is not None and first["floods"].new == 3
    assert "'different'" in str(first["other"].error)


def test_one_unreadable_watch_does_not_stop_the_others(idx, run):
    edit(idx, lambda w: w.__setitem__("broken", dict(w["floods"], name="broken", created="garbage")))
    outcomes = {o.name: o for o in idx.watches.run().outcomes}
    assert outcomes["floods"].new == 3 and outcomes["floods"].error is None
    assert "cannot read" in str(outcomes["broken"].error)
    listed = run("watch", "list", "--index", str(idx.path))   # (a listing of all: one error)
    assert listed.exit_code == 2
    assert listed.output.startswith("search: error: watch 'broken': ")
    assert len(listed.output.splitlines()) == 1


def test_a_watches_file_nested_too_deep_is_a_one_line_error(idx, run):
    (idx.path / "watches.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    done = run("watch", "list", "--index", str(idx.path))
    assert done.exit_code == 2
    assert done.output.startswith("search: error: ") and len(done.output.splitlines()) == 1
