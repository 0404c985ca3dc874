"""Indexing: source files → the Whoosh index, incrementally, in batches, one writer at a time.

Stage: indexing. A run compares the files under the given paths with the manifest
(`searchlib.indexing.manifest`): new files are added, changed ones (size or mtime differ and the content
hash confirms it) have their articles replaced, files gone from disk have their articles removed,
and unchanged files are not read at all. Work is committed every `batch_files` files,
`batch_articles` articles or `segment_postings` postings, whichever comes first, so a killed run
loses at most its current batch; the next run redoes it.

Runs are serialised by a lock file in the index folder (`searchlib.lock`, an advisory `flock`,
released by the kernel if the process dies); searches take no lock and see the last commit.
A file that can no longer be parsed keeps its previously indexed articles (nothing is lost).
"""
from __future__ import annotations

import errno
import fcntl
import gc
import os
import sqlite3
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..engine.layout import LOCK_FILE
from ..engine.storage import open_for_writing
from ..errors import DiskFullError, IndexFormatError, IndexingError, IndexLockedError, ParseError
from ..ingest.corpus import find_files
from ..ingest.limits import current as current_limits
from ..ingest.parsers import boundary, parse_file, within
from .manifest import FILE_NAME, FileState, Manifest
from .progress import Total
from .run import BATCH_ARTICLES, BATCH_FILES, SEGMENT_POSTINGS, Run, UpdateReport
from .workers import WORKER_DIED, fewer_collections, start_fork_server, worker_pool


# (bytes read, bytes to read in all, the file at hand); a progress object with an `articles`
# attribute has it set to the articles written so far before each call (the CLI shows articles/s)
Progress = Callable[[int, int, Path], None]
PARALLEL_FROM = 16  # files to parse before worker processes are worth starting


class RunLock:
    """An exclusive, advisory lock on the index folder for the length of one update run.

    One lock per index path, whatever rebuilds swap in: once the lock is taken, the file locked
    must still be the one at PATH/searchlib.lock (a run that waited through a rebuild locked the
    swapped-out folder's: it then takes the new folder's, which the rebuild held until done)."""

    def __init__(self, index_dir: Path, wait: float):
        self.path = Path(index_dir) / LOCK_FILE
        self.index_dir, self.wait = Path(index_dir), wait
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        deadline = time.monotonic() + self.wait
        while True:
            fd = self._open(deadline)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        raise IndexLockedError(self.index_dir, self.wait) from None
                    time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            if self._current(fd):
                self.fd = fd
                return self
            os.close(fd)  # the folder was swapped meanwhile: lock the one at the path now

    def _open(self, deadline: float) -> int:
        # The user's permissions only (0600), and never through a symbolic link someone planted.
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        swap_deadline = max(deadline, time.monotonic() + 2.0)
        while True:
            try:
                return os.open(self.path, flags, 0o600)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise IndexFormatError(self.index_dir, f"{LOCK_FILE} is a symbolic link; refused") from None
                # no folder at the path: a rebuild between its swap's two renames, for microseconds
                if exc.errno != errno.ENOENT or time.monotonic() >= swap_deadline:
                    raise
                time.sleep(0.001)

    def _current(self, fd: int) -> bool:
        try:
            now = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # closing the descriptor releases the lock


def parse_worker(path: str, limits, most: int = BATCH_ARTICLES,
                  roots: tuple | None = None, sign: bool = False) -> list | tuple | None:
    """In a worker process: one file's items, or None when it holds more than `most` (the
    writer then reads it itself, a batch at a time: a file of many records must never be held
    whole, nor pickled back whole). The file is opened only where it really lies inside one of
    `roots`, the folders being indexed (see `parsers.boundary`). ParseErrors travel as tuples
    (an exception whose __init__ takes arguments does not unpickle). `sign`: each article comes
    with its story signature (stories.linking.Signed), made here rather than by the writer."""
    if sign:
        from ..stories.linking import signed
    items = []
    try:
        with boundary(roots) if roots is not None else nullcontext():
            for item in parse_file(Path(path), limits):
                if len(items) >= most:
                    return None
                items.append(("error", str(item.path), item.reason, item.record)
                             if isinstance(item, ParseError) else signed(item) if sign else item)
    except ParseError as error:
        return ("failed", str(error.path), error.reason, error.record)
    return items


def _parsed(todo: list, jobs: int, roots: tuple | None = None, sign: bool = False):
    """(path, state, is_new, items) for each file to index, in order. With jobs > 1 (and enough
    files) they are parsed in worker processes, at most 4 x jobs files ahead of the writer, each
    of at most BATCH_ARTICLES items (memory stays bounded), while this process writes; items is
    None when the writer is to parse (one process, or a file of more items than that). `sign`:
    the workers sign the articles for the stories (parse_worker)."""
    if jobs <= 1 or len(todo) < PARALLEL_FROM:
        for path, state, is_new in todo:
            yield path, state, is_new, None
        return
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool
    limits = current_limits()  # resolved here: a worker's environment may be older
    with worker_pool(jobs) as pool:
        pending: deque = deque()
        queue = iter(todo)
        for entry in queue:
            pending.append((entry, pool.submit(parse_worker, str(entry[0]), limits, BATCH_ARTICLES, roots,
                                               sign)))
            if len(pending) >= 4 * jobs:
                break
        while pending:
            (path, state, is_new), future = pending.popleft()
            entry = next(queue, None)
            if entry is not None:
                pending.append((entry, pool.submit(parse_worker, str(entry[0]), limits, BATCH_ARTICLES,
                                                   roots, sign)))
            try:
                items = future.result()
            except BrokenProcessPool:
                raise IndexingError(WORKER_DIED) from None
            yield path, state, is_new, items


