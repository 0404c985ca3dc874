"""Stamps: when an article's current text entered the index, for watches ("what is new").

Stage: indexing. Each update run that writes anything takes one stamp, a whole number of
microseconds since 1970 that is later than the run's clock and than every watch's cursor
(so a clock set back can never hide an article from a watch), and gives it to the `entered`
field of each article it writes whose text is new to the index. An article written again with
the same title, summary and body keeps the stamp it had (`Carried`), also across a rebuild,
which looks its articles up in the index it replaces; a changed one, a new one and an old one
indexed late get the run's stamp.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

ENTERED = "entered"               # the schema's field
WATCHES_FILE = "watches.json"     # the watches and their cursors (searchlib.alerts.watches)


def text_key(title: str | None, summary: str | None, body: str | None) -> bytes:
    """What "the same text" means for keeping a stamp: the title, summary and body."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (title, summary, body):
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()


def highest_cursor(index_dir: Path) -> int:
    """The highest cursor of the watches kept in `index_dir` (0 if none can be read)."""
    try:
        with open(Path(index_dir) / WATCHES_FILE, "rb") as file:
            data = json.loads(file.read().decode("utf-8"))
        return max((int(w.get("cursor") or 0) for w in data.get("watches", {}).values()), default=0)
    except (OSError, ValueError, AttributeError, TypeError):
        return 0


def new_stamp(*index_dirs: Path | None) -> int:
    """A stamp for this run: now (µs), or later than every watch cursor in these folders."""
    floor = max((highest_cursor(d) for d in index_dirs if d is not None), default=0)
    return max(time.time_ns() // 1000, floor + 1)


class Carried:
    """The stamps an update may keep: each article's (stamp, text key) as it was before this run
    replaced or deleted it (`remember`), else looked up by id in `searcher` (the last commit, or
    during a rebuild the index being replaced)."""

    def __init__(self, searcher_of=None):
        self._searcher_of = searcher_of  # () -> a Whoosh searcher or None
        self._known: dict[str, tuple[int, bytes]] = {}

    def remember(self, searcher, path: str) -> None:
        """Note the stamps of the articles indexed from `path` before they are deleted."""
        if searcher is None or ENTERED not in searcher.schema:
            return
        for fields in searcher.documents(path=path):
            entered = fields.get(ENTERED)
            if entered:
                self._known[fields["id"]] = (entered, text_key(fields.get("title"), fields.get("summary"),
                                                               fields.get("body")))

    def forget(self) -> None:
        """Drop what `remember` noted (the files it was noted for are written)."""
        self._known.clear()

    def stamp(self, article, stamp: int) -> int:
        """The article's stamp: its old one if its text is the same, else `stamp`."""
        old = self._known.get(article.id)
        if old is None and self._searcher_of is not None:
            searcher = self._searcher_of()
            if searcher is not None and ENTERED in searcher.schema:
                fields = searcher.document(id=article.id)
                if fields and fields.get(ENTERED):
                    old = (fields[ENTERED], text_key(fields.get("title"), fields.get("summary"),
                                                     fields.get("body")))
        if old is not None and old[1] == text_key(article.title, article.summary, article.body):
            return old[0]
        return stamp


def previous_searcher(index_dir: Path | None):
    """A searcher on the index at `index_dir` (a rebuild's old index), or None if there is none
    this code can read (another schema, no index)."""
    if index_dir is None or not os.path.isdir(index_dir):
        return None
    from ..engine.storage import open_for_reading
    try:
        return open_for_reading(Path(index_dir)).searcher()
    except Exception:  # an index of another version: nothing carried over, every article is new
        return None
