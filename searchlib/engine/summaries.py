"""Summaries: what a pass over every article of a commit found, kept beside the index.

Stage: the storage engine. Some answers need every article's value of a column: which stories
have more than one article (one hit per story), how many articles each source has (`search
stats`). Such a pass grows with the archive, and every new process paid it again. A segment never
changes (only its deletions grow), so a segment's part of a pass is kept once per segment, and an
answer about a whole commit once per commit, in `summaries.sqlite` in the index folder. Each is
named by segment ids (a commit's also by their deletion counts), so a stale or missing one is
never used: it only costs the pass again. The indexer keeps them after each run (`remember`);
searches only read them. Values are JSON and NumPy arrays (never pickles: an index folder may be
someone else's); NumPy is imported only where arrays are (a search's first moments count).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
import zlib
from contextlib import nullcontext
from pathlib import Path

from .layout import SUMMARIES_FILE

_BUSY_MS = 5_000
_NO_VALUE = 0  # the hash of an empty value: no value


def leaves(reader) -> list:
    """The reader's segment readers, in document-number order."""
    if reader.is_atomic():
        return [reader]
    return [sub for sub, _ in reader.leaf_readers()]


def segment_id(leaf) -> str | None:
    """The segment's id (None for an empty index's reader)."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return None if segment is None else segment.segment_id()


def commit_key(reader) -> str:
    """The name of this state of the index: its segments, in order, with their deletion counts."""
    parts = []
    for leaf in leaves(reader):
        segment = leaf.segment() if hasattr(leaf, "segment") else None
        parts.append("-" if segment is None else f"{segment.segment_id()}/{segment.deleted_count()}")
    return ",".join(parts)


def live_mask(leaf):
    """True for each live document of the segment (a NumPy array)."""
    import numpy as np
    mask = np.ones(leaf.doc_count_all(), dtype=bool)
    if leaf.has_deletions():
        gone = [d for d in leaf.segment().deleted_docs() if d < len(mask)]
        mask[np.asarray(gone, dtype=np.int64)] = False
    return mask


def folder_of(reader) -> Path | None:
    """The folder the reader's segments were read from (None when it cannot tell)."""
    for leaf in leaves(reader):
        folder = getattr(getattr(leaf, "_storage", None), "folder", None)
        if folder:
            return Path(folder)
    return None


# What a part is: a dict of JSON-able values and 1-d numpy arrays, packed as one zlib'd blob:
# a 4-byte length, the JSON header (values, and each array's name, dtype and length), the arrays.
def pack(part: dict) -> bytes:
    import numpy as np
    values = {k: v for k, v in part.items() if not isinstance(v, np.ndarray)}
    arrays = [(k, np.ascontiguousarray(v)) for k, v in part.items() if isinstance(v, np.ndarray)]
    header = json.dumps({"values": values, "arrays": [(k, a.dtype.str, len(a)) for k, a in arrays]}).encode()
    return zlib.compress(struct.pack("<I", len(header)) + header + b"".join(a.tobytes() for _, a in arrays), 1)


