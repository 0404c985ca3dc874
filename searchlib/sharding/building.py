"""Building: a sharded index brought up to date, each file parsed once, its articles sent to their shards.

Stage: indexing, for an index of N shards (layout.py). A run means what it means for one index
(indexing/update.py): new, changed and vanished files, unchanged ones not read. It holds the top
folder's run lock; each shard is written by one task holding that shard's own lock, so a shard
has one writer at a time. Work goes in rounds (a batch of files, as a batch of the one-writer
path): phase 1 parses the round's files (`parse_for_shards`, in the worker processes here or as
`parse_batch` tasks on a cluster) and routes each article to `shard_of(its id)`; the stories of
the round's articles are linked here, against every shard's last commit and the run's articles
written since (so a copy in shard 1 joins a story of shard 0); phase 2 is one `write_shard`
task per shard through `executor.map`, which commits that shard on its own. Here (a
LocalExecutor) the worker processes of `--jobs` parse, and write the shards of a round side by
side when there are several. A file of more articles than a batch is read in parts, here, each
part a round: the first deletes the file's old articles, the last records it.

Every shard's manifest records every file the run takes in (with 0 articles where none of its
articles went to that shard), so a file is unchanged only when every shard has its version; a
run killed between two shards' commits leaves the file current in some shards and not in the
others, and the next run writes it again only into the others: nothing lost, nothing twice.
"""
from __future__ import annotations

import errno
import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import DiskFullError, IndexingError
from .execution import Executor, LocalExecutor
from .layout import shard_of, shard_paths

PARALLEL_FROM = 16   # files to parse before worker processes are worth starting (as update.py)
TASK_FILES = 16      # files per parsing task on a cluster


@dataclass
class Parsed:
    """One file's articles (their ids set), by shard, in the file's order, and its problems.
    `failed`: the file could not be parsed (its previously indexed articles stay). `more`: it
    holds more articles than a task may hand back at once; they are read in parts (`parts`)."""

    path: str
    shards: dict = field(default_factory=dict)   # shard number -> [Article]
    skipped: list = field(default_factory=list)  # corpus.Skipped: records, or the whole file
    failed: bool = False
    more: bool = False

    @property
    def articles(self) -> int:
        return sum(len(articles) for articles in self.shards.values())


def parse_for_shards(path: str, base: str, count: int, limits=None, roots: tuple | None = None,
                     most: int | None = None) -> Parsed:
    """Parse one file and route its articles to their shards (a module-level task: a worker
    process or a cluster's worker runs it); a file of more than `most` articles gives a Parsed
    that says so (`more`) and holds none: the caller reads it in `parts`. A file that fails
    part-way gives nothing but its problems (`failed`)."""
    found = parts(path, base, count, limits, roots, most or (1 << 62))
    try:
        first = next(found)
        if next(found, None) is not None:
            return Parsed(path, more=True)
        return first
    finally:
        found.close()


def parts(path: str, base: str, count: int, limits=None, roots: tuple | None = None,
          size: int = 5000) -> Iterator[Parsed]:
    """The file's articles, routed to their shards, in Parsed parts of at most `size` articles
    (the last one with the file's problems; `failed` if it broke off part-way). Ids are given as
    the one-writer path gives them (`run.article_id`); an article with an id already in the file
    is reported, not kept."""
    from ..errors import ParseError
    from ..indexing.run import article_id
    from ..ingest.corpus import Skipped
    from ..ingest.parsers import boundary, parse_file

    parsed, held = Parsed(path), 0
    ids: set[str] = set()
    try:
        with boundary(roots) if roots is not None else nullcontext():
            for item in parse_file(Path(path), limits):
                if isinstance(item, ParseError):
                    parsed.skipped.append(Skipped.from_error(item))
                    continue
                item.id = article_id(item, Path(base))
                if item.id in ids:
                    parsed.skipped.append(Skipped(Path(path), f"duplicate id {item.id} within the file", item.key))
                    continue
                ids.add(item.id)
                if held >= size:
                    yield parsed
                    parsed, held = Parsed(path), 0
                parsed.shards.setdefault(shard_of(item.id, count), []).append(item)
                held += 1
    except ParseError as error:  # the whole file, or part-way (what was read in this part is not kept)
        yield Parsed(path, skipped=parsed.skipped + [Skipped.from_error(error)], failed=True)
        return
    if not ids and not parsed.skipped:
        parsed.skipped.append(Skipped(Path(path), "no articles found in the file"))
    yield parsed


