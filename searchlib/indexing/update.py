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
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from whoosh.index import LockError

from ..article import Article
from ..ingest.corpus import Flagged, Skipped, find_files, flags
from ..errors import DiskFullError, IndexFormatError, IndexingError, IndexLockedError, ParseError
from ..ingest.limits import current as current_limits
from .manifest import FileState, Manifest, digest_file, stat_file, within
from ..ingest.parsers import boundary, parse_file
from ..engine.schema import to_document
from ..engine.storage import open_for_writing
from ..engine.writer import open_writer

Progress = Callable[[int, int, Path], None]  # (bytes read, bytes to read in all, the file at hand)
LOCK_FILE = "searchlib.lock"
BATCH_FILES = 500
BATCH_ARTICLES = 5000  # a commit at least this often: the writer holds a batch's postings in memory
# The postings the writers hold in memory together (~70 bytes each, see writer.py: ~400 MB)
# before they write segments, whatever the batch: one writer writes a segment at this many, each
# of N parallel writers (a rebuild) at 1/N of it. Fewer, larger segments search faster: each
# query term is looked up and read once per segment.
SEGMENT_POSTINGS = 6_000_000
# Inside one file of many records, a commit each time the writer holds this share of
# SEGMENT_POSTINGS (the writer's memory grows with a file's records, not only its bytes).
FILE_COMMIT_SHARE = 8
PARALLEL_FROM = 16  # files to parse before worker processes are worth starting
WORKER_DIED = ("a worker process died while indexing (killed, out of memory, or started from a script "
               "without `if __name__ == \"__main__\":`); what was committed before is kept; "
               "try again, or with --jobs 1")


@dataclass
class UpdateReport:
    """What an update did. File counts: added / updated / deleted / unchanged / skipped.

    `skipped`: files and records not indexed (they make the run not `ok`). `warnings`: articles
    indexed with a doubt (`corpus.Flagged`: a guessed encoding, a page cut off, no date), for the
    files read in this run; they do not make it less `ok`.
    """

    index: Path
    files: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    articles: int = 0
    removed: int = 0
    commits: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Flagged] = field(default_factory=list)
    seconds: float = 0.0
    # files of types searchlib does not read (README.md, LICENSE): not indexed, not a problem
    ignored: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skipped

    @property
    def files_indexed(self) -> int:
        return self.added + self.updated

    def to_dict(self) -> dict:
        return {
            "index": str(self.index), "files": self.files, "added": self.added,
            "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged,
            "skipped_files": len({s.path for s in self.skipped}), "articles": self.articles,
            "removed": self.removed, "commits": self.commits,
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": [w.to_dict() for w in self.warnings], "seconds": round(self.seconds, 3),
            "ignored": len(self.ignored), "ignored_paths": [str(p) for p in self.ignored],
        }


def article_id(article: Article, base: Path) -> str:
    """The article's stable id: its URL, else its path relative to `base` plus its record key."""
    if article.url:
        return article.url
    path = article.path or Path()
    try:
        name = path.relative_to(base).as_posix()
    except ValueError:
        name = path.as_posix()
    return f"{name}#{article.key}" if article.key else name


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
                  roots: tuple | None = None) -> list | tuple | None:
    """In a worker process: one file's items, or None when it holds more than `most` (the
    writer then reads it itself, a batch at a time: a file of many records must never be held
    whole, nor pickled back whole). The file is opened only where it really lies inside one of
    `roots`, the folders being indexed (see `parsers.boundary`). ParseErrors travel as tuples
    (an exception whose __init__ takes arguments does not unpickle)."""
    items = []
    try:
        with boundary(roots) if roots is not None else nullcontext():
            for item in parse_file(Path(path), limits):
                if len(items) >= most:
                    return None
                items.append(("error", str(item.path), item.reason, item.record)
                             if isinstance(item, ParseError) else item)
    except ParseError as error:
        return ("failed", str(error.path), error.reason, error.record)
    return items


def _unpack(result) -> Iterator:
    if isinstance(result, tuple):  # the whole file failed
        raise ParseError(Path(result[1]), result[2], result[3])
    return (ParseError(Path(r[1]), r[2], r[3]) if isinstance(r, tuple) else r for r in result)


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


