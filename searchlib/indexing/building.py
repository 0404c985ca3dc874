"""Building: a fresh index written by several processes at once, each writing its own segments.

Stage: indexing, for an empty index (a rebuild, which is written beside the old index and swapped
in when complete). Whoosh writes a segment in pure Python, so one writer keeps one core busy
however many parse; here each worker process parses a share of the files *and* writes their
articles into segments of its own, and this process commits them together. What the index
holds is what the one-writer path would give: the same articles, and when two files carry the
same article id, the one from the file that comes first keeps it (the other is reported). Only
the articles' internal numbers differ, and with them the order of hits whose scores are exactly
equal (the same hits and scores; tied hits may come in another order).

The workers take the files one at a time, in order, from a shared queue, so they stay evenly
busy, and each finishes a segment once its writer holds `postings` postings (in memory until
then, see writer.py; a rebuild passes no article batch): on a few cores, one segment per worker.
Fewer segments search faster (each query term is looked up and its postings read once per
segment; README, "Performance", has the measured figures), and the index is smaller (a term's
entry is written once per segment).
"""
from __future__ import annotations

import heapq
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..engine.layout import RECORDS_FOLDER_PREFIX, RECORDS_PREFIX, RECORDS_SUFFIX
from ..ingest.corpus import Skipped
from ..stories.bands import Bands
from .manifest import FILE_NAME, FileState
from .progress import Total
from .seen import SeenIds

_QUEUES: dict = {}  # in a worker: the queues of files to take and of files done
# A worker's segment holds at most this many articles, whatever its postings: an article costs
# the writer memory of its own (stored fields, lengths) besides its postings, so a corpus of
# many tiny records (one JSON Lines file of 600,000) must not fill a segment by postings alone.
SEGMENT_ARTICLES = 50_000


@dataclass
class _Written:
    """What one worker wrote."""

    segments: list = field(default_factory=list)
    # a file of records, one pickled per file indexed, in plan order: (its place in the plan,
    # path, state, [(article id, record key, segment number, docnum)], {id: band keys}, whether
    # the file was read whole); written
    # as the worker goes rather than held, since they grow with the archive (see `_records`)
    files: Path | None = None
    skipped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def _take_queues(todo, done) -> None:
    _QUEUES.update(todo=todo, done=done)


