"""Index: the library's front door — open or create an index folder, update it, search it.

Stage: all of them, as a facade over `indexing` (write) and `searching` (read). The folder is
self-describing: next to Whoosh's files, `searchlib.json` records the format and schema version,
and an index from another version is refused with a message to rebuild.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

from whoosh import index as whoosh_index

from . import __version__
from .article import Article
from .dates import parse_since, parse_until
from .errors import IndexFormatError, IndexNotFoundError
from .indexing import Progress, UpdateReport, write_files
from .schema import SCHEMA, SCHEMA_VERSION, to_article
from .searching import Results, run_search

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
        if not exists(self.path):
            if not create:
                raise IndexNotFoundError(self.path)
            _create(self.path)
        self._check_meta()
        self._ix = None

    @property
    def _whoosh(self):
        if self._ix is None:
            try:
                self._ix = whoosh_index.open_dir(str(self.path))
            except (whoosh_index.EmptyIndexError, OSError, ValueError) as exc:
                raise IndexFormatError(self.path, f"Whoosh cannot open it ({exc})") from None
        return self._ix

    def update(self, paths: Iterable[str | os.PathLike] | str | os.PathLike, *,
               progress: Progress | None = None, wait: float = 0.0) -> UpdateReport:
        """Index the files and folders in `paths`; each file's articles replace its old ones.

        `wait` is how long to wait (seconds) for another writer's lock before raising
        IndexLockedError. Problems with single files are reported in the result, never raised.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        report = write_files(self._whoosh, paths, base=self.path.resolve().parent, wait=wait,
                             progress=progress)
        self._ix = None  # reopen to see the new segments
        return report

    def search(self, query: str, *, since: DateLike = None, until: DateLike = None,
               limit: int = 10, now: datetime | None = None) -> Results:
        """Best `limit` articles for `query`; `since`/`until` take dates or text (`2022-09`,
        `yesterday`, `7d`) and include whole days. `now` pins relative dates (tests)."""
        return run_search(self._whoosh, query, since=parse_since(since, now),
                          until=parse_until(until, now), limit=limit, now=now)

    def get(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        with self._whoosh.searcher() as searcher:
            fields = searcher.document(id=article_id)
        return to_article(fields) if fields else None

    def __len__(self) -> int:
        with self._whoosh.searcher() as searcher:
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


def exists(path: str | os.PathLike) -> bool:
    """Whether the folder holds an index (a folder with only a .gitignore does not)."""
    path = Path(path)
    return path.is_dir() and (whoosh_index.exists_in(str(path)) or (path / META_FILE).exists())


def create(path: str | os.PathLike, *, replace: bool = False) -> Index:
    """Create an empty index at `path`; with `replace=True` an existing one is emptied first."""
    path = Path(path)
    if replace and exists(path):
        for child in path.iterdir():
            if child.name != ".gitignore":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    _create(path)
    return Index(path, create=False)


def _create(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    whoosh_index.create_in(str(path), SCHEMA)
    meta = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "searchlib": __version__,
            "created": datetime.now().astimezone().isoformat(timespec="seconds")}
    (path / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
