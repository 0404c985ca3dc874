"""Locks across processes: one run lock per index path whatever the rebuilds swap in, searches
that open during a swap see the old or the new index, and a slow search blocks nobody.

Real processes (forked, so a child can wrap a function to pause at a given point); they are
ordered by events, not by sleeping."""
from __future__ import annotations

import multiprocessing
import threading
import time
import traceback
from pathlib import Path

import pytest

import searchlib
from searchlib.errors import IndexLockedError
from searchlib.indexing.update import RunLock

from .conftest import RECORDS, write_records

CTX = multiprocessing.get_context("fork")
WAIT = 60  # seconds: only a broken test waits this long


def _rebuild_pausing(path: str, corpus: str, built, go, swapped, finish) -> None:
    """A rebuild that pauses before its swap (until `go`) and after it (until `finish`)."""
    from searchlib import index as index_module
    swap = index_module._swap

    def pausing(fresh, target):
        built.set()
        go.wait(WAIT)
        swap(fresh, target)
        swapped.set()
        finish.wait(WAIT)

    index_module._swap = pausing
    index_module.rebuild_index(Path(path), [corpus], jobs=1)


def _update_waiting(path: str, corpus: str, waiting, acquired, release) -> None:
    """An update with --wait that says when it finds the lock taken and when it has it."""
    import fcntl

    from searchlib.indexing import update as indexing
    flock, enter = fcntl.flock, indexing.RunLock.__enter__

    def noting_flock(fd, operation):
        try:
            return flock(fd, operation)
        except BlockingIOError:
            waiting.set()
            raise

    def noting_enter(self):
        result = enter(self)
        acquired.set()
        release.wait(WAIT)
        return result

    fcntl.flock = noting_flock
    indexing.RunLock.__enter__ = noting_enter
    searchlib.Index(path, create=False).update([corpus], wait=WAIT, jobs=1)


def test_a_run_waiting_through_a_rebuild_holds_the_one_lock_of_the_path(index, corpus):
    path = str(index.path)
    built, go, swapped, finish = (CTX.Event() for _ in range(4))
    waiting, acquired, release = (CTX.Event() for _ in range(3))
    rebuild = CTX.Process(target=_rebuild_pausing, args=(path, str(corpus), built, go, swapped, finish))
    rebuild.start()
    try:
        assert built.wait(WAIT)
        waiter = CTX.Process(target=_update_waiting, args=(path, str(corpus), waiting, acquired, release))
        waiter.start()
        try:
            assert waiting.wait(WAIT)  # it waits for the lock the rebuild holds
            go.set()
            assert swapped.wait(WAIT)
            # the new folder is in place; the rebuild still runs: nobody else may start
            with pytest.raises(IndexLockedError):
                with RunLock(index.path, wait=0):
                    pass
            finish.set()
            assert acquired.wait(WAIT)
            # the waiting run now holds the lock of the folder at the path, not the one swapped out
            with pytest.raises(IndexLockedError):
                with RunLock(index.path, wait=0):
                    pass
            release.set()
        finally:
            go.set(), finish.set(), release.set()
            waiter.join(WAIT)
        assert waiter.exitcode == 0
    finally:
        rebuild.join(WAIT)
    assert rebuild.exitcode == 0
    assert len(searchlib.Index(index.path, create=False)) == len(RECORDS)


def _rebuild_loop(path: str, corpus: str, started, stop, out, done=None) -> None:
    rebuilds, errors = 0, []
    started.set()
    while not stop.is_set():
        try:
            searchlib.Index(path, create=False).update([corpus], rebuild=True, jobs=1)
            rebuilds += 1
            if done is not None:
                done.value = rebuilds
        except Exception:
            errors.append(traceback.format_exc())
    out.put((rebuilds, errors[:3], len(errors)))


def test_searches_during_rebuild_swaps_see_the_old_or_the_new_index(index, corpus):
    started, stop, out, done = CTX.Event(), CTX.Event(), CTX.Queue(), CTX.Value("i", 0)
    swapper = CTX.Process(target=_rebuild_loop, args=(str(index.path), str(corpus), started, stop, out, done))
    swapper.start()
    searches, failures = 0, []
    try:
        assert started.wait(WAIT)
        kept = searchlib.Index(index.path, create=False)
        # at least 4 s and 3 swaps (a loaded machine rebuilds slowly), at most 60 s
        deadline, longest = time.monotonic() + 4, time.monotonic() + 60
        while time.monotonic() < deadline or (done.value < 3 and time.monotonic() < longest):
            for fresh in (False, True):
                try:
                    idx = searchlib.Index(index.path, create=False) if fresh else kept
                    hits = len(idx.search("flood").hits)
                    if hits != 3:
                        failures.append(f"{hits} hits")
                except Exception:
                    failures.append(traceback.format_exc())
                searches += 1
    finally:
        stop.set()
        rebuilds, errors, error_count = out.get(timeout=WAIT)
        swapper.join(WAIT)
    assert failures[:3] == [] and errors == [], (len(failures), error_count, failures[:1], errors[:1])
    assert rebuilds >= 3 and searches >= 20, (rebuilds, searches)
    assert sorted(p.name for p in index.path.parent.iterdir()) == ["corpus", "index"]


def _slow_search(path: str, inside, leave, out) -> None:
    """A search that stalls in its query (as a huge query would in the parser)."""
    from searchlib import index as index_module
    run_search = index_module.run_search

    def slow(*args, **kwargs):
        inside.set()
        leave.wait(WAIT)
        return run_search(*args, **kwargs)

    index_module.run_search = slow
    results = searchlib.Index(path, create=False).search("flood")
    out.put([hit.title for hit in results])


def test_a_slow_search_blocks_no_commit_and_no_other_search(index, tmp_path):
    inside, leave, out = CTX.Event(), CTX.Event(), CTX.Queue()
    slow = CTX.Process(target=_slow_search, args=(str(index.path), inside, leave, out))
    slow.start()
    done: list = []

    def others():
        for name in ("zeta", "eta", "theta"):  # commits that merge and delete segment files
            write_records(tmp_path / name, {name: {"title": f"{name} flood", "body": "Floods again."}})
            searchlib.Index(index.path).update([tmp_path / name], jobs=1)
            done.append(searchlib.Index(index.path, create=False).search("flood").total)

    try:
        assert inside.wait(WAIT)
        worker = threading.Thread(target=others, daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(20)
        assert not worker.is_alive(), "a commit or a search waited for the slow search"
        assert done == [4, 5, 6] and time.monotonic() - started < 20
    finally:
        leave.set()
        titles = out.get(timeout=WAIT)
        slow.join(WAIT)
    assert slow.exitcode == 0
    # the slow search saw the commit it opened, its files intact though merged away since
    assert titles == ["Alpha river flood", "Delta flood warning issued", "Beta election result"]