def unpack(blob: bytes) -> dict:
    """The part `pack` made (ValueError for anything else)."""
    try:
        raw = zlib.decompress(blob)
        (size,) = struct.unpack_from("<I", raw)
        header = json.loads(raw[4:4 + size])
        part = dict(header["values"])
        at = 4 + size
        if header["arrays"]:
            import numpy as np
        for name, dtype, length in header["arrays"]:
            kind = np.dtype(dtype)
            if kind.hasobject:
                raise ValueError("an object array")
            part[name] = np.frombuffer(raw, dtype=kind, count=length, offset=at)
            at += kind.itemsize * length
        return part
    except (zlib.error, struct.error, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a summary: {exc}") from None


class Store:
    """The summaries of one index folder. `Store(folder)` reads (nothing when the file is absent,
    unreadable or not ours); `Store(folder, write=True)` also keeps parts. Use with `with`."""

    def __init__(self, folder: Path, *, write: bool = False):
        self.path = Path(folder) / SUMMARIES_FILE
        self.write = write
        self._db = None
        self.pending: dict[str, bytes] = {}
        try:
            if write:
                self._db = sqlite3.connect(self.path, isolation_level=None)
                self._db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
                self._db.execute("PRAGMA journal_mode=DELETE")
                self._db.execute("CREATE TABLE IF NOT EXISTS parts (name TEXT PRIMARY KEY, blob BLOB NOT NULL)")
            elif self.path.is_file():
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
                self._db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        except sqlite3.Error:
            self.close()
            if write:
                raise

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def get(self, name: str) -> dict | None:
        """The part of this name (None when there is none, or it cannot be read)."""
        if name in self.pending:
            return unpack(self.pending[name])
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT blob FROM parts WHERE name = ?", (name,)).fetchone()
            return unpack(row[0]) if row else None
        except (sqlite3.Error, ValueError):
            return None

    def has(self, name: str) -> bool:
        """Whether a part of this name is kept (or put)."""
        if name in self.pending:
            return True
        if self._db is None:
            return False
        return self._db.execute("SELECT 1 FROM parts WHERE name = ?", (name,)).fetchone() is not None

    def put(self, name: str, part: dict) -> None:
        """Keep `part` under this name (written by `keep`); a reading store forgets it."""
        if self.write:
            self.pending[name] = pack(part)

    def keep(self, wanted: set[str]) -> None:
        """Write the parts put, and drop every part whose name is not in `wanted`, in one
        transaction (sqlite3.Error, e.g. a full disk: nothing changed)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO parts VALUES (?, ?)", self.pending.items())
            names = [name for (name,) in db.execute("SELECT name FROM parts")]
            db.executemany("DELETE FROM parts WHERE name = ?", [(n,) for n in names if n not in wanted])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self.pending.clear()


def reading(reader):
    """The summaries kept beside the index `reader` reads, for reading (`with reading(reader) as
    store`); the store is None when the reader's folder is not known (parts are then computed)."""
    folder = folder_of(reader)
    return Store(folder) if folder is not None else nullcontext()


def segment_part(store: Store | None, leaf, kind: str) -> dict:
    """The part of this segment of this kind (one of SEGMENT_PARTS), from `store` if kept there
    (and put there when computed, for a writing store). Named `kind:segment id`."""
    sid = segment_id(leaf)
    name = f"{kind}:{sid}"
    found = store.get(name) if store is not None and sid is not None else None
    if found is not None and not _fits(found, leaf.doc_count_all()):
        found = None  # (a part that is not this segment's: made again)
    if found is None:
        found = SEGMENT_PARTS[kind](leaf)
        if store is not None and sid is not None:
            store.put(name, found)
    return found


def _fits(part: dict, count: int) -> bool:
    """Whether a segment's part read back has an entry for each of its `count` documents (a
    date column's numbers may be none at all) and codes that name its values."""
    import numpy as np
    for name, value in part.items():
        if isinstance(value, np.ndarray) and len(value) != count and not (name == "numbers" and not len(value)):
            return False
    codes, values = part.get("codes"), part.get("values")
    if codes is not None and len(codes):
        if not isinstance(values, list) or codes.min() < -1 or codes.max() >= len(values):
            return False
    return True


def commit_part(store: Store | None, reader, kind: str, compute) -> dict:
    """The part `compute(reader, store)` makes of this whole commit, from `store` if kept there
    (and put there when computed). Named `kind@commit key`."""
    name = f"{kind}@{commit_key(reader)}"
    found = store.get(name) if store is not None else None
    if found is None:
        found = compute(reader, store)
        if store is not None:
            store.put(name, found)
    return found


def remember(folder: Path, commit_parts: dict) -> None:
    """Keep the parts of the newest commit in `folder`: every SEGMENT_PARTS kind of each of its
    segments, and `commit_parts` (kind → compute(reader, store), as for `commit_part`), and drop
    the parts of segments and commits gone (sqlite3.Error or OSError: nothing written). Parts
    kept already are not read again."""
    from .storage import open_for_reading
    ix = open_for_reading(Path(folder))
    with ix.reader() as reader, Store(folder, write=True) as store:
        key = commit_key(reader)
        wanted = {f"{kind}@{key}" for kind in commit_parts}
        for leaf in leaves(reader):
            sid = segment_id(leaf)
            if sid is not None:
                wanted.update(f"{kind}:{sid}" for kind in SEGMENT_PARTS)
        if not all(store.has(name) for name in wanted):
            for kind, compute in commit_parts.items():
                commit_part(store, reader, kind, compute)
            for leaf in leaves(reader):
                for kind in SEGMENT_PARTS:
                    if not store.has(f"{kind}:{segment_id(leaf)}"):
                        segment_part(store, leaf, kind)
        store.keep(wanted)


# Parts that columns make ---------------------------------------------------------------------

def value_hash(value: str) -> int:
    """A 64-bit hash of a column value (0 for none)."""
    if not value:
        return _NO_VALUE
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True) or 1


