"""Manifest: which version of each source file the index holds, so unchanged files are not re-read.

Stage: indexing (bookkeeping beside the Whoosh index). `index/files.sqlite` has one row per file
whose articles are in the index: size, mtime (ns), content hash and article count, plus the
Whoosh generation the manifest was last brought up to date with.

Crash safety comes from the order of writes: articles are committed to Whoosh first, then the
manifest. If a run dies between the two, the manifest is merely stale: those files look changed
and are re-read (their articles are replaced, never duplicated), and `is_current()` tells the
indexer to also reconcile against the paths Whoosh really holds.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import database_full_as_error
from ..ingest.parsers import open_within

FILE_NAME = "files.sqlite"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    digest: str = ""
    articles: int = 0


def stat_file(path: Path, roots: Iterable[str | os.PathLike] | None = None) -> FileState:
    """Size and mtime of the file `path` opens, on every run: the file is opened, not merely
    stat'ed, so one that now lies outside `roots` (see `parsers.open_within`) raises
    OutsideCorpus (an OSError) rather than being called unchanged."""
    fd = open_within(path, roots)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return FileState(st.st_size, st.st_mtime_ns)


def digest_file(path: Path, roots: Iterable[str | os.PathLike] | None = None) -> str:
    """Content hash (BLAKE2b, 128 bits) of a file, read in chunks; opened as `stat_file` does."""
    h = hashlib.blake2b(digest_size=16)
    with open(open_within(path, roots), "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class Manifest:
    """The files table of one index folder. Use as a context manager; writes are transactions.
    A full disk raises DiskFullError (the transaction is rolled back: the manifest is as it was)."""

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / FILE_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None)
        try:
            with database_full_as_error(self.path):
                self._db.execute("PRAGMA journal_mode=DELETE")
                self._db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
                                 "mtime_ns INTEGER, digest TEXT, articles INTEGER)")
                self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def files(self) -> dict[str, FileState]:
        rows = self._db.execute("SELECT path, size, mtime_ns, digest, articles FROM files")
        return {path: FileState(size, mtime, digest, articles) for path, size, mtime, digest, articles in rows}

    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else -1

    def is_current(self, generation: int) -> bool:
        """Whether the manifest was written after the index's latest commit."""
        return self.generation() == generation

    def record(self, done: dict[str, FileState], removed: set[str], generation: int) -> None:
        """In one transaction: upsert `done`, delete `removed`, note the Whoosh generation."""
        with database_full_as_error(self.path), _transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                [(p, s.size, s.mtime_ns, s.digest, s.articles) for p, s in done.items()])
            self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in removed])
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))

    def clear(self) -> None:
        with database_full_as_error(self.path), _transaction(self._db):
            self._db.execute("DELETE FROM files")
            self._db.execute("DELETE FROM meta")


class _transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