def parse_batch(paths: list, base: str, count: int, limits=None, roots: tuple | None = None,
                most: int | None = None) -> list:
    """`parse_for_shards` for each of `paths` (one task on a cluster)."""
    return [parse_for_shards(path, base, count, limits, roots, most) for path in paths]


@dataclass
class ShardWork:
    """What one shard is to write in one round (plain data: a cluster sends it to a worker)."""

    shard: str
    base: str
    # (path, FileState, is_new, [Article] routed here, whether this shard holds an older version,
    #  whether an earlier part of the file was written, whether more parts follow)
    files: list = field(default_factory=list)
    touched: dict = field(default_factory=dict)   # path -> FileState: same content, new mtime
    gone: list = field(default_factory=list)      # paths whose articles go
    replacing: list = field(default_factory=list)  # paths being replaced this run (ids may move)
    links: dict = field(default_factory=dict)     # article id -> its story fields (linked above)
    stamp: int = 0
    previous: str | None = None  # a rebuild's index being replaced, for `entered` stamps
    wait: float = 0.0
    batch_files: int = 500
    batch_articles: int = 5000


@dataclass
class ShardDone:
    """What one shard's task wrote."""

    shard: str
    recorded: list = field(default_factory=list)  # paths now recorded in its manifest
    articles: int = 0
    removed: int = 0
    commits: int = 0
    skipped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


class _Given:
    """A Linker's `fields`, answered from the links made before the shards were written."""

    def __init__(self, links: dict):
        self.links = links

    def fields(self, article_id: str, text: str, date, *signed) -> dict:
        return dict(self.links.get(article_id, {}))


def write_shard(work: ShardWork) -> ShardDone:
    """Write one round into one shard under its run lock: the vanished files' articles deleted,
    each file's articles replacing its old ones (`indexing.run.Run`, batches and commits as for
    one index: Whoosh first, the shard's manifest second), touched files re-stamped."""
    from ..engine.storage import open_for_writing
    from ..indexing.manifest import Manifest
    from ..indexing.run import Run, UpdateReport
    from ..indexing.stamps import Carried
    from ..indexing.update import RunLock, keep_summaries
    from .layout import count_at
    from .searching import JOINED, count_joined

    shard = Path(work.shard)
    report = UpdateReport(index=shard)
    done = ShardDone(work.shard)
    with _full_disk(shard), RunLock(shard, work.wait), Manifest(shard) as manifest:
        ix = open_for_writing(shard)
        run = Run(ix, manifest, report, Path(work.base), work.batch_files, work.batch_articles,
                  previous=Path(work.previous) if work.previous else None, stamp=work.stamp)
        run.linker = _Given(work.links)
        run.replacing.update(work.replacing)
        earlier = None  # a rebuild's old index of another number of shards: its stamps, from all of them
        try:
            count = count_at(Path(work.previous)) if work.previous else None
        except (OSError, ValueError):
            count = None
        if count is not None:
            earlier = searcher_of_all(shard_paths(Path(work.previous), count))
            run.carried = Carried(lambda: earlier or None)
        try:
            run.delete(list(work.gone))
            run.done.update(work.touched)
            done.recorded.extend(work.touched)
            for path, state, is_new, articles, held, continued, more in work.files:
                if articles:
                    before = report.added + report.updated
                    run.index_file(Path(path), state, is_new, articles, continued=continued, more=more)
                    if report.added + report.updated > before:
                        done.recorded.append(path)
                elif not continued or not more:  # (the first part deletes, the last one records)
                    run.take_none(Path(path), state, held and not continued, record=not more)
                    if not more:
                        done.recorded.append(path)
            run.commit()
        except BaseException:
            run.abandon()
            raise
        finally:
            if earlier:
                earlier.close()
        run.close_previous()
        keep_summaries(shard, {JOINED: count_joined})  # (what a search of all the shards asks each)
    done.articles, done.removed, done.commits = report.articles, report.removed, report.commits
    done.skipped, done.warnings = report.skipped, report.warnings
    return done


