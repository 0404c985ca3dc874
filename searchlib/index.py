"""Index: the library's front door — open or create an index folder, update it, search it.

Stage: all of them, as a facade over `indexing` (write) and `searching` (read). The folder is
self-describing: next to Whoosh's files, `searchlib.json` records the format and schema version,
and an index from another version is refused with a message to rebuild.

Only a folder whose `searchlib.json` says it is a searchlib index is ever replaced or written to;
a new index is made only in a missing folder (made the user's alone, 0700) or an empty one (its
mode kept); anything else raises NotAnIndexError and is left untouched. Searches read the index
folder through one descriptor (`storage.ReadingStorage`), so a rebuild swapping a new folder in
shows them the old index or the new one, never a mix.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import threading
import time
import weakref
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from whoosh import index as whoosh_index

from . import __version__
from .article import Article
from .dates import parse_window
from .errors import (ArgumentError, ArticleNotFoundError, ClusterError, IndexFormatError, IndexNotFoundError,
                     NotAnIndexError, PathNotFoundError, QueryError, RebuildInterruptedError,
                     SearchlibError)
from .ingest.language import parse_languages
from .querying.query import check_arguments, check_id, check_similar_arguments, check_update_arguments
from .engine.schema import SCHEMA, SCHEMA_VERSION, to_article
from .querying.searching import RANKING, Results, mark_article, run_search, run_similar
from .engine.layout import (FORMAT, LOCK_FILE, META_FILE, READERS_GATE, READERS_LOCK, RECORDS_FILE,
                            RECORDS_FOLDER, SEGMENT_FILE, TOC_FILE)
from .sharding.layout import SHARD_FOLDER
from .engine.storage import close_abandoned_files, deleting, open_folder, open_for_reading, open_searcher, sync_folder

if TYPE_CHECKING:  # indexing (and the parsers it brings) is imported only when indexing
    from .alerts.arrivals import Arrivals
    from .alerts.watches import Watch, Watches
    from .indexing.update import Progress, UpdateReport
    from .stories.grouping import Story
    from .stories.revisions import History
    from .stories.threads import Thread
    from .querying.stats import IndexStats

# What a folder may hold and still count as empty: the repository's own index/ has a .gitignore
_EMPTY_NAMES = {".gitignore", LOCK_FILE}
# Every name searchlib and Whoosh (its FileStorage, W3 codec and TOC, index name MAIN) write in an
# index folder: a folder holding anything else is never replaced, whatever its searchlib.json says.
_OUR_NAMES = re.compile(TOC_FILE + r"""(\.[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?)?   # tables of contents (one being written)
  | """ + SEGMENT_FILE + r"""                                 # a segment's files
  | MAIN_[A-Z]*LOCK                                           # Whoosh's write lock
  | files\.sqlite(-wal|-shm|-journal)?                         # manifest.FILE_NAME and SQLite's
  | summaries\.sqlite(-wal|-shm|-journal)?                     # layout.SUMMARIES_FILE and SQLite's
  | searchlib\.json | searchlib\.lock | readers\.lock | readers\.gate | \.gitignore
  | watches\.json | watches\.json\.[0-9]+\.tmp | watches\.lock           # alerts.watches
""", re.VERBOSE)
_TEMP_FOLDER = "MAIN.tmp"  # a Whoosh writer's temporary files (left behind by a killed run)
_TEMP_NAMES = re.compile(r"[0-9a-z]+\.(run|ctmp)")
_RECORDS_FOLDER, _RECORDS_FILE = re.compile(RECORDS_FOLDER), re.compile(RECORDS_FILE)  # (a killed rebuild's)
MISSING, EMPTY, INDEX, OTHER = "missing", "empty", "index", "other"
SWAP_WAIT = 2.0  # seconds a reader waits out a swap's two renames (microseconds apart) at most

DateLike = str | date | datetime | None


class Index:
    """A searchlib index in a folder.

    `Index(path)` opens the index there, or makes an empty one in a missing or empty folder (and
    if its first `update` names a path that does not exist, takes it away again: a typo leaves
    nothing behind); `create=False` raises IndexNotFoundError there instead, and never writes
    anything. A folder holding anything else raises NotAnIndexError. Whoosh objects stay
    inside: methods take and return str, Path, datetime and searchlib's own dataclasses.
    `cluster` (a Dask scheduler's address, tcp://HOST:8786, or a distributed.Client) builds and
    searches a sharded index on that cluster's workers (an unsharded one stays on this machine);
    a search waits `cluster_timeout` seconds for the shards (default: settings.cluster_timeout),
    then answers from those that did, saying so in `Results.shards`.
    """

    def __init__(self, path: str | os.PathLike = "index", *, create: bool = True, cluster=None,
                 cluster_timeout: float | None = None):
        self.path = Path(path)
        self._ix = None
        # Searchers kept open between searches (one per concurrent search): opening one, and
        # then each segment's columns on first use, cost more than a typical query.
        self._idle: list = []
        self._idle_lock = threading.Lock()
        self._fds: list[int] = []  # the index folder as opened (one descriptor, or none yet)
        self._folder_id: tuple[int, int] | None = None
        self._finalizer = weakref.finalize(self, _close_all, self._idle, self._idle_lock, self._fds)
        self._create = create  # (a read-only Index never renames anything)
        self._made: tuple[bool, set[str]] | None = None  # (folder made?, names there before)
        # a sharded index (searchlib.sharding): its shards' folders, known for the folder opened,
        # searched shard by shard by this executor (None: here, one after another)
        self._sharding: tuple = (None, None)
        self._executor = None
        if cluster is not None:  # (searchlib.cluster: Dask is loaded on the cluster's first use)
            self._executor = _cluster_executor(cluster, cluster_timeout)
            self.path = self.path.absolute()  # (the workers' working folders are not this one's)
        self._folder(initial=True)

    def _unmake(self) -> None:
        """Take away the empty index this object made, if nothing was ever committed to it (and
        no run holds it): the folder if it was made here, else only the files written into it."""
        made, self._made = self._made, None
        self.close()
        _take_back(self.path, made)

    def _folder(self, initial: bool = False) -> int:
        """The descriptor of the index folder, (re)opened when the path holds another folder
        than the one opened (a rebuild swapped it in); an empty index is made first if the path
        holds none and this Index may create one (`initial`: the one this Index takes back if
        nothing is ever committed to it, see `_unmake`)."""
        try:
            st = os.stat(self.path)
            now = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            now = None
        if self._fds and (now == self._folder_id or now is None and _settle(self.path) != INDEX):
            return self._fds[0]  # (with no folder at the path at all, the one opened stays)
        for attempt in range(5):
            kind = _settle(self.path, recover=self._create)
            if kind == OTHER:
                raise _refusal(self.path)
            if kind != INDEX:
                if not self._create:
                    raise _not_found(self.path)
                made = _make(self.path)
                if initial and self._made is None:
                    self._made = made
            try:
                fd = open_folder(self.path)
            except FileNotFoundError:  # a swap's first rename since: settle again
                if attempt < 4:
                    continue
                raise _not_found(self.path) from None
            try:
                _check_meta(self.path, fd)
                st = os.fstat(fd)
                break
            except SearchlibError:
                retry = attempt < 4 and not _at_path(fd, self.path)  # a rebuild's old folder
                os.close(fd)
                if not retry:
                    raise
            except BaseException:
                os.close(fd)
                raise
        for old in self._fds:
            os.close(old)  # (searchers opened on it hold descriptors of their own)
        self._fds[:] = [fd]
        self._folder_id = (st.st_dev, st.st_ino)
        self._ix = None
        return fd

    @property
    def _whoosh(self):
        fd = self._folder()
        if self._ix is None:
            try:
                self._ix = open_for_reading(self.path, fd)
            except (whoosh_index.EmptyIndexError, OSError, ValueError) as exc:
                raise IndexFormatError(self.path, f"Whoosh cannot open it ({exc})") from None
        return self._ix

    @contextmanager
    def _searcher(self):
        """A searcher on the newest commit: one kept from an earlier search if nothing was
        committed since (same folder, same generation), else a new one. Every file a searcher
        reads is open from the start (`storage.open_searcher`), so a commit or a rebuild since
        cannot take them away, and no lock is held while it is used."""
        ix = self._whoosh
        version = self._folder_id + (ix.latest_generation(),)
        searcher = None
        with self._idle_lock:
            while self._idle and searcher is None:
                kept_version, kept = self._idle.pop()
                if kept_version == version:
                    searcher = kept
                else:
                    kept.close()
        if searcher is None:
            try:
                searcher = open_searcher(self.path, self._fds[0], weighting=RANKING)
            except whoosh_index.EmptyIndexError as exc:
                raise IndexFormatError(self.path, f"Whoosh cannot open it ({exc})") from None
            version = version[:2] + (searcher.reader().generation(),)
        try:
            yield searcher
        except BaseException:
            searcher.close()  # it may have been left halfway through something
            raise
        with self._idle_lock:
            self._idle.append((version, searcher))

    def close(self) -> None:
        """Close the searchers kept open between searches and the folder (also done when the
        Index is garbage-collected, or at the end of a `with Index(...) as idx:` block); the
        Index stays usable and opens them again when needed. A cluster's client made here
        (`cluster=` an address) is closed too, and connected again at the next use."""
        self._ix = None
        _close_all(self._idle, self._idle_lock, self._fds)
        if self._executor is not None:
            self._executor.connection.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, paths: Iterable[str | os.PathLike] | str | os.PathLike, *,
               progress: Progress | None = None, wait: float = 0.0, rebuild: bool = False,
               batch_files: int | None = None, batch_articles: int | None = None,
               jobs: int | None = None, exclude: Iterable[str] = (),
               shards: int | None = None) -> UpdateReport:
        """Bring the index up to date with the files and folders in `paths` (less those matching
        the gitignore patterns `exclude`, see `corpus.find_files`).

        Incremental: new files are added, changed ones replaced, vanished ones removed (within
        `paths`), unchanged ones not read. `rebuild=True` builds a fresh index beside this one and
        swaps it in when complete. `wait` is how long to wait for another run's lock before
        raising IndexLockedError. Problems with single files are reported, never raised.
        `shards=N` makes an index of N shards (searchlib.sharding) where there is none yet (or,
        with `rebuild`, in place of this one); a sharded index is updated the same way, with or
        without it; another N than the index has is an ArgumentError (rebuild to change it).
        """
        try:  # (a wrong argument: ArgumentError, and the empty index Index() made is taken back)
            paths, exclude = check_update_arguments(paths, jobs=jobs, batch_files=batch_files,
                                                    batch_articles=batch_articles, wait=wait, exclude=exclude)
            _check_shards(shards)
        except SearchlibError:
            self._unmake()
            raise
        try:
            paths = _existing(paths)
        except PathNotFoundError:
            self._unmake()
            raise
        if rebuild:
            return rebuild_index(self.path, paths, progress=progress, wait=wait, jobs=jobs, exclude=exclude,
                                 shards=shards, executor=self._executor and self._executor.with_timeout(None))
        from .indexing.update import BATCH_ARTICLES, BATCH_FILES, update_index
        self._ix = None
        target = _writable(self.path)
        kind = _settle(target, recover=True)
        if kind == OTHER:
            raise _refusal(self.path)
        if kind != INDEX:
            if not self._create:
                raise IndexNotFoundError(self.path)
            _make(target, wait, shards)
        count = _shards_at(target)
        if shards is not None and count != shards and count is None and self._made is not None:
            self._unmake()  # the empty index this Index made, unsharded: made again with shards
            if _settle(target, recover=True) != INDEX:
                self._made = _make(target, wait, shards)  # (still this Index's to take back)
            count = _shards_at(target)
        if shards is not None and count != shards:
            raise ArgumentError("shards", shards, (f"the index at {self.path} has {count} shards" if count
                                                   else f"the index at {self.path} is not sharded")
                                + f"; to change that: search index --rebuild --shards {shards} --index {self.path}")
        if count is not None:
            from .sharding.building import update_sharded
            try:
                report = update_sharded(self.path, paths, count, base=self.path.resolve().parent, wait=wait,
                                        progress=progress, jobs=jobs, exclude=exclude,
                                        batch_files=batch_files, batch_articles=batch_articles,
                                        executor=self._executor and self._executor.with_timeout(None))
            except ClusterError:  # (no cluster to write with: an index made for this run goes again)
                self._unmake()
                raise
            self.close()
            return report
        report = update_index(self.path, paths, base=self.path.resolve().parent, wait=wait,
                              progress=progress, batch_files=batch_files or BATCH_FILES,
                              batch_articles=batch_articles or BATCH_ARTICLES, jobs=jobs, exclude=exclude)
        self._ix = None  # reopen to see the new segments
        self.close()
        return report

    def search(self, query: str, *, since: DateLike = None, until: DateLike = None,
               limit: int = 10, offset: int = 0, sort: str = "relevance",
               now: datetime | None = None, snippets: int = 1, facets: Iterable[str] = (),
               fresh: float | None = None, lang: str | Iterable[str] | None = None,
               all_copies: bool = False) -> Results:
        """Best `limit` articles for `query` after skipping `offset`; `sort` is relevance, newest
        or oldest. `since`/`until` take dates or text (`2022-09`, `yesterday`, `7d`) and include
        whole days. `snippets` passages per hit. `facets` (source, section, author, tags, topics,
        places, people, orgs, dateline, lang, format; day, month, year, or date for the bucket
        that fits) are counted over all matches. `fresh` boosts recent articles: the boost halves
        every `fresh` days. `lang` keeps the articles in these languages: a code (`"en"`, `"en-US"`
        is `"en"`), several comma-separated (`"en,de"`) or a list; a bad code is an ArgumentError.
        Copies of one story (searchlib.stories) give one hit, the best ranked, with the story's
        `copies` and `outlets`, and pages count stories (`Results.stories`); `all_copies` lists
        every article. `now` pins relative dates (tests)."""
        check_arguments(query, limit, offset, snippets=snippets, fresh=fresh)
        langs = parse_languages(lang)
        since, until = parse_window(since, until, now)

        def on_shards(shards: list[str]) -> Results:
            from .sharding.searching import Request, search
            request = Request(query, since=since, until=until, limit=limit, offset=offset,
                              sort=sort, now=now, fragments=snippets, facets=tuple(facets),
                              fresh=fresh, langs=langs, all_copies=all_copies)
            if self._executor is None:
                return search(shards, request)
            from .sharding.execution import run_tolerant  # (a shard lost on the cluster: partial)
            results, results.shards = run_tolerant(
                shards, lambda live, executor: search(live, request, executor), self._executor)
            return results

        return self._retrying(lambda searcher: run_search(
            searcher, query, since=since, until=until, limit=limit, offset=offset, sort=sort,
            now=now, fragments=snippets, facets=facets, fresh=fresh, langs=langs,
            all_copies=all_copies), on_shards)

    def _shards(self) -> list[str] | None:
        """The shard folders of a sharded index, in shard order (None: unsharded), read from its
        searchlib.json once for the folder opened (a rebuild swaps in another folder)."""
        self._folder()
        if self._sharding[0] != self._folder_id:
            count = _shards_at(self.path)
            from .sharding.layout import damage, shard_paths
            if count is not None and (wrong := damage(self.path, count)):
                raise IndexFormatError(self.path, wrong)
            self._sharding = (self._folder_id, None if count is None else
                              [str(p) for p in shard_paths(self.path, count)])
        return self._sharding[1]

    def _retrying(self, use, sharded=None):
        """`use(searcher)`, retried (up to 5 times) if opening or reading the index failed while
        it changed under it: a writer outside searchlib deleted segment files as they were
        opened, or a rebuild's swap removed the folder opened (a sharded index's shards went
        with it). Any other failure is real. A sharded index: `sharded(shards)`, its shard
        folders in order, or else `use` on its shards read as one (sharding.searching.combined);
        which of the two is decided again at each try, since a swap may change it."""
        for attempt in range(5):
            state = self._state()
            try:
                if (shards := self._shards()) is not None:
                    if sharded is not None:
                        return sharded(shards)
                    from .sharding.searching import combined
                    return use(combined(shards))
                with self._searcher() as searcher:
                    return use(searcher)
            except Exception as exc:
                if isinstance(exc, SearchlibError) and not isinstance(
                        exc, (IndexFormatError, IndexNotFoundError)) or isinstance(exc, NotAnIndexError):
                    raise
                changed = self._state() != state
                self._ix = None
                if attempt == 4 or not changed:
                    raise
                close_abandoned_files(exc)  # (retried: what Whoosh had opened, closed quietly)

    def _state(self) -> tuple:
        """What a retry depends on: the folder at the path and the one opened, and its commit."""
        try:
            st = os.stat(self.path)
            at_path = (st.st_dev, st.st_ino)
        except OSError:
            at_path = None
        try:
            generation = self._whoosh.latest_generation()
        except Exception:
            generation = None
        return at_path, self._folder_id, generation

    def similar(self, article_id: str, *, limit: int = 10) -> Results:
        """The articles most like the one with this id (raises ArticleNotFoundError)."""
        check_similar_arguments(article_id, limit)
        def on_shards(shards: list[str]) -> Results:
            from .sharding.searching import similar
            return similar(shards, article_id, limit=limit, executor=self._executor)
        return self._retrying(lambda searcher: run_similar(searcher, article_id, limit=limit), on_shards)

    def copies(self, article_id: str) -> "Story":
        """The story of the article with this id: its copies in other outlets, the first
        published first, each with what it changed (raises ArticleNotFoundError)."""
        from .stories.grouping import story_of
        check_id(article_id)
        def on_shards(shards: list[str]) -> "Story":
            from .sharding.searching import read
            return read(shards, story_of, article_id, executor=self._executor)
        return self._retrying(lambda searcher: story_of(searcher, article_id), on_shards)

    def thread(self, article_id: str, *, limit: int = 10, window_days: float | None = None) -> "Thread":
        """The articles that follow the story of the article with this id over time (follow-ups,
        reactions, corrections; not its copies), at most `limit` stories, oldest first, found by
        the rare words they share with it within `window_days` of its date (default
        stories.threads.WINDOW_DAYS); empty when none does (raises ArticleNotFoundError)."""
        from .stories.threads import WINDOW_DAYS, thread_of
        check_similar_arguments(article_id, limit)
        days = WINDOW_DAYS if window_days is None else window_days
        if not isinstance(days, (int, float)) or isinstance(days, bool) or not 0 <= days <= 36_500:
            raise ArgumentError("window_days", window_days, "a number of days from 0 to 36500")
        return self._retrying(lambda searcher: thread_of(searcher, article_id, limit=limit, window_days=days))

    def history(self, article_id: str) -> "History":
        """The versions of the article with this id, the oldest first, the current one last,
        each with its word diff from the one before (raises ArticleNotFoundError); earlier
        versions are kept when a reindex changes its text (stories.revisions: bounded)."""
        from .indexing.manifest import FILE_NAME
        from .stories.revisions import history
        check_id(article_id)
        def on_shards(shards: list[str]) -> "History":
            from .sharding.searching import history as sharded_history
            return sharded_history(shards, article_id, executor=self._executor)
        return self._retrying(lambda searcher: history(searcher, self.path / FILE_NAME, article_id), on_shards)

    def marks(self, article_id: str, query: str, *, now: datetime | None = None
              ) -> dict[str, list[tuple[int, int]]]:
        """Where `query` matches in the article `get(article_id)` returns: (start, end) spans in
        its title, summary and body (raises ArticleNotFoundError), for a page showing it whole."""
        check_id(article_id)
        check_arguments(query, 0, 0)
        def on_shards(shards: list[str]) -> dict[str, list[tuple[int, int]]]:
            from .sharding.searching import read
            return read(shards, mark_article, article_id, query, now, executor=self._executor)
        return self._retrying(lambda searcher: mark_article(searcher, article_id, query, now), on_shards)

    def stats(self) -> IndexStats:
        """Size, article and file counts, date span, top sources and sections."""
        from .querying.stats import compute_stats  # (imported here: a search never needs it)
        def on_shards(shards: list[str]) -> IndexStats:
            from .sharding.searching import stats
            return stats(shards, self.path, executor=self._executor)
        return self._retrying(lambda searcher: compute_stats(searcher, self.path), on_shards)

    def get(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        check_id(article_id)
        def on_shards(shards: list[str]) -> dict | None:
            from .sharding.searching import document
            return document(shards, article_id, executor=self._executor)
        fields = self._retrying(lambda searcher: searcher.document(id=article_id), on_shards)
        return to_article(fields) if fields else None

    def __len__(self) -> int:
        def on_shards(shards: list[str]) -> int:
            from .sharding.searching import count
            return count(shards, self._executor)
        return self._retrying(lambda searcher: searcher.doc_count(), on_shards)

    def generation(self) -> int:
        """The number of the index's last commit (it grows with every commit; a rebuild
        starts again from 1): what a receipt records the index as. A sharded index: the sum of
        its shards' (each shard's commit adds to it)."""
        if (shards := self._shards()) is not None:
            from .sharding.searching import generation
            return generation(shards)
        return self._whoosh.latest_generation()

    @property
    def watches(self) -> "Watches":
        """The saved searches kept in this index (add, list, get, remove, run): see alerts.watches."""
        from .alerts.watches import Watches
        return Watches(self)

    def head(self) -> int:
        """The highest `entered` stamp in the index: when the newest text in it entered (µs
        since 1970; 0 for an empty index)."""
        from .alerts.arrivals import head_of
        return self._retrying(head_of)

    def arrivals(self, query: str, *, after: int, head: int | None = None, since: DateLike = None,
                 until: DateLike = None, now: datetime | None = None, all_copies: bool = False) -> "Arrivals":
        """The articles matching `query` (all its words) whose current text entered the index
        after the stamp `after` and at most at `head` (default: now), published within
        `since`/`until`; newest first, copies of one story once (`all_copies`: each). What a
        watch reports (see alerts.watches)."""
        from .alerts.arrivals import find_arrivals
        check_arguments(query, 0, 0)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ArgumentError("after", after, "a stamp is a whole number, 0 or more")
        since, until = parse_window(since, until, now)
        return self._retrying(lambda searcher: find_arrivals(
            searcher, query, after=after, head=head, since=since, until=until, now=now,
            all_copies=all_copies))

    def watching(self, article_id: str, now: datetime | None = None) -> "list[Watch]":
        """The watches whose query matches the article `article_id` (as their runs match it,
        dates included), by name; a watch whose query no longer parses matches nothing.
        Raises ArticleNotFoundError for an unknown id."""
        from .alerts.arrivals import matches
        check_id(article_id)
        found = []
        for watch in self.watches.list():
            since, until = parse_window(watch.since, watch.until, now)
            try:
                hit = self._retrying(lambda searcher: matches(searcher, watch.query, article_id,
                                                              since=since, until=until, now=now))
            except QueryError:
                continue
            if hit:
                found.append(watch)
        if not found and self.get(article_id) is None:
            raise ArticleNotFoundError(article_id)
        return found

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"


def _check_meta(path: Path, fd: int) -> None:
    """Refuse a folder (opened as `fd`) whose searchlib.json is not this schema version's."""
    try:
        meta_fd = os.open(META_FILE, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
        with open(meta_fd, "rb") as file:
            meta = json.loads(file.read().decode("utf-8"))
    except FileNotFoundError:
        raise IndexFormatError(path, f"{META_FILE} is missing (not a searchlib index?)") from None
    except (OSError, ValueError) as exc:
        raise IndexFormatError(path, f"{META_FILE} is unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _refusal(path)
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise IndexFormatError(
            path, f"it has schema version {meta.get('schema_version')!r}, "
                  f"this searchlib uses {SCHEMA_VERSION}")


def _cluster_executor(cluster, timeout: float | None):
    """The executor of an Index on a cluster (searchlib.cluster): `cluster` an address or a
    distributed.Client, checked now and connected at the first use; searches wait `timeout`."""
    from . import settings
    from .cluster.connection import Connection
    from .cluster.executor import DaskExecutor
    return DaskExecutor(Connection(cluster, timeout=settings.CLUSTER_CONNECT_TIMEOUT),
                        timeout=settings.cluster_timeout(timeout))


def _close_all(searchers: list, lock: threading.Lock, fds: list[int] = ()) -> None:
    with lock:
        while searchers:
            searchers.pop()[1].close()
    while fds:
        os.close(fds.pop())


def exists(path: str | os.PathLike) -> bool:
    """Whether the folder holds a searchlib index (its searchlib.json says so; a folder with only
    a .gitignore does not). A swap under way at the path is waited out, nothing is written."""
    return _settle(Path(path), recover=False) == INDEX


def create(path: str | os.PathLike, *, replace: bool = False, shards: int | None = None) -> Index:
    """Create an empty index at `path` (a missing or empty folder); an existing index there is
    replaced by one, swapped in (`replace` says so; an index is never emptied in place).
    Any other folder raises NotAnIndexError, untouched. `shards=N`: an index of N shards
    (searchlib.sharding), which `Index.update` then fills, each file's articles in their shards."""
    from .indexing.update import RunLock
    _check_shards(shards)
    given = Path(path)
    path = _writable(given)
    kind = _settle(path, recover=True)
    if kind == OTHER:
        raise _refusal(given)
    if kind == INDEX:
        with RunLock(path, 0):
            if _kind(path, strict=True) != INDEX:  # (also: changed meanwhile)
                raise _refusal(given, strict=True)  # the old folder goes after the swap: ours alone
            fresh = _sibling(path, "new")
            _sibling(path, "old")
            try:
                _create(fresh) if shards is None else _create_sharded(fresh, shards)
                with RunLock(fresh, 0):
                    _swap(fresh, path)
            except BaseException:
                _remove_ours(fresh)
                raise
    else:
        _make(path, shards=shards)
    return Index(given, create=False)


def rebuild_index(path: Path, paths, *, progress: Progress | None = None, wait: float = 0.0,
                  jobs: int | None = None, exclude: Iterable[str] = (), shards: int | None = None,
                  executor=None, cluster=None) -> UpdateReport:
    """Build a fresh index from `paths` next to the index at `path` and swap it in only once it
    is complete, so a failed, interrupted or killed rebuild leaves the old index untouched (an
    exception or Ctrl-C also removes the half-built folder). A missing or empty folder is built
    in place; any other folder raises NotAnIndexError, untouched. Holds the index's lock, and
    from before the swap the new folder's too, so whoever waits for the lock meanwhile gets the
    new folder's (indexing.RunLock checks it locked the file now at the path). The new index
    has `shards` shards (searchlib.sharding; default: as many as the old one, none for a new
    one), built by `executor` (sharding.execution; default: on this machine), or on `cluster`
    (as for Index: a Dask scheduler's address or a distributed.Client)."""
    if cluster is not None and executor is None:
        executor = _cluster_executor(cluster, None).with_timeout(None)
        try:
            return rebuild_index(Path(path).absolute(), paths, progress=progress, wait=wait,
                                 jobs=jobs, exclude=exclude, shards=shards, executor=executor)
        finally:
            executor.connection.close()
    from .indexing.update import RunLock, update_index
    _check_shards(shards)
    given = Path(path)
    paths = _existing(paths)
    path = _writable(given)  # through a symbolic link: the real folder (the link stays)
    kind = _settle(path, recover=True)
    if kind == OTHER:
        raise _refusal(given)
    for tag in ("rebuild", "old"):
        _check_sibling(path, tag)
    count = shards
    if count is None and kind == INDEX:
        try:
            count = _shards_at(path)
        except IndexFormatError:  # (an index this code cannot read is rebuilt unsharded)
            count = None
    build = dict(base=path.resolve().parent, progress=progress, batch_files=1 << 30,
                 batch_articles=1 << 30, jobs=jobs, merge=False, exclude=exclude)
    if count is not None:  # rounds of the default batches: the articles parsed are held until written
        from .sharding.building import update_sharded
        build = dict(base=path.resolve().parent, progress=progress, jobs=jobs, exclude=exclude,
                     executor=executor)
    # one commit: the fresh folder is swapped in only when complete. The writers' memory
    # is bounded by SEGMENT_POSTINGS (a segment is written when one holds that many);
    # merging segments as they come would rewrite what was just written: left as they are
    if kind != INDEX:  # nothing to keep: built in place (the folder and its mode stay as they are)
        made = _make(path, wait, count)
        try:
            report = (update_index(path, paths, wait=wait, **build) if count is None else
                      update_sharded(path, paths, count, wait=wait, **build))
        except BaseException:  # an error or an interrupt: an index made for it and still empty goes
            _take_back(path, made)
            raise
        report.index = given
        return report
    with RunLock(path, wait):
        if _kind(path, strict=True) != INDEX:  # (also: changed while we waited for the lock)
            raise _refusal(given, strict=True)  # the old folder goes after the swap: ours alone
        fresh = _sibling(path, "rebuild")
        _sibling(path, "old")
        try:
            if count is None:
                _create(fresh)
                report = update_index(fresh, paths, previous=path, **build)
            else:
                _create_sharded(fresh, count)
                report = update_sharded(fresh, paths, count, previous=path, **build)
            with RunLock(fresh, 0):
                _swap(fresh, path)
        except BaseException:  # an error or an interrupt, not a crash: the half-built index goes
            _remove_ours(fresh)
            raise
    report.index = given
    return report


def _check_shards(shards) -> None:
    """`shards`: None, or a whole number of shards from 1 to sharding.layout.MAX_SHARDS."""
    if shards is None:
        return
    from .sharding.layout import MAX_SHARDS
    if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= MAX_SHARDS:
        raise ArgumentError("shards", shards, f"a whole number of shards from 1 to {MAX_SHARDS}")


def _shards_at(path: Path) -> int | None:
    """The shard count of the index at `path` (None: unsharded); IndexFormatError if its
    searchlib.json cannot say."""
    from .sharding.layout import count_at
    try:
        return count_at(path)
    except (OSError, ValueError) as exc:
        raise IndexFormatError(path, f"its {META_FILE} does not say how it is sharded ({exc})") from None


def _existing(paths) -> list:
    """The paths, once each is known to exist (PathNotFoundError before anything is created)."""
    paths = list(paths)
    for item in paths:
        if not os.path.lexists(item):
            raise PathNotFoundError(Path(item))
    return paths


def _kind(path: Path, *, follow: bool = True, strict: bool = False) -> str:
    """MISSING, EMPTY (nothing, or only a .gitignore or a lock file), INDEX or OTHER (see
    `_inspect`, which also says why a folder is OTHER)."""
    return _inspect(path, follow=follow, strict=strict)[0]


def _inspect(path: Path, *, follow: bool = True, strict: bool = False) -> tuple[str, str | None]:
    """What `path` holds, and for OTHER why: INDEX is a folder whose searchlib.json (a regular
    file, not a link) says format "searchlib-index", whatever its schema version. `strict`, for
    what may be removed or renamed as a whole (a rebuild's old index, a sibling left over): an
    INDEX must also hold nothing but names searchlib writes (`_foreign`), so a user's file in it
    (or a forged searchlib.json among a user's files) is never deleted; reading and updating an
    index with a stray `.DS_Store` in it is fine. `follow=False`: a symbolic link at `path` is
    OTHER. The folder is opened once and read through that descriptor, so a swap meanwhile
    cannot mix two folders (and if the one read is no longer at the path, a rebuild's old one
    being removed, it looks again)."""
    for _ in range(5):
        found = _inspect_once(path, follow, strict)
        if found is not None:
            return found
    return OTHER, f"{path}/ keeps changing"


def _inspect_once(path: Path, follow: bool, strict: bool) -> tuple[str, str | None] | None:
    for _ in range(3):
        try:
            fd = open_folder(path, follow=follow)
            break
        except FileNotFoundError:
            if not os.path.lexists(path):
                return MISSING, None
            if not os.path.exists(path):
                return OTHER, f"{path} is a symbolic link to {os.readlink(path)!r}, which does not exist"
            # (there now: a swap put it in place meanwhile; look again)
        except NotADirectoryError:
            if os.path.islink(path):
                return OTHER, f"{path} is a symbolic link"
            return OTHER, f"{path} is not a folder"
        except OSError as exc:
            if exc.errno == errno.ELOOP and not follow:
                return OTHER, f"{path} is a symbolic link"
            raise IndexFormatError(path, f"cannot read the folder ({exc.strerror or exc})") from None
    else:
        return OTHER, f"{path}/ keeps changing"
    try:
        kind, why = _kind_of(fd, path, strict)
        if kind != INDEX and not _at_path(fd, path):
            return None  # swapped out meanwhile: look at the folder there now
        return kind, why
    finally:
        os.close(fd)


def _kind_of(fd: int, path: Path, strict: bool) -> tuple[str, str | None]:
    names = sorted(os.listdir(fd))
    if set(names) <= _EMPTY_NAMES and not any(_mode(fd, name) == stat.S_IFLNK for name in names):
        return EMPTY, None
    if META_FILE not in names:
        first = next(name for name in names if name not in _EMPTY_NAMES
                     or _mode(fd, name) == stat.S_IFLNK)
        return OTHER, f"{path}/ is not a searchlib index and is not empty (it holds {first!r})"
    try:
        meta_fd = os.open(META_FILE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                          | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0), dir_fd=fd)
        with open(meta_fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(meta_fd).st_mode):
                return OTHER, f"{path}/{META_FILE} is not a regular file: not a searchlib index"
            meta = json.loads(file.read(1 << 20).decode("utf-8"))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return OTHER, f"{path}/{META_FILE} is a symbolic link: not a searchlib index"
        return OTHER, f"{path}/{META_FILE} is unreadable ({exc.strerror or exc})"
    except ValueError:
        return OTHER, f"{path}/{META_FILE} is not searchlib's (not JSON)"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return OTHER, f"{path}/{META_FILE} does not describe a searchlib index"
    shards = _shards_in(meta)
    if shards is None and "shards" in meta:
        from .sharding.layout import shard_count
        try:
            shard_count(meta)
        except ValueError as exc:
            return OTHER, f"{path}/{META_FILE} is not one searchlib reads: {exc}"
    foreign = _foreign(fd, names, shards)
    if foreign is None or (not strict and (shards or any(_TOC.fullmatch(name) for name in names))):
        return INDEX, None  # (not strict: a stray file beside a whole index is left alone)
    if shards and SHARD_FOLDER.fullmatch(foreign) and _mode(fd, foreign) == stat.S_IFDIR:
        return OTHER, (f"{path}/{foreign}/ is not (only) a searchlib index shard "
                       f"({_shard_kind(fd, foreign, path / foreign)[1] or 'it is not one'})")
    if _mode(fd, foreign) == stat.S_IFLNK:
        return OTHER, f"{path}/{foreign} is a symbolic link, which searchlib never makes: not a searchlib index"
    return OTHER, (f"{path}/ holds {foreign!r}, which searchlib never writes there, so it is "
                   "not (only) a searchlib index")


_TOC = re.compile(TOC_FILE)  # Whoosh's table of contents: a commit was made here


def _mode(fd: int, name: str) -> int | None:
    """The file type (stat.S_IFMT) of `name` in the folder opened as `fd`, not following a
    link; None if it is gone."""
    try:
        return stat.S_IFMT(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return None


def _foreign(fd: int, names: list[str], shards: int | None = None) -> str | None:
    """The first entry of an index folder (opened as `fd`) that searchlib does not write: a name
    not in `_OUR_NAMES`, a symbolic link, or a folder (but Whoosh's temporary one holding only
    its temporary files, and in an index of `shards` shards each shard's folder, `shard-NNN`,
    that by the strict rule is a searchlib index or empty); None if there is none."""
    for name in names:
        mode = _mode(fd, name)
        if mode is None:  # removed meanwhile (a commit's old segment): nothing there
            continue
        if mode == stat.S_IFDIR:
            if shards and SHARD_FOLDER.fullmatch(name) and int(name[6:]) < shards:
                if _shard_kind(fd, name, Path(name))[0] not in (INDEX, EMPTY):
                    return name
            elif name == _TEMP_FOLDER:
                if not _only_temp_files(fd, name, _TEMP_NAMES):
                    return name
            elif not _RECORDS_FOLDER.fullmatch(name) or not _only_temp_files(fd, name, _RECORDS_FILE):
                return name
        elif mode != stat.S_IFREG or not _OUR_NAMES.fullmatch(name):
            return name
    return None


def _only_temp_files(fd: int, name: str, names: re.Pattern) -> bool:
    """Whether the folder `name` (in the folder opened as `fd`) holds only regular files named as
    `names` says (a killed writer's temporary files, or a killed rebuild's records)."""
    try:
        sub = os.open(name, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
                      | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
    except FileNotFoundError:
        return True  # (the writer done meanwhile removed it)
    except OSError:
        return False
    try:
        return all(names.fullmatch(name) and _mode(sub, name) in (stat.S_IFREG, None)
                   for name in os.listdir(sub))
    finally:
        os.close(sub)


def _shards_in(meta: dict) -> int | None:
    """The shard count a searchlib.json describes (None: unsharded, or an entry this code cannot
    read, whose shard folders then count as foreign)."""
    from .sharding.layout import shard_count
    try:
        return shard_count(meta)
    except ValueError:
        return None


def _shard_kind(fd: int, name: str, path: Path) -> tuple[str, str | None]:
    """What the shard folder `name` of the index folder opened as `fd` holds, by the strict rule
    (a sharded index is searchlib's as a whole only if every shard is: never one inside a shard)."""
    try:
        sub = os.open(name, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
                      | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
    except OSError as exc:
        return OTHER, f"cannot read it ({exc.strerror or exc})"
    try:
        kind, why = _kind_of(sub, path, True)
        if kind == INDEX and any(_mode(sub, entry) == stat.S_IFDIR and SHARD_FOLDER.fullmatch(entry)
                                 for entry in os.listdir(sub)):
            return OTHER, "it holds shards of its own"
        return kind, why
    finally:
        os.close(sub)


def _refusal(path: Path, strict: bool = False) -> NotAnIndexError:
    """The NotAnIndexError for `path`, saying what makes it no searchlib index (`strict`: no
    index searchlib may replace as a whole)."""
    kind, why = _inspect(path, strict=strict)
    return NotAnIndexError(path, why if kind == OTHER and why else None)


def _not_found(path: Path) -> IndexNotFoundError:
    """IndexNotFoundError, or RebuildInterruptedError when a killed rebuild left the index in
    `.NAME.old` with nothing at the path (a writer puts it back; a reader never does)."""
    try:
        old = _sibling_path(path, "old")
    except NotAnIndexError:
        return IndexNotFoundError(path)
    if _kind(path) == MISSING and _kind(old, follow=False, strict=True) == INDEX:
        return RebuildInterruptedError(path)
    return IndexNotFoundError(path)


def _writable(path: Path) -> Path:
    """The real folder a writer works on for the index path `path`: a symbolic link is resolved
    (the index is rebuilt beside the folder it points to, and the link stays), `.` and `..`
    become names; a dangling link and the root folder are refused."""
    path = Path(path)
    if os.path.islink(path) and not os.path.exists(path):
        raise _refusal(path)
    real = Path(os.path.realpath(path))
    if real.parent == real:
        raise NotAnIndexError(path, f"{real} cannot be an index folder (no folder beside it to rebuild in)")
    return real


def _at_path(fd: int, path: Path) -> bool:
    """Whether the folder opened as `fd` is (still) the one at `path`."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _sibling_path(path: Path, tag: str) -> Path:
    """`.NAME.tag` beside the folder, NAME taken from the absolute path (so `.` and `..` work)."""
    absolute = Path(os.path.abspath(path))
    if not absolute.name:
        raise NotAnIndexError(path, f"{absolute} cannot be an index folder (no folder beside it)")
    return absolute.with_name(f".{absolute.name}.{tag}")


def _check_sibling(path: Path, tag: str) -> Path:
    """`.NAME.tag` beside the index, refused (NotAnIndexError) if something not searchlib's
    has that name."""
    sibling = _sibling_path(path, tag)
    kind, why = _inspect(sibling, follow=False, strict=True)
    if kind not in (MISSING, EMPTY, INDEX):
        raise NotAnIndexError(sibling, f"{sibling} is in the way of the rebuild and is not searchlib's ({why})")
    return sibling


def _sibling(path: Path, tag: str) -> Path:
    """`.NAME.tag` beside the index, free: one left over by a killed run (an index, or a folder
    with nothing in it yet) is removed; anything else raises NotAnIndexError, untouched."""
    sibling = _check_sibling(path, tag)
    _remove_ours(sibling)
    return sibling


def _remove_ours(folder: Path) -> None:
    """Remove a folder searchlib made (an index by `_inspect`'s rule, or empty; never a symbolic
    link), if it is there; anything else stays."""
    if _kind(folder, follow=False, strict=True) in (EMPTY, INDEX):
        import shutil  # (here and below: a search never needs it, 2–3 ms of a cold start)
        shutil.rmtree(folder)


def _swap(fresh: Path, path: Path) -> None:
    """Put `fresh` in place of the index `path` (keeping its .gitignore and its folder's mode);
    the old index goes last, once no searcher is opening files in it."""
    import shutil
    if (path / ".gitignore").exists():
        shutil.copy2(path / ".gitignore", fresh / ".gitignore")
    from .indexing.stamps import WATCHES_FILE
    if (path / WATCHES_FILE).is_file():  # the watches and their cursors stay with the index
        shutil.copy2(path / WATCHES_FILE, fresh / WATCHES_FILE)
        with open(fresh / WATCHES_FILE, "rb") as copied:
            os.fsync(copied.fileno())
    fresh.chmod(stat.S_IMODE(path.stat().st_mode))
    old = _sibling(path, "old")
    path.rename(old)
    fresh.rename(path)
    sync_folder(path.parent)  # the new index is in place on disk before the old one goes
    with deleting(old):
        shutil.rmtree(old, ignore_errors=True)


def _settle(path: Path, *, recover: bool = False) -> str:
    """What `path` holds (see `_kind`) once a swap that left no folder at the path is done: one
    under way (its run holds the lock in `.NAME.old`) is waited for; one a killed run left
    halfway (our own index moved aside, a real folder, nothing in its place) is finished only if
    `recover` (writers: under that folder's run lock), else the path stays MISSING."""
    deadline = time.monotonic() + SWAP_WAIT
    while True:
        kind = _kind(path)
        if kind != MISSING:
            return kind
        try:
            old = _sibling_path(path, "old")
        except NotAnIndexError:
            return kind
        if _kind(old, follow=False, strict=True) != INDEX:
            # no swap (or one over, its old folder gone since the path was looked at): look again
            return _kind(path)
        try:
            fd = os.open(old / LOCK_FILE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0))
        except OSError:  # gone (the swap is over), or never locked: not a swap of ours
            return _kind(path)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a swap under way: its second rename follows at once
                if time.monotonic() > deadline:
                    return _kind(path)
                time.sleep(0.001)
                continue
            # nobody is swapping: a killed run's leftover (still ours by `_inspect`'s rule)
            if recover and _kind(path) == MISSING and _kind(old, follow=False, strict=True) == INDEX:
                old.rename(path)
                sync_folder(path.parent)
            return _kind(path)
        finally:
            os.close(fd)


def _make(path: Path, wait: float = 0.0, shards: int | None = None) -> tuple[bool, set[str]] | None:
    """Make an empty index (of `shards` shards, see `_create_sharded`) in the missing or empty
    folder `path`, under its run lock (so two processes starting at once make one); if another
    process made one meanwhile, keep it. What was made: (whether the folder was, the names it
    held before), or None."""
    from .indexing.update import RunLock
    made = _mkdir(path)
    before = set(os.listdir(path)) - {LOCK_FILE}
    try:
        with RunLock(path, wait):
            kind = _kind(path)
            if kind == OTHER:
                raise _refusal(path)
            if kind != EMPTY:
                return None
            _create(path) if shards is None else _create_sharded(path, shards)
    except BaseException:
        if made and _kind(path) == EMPTY:
            import shutil
            shutil.rmtree(path)
        raise
    return made, before


def _take_back(path: Path, made: tuple[bool, set[str]] | None) -> None:
    """Undo `_make` (what it returned: `made`) if nothing was ever committed to the index and no
    run holds it: remove the folder if it was made, else only the files written into it."""
    from .indexing.update import RunLock
    if made is None:
        return
    with RunLock(path, 0):
        try:
            from .sharding.layout import count_at, shard_paths
            count = count_at(path)
            fresh = all(open_for_reading(folder).latest_generation() == 0 for folder in
                        ([path] if count is None else shard_paths(path, count)))
        except Exception:
            return
        if not fresh or _kind(path, strict=count is not None) != INDEX:  # (generation 0: never committed)
            return
        folder_made, before = made
        if folder_made:
            import shutil
            shutil.rmtree(path)
            return
        for name in set(os.listdir(path)) - before:
            if (path / name).is_file() and not (path / name).is_symlink():
                (path / name).unlink()
            elif count is not None and SHARD_FOLDER.fullmatch(name) and _kind(path / name, follow=False,
                                                                          strict=True) == INDEX:
                import shutil
                shutil.rmtree(path / name)


def _mkdir(path: Path) -> bool:
    """Make the folder if it is missing (the user's alone, 0700); whether it was made here.
    A folder that was there keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return False
    path.chmod(0o700)  # (mkdir's mode is masked by the umask; never wider than 0700 anyway)
    return True


def _create_sharded(path: Path, count: int) -> None:
    """Write an empty index of `count` shards into `path` (as `_create`): its searchlib.json,
    which says how many (sharding.layout.describe), first, then each shard, an empty index."""
    from .sharding.layout import describe, shard_paths
    _mkdir(path)
    meta = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "searchlib": __version__,
            "created": datetime.now().astimezone().isoformat(timespec="seconds"), **describe(count)}
    (path / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    for name in (READERS_LOCK, READERS_GATE):
        os.close(os.open(path / name, os.O_RDWR | os.O_CREAT, 0o600))
    for shard in shard_paths(path, count):
        _create(shard)


def _create(path: Path) -> None:
    """Write an empty index into `path`, a missing folder (made 0700) or an empty one.
    searchlib.json comes first: a folder holding it is searchlib's, even if made only halfway."""
    _mkdir(path)
    meta = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "searchlib": __version__,
            "created": datetime.now().astimezone().isoformat(timespec="seconds")}
    (path / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    whoosh_index.create_in(str(path), SCHEMA)
    for name in (READERS_LOCK, READERS_GATE):
        os.close(os.open(path / name, os.O_RDWR | os.O_CREAT, 0o600))
