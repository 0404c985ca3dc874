"""Revisions: an article's earlier versions, kept when it is reindexed with another text.

Stage: stories (corrections). When a file is reindexed, the articles it held are read before
they are deleted (`Revisions.remember`); an article written again under the same id with
another title, summary or body leaves its old version in the table `revisions` of the index's
`files.sqlite` (the manifest's database), with the time that version entered the index (its
`entered` stamp). Rows are written before the batch's commit: a run killed between the two
leaves a row equal to the version still indexed, which `history` leaves out. At most
MOST_VERSIONS earlier versions and MOST_CHARS characters of them are kept per article, the
oldest dropped first, so an article rewritten every minute cannot grow the index without end.
A rebuild starts a new folder and keeps none. Searches see the current version only.
"""
from __future__ import annotations

import difflib
import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ArticleNotFoundError

ENTERED = "entered"  # the stored field with the time an article's text entered the index

MOST_VERSIONS = 20        # earlier versions kept per article
MOST_CHARS = 1_000_000    # characters of earlier versions kept per article
_TABLE = ("CREATE TABLE IF NOT EXISTS revisions (id TEXT, seen INTEGER, digest BLOB, title TEXT, "
          "summary TEXT, body TEXT, UNIQUE (id, digest))")
_WORD = re.compile(r"\S+")


def text_key(title: str | None, summary: str | None, body: str | None) -> bytes:
    """What "another text" means: the title, summary and body, hashed."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (title, summary, body):
        digest.update((part or "").encode("utf-8", "surrogatepass") + b"\0")
    return digest.digest()


class Revisions:
    """The earlier versions one indexing run keeps (see the module's docstring) in the SQLite
    database at `path` (the index's manifest, files.sqlite)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._known: dict[str, tuple] = {}   # id → (entered, digest, title, summary, body)
        self._pending: list[tuple] = []

    def remember(self, searcher, path: str) -> None:
        """Note the articles indexed from `path` before they are deleted and written again."""
        if searcher is None:
            return
        for fields in searcher.documents(path=path):
            self._known[fields["id"]] = (fields.get(ENTERED), text_key(fields.get("title"), fields.get("summary"),
                                         fields.get("body")), fields.get("title"), fields.get("summary"),
                                         fields.get("body"))

    def note(self, article) -> None:
        """`article` is about to be written: keep its old version if its text changed."""
        old = self._known.pop(article.id, None)
        if old is not None and old[1] != text_key(article.title, article.summary, article.body):
            self._pending.append((article.id, old[0], old[1], old[2], old[3], old[4]))

    def flush(self) -> None:
        """Write the versions noted (before the batch's commit), each article's bounded."""
        if not self._pending:
            return
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(_TABLE)
                db.executemany("INSERT OR IGNORE INTO revisions VALUES (?, ?, ?, ?, ?, ?)", self._pending)
                for article_id in {row[0] for row in self._pending}:
                    _bound(db, article_id)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()
        self._pending.clear()

    def forget(self) -> None:
        """Drop what `remember` noted (the files it was noted for are written)."""
        self._known.clear()


def _bound(db, article_id: str) -> None:
    rows = db.execute("SELECT rowid, length(coalesce(title, '')) + length(coalesce(summary, '')) + "
                      "length(coalesce(body, '')) FROM revisions WHERE id = ? ORDER BY seen DESC, rowid DESC",
                      (article_id,)).fetchall()
    kept = chars = 0
    for rowid, size in rows:
        kept, chars = kept + 1, chars + size
        if kept > MOST_VERSIONS or (chars > MOST_CHARS and kept > 1):
            db.execute("DELETE FROM revisions WHERE rowid = ?", (rowid,))


@dataclass
class Version:
    """One version of an article: when it entered the index, its title, and the word diff from
    the version before it (`(op, text)` pairs: "=" kept, "-" removed, "+" added; empty for the
    first)."""

    seen: datetime | None
    title: str
    text: str
    current: bool = False
    diff: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"seen": self.seen.isoformat().replace("+00:00", "Z") if self.seen else None,
                "title": self.title, "current": self.current, "diff": [list(pair) for pair in self.diff]}


@dataclass
class History:
    """An article's versions, the oldest first, the current one last."""

    id: str
    versions: list[Version]


def _when(stamp) -> datetime | None:
    return datetime.fromtimestamp(stamp / 1_000_000, tz=timezone.utc) if stamp else None


def _text(title, summary, body) -> str:
    return "\n".join(part for part in (title, summary, body) if part)


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """The word-level difference of two texts: ("=", kept), ("-", removed), ("+", added)."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", " ".join(b[j1:j2])))
    return out


def history(searcher, path: Path, article_id: str) -> History:
    """The versions of the article with this id (ArticleNotFoundError if it is not indexed),
    the earlier ones read from the database at `path` (the index's files.sqlite)."""
    fields = searcher.document(id=article_id)
    if fields is None:
        raise ArticleNotFoundError(article_id)
    current = text_key(fields.get("title"), fields.get("summary"), fields.get("body"))
    rows = []
    path = Path(path)
    if path.exists():
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'revisions'").fetchone():
                rows = db.execute("SELECT seen, digest, title, summary, body FROM revisions WHERE id = ? "
                                  "ORDER BY seen, rowid", (article_id,)).fetchall()
        finally:
            db.close()
    versions = [Version(_when(seen), title or "", _text(title, summary, body))
                for seen, digest, title, summary, body in rows if digest != current]
    versions.append(Version(_when(fields.get(ENTERED)), fields.get("title", ""),
                            _text(fields.get("title"), fields.get("summary"), fields.get("body")), current=True))
    for before, after in zip(versions, versions[1:]):
        after.diff = word_diff(before.text, after.text)
    return History(id=article_id, versions=versions)
