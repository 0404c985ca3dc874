"""Bands: the LSH band keys of an index's articles, in a table beside the index, not in it.

Stage: stories (indexing side). A copy finds its candidates by its band keys (signatures.py):
12 keys an article, nearly all of them unique. As terms of the Whoosh index they were most of its
terms, each with a record, a hash slot and a place in every merge; here they are rows of the
index's `files.sqlite` (the manifest's database): `band_keys` (key, article) ordered by key for
look-ups, and `band_articles` (article → its file's number in `band_paths`, the rest of its id,
keys) so that a file's rows go when its articles do (`band_rows` puts the ids and paths back
together). An article is a 64-bit hash of its id.

Rows are written before the batch's Whoosh commit (as revisions are): a run killed between the
two leaves rows of articles the index does not hold, or lacks rows of articles it still holds,
and in both cases the manifest was not brought up to date, so the next run reads those files
again and writes their rows anew. A look-up's ids are checked against the index's last commit
by the caller (linking.py), so a stale row is never taken for an article.
"""
from __future__ import annotations

import hashlib
import sqlite3
from array import array
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import database_full_as_error

_TABLES = (
    "CREATE TABLE IF NOT EXISTS band_keys (key INTEGER NOT NULL, article INTEGER NOT NULL, "
    "PRIMARY KEY (key, article)) WITHOUT ROWID",
    # each file's path once, with what its articles' ids begin with (up to their last `#`):
    # an article keeps the number of its (path, prefix) and the rest of its id; whole paths
    # and ids in every row were over two fifths of the table
    "CREATE TABLE IF NOT EXISTS band_paths (number INTEGER PRIMARY KEY, path TEXT NOT NULL, "
    "prefix TEXT NOT NULL, UNIQUE (path, prefix))",
    "CREATE TABLE IF NOT EXISTS band_articles (article INTEGER PRIMARY KEY, path INTEGER NOT NULL, "
    "id TEXT NOT NULL, keys BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS band_articles_path ON band_articles (path)",
    # the articles as they were added: (article, id, path, keys)
    "CREATE VIEW IF NOT EXISTS band_rows AS SELECT a.article AS article, "
    "p.prefix || a.id AS id, p.path AS path, a.keys AS keys "
    "FROM band_articles a JOIN band_paths p ON p.number = a.path",
)
_MOST_PARAMETERS = 500  # keys asked for in one statement (SQLite's limit is far above)
_BUSY_MS = 30_000       # a shard's table may be being written by its own writer a moment longer