def update_index(index_dir: Path, paths: Iterable[str | Path], *, base: Path, wait: float = 0.0,
                 progress: Progress | None = None, batch_files: int = BATCH_FILES,
                 batch_articles: int = BATCH_ARTICLES, jobs: int | None = None,
                 merge: bool = True, segment_postings: int = SEGMENT_POSTINGS,
                 exclude: Iterable[str] = (), previous: Path | None = None) -> UpdateReport:
    """Bring the index in `index_dir` up to date with the files the paths stand for. `jobs`
    processes parse files (default: one per core); `merge=False` leaves each batch's segment
    as it is (a rebuild: merging would rewrite what was just written). `previous`, for a
    rebuild: the index being replaced, whose articles' `entered` stamps carry over (stamps.py)."""
    started = time.perf_counter()
    paths = list(paths)
    files, problems = listing = find_files(paths, exclude=exclude, exclude_dirs=[index_dir])
    roots = [Path(p).resolve() for p in paths]
    report = UpdateReport(index=Path(index_dir), files=len(files), skipped=list(problems),
                          ignored=list(listing.ignored))
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    allowed = tuple(listing.roots)  # files are opened only where they really lie inside these
    with _full_disk(index_dir), RunLock(index_dir, wait), Manifest(index_dir) as manifest, \
            fewer_collections(), boundary(allowed):
        ix = open_for_writing(index_dir)
        if jobs > 1 and len(files) >= PARALLEL_FROM and ix.is_empty():
            start_fork_server()  # a first build or a rebuild: workers will be needed
        run = Run(ix, manifest, report, base, batch_files, batch_articles, merge, segment_postings,
                  previous=previous)
        known = manifest.files()
        if not manifest.is_current(ix.latest_generation()):
            for path in _indexed_paths(ix):  # a crash left the manifest behind the index
                known.setdefault(path, FileState(-1, -1))
        on_disk = {str(f) for f in files}
        try:
            run.delete([p for p in known if p not in on_disk and within(p, roots)])
            todo = run.plan(files, known)
            # the bytes to read, knowing their files (a progress bar's estimate weighs each format)
            total_bytes = Total.of((path, state.size) for path, state, _ in todo)
            if not merge and jobs > 1 and len(todo) >= PARALLEL_FROM and ix.is_empty():
                # a rebuild: each worker parses and writes segments of its own (building.py)
                from .building import build_segments
                run.done.update(build_segments(ix, todo, base=base, jobs=jobs, report=report,
                                               batch=batch_articles,
                                               postings=max(1, segment_postings // jobs),
                                               progress=progress, roots=allowed,
                                               previous=previous, stamp=run.stamp))
                from ..stories.relinking import relink
                relink(ix, Path(index_dir) / FILE_NAME)  # copies that different workers wrote join one story
            else:
                done_bytes = 0
                for path, state, is_new, items in _parsed(todo, jobs, allowed, sign=run.stories):
                    if progress:
                        tell_articles(progress, report.articles)
                        progress(done_bytes, total_bytes, path)
                    run.index_file(path, state, is_new, items)
                    done_bytes += state.size
            run.commit()
        except BaseException:
            run.abandon()
            raise
        run.close_previous()
        keep_summaries(index_dir)
        if progress:
            tell_articles(progress, report.articles)
            progress(total_bytes, total_bytes, report.index)
    report.seconds = time.perf_counter() - started
    return report


def keep_summaries(index_dir: Path, more: dict | None = None) -> None:
    """Keep the newest commit's summaries beside the index (engine.summaries): a new process then
    finds which stories have copies, and `search stats` its counts, without a pass over every
    article; `more`: other parts of the commit to keep (kind → compute, as a shard's). Only a
    cache: when it cannot be written (a full disk, a read-only file), searches make what they
    need themselves, as before."""
    from ..engine.summaries import remember
    from ..stories.grouping import STORY_TABLE, shared_stories
    try:
        remember(Path(index_dir), {STORY_TABLE: shared_stories, **(more or {})})
    except (sqlite3.Error, OSError):
        pass


def tell_articles(progress, articles: int) -> None:
    """A progress bar that shows articles (one with an `articles` attribute, as the CLI's)
    learns how many are written so far."""
    if hasattr(progress, "articles"):
        progress.articles = articles


@contextmanager
def _full_disk(index_dir: Path) -> Iterator[None]:
    """A full disk (ENOSPC, or a quota) anywhere in a run as DiskFullError, naming the file being
    written: what was committed before stays, and the next run redoes the rest."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = Path(exc.filename) if exc.filename else Path(index_dir)
        # Whoosh's writer, failing halfway, leaves files open (only the traceback's frames hold
        # them): close them now, quietly, rather than as ResourceWarnings at some later moment
        import traceback
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            traceback.clear_frames(exc.__traceback__)
            gc.collect()
    else:
        return
    raise DiskFullError(where) from None


def _indexed_paths(ix) -> set[str]:
    """Every source path with live articles in the index (used when the manifest is stale)."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        paths = set()
        for term in reader.lexicon("path"):
            path = term.decode("utf-8")
            if path and searcher.document_number(path=path) is not None:
                paths.add(path)
        return paths
