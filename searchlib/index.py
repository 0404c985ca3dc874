"""Index: the library's front door — open or create an index folder, update it, search it.

Stage: all of them, as a facade over `indexing` (write) and `searching` (read). The folder is
self-describing: next to Whoosh's files, `searchlib.json` records the format and schema version,
and an index from another version is refused with a message to rebuild.
"""
from __future__ import annotations

import gc
import json
import os
import threading
import warnings
import weakref
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from whoosh import index as whoosh_index

from . import __version__
from .article import Article
from .dates import parse_since, parse_until
from .errors import IndexFormatError, IndexNotFoundError, SearchlibError
from .schema import SCHEMA, SCHEMA_VERSION, to_article
from .searching import RANKING, Results, run_search, run_similar
from .storage import READERS_GATE, READERS_LOCK, open_for_reading, reading, sync_folder

if TYPE_CHECKING:  # indexing (and the parsers it brings) is imported only when indexing
    from .indexing import Progress, UpdateReport
    from .stats import IndexStats

META_FILE = "searchlib.json"
FORMAT = "searchlib-index"

DateLike = str | date | datetime | None


class Index:
    """A searchlib index in a folder.

    `Index(path)` opens the index there, creating an empty one if the folder holds none
    (`create=False` raises IndexNotFoundError instead). Whoosh objects stay inside: methods take
    and return str, Path, datetime and searchlib's own dataclasses.
    """

    def __init__(self, path: str | os.PathLike = "index", *, create: bool = True):
        self.path = Path(path)
        _recover(self.path)
        if not exists(self.path):
            if not create:
                raise IndexNotFoundError(self.path)
            _create(self.path)
        self._check_meta()
        self._ix = None
        # Searchers kept open between searches (one per concurrent search): opening one, and
        # then each segment's columns on first use, cost more than a typical query.
        self._idle: list = []
        self._idle_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._idle, self._idle_lock)

    @property
    def _whoosh(self):
        if self._ix is None:
            try:
                self._ix = open_for_reading(self.path)
            except (whoosh_index.EmptyIndexError, OSError, ValueError) as exc:
                raise IndexFormatError(self.path, f"Whoosh cannot open it ({exc})") from None
        return self._ix

    @contextmanager
    def _searcher(self):
        """A searcher on the newest commit, for use inside `reading()`: one kept from an earlier
        search if nothing was committed since (same folder, same generation), else a new one.
        A kept searcher's files cannot have been deleted meanwhile: a writer deletes a segment's
        files only after committing a newer generation, and a rebuild swaps in a new folder."""
        ix = self._whoosh
        folder = os.stat(self.path)
        version = (folder.st_dev, folder.st_ino, ix.latest_generation())
        searcher = None
        with self._idle_lock:
            while self._idle and searcher is None:
                kept_version, kept = self._idle.pop()
                if kept_version == version:
                    searcher = kept
                else:
                    kept.close()
        if searcher is None:
            searcher = ix.searcher(weighting=RANKING)
            version = version[:2] + (searcher.reader().generation(),)
        try:
            yield searcher
        except BaseException:
            searcher.close()  # it may have been left halfway through something
            raise
        with self._idle_lock:
            self._idle.append((version, searcher))

    def close(self) -> None:
        """Close the searchers kept open between searches (also done when the Index is
        garbage-collected, or at the end of a `with Index(...) as idx:` block)."""
        _close_all(self._idle, self._idle_lock)

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, paths: Iterable[str | os.PathLike] | str | os.PathLike, *,
               progress: Progress | None = None, wait: float = 0.0, rebuild: bool = False,
               batch_files: int | None = None, batch_articles: int | None = None,
               jobs: int | None = None) -> UpdateReport:
        """Bring the index up to date with the files and folders in `paths`.

        Incremental: new files are added, changed ones replaced, vanished ones removed (within
        `paths`), unchanged ones not read. `rebuild=True` builds a fresh index beside this one and
        swaps it in when complete. `wait` is how long to wait for another run's lock before
        raising IndexLockedError. Problems with single files are reported, never raised.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if rebuild:
            return rebuild_index(self.path, paths, progress=progress, wait=wait, jobs=jobs)
        from .indexing import BATCH_ARTICLES, BATCH_FILES, update_index
        self._ix = None
        report = update_index(self.path, paths, base=self.path.resolve().parent, wait=wait,
                              progress=progress, batch_files=batch_files or BATCH_FILES,
                              batch_articles=batch_articles or BATCH_ARTICLES, jobs=jobs)
        self._ix = None  # reopen to see the new segments
        self.close()
        return report

    def search(self, query: str, *, since: DateLike = None, until: DateLike = None,
               limit: int = 10, offset: int = 0, sort: str = "relevance",
               now: datetime | None = None, snippets: int = 1, facets: Iterable[str] = (),
               fresh: float | None = None) -> Results:
        """Best `limit` articles for `query` after skipping `offset`; `sort` is relevance, newest
        or oldest. `since`/`until` take dates or text (`2022-09`, `yesterday`, `7d`) and include
        whole days. `snippets` passages per hit. `facets` (source, section, author, tags, topics,
        places, people, orgs, dateline, lang, format; day, month, year, or date for the bucket
        that fits) are counted over all matches. `fresh` boosts recent articles: the boost halves
        every `fresh` days. `now` pins relative dates (tests)."""
        since, until = parse_since(since, now), parse_until(until, now)
        for attempt in range(5):
            ix = self._whoosh
            generation = ix.latest_generation()
            try:
                with reading(self.path), self._searcher() as searcher:
                    return run_search(searcher, query, since=since, until=until, limit=limit,
                                      offset=offset, sort=sort, now=now, fragments=snippets,
                                      facets=facets, fresh=fresh)
            except SearchlibError:
                raise
            except Exception:
                # Should a commit delete segment files as they are opened after all (a writer
                # outside searchlib), Whoosh fails with OSError or TypeError. Only then, retry on
                # the newest commit; any other failure is a real error.
                self._ix = None
                if attempt == 4 or ix.latest_generation() == generation:
                    raise
            _close_abandoned_files()

    def similar(self, article_id: str, *, limit: int = 10) -> Results:
        """The articles most like the one with this id (raises ArticleNotFoundError)."""
        with reading(self.path), self._searcher() as searcher:
            return run_similar(searcher, article_id, limit=limit)

    def stats(self) -> IndexStats:
        """Size, article and file counts, date span, top sources and sections."""
        from .stats import compute_stats  # (imported here: a search never needs it)
        with reading(self.path):
            return compute_stats(self._whoosh, self.path)

    def get(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        with reading(self.path), self._searcher() as searcher:
            fields = searcher.document(id=article_id)
        return to_article(fields) if fields else None

    def __len__(self) -> int:
        with reading(self.path), self._searcher() as searcher:
            return searcher.doc_count()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"

    def _check_meta(self) -> None:
        meta_path = self.path / META_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexFormatError(self.path, f"{META_FILE} is missing (not a searchlib index?)") from None
        except (OSError, ValueError) as exc:
            raise IndexFormatError(self.path, f"{META_FILE} is unreadable ({exc})") from None
        if meta.get("format") != FORMAT or meta.get("schema_version") != SCHEMA_VERSION:
            raise IndexFormatError(
                self.path, f"it has schema version {meta.get('schema_version')!r}, "
                           f"this searchlib uses {SCHEMA_VERSION}")


def _close_all(searchers: list, lock: threading.Lock) -> None:
    with lock:
        while searchers:
            searchers.pop()[1].close()


def _close_abandoned_files() -> None:
    """When opening a reader fails halfway (storage.reading makes a race with a commit unlikely,
    but a writer that does not use it can still delete files), Whoosh drops the segment files it
    had opened to the garbage collector: close them now, quietly, rather than as a
    ResourceWarning at some later, unrelated moment."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def exists(path: str | os.PathLike) -> bool:
    """Whether the folder holds an index (a folder with only a .gitignore does not)."""
    path = Path(path)
    return path.is_dir() and (whoosh_index.exists_in(str(path)) or (path / META_FILE).exists())