def article_number(article_id: str) -> int:
    """The article's number in the tables: a signed 64-bit hash of its id."""
    digest = hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Bands:
    """The band tables of the index whose manifest database is at `path`: `add` and `forget`
    are kept in memory until `flush` (called before each commit); `look_up` and `shared` read
    what was flushed. Opened on first use; `close` closes it."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path, self.read_only = Path(path), read_only
        self._db = None
        self._pending: list[tuple] = []  # ("forget", path) | ("add", number, id, path, keys)

    def _open(self):
        if self._db is None:
            if self.read_only:
                if not self.path.exists():
                    return None
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
                self._db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
                if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'band_keys'").fetchone():
                    self._db.close()
                    self._db = None
                    return None
            else:
                self._db = sqlite3.connect(self.path, isolation_level=None)
                self._db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
                with database_full_as_error(self.path):
                    for statement in _TABLES:  # (an index written before the table has none yet)
                        self._db.execute(statement)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> "Bands":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, article_id: str, path: str, keys: Iterable[int]) -> None:
        """The article `article_id`, written from `path`, has these band keys."""
        self._pending.append(("add", article_number(article_id), article_id, str(path), list(keys)))

    def forget(self, path: str) -> None:
        """The articles written from `path` are deleted (rows added after this call stay)."""
        self._pending.append(("forget", str(path)))

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        """Write what was added and forgotten in one transaction, as if in order (a file's
        articles are forgotten before its new ones are added: those batch together)."""
        if not self._pending:
            return
        with database_full_as_error(self.path):
            self._flush(self._open())
        self._pending.clear()

    def _flush(self, db) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            forgotten: set[str] = set()
            adds: list[tuple] = []
            added_from: set[str] = set()
            for change in self._pending:
                if change[0] == "forget":
                    if change[1] in added_from:  # (forgotten after being added to: in order)
                        _apply(db, forgotten, adds)
                        forgotten, adds, added_from = set(), [], set()
                    forgotten.add(change[1])
                else:
                    adds.append(change[1:])
                    added_from.add(change[3])
            _apply(db, forgotten, adds)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def load(self, folder: Path) -> "_Loader":
        """A loader of the rows of a first build, into tables that hold none yet (`with
        bands.load(folder) as loader: loader.add(...)`): rows go to temporary tables as they
        come, and into the band tables, ordered by key, in one transaction when the block ends
        without an error (none of them otherwise). SQLite keeps the temporary tables and its
        sort in `folder` (one of searchlib's own, on the index's disk: not the system's
        temporary folder, which may be memory). Keys inserted in random order a batch at a
        time touched every page of a growing table at each batch: 12 of the 19 s of a
        300,000-article build's last phase."""
        return _Loader(self, Path(folder))

    def take(self) -> list[tuple[str, str, list[int]]]:
        """What was added and not flushed, as (id, path, keys), dropped from here (a worker of a
        parallel build hands it to the process that commits, see indexing/building.py)."""
        taken = [(change[2], change[3], change[4]) for change in self._pending if change[0] == "add"]
        self._pending.clear()
        return taken

    def discard(self) -> None:
        """Drop what was not flushed (the batch it belonged to was abandoned)."""
        self._pending.clear()

    def look_up(self, keys: list[int]) -> dict[str, int]:
        """The ids of the flushed articles that have any of `keys`, each with how many."""
        db = self._open()
        if db is None or not keys:
            return {}
        found: dict[int, int] = {}
        for start in range(0, len(keys), _MOST_PARAMETERS):
            part = keys[start:start + _MOST_PARAMETERS]
            marks = ",".join("?" * len(part))
            for number, count in db.execute(f"SELECT article, count(*) FROM band_keys WHERE key IN ({marks}) "
                                            "GROUP BY article", part):
                found[number] = found.get(number, 0) + count
        return {article_id: found[number] for number, article_id in _ids(db, list(found))}

    def shared(self) -> Iterator[list[str]]:
        """For each key that two or more flushed articles have, their ids."""
        db = self._open()
        if db is None:
            return
        rows = db.execute("SELECT group_concat(article) FROM band_keys GROUP BY key HAVING count(*) > 1").fetchall()
        for (joined,) in rows:
            numbers = [int(n) for n in joined.split(",")]
            yield [article_id for _, article_id in _ids(db, numbers)]


class _Loader:
    """Bands.load's loader: `add` as Bands.add; rows kept in TEMP tables (the connection's own,
    gone with it) until the block ends."""

    BATCH = 20_000  # articles held in memory before they go to the temporary tables

    def __init__(self, bands: Bands, folder: Path):
        self.bands, self.folder = bands, folder
        self.db = None
        self._rows: list[tuple] = []

    def __enter__(self) -> "_Loader":
        self.db = self.bands._open()
        with database_full_as_error(self.bands.path):
            # (SQLite's global setting, for the temporary files its connections open from now)
            self.db.execute("PRAGMA temp_store_directory = '%s'" % str(self.folder).replace("'", "''"))
            self.db.execute("DROP TABLE IF EXISTS temp.load_keys")
            self.db.execute("DROP TABLE IF EXISTS temp.load_articles")
            self.db.execute("CREATE TEMP TABLE load_keys (key INTEGER, article INTEGER)")
            self.db.execute("CREATE TEMP TABLE load_articles (article INTEGER, path TEXT, prefix TEXT, "
                            "id TEXT, keys BLOB)")
        return self

    def add(self, article_id: str, path: str, keys: list[int]) -> None:
        self._rows.append((article_number(article_id), article_id, str(path), list(keys)))
        if len(self._rows) >= self.BATCH:
            self._spill()

    def _spill(self) -> None:
        rows, self._rows = self._rows, []
        with database_full_as_error(self.bands.path):
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO load_articles VALUES (?, ?, ?, ?, ?)",
                                [(number, path, *_split(article_id), _pack(keys))
                                 for number, article_id, path, keys in rows])
            self.db.executemany("INSERT INTO load_keys VALUES (?, ?)",
                                [(key, number) for number, _, _, keys in rows for key in keys])
            self.db.execute("COMMIT")

    def __exit__(self, kind, *exc) -> None:
        try:
            if kind is None:
                self._spill()
                with database_full_as_error(self.bands.path):
                    self._merge()
        finally:
            self._rows = []
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            self.db.execute("DROP TABLE IF EXISTS temp.load_keys")
            self.db.execute("DROP TABLE IF EXISTS temp.load_articles")
            self.db.execute("PRAGMA temp_store_directory = ''")

    def _merge(self) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR IGNORE INTO band_paths (path, prefix) "
                   "SELECT DISTINCT path, prefix FROM load_articles")
        db.execute("INSERT OR REPLACE INTO band_articles SELECT a.article, p.number, a.id, a.keys "
                   "FROM load_articles a JOIN band_paths p ON p.path = a.path AND p.prefix = a.prefix "
                   "ORDER BY a.article")
        db.execute("INSERT OR IGNORE INTO band_keys SELECT key, article FROM load_keys ORDER BY key, article")
        db.execute("COMMIT")


