"""Seen ids: the article ids a run has written and the file each came from (for duplicates).

Stage: indexing. A rebuild's worker never commits, so the ids it remembers grow with the archive:
as a dict of id strings to paths they cost about 150 bytes an article, 75 MB a worker at
1,000,000 articles. Here the newest ids are kept exactly (a dict to a file number) and, each
COMPACT_FROM of them, moved into two sorted NumPy arrays: the ids' hashes and their files'
numbers (12 bytes an article). A hash found there only names a candidate: `confirm(id, path)`
(given by the owner, who can read what a file wrote) says whether that file really wrote the id,
so a collision of hashes never makes a distinct article a duplicate. Without `confirm` every id
is kept exactly (a run that commits often clears them at each commit).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

COMPACT_FROM = 10_000  # exact ids kept before they move to the arrays (a sort of the arrays each time)
id_hash = hash  # an id's 64-bit key in the arrays (this process's string hash: the arrays never leave it)


class SeenIds:
    """article id → the file it was written from, as a dict's `get`, `[]=` and `clear`."""

    def __init__(self, confirm: Callable[[str, Path], bool] | None = None, compact_from: int | None = None):
        self._confirm = confirm
        self._compact_from = COMPACT_FROM if compact_from is None else compact_from
        self._recent: dict[str, int] = {}      # id → file number, not yet in the arrays
        self._paths: list[Path] = []           # file number → path
        self._numbers: dict[Path, int] = {}    # path → file number
        self._hashes = np.empty(0, np.int64)   # sorted hashes of the ids moved out of `_recent`
        self._files = np.empty(0, np.int32)    # the file number of each

    def __setitem__(self, article_id: str, path: Path) -> None:
        number = self._numbers.get(path)
        if number is None:
            number = self._numbers[path] = len(self._paths)
            self._paths.append(path)
        self._recent[article_id] = number
        if self._confirm is not None and len(self._recent) >= self._compact_from:
            self._compact()

    def get(self, article_id: str) -> Path | None:
        """The file that wrote `article_id` (the latest, if several did), or None."""
        number = self._recent.get(article_id)
        if number is not None:
            return self._paths[number]
        if not len(self._hashes):
            return None
        key = id_hash(article_id)
        hashes = self._hashes
        low = high = int(hashes.searchsorted(key))
        while high < len(hashes) and hashes[high] == key:  # (nearly always none: an id not seen)
            high += 1
        for place in range(high - 1, low - 1, -1):  # (latest first: the arrays keep insertion order per hash)
            path = self._paths[self._files[place]]
            if self._confirm(article_id, path):
                return path
        return None

    def clear(self) -> None:
        self._recent.clear()
        self._paths.clear()
        self._numbers.clear()
        self._hashes, self._files = np.empty(0, np.int64), np.empty(0, np.int32)

    def __len__(self) -> int:
        return len(self._recent) + len(self._hashes)

    def _compact(self) -> None:
        """Move the exact ids into the sorted arrays."""
        count = len(self._recent)
        hashes = np.concatenate([self._hashes, np.fromiter(map(id_hash, self._recent), np.int64, count)])
        files = np.concatenate([self._files, np.fromiter(self._recent.values(), np.int32, count)])
        order = np.argsort(hashes, kind="stable")
        self._hashes, self._files = hashes[order], files[order]
        self._recent.clear()