def column_hashes(field: str):
    """compute(leaf) for `segment_part`: {"hashes": value_hash of each document's `field`}."""
    def compute(leaf) -> dict:
        import numpy as np
        count = leaf.doc_count_all()
        if not leaf.has_column(field):
            return {"hashes": np.zeros(count, dtype=np.int64)}
        return {"hashes": np.fromiter((value_hash(v) for v in leaf.column_reader(field)),
                                      dtype=np.int64, count=count)}
    return compute


def column_codes(field: str, *, translate: bool = True):
    """compute(leaf) for `segment_part`: {"values": the distinct values of `field`, "codes":
    each document's value's place among them}."""
    def compute(leaf) -> dict:
        import numpy as np
        count = leaf.doc_count_all()
        values: dict = {}
        column = leaf.column_reader(field, translate=translate) if leaf.has_column(field) else [None] * count
        codes = np.fromiter((values.setdefault(v, len(values)) for v in column), dtype=np.int32, count=count)
        return {"values": list(values), "codes": codes}
    return compute


def term_codes(field: str):
    """compute(leaf) for `segment_part`: {"values": the words of an indexed `field`, "codes":
    each document's word's place among them (-1: none)}: for a field of one word a document."""
    def compute(leaf) -> dict:
        import numpy as np
        codes = np.full(leaf.doc_count_all(), -1, dtype=np.int32)
        values: list[str] = []
        if field in leaf.schema:
            for term in leaf.lexicon(field):
                ids = list(leaf.postings(field, term).all_ids())
                codes[np.asarray(ids, dtype=np.int64)] = len(values)
                values.append(term.decode("utf-8", "surrogateescape"))
        return {"values": values, "codes": codes}
    return compute


def column_numbers(field: str):
    """compute(leaf) for `segment_part`: {"numbers": each document's `field` as its column
    stores it (an unsigned 64-bit integer: a date's ticks, the field's default when none), or
    none at all when the segment has no such column}."""
    def compute(leaf) -> dict:
        import numpy as np
        count = leaf.doc_count_all()
        if not leaf.has_column(field):
            return {"numbers": np.zeros(0, dtype=np.uint64)}
        return {"numbers": np.fromiter(leaf.column_reader(field, translate=False), dtype=np.uint64, count=count)}
    return compute


# The parts kept for every segment (the schema's columns that passes over whole commits read):
# stories by their hashes (grouping's table), the rest for `search stats`.
SEGMENT_PARTS = {
    "hashes.story": column_hashes("story"),
    "codes.source": column_codes("source"),
    "codes.section": column_codes("section"),
    "codes.format": column_codes("format"),
    "numbers.date": column_numbers("date"),
    "terms.path": term_codes("path"),
}