def read_shard(shard: str) -> dict:
    """The files a shard holds, path -> FileState, from its manifest; where a crash left the
    manifest behind the shard's last commit, every path the shard holds articles of is added
    with a state no file has (so it is written again), as the one-writer path does."""
    from ..engine.storage import open_for_writing
    from ..indexing.manifest import FileState, Manifest

    with Manifest(Path(shard)) as manifest:
        known = manifest.files()
        ix = open_for_writing(Path(shard))
        if not manifest.is_current(ix.latest_generation()):
            with ix.searcher() as searcher:
                for term in searcher.reader().lexicon("path"):
                    path = term.decode("utf-8")
                    if path and searcher.document_number(path=path) is not None:
                        known.setdefault(path, FileState(-1, -1))
    return known


def searcher_of_all(shards: list[Path]):
    """One Whoosh searcher on the last commits of all these shards (their readers as one), or
    False when none holds an article. Stays inside searchlib: for linking and stamps."""
    from whoosh.reading import MultiReader
    from whoosh.searching import Searcher

    from ..engine.storage import open_for_reading
    readers = [open_for_reading(shard).reader() for shard in shards]
    kept = [reader for reader in readers if reader.doc_count_all()]
    for reader in readers:
        if reader not in kept:
            reader.close()
    if not kept:
        return False
    return Searcher(kept[0] if len(kept) == 1 else MultiReader(kept))


class _Linking:
    """Story ids for the run's articles (stories.linking.Linker), looked up in every shard's last
    commit (one searcher over them all, and each shard's band table) and among the run's
    articles linked since."""

    def __init__(self, shards: list[Path]):
        from ..indexing.manifest import FILE_NAME
        from ..stories.bands import Bands
        from ..stories.linking import Linker
        self.shards, self.searcher = shards, None
        self.tables = [Bands(Path(shard) / FILE_NAME, read_only=True) for shard in shards]
        self.linker = Linker(self._searcher, lambda: self.tables)

    def _searcher(self):
        if self.searcher is None:
            self.searcher = searcher_of_all(self.shards)  # (False: nothing committed anywhere yet)
        return self.searcher or None

    def fields(self, article) -> dict:
        from ..stories.linking import story_text
        return self.linker.fields(article.id, story_text(article.title, article.summary, article.body),
                                  article.date)

    def refresh(self) -> None:
        """The shards committed: look at their new commits from now on."""
        self.close()

    def close(self) -> None:
        if self.searcher:
            self.searcher.close()
        self.searcher = None
        for table in self.tables:  # (opened again at the next look-up: they see the new commits)
            table.close()


