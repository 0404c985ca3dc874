"""Linking: which story an article being indexed belongs to, found through the index itself.

Stage: stories (indexing side). Each article is written with a story id (field `story`), and
its LSH band keys (signatures.py) go to the index's band table (bands.py). To write an article,
the Linker looks its band keys up in that table (the ids found checked against the index's last
commit) and among the articles written since (not committed yet), checks each candidate exactly
(shared shingles: a copy when Jaccard >= JACCARD or the shorter text is at least CONTAINED
inside the longer one) within WINDOW_DAYS of its date, and takes the story of the most similar;
with none, the article starts a story of its own. Stories live in the index's commits and the
band keys in the table written just before each commit: a run killed before a commit loses
nothing that the next run does not redo, and a copy indexed months later finds its story by a
look-up. A story id is opaque and stays with the story; its *first-published* article is the
earliest dated one still indexed (querying, grouping.py), so deleting it hands the story on.
Indexes written before the band table hold their keys as terms of a `bands` field: those are
looked up too.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import numpy as np

from .fields import BANDS_FIELD, STORY_FIELD
from .signatures import band_keys, band_terms, shingle_hashes, similarity

JACCARD = 0.4        # a copy: at least 40 % of the two texts' shingles shared ...
CONTAINED = 0.6      # ... or the shorter text's shingles 60 % inside the longer (cut paragraphs)
WINDOW_DAYS = 3      # copies are looked for within 3 days either side (undated: any date)
MOST_CANDIDATES = 50  # candidates checked per article, those sharing the most band keys first
PENDING_MOST = 20_000  # articles written since the last commit that are remembered for lookups
COMMITTED_MOST = 5_000  # committed candidates remembered (their shingles) until the next commit


def story_text(title: str | None, summary: str | None, body: str | None) -> str:
    """What copies share: the body (the summary when there is none); the headline is what
    outlets change most, so it is left out."""
    return body or summary or ""


def new_story_id(article_id: str) -> str:
    """A story id for a story that `article_id` starts: opaque, stable for the same article."""
    return "s" + hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@dataclass(slots=True)
class Signed:
    """An article with its story text's shingle hashes and band keys, made where it was parsed
    (a worker process) so that the one writer does not make them (Linker.fields takes them)."""

    article: object
    hashes: np.ndarray
    keys: list[int]


def signed(article) -> Signed:
    """`article` (a searchlib Article) with its shingle hashes and band keys."""
    hashes = shingle_hashes(story_text(article.title, article.summary, article.body))
    return Signed(article, hashes, band_keys(hashes))


@dataclass
class _Written:
    """An article written since the last commit, as a candidate for the ones after it."""

    id: str
    story: str
    date: datetime | None
    hashes: np.ndarray


def within_window(one: datetime | None, other: datetime | None, days: float = WINDOW_DAYS) -> bool:
    """Whether two dates are close enough for copies (an undated article may be a copy of any)."""
    if one is None or other is None:
        return True
    one, other = one.replace(tzinfo=None), other.replace(tzinfo=None)
    return abs(one - other) <= timedelta(days=days)


def is_copy(one: np.ndarray, other: np.ndarray) -> tuple[bool, float]:
    """Whether two shingle-hash sets are copies of one story, and how similar (the Jaccard)."""
    jaccard, contained = similarity(one, other)
    return jaccard >= JACCARD or contained >= CONTAINED, jaccard


class Linker:
    """Story ids for the articles of one indexing run. `searcher_of()` gives a Whoosh searcher
    on the index's last commit (a new object after each commit, which makes what was written
    before it visible there, so the Linker then forgets it); `tables()` the band tables
    (bands.Bands) of what that commit holds (one per shard of a sharded index). A run that
    began on an empty index (a first build, a rebuild) wrote every article committed since
    itself: while it remembers them all (at most PENDING_MOST), it keeps them across commits
    and looks nothing up (a look-up costs a query of the table and an id look-up per article
    found). Nor does any run while the last commit holds no article (a parallel rebuild's
    worker, which never commits: the committing process links its articles afterwards)."""

    def __init__(self, searcher_of: Callable[[], object], tables: Callable[[], list] = lambda: []):
        self._searcher_of = searcher_of
        self._tables = tables
        self._searcher = None
        self._pending: list[_Written] = []
        self._by_band: dict[int, list[int]] = {}
        self._seen: dict[int, tuple] = {}  # committed candidates read since the last commit
        self._own = None  # True: the run began on an empty index and remembers all it wrote

    def fields(self, article_id: str, text: str, date: datetime | None,
               signature: Signed | None = None) -> dict:
        """The `story` field for an article about to be written, and under BANDS_FIELD its band
        keys (a list, for the band table: not a field of the index); its `text`'s hashes and
        keys taken from `signature` when one was made where it was parsed."""
        if signature is not None:
            hashes, keys = signature.hashes, signature.keys
        else:
            hashes = shingle_hashes(text)
            keys = band_keys(hashes)
        story = self._story_of(article_id, hashes, keys, date) if keys else None
        story = story or new_story_id(article_id)
        if keys:
            self._remember(_Written(article_id, story, date, hashes), keys)
        doc = {STORY_FIELD: story}
        if keys:
            doc[BANDS_FIELD] = keys
        return doc

    def _remember(self, written: _Written, keys: list[int]) -> None:
        if len(self._pending) >= PENDING_MOST:  # (bounded memory: a rebuild's worker never commits)
            self._pending, self._by_band = [], {}
            self._own = False  # (what it forgot is looked up in the commits from now on)
        self._pending.append(written)
        for key in keys:
            self._by_band.setdefault(key, []).append(len(self._pending) - 1)

    def _current(self):
        searcher = self._searcher_of()
        if self._own is None:
            self._own = searcher is None or searcher.doc_count_all() == 0
        if searcher is not self._searcher:  # a commit since: what was pending is in it now
            self._searcher, self._seen = searcher, {}
            if not self._own:
                self._pending, self._by_band = [], {}
        return searcher

    def _looked_up(self, searcher, keys: list[int]) -> dict[int, int]:
        """The committed articles that share band keys with `keys`: docnum → how many (ids in
        the band tables that the last commit does not hold are left out)."""
        shared: dict[int, int] = {}
        for table in self._tables():
            for article_id, count in table.look_up(keys).items():
                docnum = searcher.document_number(id=article_id)
                if docnum is not None:
                    shared[docnum] = shared.get(docnum, 0) + count
        return shared

    @staticmethod
    def _terms_looked_up(reader, terms: list[str]) -> dict[int, int]:
        """As _looked_up, in an index written before the band table (its `bands` terms)."""
        shared: dict[int, int] = {}
        for term in terms:
            if (BANDS_FIELD, term) in reader:
                for docnum in reader.postings(BANDS_FIELD, term).all_ids():
                    shared[docnum] = shared.get(docnum, 0) + 1
        return shared

    def _committed(self, searcher, docnum: int, date: datetime | None) -> tuple:
        """(id, story, date, shingle hashes) of a committed article, the hashes None when it is
        not within the window of `date` (its text is then not read again); remembered (up to
        COMMITTED_MOST) until the next commit: the articles of a template (a daily report) are
        candidates of many others."""
        found = self._seen.get(docnum)
        if found is None:
            stored = searcher.stored_fields(docnum)
            found = [stored.get("id"), stored.get(STORY_FIELD), stored.get("date"), None, stored]
            if len(self._seen) >= COMMITTED_MOST:
                self._seen.clear()
            self._seen[docnum] = found
        if found[3] is None and found[1] and within_window(date, found[2]):
            stored = found[4]
            found[3] = shingle_hashes(story_text(stored.get("title"), stored.get("summary"), stored.get("body")))
            found[4] = None  # (the hashes kept, not the text)
        return found[0], found[1], found[2], found[3]

    def _story_of(self, article_id: str, hashes: np.ndarray, keys: list[int],
                  date: datetime | None) -> str | None:
        searcher = self._current()
        shared: dict[tuple[str, int], int] = {}  # ("c", docnum) committed / ("p", i) pending
        if searcher is not None and not self._own and searcher.doc_count_all():
            for docnum, count in self._looked_up(searcher, keys).items():
                shared[("c", docnum)] = count
            if BANDS_FIELD in searcher.schema:  # (written before the band table)
                for docnum, count in self._terms_looked_up(searcher.reader(), band_terms(hashes)).items():
                    shared[("c", docnum)] = max(shared.get(("c", docnum), 0), count)
        for key in keys:
            for i in self._by_band.get(key, ()):
                shared[("p", i)] = shared.get(("p", i), 0) + 1
        best, best_jaccard = None, -1.0
        for (kind, number), _ in sorted(shared.items(), key=lambda item: -item[1])[:MOST_CANDIDATES]:
            if kind == "p":
                other = self._pending[number]
                other_id, other_story, other_date, other_hashes = other.id, other.story, other.date, other.hashes
            else:
                other_id, other_story, other_date, other_hashes = self._committed(searcher, number, date)
                if not other_story or other_hashes is None:
                    continue
            if other_id == article_id and kind == "p":
                continue
            if not within_window(date, other_date):
                continue
            copy, jaccard = is_copy(hashes, other_hashes)
            if copy and jaccard > best_jaccard:
                best, best_jaccard = other_story, jaccard
        return best
