"""Building: a fresh index written by several processes at once, one segment each.

Stage: indexing, for an empty index (a rebuild, which is written beside the old index and swapped
in when complete). Whoosh writes a segment in pure Python, so one writer keeps one core busy
however many parse; here each worker process parses a share of the files *and* writes their
articles into segments of its own, and this process commits them together. What the index
holds is what the one-writer path would give: the same articles, and when two files carry the
same article id, the one from the file that comes first keeps it (the other is reported).

Worker memory is bounded like the one-writer path's: a worker finishes a segment every
`batch` articles (Whoosh's posting pool then starts again empty).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .corpus import Skipped
from .manifest import FileState

GROUPS_PER_JOB = 2  # more groups than workers: a worker that finishes early takes the next


@dataclass
class _Written:
    """What one worker did with its group of files."""

    segments: list = field(default_factory=list)
    # per file indexed: (path, state, [(article id, record key, segment number, docnum)])
    files: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def _write_group(index_dir: str, group: list[tuple[str, FileState]], base: str, limits,
                 batch: int, pool_mb: int) -> _Written:
    """In a worker process: parse the group's files and write their articles into new segments
    of the index at `index_dir`, which are returned, not committed."""
    from .indexing import UpdateReport, _parse_worker, _Run
    from .schema import to_document
    from .storage import open_for_writing
    from .writer import open_writer

    ix = open_for_writing(Path(index_dir))  # (its files are synced to disk as they are closed)
    report = UpdateReport(index=Path(index_dir))
    run = _Run(ix, None, report, Path(base), 1 << 30, 1 << 30, merge=False)
    out = _Written()
    writer = None
    try:
        for path_text, state in group:
            path = Path(path_text)
            articles = run._articles(path, _parse_worker(path_text, limits))
            if not articles:
                continue
            if writer is None:  # the index's lock is held by the process that commits
                writer = open_writer(ix, _lk=False, compound=False, limitmb=pool_mb)
            ids = []
            for article in articles:
                ids.append((article.id, article.key, len(out.segments), writer.docnum))
                writer.add_document(**to_document(article))
                run.seen[article.id] = path
            out.files.append((path_text, state, ids))
            if writer.doc_count() >= batch:
                full, writer = writer, None
                out.segments.append(full._finalize_segment())
        if writer is not None:
            last, writer = writer, None
            out.segments.append(last._finalize_segment())
    finally:
        if writer is not None:
            writer.cancel()
        run._close_searcher()
    out.skipped, out.warnings = report.skipped, getattr(report, "warnings", [])
    return out


def _groups(todo: list, count: int) -> list[list]:
    """`todo` cut into about `count` runs of consecutive files of about equal size in bytes."""
    total = sum(state.size for _, state, _ in todo) or 1
    groups, current, size = [], [], 0
    for path, state, _ in todo:
        current.append((str(path), state))
        size += state.size
        if size >= total * (len(groups) + 1) / count and len(groups) < count - 1:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def build_segments(ix, todo: list, *, base: Path, jobs: int, report, batch: int, pool_mb: int,
                   progress=None) -> dict[str, FileState]:
    """Index the files in `todo` ((path, state, is_new), all new) into the empty index `ix` with
    `jobs` worker processes, commit the segments, and return the files' states for the manifest.
    Fills `report` (articles, added, skipped, warnings) as the one-writer path would."""
    from concurrent.futures.process import BrokenProcessPool

    from .errors import IndexingError
    from .indexing import WORKER_DIED, worker_pool
    from .limits import current as current_limits
    from .writer import open_writer

    limits = current_limits()  # resolved here: a worker's environment may be older
    groups = _groups(todo, jobs * GROUPS_PER_JOB)
    results: list[_Written] = []
    try:
        with worker_pool(jobs) as pool:
            futures = [pool.submit(_write_group, str(ix.storage.folder), group, str(base), limits,
                                   batch, pool_mb) for group in groups]
            done_files = 0
            for group, future in zip(groups, futures):
                results.append(future.result())
                done_files += len(group)
                if progress:
                    progress(done_files, len(todo), Path(group[-1][0]))
    except BrokenProcessPool:
        raise IndexingError(WORKER_DIED) from None

    done: dict[str, FileState] = {}
    owner: dict[str, str] = {}  # article id → the file that keeps it
    dropped: set[tuple[str, str | None]] = set()
    segments = []
    for result in results:
        for path, state, ids in result.files:
            kept = 0
            for article_id, key, segment, docnum in ids:
                first = owner.setdefault(article_id, path)
                if first != path:
                    result.segments[segment].delete_document(docnum)
                    report.skipped.append(Skipped(Path(path), f"duplicate of {article_id} "
                                                  f"(already indexed from {first})", key))
                    dropped.add((path, key))
                else:
                    kept += 1
            if kept:
                done[path] = FileState(state.size, state.mtime_ns, state.digest, kept)
                report.articles += kept
                report.added += 1
        report.skipped.extend(result.skipped)
        if hasattr(report, "warnings"):
            report.warnings.extend(w for w in result.warnings if (str(w.path), w.record) not in dropped)
        segments.extend(result.segments)

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