def update_sharded(index_dir: Path, paths: Iterable[str | Path], count: int, *, base: Path,
                   wait: float = 0.0, progress=None, jobs: int | None = None,
                   exclude: Iterable[str] = (), batch_files: int | None = None,
                   batch_articles: int | None = None, executor: Executor | None = None,
                   previous: Path | None = None):
    """Bring the sharded index at `index_dir` (of `count` shards) up to date with the files the
    paths stand for; an UpdateReport as for one index. `executor` runs the shards' tasks
    (default: here, with `jobs` worker processes parsing). `previous`: a rebuild's index being
    replaced, whose articles' `entered` stamps carry over (its shard of the same number when it
    has as many shards, the whole of it when it is unsharded)."""
    from ..indexing.manifest import FileState, digest_file, stat_file
    from ..indexing.run import BATCH_ARTICLES, BATCH_FILES, UpdateReport
    from ..indexing.stamps import new_stamp
    from ..indexing.update import RunLock, tell_articles
    from ..indexing.workers import fewer_collections
    from ..ingest.corpus import Skipped, find_files
    from ..ingest.limits import current as current_limits
    from ..ingest.parsers import boundary, within

    started = time.perf_counter()
    index_dir = Path(index_dir)
    executor = executor or LocalExecutor()
    batch_files, batch_articles = batch_files or BATCH_FILES, batch_articles or BATCH_ARTICLES
    shards = shard_paths(index_dir, count)
    paths = list(paths)
    files, problems = listing = find_files(paths, exclude=exclude, exclude_dirs=[index_dir])
    roots = [Path(p).resolve() for p in paths]
    allowed = tuple(listing.roots)
    report = UpdateReport(index=index_dir, files=len(files), skipped=list(problems),
                          ignored=list(listing.ignored))
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    limits = current_limits()
    with RunLock(index_dir, wait), fewer_collections(), boundary(allowed):
        _check_shards(index_dir, shards)
        known = [outcome.value for outcome in _all_ok(executor.map(read_shard, [(str(s),) for s in shards]))]
        # plan: each file stat'ed (and hashed where it may have changed) once, against every shard
        todo, touched = [], {}
        max_bytes = limits.max_file_bytes
        for path in files:
            key = str(path)
            olds = [k.get(key) for k in known]
            try:
                state = stat_file(path)
                if all(old and old.digest and (old.size, old.mtime_ns) == (state.size, state.mtime_ns)
                       for old in olds):
                    report.unchanged += 1
                    continue
                if state.size <= max_bytes:  # (a file over the limit is skipped unread when parsed)
                    state = FileState(state.size, state.mtime_ns, digest_file(path))
            except OSError as exc:
                report.skipped.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
                continue
            needs = [i for i, old in enumerate(olds) if not (old and old.digest and old.digest == state.digest)]
            if not needs:  # touched, not changed: every shard notes the new mtime
                report.unchanged += 1
                touched[key] = [FileState(state.size, state.mtime_ns, state.digest, old.articles) for old in olds]
                continue
            # new: no shard holds another version (a killed run's shards may hold this one)
            todo.append((path, state, all(old is None or old.digest == state.digest for old in olds), needs))
        on_disk = {str(f) for f in files}
        gone = sorted({p for k in known for p in k if p not in on_disk and within(p, roots)})
        report.deleted = len(gone)
        replacing = {str(path) for path, _, is_new, _ in todo if not is_new} | set(gone)
        stamp = new_stamp(index_dir, previous)
        prior = _previous_shards(previous, count)
        common = dict(base=str(base), stamp=stamp, wait=wait, batch_files=batch_files,
                      batch_articles=batch_articles)
        works = [ShardWork(str(s), previous=prior[i], **common) for i, s in enumerate(shards)]
        for i, work in enumerate(works):  # the first round also deletes and re-stamps
            work.gone = [p for p in gone if p in known[i]]
            work.touched = {p: states[i] for p, states in touched.items()}
            work.replacing = sorted(p for p in replacing if p in known[i])
        linking = _Linking(shards)
        total_bytes = sum(state.size for _, state, _, _ in todo)
        done_bytes = 0
        # here: worker processes parse (enough files) and write the shards side by side (several),
        # started when first needed (a run with nothing to write starts none)
        pool = _LocalPool(jobs) if isinstance(executor, LocalExecutor) and jobs > 1 else None
        try:
            with pool or nullcontext():
                writing = _PoolExecutor(pool) if pool is not None and count > 1 else executor
                round_: list = []  # (entry, Parsed, an earlier part written, more parts to come)
                articles = 0

                def write() -> None:
                    nonlocal works, round_, articles, done_bytes
                    done_bytes += _write_round(round_, works, known, linking, writing, report)
                    if progress and round_ and done_bytes < total_bytes:  # (the end is drawn once, below)
                        tell_articles(progress, report.articles)
                        progress(done_bytes, total_bytes, round_[-1][0][0])
                    works = [ShardWork(w.shard, previous=w.previous, replacing=w.replacing, **common)
                             for w in works]
                    round_, articles = [], 0

                stream = _parse_stream(todo, executor, base, count, pool if len(todo) >= PARALLEL_FROM else None,
                                       limits, allowed, batch_articles)
                for entry, parsed in stream:
                    if parsed.more:  # a file of many articles: written a part (a round) at a time
                        if round_:
                            write()
                        found = parts(str(entry[0]), str(base), count, limits, None, batch_articles)
                        part, continued = next(found), False
                        for following in found:
                            round_ = [(entry, part, continued, True)]
                            write()
                            part, continued = following, True
                        round_ = [(entry, part, continued, False)]
                        write()
                        continue
                    round_.append((entry, parsed, False, False))
                    articles += parsed.articles
                    if len(round_) >= batch_files or articles >= batch_articles:
                        write()
                if round_ or any(w.gone or w.touched for w in works):
                    write()
        finally:
            linking.close()
        if progress:
            tell_articles(progress, report.articles)
            progress(total_bytes, total_bytes, index_dir)
    report.seconds = time.perf_counter() - started
    return report