def _write_from_queue(index_dir: str, base: str, limits, batch: int, postings: int,
                      roots: tuple | None = None, previous: str | None = None,
                      stamp: int | None = None, spill: str | None = None) -> _Written:
    """In a worker process: take files from the queue until it says stop, parse them and write
    their articles into new segments of the index at `index_dir`, returned, not committed; what
    each file wrote goes to a file in the folder `spill` (default: the system's temporary one)."""
    from .run import BATCH_ARTICLES, Run, UpdateReport
    from contextlib import nullcontext

    from ..ingest.parsers import boundary
    from ..engine.storage import open_for_writing
    from ..engine.writer import open_writer
    from .workers import release_memory

    todo, done = _QUEUES["todo"], _QUEUES["done"]
    ix = open_for_writing(Path(index_dir))  # (its files are synced to disk as they are closed)
    report = UpdateReport(index=Path(index_dir))
    run = Run(ix, None, report, Path(base), 1 << 30, 1 << 30, merge=False,
              previous=Path(previous) if previous else None, stamp=stamp)
    out = _Written()
    writer = None
    handle, name = tempfile.mkstemp(prefix=RECORDS_PREFIX, suffix=RECORDS_SUFFIX, dir=spill)
    out.files = Path(name)
    offsets: dict[str, int] = {}  # path → where its record starts in the records file
    path_text, ids = None, []     # the file being written, and what it wrote so far

    def wrote(article_id: str, path: Path) -> bool:
        """Whether the file at `path` wrote `article_id` (run.seen's check of a hash found)."""
        if str(path) == path_text:
            return any(written == article_id for written, *_ in ids)
        if str(path) not in offsets:
            return False
        records.flush()
        with open(name, "rb") as again:
            again.seek(offsets[str(path)])
            return any(written == article_id for written, *_ in pickle.load(again)[3])

    # the ids this worker wrote, compactly (they grow with the archive: seen.py)
    run.seen = SeenIds(wrote)
    try:
        # files opened only where they really lie inside the folders being indexed
        with open(handle, "wb") as records, \
                (boundary(roots) if roots is not None else nullcontext()):
            while (entry := todo.get()) is not None:
                place, path_text, state = entry
                path = Path(path_text)
                ids = []
                # a file's articles BATCH_ARTICLES at a time (a rebuild's `batch` is unbounded), parsed
                # here, never held whole: a file may hold hundreds of thousands of records; the
                # index's lock is held by the process that commits
                for articles in run.article_batches(path, None, min(batch, BATCH_ARTICLES), limits):
                    for article in articles:
                        if writer is None:
                            writer = open_writer(ix, _lk=False, compound=False)
                        ids.append((article.id, article.key, len(out.segments), writer.docnum))
                        writer.add_document(**run.document(article))
                        run.seen[article.id] = path  # (this worker's files come in plan order)
                        if (writer.doc_count() >= min(batch, SEGMENT_ARTICLES)
                                or writer.pool.count >= postings):
                            full, writer = writer, None  # (a file's articles may span two segments)
                            out.segments.append(full._finalize_segment())
                            release_memory(full)  # (its postings, before the next segment's)
                keys = {article_id: found for article_id, _, found in run.bands.take()}
                if ids:  # (a file a parser failed part-way is not kept, and redone next run)
                    offsets[path_text] = records.tell()
                    pickle.dump((place, path_text, state, ids, keys, not run.incomplete), records,
                                pickle.HIGHEST_PROTOCOL)
                done.put(path_text)
        if writer is not None:
            last, writer = writer, None
            out.segments.append(last._finalize_segment())
    finally:
        if writer is not None:
            writer.cancel()
        run.close_searcher()
        run.close_previous()
    out.skipped, out.warnings = report.skipped, report.warnings
    return out


def build_segments(ix, todo: list, *, base: Path, jobs: int, report, batch: int, postings: int,
                   progress=None, roots: tuple | None = None, previous: Path | None = None,
                   stamp: int | None = None) -> dict[str, FileState]:
    """Index the files in `todo` ((path, state, is_new), all new) into the empty index `ix` with
    `jobs` worker processes, commit the segments, and return the files' states for the manifest.
    Fills `report` (articles, added, skipped, warnings) as the one-writer path would; articles
    get `entered` stamps as there (`stamp`, or the one each had in `previous`, see stamps.py)."""
    # the workers' records, in a folder of the new index's own (on its disk, not in the system's
    # temporary folder, which may be memory: 185 MB at 1,000,000 articles), removed when done
    with tempfile.TemporaryDirectory(prefix=RECORDS_FOLDER_PREFIX, dir=ix.storage.folder) as spill:
        return _build_segments(ix, todo, base=base, jobs=jobs, report=report, batch=batch,
                               postings=postings, progress=progress, roots=roots,
                               previous=previous, stamp=stamp, spill=spill)


def _records(written: _Written, offset: int) -> Iterator[tuple]:
    """The records of the files a worker wrote (`_Written.files`), read one at a time, their
    segment numbers moved by `offset` (the worker's first segment's place among all)."""
    with open(written.files, "rb") as records:
        while True:
            try:
                place, path, state, ids, keys, complete = pickle.load(records)
            except EOFError:
                return
            if complete:  # (the articles of a file a parser failed part-way stay unrecorded)
                yield place, path, state, [(i, k, offset + n, d) for i, k, n, d in ids], keys


