"""Workers: the processes that parse files (and, in a rebuild, write segments) beside the writer.

Stage: indexing. Workers start from a fork server that imported what they need while the run
was planned, run with fewer garbage collections, and exit as soon as the process that started
them is gone (a killed run leaves none behind).
"""
from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from typing import Iterator

WORKER_DIED = ("a worker process died while indexing (killed, out of memory, or started from a script "
               "without `if __name__ == \"__main__\":`); what was committed before is kept; "
               "try again, or with --jobs 1")


def worker_pool(jobs: int, initializer=None, initargs: tuple = ()):
    """A pool of `jobs` worker processes that end with this one, even when it is killed;
    `initializer(*initargs)` runs in each as it starts."""
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(max_workers=jobs, mp_context=worker_context(), initializer=_start_worker,
                               initargs=(initializer, initargs))


def worker_context():
    """How worker processes start (queues shared with them must come from the same context):
    from a fork server, never a fork of a threaded parent."""
    import multiprocessing
    return multiprocessing.get_context("forkserver")


# What every worker imports (Whoosh, BeautifulSoup and NumPy with them), imported once by the
# fork server, which workers are forked from, rather than by each worker as it starts.
WORKER_MODULES = ("searchlib.indexing.update", "searchlib.indexing.building",
                  "searchlib.ingest.parsers.text", "searchlib.ingest.parsers.html",
                  "searchlib.ingest.parsers.sgml", "searchlib.ingest.parsers.csvfmt",
                  "searchlib.ingest.parsers.jsonl", "searchlib.stories.linking")


def start_fork_server() -> None:
    """Start the fork server now, importing WORKER_MODULES, so that it does so while this process
    plans the run (nothing is done if one is running already)."""
    from multiprocessing import forkserver
    worker_context().set_forkserver_preload(["__main__", *WORKER_MODULES])  # (read as it starts)
    forkserver.ensure_running()


# The collector's thresholds while indexing (Python's default: 700, 10, 10). An index run makes
# millions of objects that live until a commit (the writer's postings lists) and few cycles (a
# parsed page's tree is decomposed when read), so the default's frequent collections rescan them
# for nothing: a rebuild of the benchmark's corpora in one process took 45.5 s with the default,
# 37.5 s with these, at the same peak memory (349 MB), and 36.0 s with no collection (454 MB).
INDEXING_GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector at INDEXING_GC_THRESHOLDS (never more often than it was)
    for the time of the block, then as before."""
    before = gc.get_threshold()
    gc.set_threshold(*(max(old, new) for old, new in zip(before, INDEXING_GC_THRESHOLDS)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def release_memory(writer=None) -> None:
    """Give back the memory of a writer whose segment is written: its postings pool emptied, a
    full collection (indexing collects rarely, INDEXING_GC_THRESHOLDS, and a finished writer's
    parts hold each other in cycles), and the freed pages returned to the system where the C
    library can (glibc's malloc_trim); else a worker's size grows from segment to segment."""
    if writer is not None:
        writer.pool.cleanup()
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim():
    """glibc's malloc_trim, or None (another C library, another system)."""
    global _TRIM
    if _TRIM is False:
        _TRIM = None
        try:
            import ctypes
            _TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)  # (the process's own symbols)
        except (OSError, AttributeError, TypeError):
            _TRIM = None
    return _TRIM


_TRIM = False  # (looked up on first use)


def _start_worker(initializer, initargs: tuple) -> None:
    gc.set_threshold(*INDEXING_GC_THRESHOLDS)  # (a worker only ever indexes)
    _exit_with_parent()
    if initializer is not None:
        initializer(*initargs)


def _exit_with_parent() -> None:
    """In a worker: exit as soon as the process that started the pool is gone (killed, say, by a
    cron `timeout`), rather than wait for work forever. Python's forkserver then ends too."""
    import multiprocessing
    import threading
    from multiprocessing.connection import wait
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