def _check_shards(index_dir: Path, shards: list[Path]) -> None:
    """IndexFormatError (which says to rebuild) when a shard's folder is missing or holds no
    searchlib index: its articles are lost, and a run must not make an empty one in its place."""
    from ..engine.layout import META_FILE
    from ..errors import IndexFormatError
    for shard in shards:
        if not (shard / META_FILE).is_file() or shard.is_symlink():
            raise IndexFormatError(index_dir, f"its shard {shard.name}/ is missing or is not a searchlib index")


def _previous_shards(previous: Path | None, count: int) -> list[str | None]:
    """For each new shard, the index whose `entered` stamps it carries over (see update_sharded)."""
    from .layout import count_at
    if previous is None:
        return [None] * count
    try:
        before = count_at(previous)
    except (OSError, ValueError):
        return [None] * count
    if before is None:
        return [str(previous)] * count
    if before == count:
        return [str(p) for p in shard_paths(previous, count)]
    return [str(previous)] * count  # (another number of shards: looked up in all of them, write_shard)


class _LocalPool:
    """This machine's worker processes (indexing.workers: they end with this process), started
    at the first task; a context manager that ends them."""

    def __init__(self, jobs: int):
        self.jobs, self._pool = jobs, None

    def submit(self, function, *args):
        if self._pool is None:
            from ..indexing.workers import start_fork_server, worker_pool
            start_fork_server()
            self._pool = worker_pool(self.jobs)
        return self._pool.submit(function, *args)

    def __enter__(self) -> "_LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class _PoolExecutor:
    """`Executor.map` on this machine's worker processes: the shards written side by side (one
    task is run here: nothing to overlap)."""

    def __init__(self, pool: _LocalPool):
        self.pool = pool

    def map(self, function, tasks, *, timeout: float | None = None) -> list:
        from concurrent.futures.process import BrokenProcessPool

        from ..indexing.workers import WORKER_DIED
        from .execution import Outcome
        if len(tasks) < 2:
            return LocalExecutor().map(function, tasks)
        futures = [self.pool.submit(function, *task) for task in tasks]
        try:
            return [Outcome(future.result()) for future in futures]
        except BrokenProcessPool:
            raise IndexingError(WORKER_DIED) from None