def create(path: str | os.PathLike, *, replace: bool = False) -> Index:
    """Create an empty index at `path`; with `replace=True` an existing one is swapped for it."""
    path = Path(path)
    if replace and exists(path):
        fresh = _sibling(path, "new")
        _create(fresh)
        _swap(fresh, path)
    else:
        _create(path)
    return Index(path, create=False)


def rebuild_index(path: Path, paths, *, progress: Progress | None = None, wait: float = 0.0,
                  jobs: int | None = None) -> UpdateReport:
    """Build a fresh index from `paths` next to `path` and swap it in only once it is complete,
    so a failed or killed rebuild leaves the old index untouched. Holds the old index's lock."""
    from .indexing import RunLock, update_index
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with RunLock(path, wait):
        fresh = _sibling(path, "rebuild")
        _create(fresh)
        # one commit: the fresh folder is swapped in only when complete. The writers' memory
        # is bounded by SEGMENT_POSTINGS (a segment is written when one holds that many);
        # merging segments as they come would rewrite what was just written: left as they are
        report = update_index(fresh, paths, base=path.resolve().parent, progress=progress,
                              batch_files=1 << 30, batch_articles=1 << 30, jobs=jobs, merge=False)
        _swap(fresh, path)
    report.index = path
    return report


def _sibling(path: Path, tag: str) -> Path:
    sibling = path.with_name(f".{path.name}.{tag}")
    if sibling.exists():  # left over from a killed run
        import shutil  # (here and below: a search never needs it, 2–3 ms of a cold start)
        shutil.rmtree(sibling)
    return sibling


def _swap(fresh: Path, path: Path) -> None:
    """Put `fresh` in place of `path` (keeping its .gitignore); the old index goes last."""
    import shutil
    if (path / ".gitignore").exists():
        shutil.copy2(path / ".gitignore", fresh / ".gitignore")
    old = _sibling(path, "old")
    if path.exists():
        path.rename(old)
    fresh.rename(path)
    sync_folder(path.parent)  # the new index is in place on disk before the old one goes
    shutil.rmtree(old, ignore_errors=True)


def _recover(path: Path) -> None:
    """Finish a swap that a killed run left halfway (index moved aside, new one not in place)."""
    old = path.with_name(f".{path.name}.old")
    if not exists(path) and exists(old):
        if path.exists():
            import shutil
            shutil.rmtree(path)
        old.rename(path)


def _create(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # the user's alone, even if the folder was there (e.g. from a git clone)
    whoosh_index.create_in(str(path), SCHEMA)
    for name in (READERS_LOCK, READERS_GATE):
        os.close(os.open(path / name, os.O_RDWR | os.O_CREAT, 0o600))
    meta = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "searchlib": __version__,
            "created": datetime.now().astimezone().isoformat(timespec="seconds")}
    (path / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