# What every worker imports (Whoosh and BeautifulSoup with them: ~190 ms), imported once by the
# fork server, which workers are forked from, rather than by each worker as it starts.
WORKER_MODULES = ("searchlib.indexing.update", "searchlib.indexing.building",
                  "searchlib.ingest.parsers.text", "searchlib.ingest.parsers.html",
                  "searchlib.ingest.parsers.sgml", "searchlib.ingest.parsers.csvfmt",
                  "searchlib.ingest.parsers.jsonl")


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


def _parsed(todo: list, jobs: int, roots: tuple | None = None):
    """(path, state, is_new, items) for each file to index, in order. With jobs > 1 (and enough
    files) they are parsed in worker processes, at most 4 x jobs files ahead of the writer, each
    of at most BATCH_ARTICLES items (memory stays bounded), while this process writes; items is
    None when the writer is to parse (one process, or a file of more items than that)."""
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
            pending.append((entry, pool.submit(parse_worker, str(entry[0]), limits, BATCH_ARTICLES, roots)))
            if len(pending) >= 4 * jobs:
                break
        while pending:
            (path, state, is_new), future = pending.popleft()
            entry = next(queue, None)
            if entry is not None:
                pending.append((entry, pool.submit(parse_worker, str(entry[0]), limits, BATCH_ARTICLES,
                                                   roots)))
            try:
                items = future.result()
            except BrokenProcessPool:
                raise IndexingError(WORKER_DIED) from None
            yield path, state, is_new, items