def _parse_stream(todo: list, executor, base: Path, count: int, pool, limits,
                  roots: tuple, most: int) -> Iterator[tuple]:
    """(entry, Parsed) for each file to index, in order: parsed here or in this machine's worker
    processes (`pool`, at most 4 per process ahead of the writing), or on the executor's
    workers (not a LocalExecutor) TASK_FILES files a task."""
    if not isinstance(executor, LocalExecutor):
        window = max(TASK_FILES, 1) * 8
        for start in range(0, len(todo), window):
            part = todo[start:start + window]
            tasks = [([str(e[0]) for e in part[i:i + TASK_FILES]], str(base), count, limits, roots, most)
                     for i in range(0, len(part), TASK_FILES)]
            results = [p for outcome in _all_ok(executor.map(parse_batch, tasks)) for p in outcome.value]
            yield from zip(part, results)
        return
    if pool is None:
        for entry in todo:  # (the boundary in force here applies)
            yield entry, parse_for_shards(str(entry[0]), str(base), count, limits, None, most)
        return
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    from ..indexing.workers import WORKER_DIED
    jobs = pool.jobs
    pending: deque = deque()
    queue = iter(todo)
    for entry in queue:
        pending.append((entry, pool.submit(parse_for_shards, str(entry[0]), str(base), count, limits, roots,
                                           most)))
        if len(pending) >= 4 * jobs:
            break
    while pending:
        entry, future = pending.popleft()
        following = next(queue, None)
        if following is not None:
            pending.append((following, pool.submit(parse_for_shards, str(following[0]), str(base),
                                                   count, limits, roots, most)))
        try:
            parsed = future.result()
        except BrokenProcessPool:
            raise IndexingError(WORKER_DIED) from None
        yield entry, parsed


def _write_round(round_: list, works: list[ShardWork], known: list[dict], linking: _Linking,
                 executor, report) -> int:
    """Link the round's articles, hand each shard its share, run the shards' tasks, and add what
    they did to `report`; the bytes of the round's files (of a file in parts, with its last)."""
    for (path, state, is_new, needs), parsed, continued, more in round_:
        report.skipped.extend(parsed.skipped)
        if parsed.failed:
            continue
        key = str(path)
        for number in needs:
            articles = parsed.shards.get(number, [])
            for article in articles:
                works[number].links[article.id] = linking.fields(article)
            works[number].files.append((key, state, is_new, articles, key in known[number], continued, more))
    busy = [work for work in works if work.files or work.gone or work.touched]
    if busy:
        results = [outcome.value for outcome in _all_ok(executor.map(write_shard, [(w,) for w in busy]))]
        linking.refresh()
        recorded = {done.shard: set(done.recorded) for done in results}
        for done in results:
            report.articles += done.articles
            report.removed += done.removed
            report.commits += done.commits
            report.skipped.extend(done.skipped)
            report.warnings.extend(done.warnings)
        for (path, state, is_new, needs), parsed, continued, more in round_:
            if not parsed.failed and not more and (parsed.articles or continued) and all(
                    str(path) in recorded.get(works[n].shard, ()) for n in needs):
                report.added += is_new
                report.updated += not is_new
    return sum(entry[1].size for entry, _, _, more in round_ if not more)


def _all_ok(outcomes: list) -> list:
    """The outcomes, once all are ok: a shard's task lost on a cluster is an IndexingError
    (what the other shards committed stays; the next run completes the rest)."""
    for outcome in outcomes:
        if not outcome.ok:
            raise IndexingError(f"a shard's task was lost on the cluster ({outcome.error}); what was "
                                "committed is kept: run the same command again to complete it")
    return outcomes


@contextmanager
def _full_disk(where: Path) -> Iterator[None]:
    """A full disk (ENOSPC, or a quota) while a shard is written as DiskFullError."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFullError(Path(exc.filename) if exc.filename else where) from None