def _build_segments(ix, todo: list, *, base: Path, jobs: int, report, batch: int, postings: int,
                    progress, roots: tuple | None, previous: Path | None, stamp: int | None,
                    spill: str) -> dict[str, FileState]:
    import queue as queues
    from concurrent.futures.process import BrokenProcessPool

    from ..errors import IndexingError
    from .workers import WORKER_DIED, worker_context, worker_pool
    from ..ingest.limits import current as current_limits
    from ..engine.writer import open_writer

    limits = current_limits()  # resolved here: a worker's environment may be older
    context = worker_context()
    files, finished = context.Queue(), context.Queue()
    for place, (path, state, _) in enumerate(todo):
        files.put((place, str(path), state))
    for _ in range(jobs):
        files.put(None)  # one stop sign per worker
    results: list[_Written] = []
    try:
        with worker_pool(jobs, _take_queues, (files, finished)) as pool:
            pending = {pool.submit(_write_from_queue, str(ix.storage.folder), str(base), limits, batch,
                                   postings, roots, str(previous) if previous else None, stamp,
                                   spill)
                       for _ in range(jobs)}
            sizes = {str(path): state.size for path, state, _ in todo}
            total_bytes = Total.of(((path, state.size) for path, state, _ in todo), parallel=jobs)
            done_bytes = 0

            def reported(wait: float | None) -> bool:
                """Report the next file a worker has done, waiting up to `wait` seconds for one
                (None: not at all); whether there was one."""
                nonlocal done_bytes
                try:
                    path = finished.get(timeout=wait) if wait else finished.get_nowait()
                except queues.Empty:
                    return False
                done_bytes += sizes.get(path, 0)
                if progress:
                    progress(done_bytes, total_bytes, Path(path))
                return True

            while pending:
                # each file as it is done (polled each 0.2 s, the files done meanwhile came at
                # once, up to 0.2 s late, and the time left swung with each such burst)
                reported(0.2)
                ready = {future for future in pending if future.done()}
                pending -= ready
                results.extend(future.result() for future in ready)
            while reported(None):  # (files a worker reported just before it ended)
                pass
    except BrokenProcessPool:
        raise IndexingError(WORKER_DIED) from None
    finally:
        for q in (files, finished):
            q.close()
            q.cancel_join_thread()

    # In the plan's order, each article id is kept by the first file that has it (the
    # one-writer path's rule); the others' copies are deleted from their segments.
    done: dict[str, FileState] = {}
    owner: dict[str, str] = {}
    dropped: set[tuple[str, str | None]] = set()
    segments, streams = [], []
    for result in results:
        streams.append(_records(result, len(segments)))
        segments.extend(result.segments)
        report.skipped.extend(result.skipped)
    with Bands(Path(ix.storage.folder) / FILE_NAME) as bands, bands.load(Path(spill)) as loader:
        # each worker's records come in plan order: merged, all come in plan order
        for _, path, state, ids, keys in heapq.merge(*streams, key=lambda entry: entry[0]):
            kept = 0
            for article_id, key, segment, docnum in ids:
                first = owner.setdefault(article_id, path)
                if first != path:
                    segments[segment].delete_document(docnum)
                    report.skipped.append(Skipped(Path(path), f"duplicate of {article_id} "
                                                  f"(already indexed from {first})", key))
                    dropped.add((path, key))
                else:
                    kept += 1
                    if keys.get(article_id):
                        loader.add(article_id, path, keys[article_id])
            if kept:
                done[path] = FileState(state.size, state.mtime_ns, state.digest, kept)
                report.articles += kept
                report.added += 1
        # (the rows reach the band table when the loader's block ends: before the commit, as
        # indexing.run writes them; see bands.py)
    for result in results:
        report.warnings.extend(w for w in result.warnings if (str(w.path), w.record) not in dropped)

    # Whoosh's lock, held while the TOC is written; its _finish() also removes the temporary
    # folder the workers' writers shared (so they must not remove it themselves)
    writer = open_writer(ix, compound=False)
    try:
        writer._close_segment()  # its own segment stays empty
        writer._commit_toc(segments)
    finally:
        writer._finish()
    report.commits += 1
    return done