def update_index(index_dir: Path, paths: Iterable[str | Path], *, base: Path, wait: float = 0.0,
                 progress: Progress | None = None, batch_files: int = BATCH_FILES,
                 batch_articles: int = BATCH_ARTICLES, jobs: int | None = None,
                 merge: bool = True, segment_postings: int = SEGMENT_POSTINGS,
                 exclude: Iterable[str] = ()) -> UpdateReport:
    """Bring the index in `index_dir` up to date with the files the paths stand for. `jobs`
    processes parse files (default: one per core); `merge=False` leaves each batch's segment
    as it is (a rebuild: merging would rewrite what was just written)."""
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
        run = Run(ix, manifest, report, base, batch_files, batch_articles, merge, segment_postings)
        known = manifest.files()
        if not manifest.is_current(ix.latest_generation()):
            for path in _indexed_paths(ix):  # a crash left the manifest behind the index
                known.setdefault(path, FileState(-1, -1))
        on_disk = {str(f) for f in files}
        try:
            run.delete([p for p in known if p not in on_disk and within(p, roots)])
            todo = run.plan(files, known)
            total_bytes = sum(state.size for _, state, _ in todo)
            if not merge and jobs > 1 and len(todo) >= PARALLEL_FROM and ix.is_empty():
                # a rebuild: each worker parses and writes segments of its own (building.py)
                from .building import build_segments
                run.done.update(build_segments(ix, todo, base=base, jobs=jobs, report=report,
                                               batch=batch_articles,
                                               postings=max(1, segment_postings // jobs),
                                               progress=progress, roots=allowed))
            else:
                done_bytes = 0
                for path, state, is_new, items in _parsed(todo, jobs, allowed):
                    if progress:
                        progress(done_bytes, total_bytes, path)
                    run.index_file(path, state, is_new, items)
                    done_bytes += state.size
            run.commit()
        except BaseException:
            run.abandon()
            raise
        if progress:
            progress(total_bytes, total_bytes, report.index)
    report.seconds = time.perf_counter() - started
    return report


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


class Run:
    """One update run's writer, batch and bookkeeping."""

    def __init__(self, ix, manifest: Manifest, report: UpdateReport, base: Path,
                 batch_files: int, batch_articles: int, merge: bool = True,
                 segment_postings: int = SEGMENT_POSTINGS):
        self.ix, self.manifest, self.report, self.base = ix, manifest, report, base
        self.batch_files, self.batch_articles, self.merge = batch_files, batch_articles, merge
        self.segment_postings = segment_postings
        self.writer = self.searcher = None
        self.done: dict[str, FileState] = {}
        self.gone: set[str] = set()
        self.replacing: set[str] = set()   # paths whose old articles this run deletes
        self.seen: dict[str, Path] = {}     # article id → file, for ids added this run
        self.batch_articles_count = 0

    def plan(self, files: list[Path], known: dict[str, FileState]) -> list[tuple[Path, FileState, bool]]:
        """The files to (re)index; unchanged ones are counted and, if only touched, re-stamped."""
        todo = []
        max_bytes = current_limits().max_file_bytes
        for path in files:
            try:
                state = stat_file(path)
            except OSError as exc:
                self.report.skipped.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
                continue
            old = known.get(str(path))
            if old and old.digest and (old.size, old.mtime_ns) == (state.size, state.mtime_ns):
                self.report.unchanged += 1
                continue
            if state.size > max_bytes:
                todo.append((path, state, old is None))  # parsing skips it unread: no hashing
                continue
            try:
                digest = digest_file(path)
            except OSError as exc:
                self.report.skipped.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
                continue
            state = FileState(state.size, state.mtime_ns, digest)
            if old and old.digest == digest:  # touched, not changed
                self.report.unchanged += 1
                self.done[str(path)] = FileState(state.size, state.mtime_ns, digest, old.articles)
                continue
            todo.append((path, state, old is None))
            if old is not None:
                self.replacing.add(str(path))
        return todo

    def delete(self, paths: list[str]) -> None:
        if not paths:
            return
        self._open()
        for path in paths:
            self.report.removed += self.writer.delete_by_term("path", path)
            self.gone.add(path)
            self.replacing.add(path)
        self.report.deleted += len(paths)

    def index_file(self, path: Path, state: FileState, is_new: bool, parsed=None) -> None:
        """Write the file's articles, parsed and written `batch_articles` at a time, so a file
        of many records is never held whole; the writer's postings are committed within the file
        when they reach 1/FILE_COMMIT_SHARE of `segment_postings` (looked at before each article:
        records of huge vocabularies are not held together), without merging segments.
        The first batch deletes the file's old articles (in the same commit); the file goes into
        the manifest only with its last batch's commit, so a run killed in between leaves it to
        be redone (its articles replaced) by the next. (Commits inside a file save nothing a
        crash could keep: they bound the writer's memory only. A commit per batch would make
        many segments, and merging them at each commit holds their postings again, which grows
        with the file.)"""
        written = 0
        for articles in self.article_batches(path, parsed, self.batch_articles):
            if written and self._pool_full(FILE_COMMIT_SHARE):  # more to come: commit what is written
                self._commit_within_file()
            self._open()
            if not written:
                self.report.removed += self.writer.delete_by_term("path", str(path))
            for number, article in enumerate(articles):
                if number and self._pool_full(FILE_COMMIT_SHARE):  # (records of huge vocabularies
                    self._commit_within_file()                     # are not held together either)
                    self._open()
                self.writer.add_document(**to_document(article))
                self.seen[article.id] = path
            written += len(articles)
            self.report.articles += len(articles)
            self.batch_articles_count += len(articles)
        if not written or self.incomplete:
            return
        self.report.added += is_new
        self.report.updated += not is_new
        self.done[str(path)] = FileState(state.size, state.mtime_ns, state.digest, written)
        if len(self.done) >= self.batch_files or self._full():
            self.commit()
            self.seen.clear()

    def _commit_within_file(self) -> None:
        """Commit what is written of a file, without merging (see `index_file`)."""
        merge, self.merge = self.merge, False
        try:
            self.commit()
        finally:
            self.merge = merge
        self.seen.clear()  # (the searcher now sees those ids)

    def _full(self) -> bool:
        """Whether the writer holds a batch's worth of articles or a segment's of postings."""
        return self.batch_articles_count >= self.batch_articles or self._pool_full()

    def _pool_full(self, share: int = 1) -> bool:
        """Whether the writer holds 1/share of a segment's postings."""
        return getattr(self.writer.pool, "count", 0) >= self.segment_postings // share

    def _articles(self, path: Path, parsed=None) -> list[Article]:
        """All the file's usable articles at once (see `article_batches`)."""
        return [a for batch in self.article_batches(path, parsed, 1 << 30) for a in batch]

    def article_batches(self, path: Path, parsed=None, size: int = BATCH_ARTICLES,
                         limits=None) -> Iterator[list[Article]]:
        """The file's usable articles (parsed here, or by a worker), in lists of at most `size`,
        reporting parse problems and duplicate ids, and each indexed article's doubts (its
        notes, no date) as warnings. The ids of the whole file are remembered (duplicates)."""
        skips_before = len(self.report.skipped)
        self.incomplete = False
        articles: list[Article] = []
        ids: set[str] = set()
        found = False
        try:
            for item in parse_file(path, limits) if parsed is None else _unpack(parsed):
                if isinstance(item, ParseError):
                    self.report.skipped.append(Skipped.from_error(item))
                    continue
                item.id = article_id(item, self.base)
                other = self._indexed_elsewhere(item.id, path)
                if other is not None:
                    self.report.skipped.append(
                        Skipped(path, f"duplicate of {item.id} (already indexed from {other})", item.key))
                elif item.id in ids:
                    self.report.skipped.append(Skipped(path, f"duplicate id {item.id} within the file", item.key))
                else:
                    ids.add(item.id)
                    articles.append(item)
                    self.report.warnings.extend(flags(item))
                    if len(articles) >= size:
                        found = True
                        yield articles
                        articles = []
        except ParseError as error:  # the whole file (or, part-way, a parser's bug)
            self.report.skipped.append(Skipped.from_error(error))
            self.incomplete = found  # what was written stays, and the file is redone next run
            return
        if articles:
            found = True
            yield articles
        if not found and len(self.report.skipped) == skips_before:
            self.report.skipped.append(Skipped(path, "no articles found in the file"))

    def _indexed_elsewhere(self, article_id: str, path: Path) -> Path | None:
        other = self.seen.get(article_id)
        if other is not None:
            return other if other != path else None
        if self.searcher is None:  # the last commit; ids added since are in self.seen
            self.searcher = self.ix.searcher()
        stored = self.searcher.document(id=article_id)
        if stored and stored.get("path") != str(path) and stored.get("path") not in self.replacing:
            return Path(stored["path"])
        return None

    def _open(self) -> None:
        if self.writer is None:
            try:
                self.writer = open_writer(self.ix, compound=False)
            except LockError:  # only a non-searchlib writer can hold it while we hold the run lock
                raise IndexLockedError(self.report.index, 0) from None
            except BaseException:  # (a full disk as it starts): the lock it took must not stay
                getattr(self.ix.storage, "release_locks", lambda: None)()
                raise

    def close_searcher(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
            self.searcher = None

    def commit(self) -> None:
        """Commit the batch to Whoosh, then record it in the manifest (in that order)."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                writer.commit(optimize=False, merge=self.merge)
            except BaseException:
                _abandon(writer)
                raise
            self.report.commits += 1
        if self.done or self.gone or not self.manifest.is_current(self.ix.latest_generation()):
            self.manifest.record(self.done, self.gone, self.ix.latest_generation())
        self.close_searcher()
        self.done, self.gone, self.batch_articles_count = {}, set(), 0

    def abandon(self) -> None:
        """Drop the uncommitted batch (earlier batches stay committed and recorded)."""
        if self.writer is not None:
            _abandon(self.writer)
            self.writer = None
        self.close_searcher()


def _abandon(writer) -> None:
    """Cancel a writer and make sure its lock is released (Whoosh keeps it if commit raised)."""
    try:
        writer.cancel()
    except Exception:  # (a full disk): close what cancel did not get to, files and temp files
        for part in ("perdocwriter", "fieldwriter"):
            try:
                getattr(writer, part).close()
            except Exception:
                pass
        try:
            writer._tempstorage.destroy()
        except Exception:
            pass
    lock = getattr(writer, "writelock", None)
    if lock is not None:
        try:
            lock.release()
        except Exception:
            pass


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