def _ids(db, numbers: list[int]) -> list[tuple[int, str]]:
    out = []
    for start in range(0, len(numbers), _MOST_PARAMETERS):
        part = numbers[start:start + _MOST_PARAMETERS]
        marks = ",".join("?" * len(part))
        out += db.execute(f"SELECT article, id FROM band_rows WHERE article IN ({marks})", part).fetchall()
    return out


def _apply(db, forgotten: set[str], adds: list[tuple]) -> None:
    """Delete the rows of the articles written from the `forgotten` paths, then write `adds`."""
    paths = sorted(forgotten)
    for start in range(0, len(paths), _MOST_PARAMETERS):
        part = paths[start:start + _MOST_PARAMETERS]
        marks = ",".join("?" * len(part))
        numbers = [n for n, in db.execute(f"SELECT number FROM band_paths WHERE path IN ({marks})", part)]
        if numbers:
            marks = ",".join("?" * len(numbers))
            _drop(db, db.execute(f"SELECT article, keys FROM band_articles WHERE path IN ({marks})",
                                 numbers).fetchall())
            db.execute(f"DELETE FROM band_paths WHERE number IN ({marks}) AND NOT EXISTS "
                       "(SELECT 1 FROM band_articles WHERE band_articles.path = band_paths.number)", numbers)
    _write(db, adds)


def _drop(db, rows: list[tuple[int, bytes]]) -> None:
    """Delete these articles' rows ((article, its keys packed) pairs)."""
    if not rows:
        return
    db.executemany("DELETE FROM band_keys WHERE key = ? AND article = ?",
                   [(key, number) for number, packed in rows for key in _unpack(packed)])
    db.executemany("DELETE FROM band_articles WHERE article = ?", [(number,) for number, _ in rows])


def _write(db, adds: list[tuple]) -> None:
    """Insert these (article, id, path, keys), first dropping the rows an article had before
    (written again from another file, or with another text)."""
    if not adds:
        return
    numbers = list({number for number, *_ in adds})
    old = []
    for start in range(0, len(numbers), _MOST_PARAMETERS):
        part = numbers[start:start + _MOST_PARAMETERS]
        marks = ",".join("?" * len(part))
        old += db.execute(f"SELECT article, keys FROM band_articles WHERE article IN ({marks})", part).fetchall()
    _drop(db, old)
    latest = {number: (number, path, *_split(article_id), keys)
              for number, article_id, path, keys in adds}
    places = sorted({(path, prefix) for _, path, prefix, _, _ in latest.values()})
    db.executemany("INSERT OR IGNORE INTO band_paths (path, prefix) VALUES (?, ?)", places)
    paths = sorted({path for path, _ in places})
    numbers_of = {}
    for start in range(0, len(paths), _MOST_PARAMETERS):
        part = paths[start:start + _MOST_PARAMETERS]
        marks = ",".join("?" * len(part))
        numbers_of.update(((path, prefix), n) for n, path, prefix in db.execute(
            f"SELECT number, path, prefix FROM band_paths WHERE path IN ({marks})", part))
    db.executemany("INSERT OR REPLACE INTO band_articles VALUES (?, ?, ?, ?)",
                   [(number, numbers_of[path, prefix], rest, _pack(keys))
                    for number, path, prefix, rest, keys in latest.values()])
    db.executemany("INSERT OR IGNORE INTO band_keys VALUES (?, ?)",
                   sorted((key, number) for number, _, _, _, keys in latest.values() for key in keys))


def _split(article_id: str) -> tuple[str, str]:
    """(prefix, rest) of an id: the prefix what it shares with the other ids of its file, up to
    its last `#` (none without); band_paths keeps the prefix, band_articles the rest."""
    cut = article_id.rfind("#") + 1
    return article_id[:cut], article_id[cut:]


def _pack(keys: list[int]) -> bytes:
    return array("q", keys).tobytes()


def _unpack(packed: bytes) -> list[int]:
    keys = array("q")
    keys.frombytes(packed)
    return keys.tolist()
