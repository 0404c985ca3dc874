"""Grouping: search results collapsed to one hit per story, and a story's copies listed.

Stage: stories (querying side). Articles carry the id of their story (field `story`, set at
indexing time by linking.py). A search keeps the best-ranked article of each story and says
how many copies the story has and in which other outlets; `story_of` lists every copy, the
first published first (the earliest dated article still indexed: deleting it hands the story
to the next), with what each changed against it (headline, paragraphs added, cut or edited).
"""
from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from ..dates import isoformat, to_utc_aware
from ..engine.summaries import commit_key, commit_part, leaves, live_mask, reading, segment_part, value_hash
from ..errors import ArticleNotFoundError
from .fields import STORY_FIELD

EDITED_FROM = 0.6  # a paragraph of a copy at least this like one of the original's is "edited"
_cache: dict = {}   # a commit's key (summaries.commit_key) → its _Table
STORY_HASHES = "hashes.story"  # the segments' part (summaries.SEGMENT_PARTS)
STORY_TABLE = "stories"  # the commit's part: its _Table


@dataclass
class Changes:
    """What a copy changed against the first-published article: its headline (None when the
    same), and the paragraphs it added, cut or edited (paragraph texts)."""

    headline: str | None = None
    added: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)

    @property
    def none(self) -> bool:
        return self.headline is None and not (self.added or self.cut or self.edited)

    def to_dict(self) -> dict:
        return {"headline": self.headline, "added": self.added, "cut": self.cut, "edited": self.edited}


@dataclass
class Copy:
    """One article of a story."""

    id: str
    title: str
    source: str | None
    date: datetime | None
    url: str | None
    first: bool = False
    changes: Changes = field(default_factory=Changes)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "source": self.source,
                "date": isoformat(self.date), "url": self.url, "first": self.first,
                "changes": self.changes.to_dict()}


@dataclass
class Story:
    """A story: its id and its copies, the first published first."""

    id: str
    copies: list[Copy]

    @property
    def first(self) -> Copy:
        return self.copies[0]


def _members(searcher, story: str) -> list[int]:
    """The live articles of a story of two or more (none for one of a single article)."""
    return table(searcher.reader()).members.get(story, []) if story else []


def story_members(reader, stories: list[str]) -> dict[str, list[int]]:
    """The live articles (document numbers, in order) of each of `stories` that has any: a story
    of two or more from the index's _Table; one of a single article (in this index: a shard's
    story may have copies in others) from the segments' story hashes, confirmed on the column.
    The story field has no terms (schema version 8): a term an article, they were a twelfth of
    the index's entries."""
    import numpy as np
    shared = table(reader).members
    found = {story: shared[story] for story in stories if story in shared}
    wanted = {value_hash(story): story for story in stories if story and story not in shared}
    if not wanted:
        return found
    keys = np.fromiter(wanted, dtype=np.int64, count=len(wanted))
    offset = 0
    with reading(reader) as store:
        for leaf in leaves(reader):
            hashes = segment_part(store, leaf, STORY_HASHES)["hashes"]
            candidates = np.nonzero(np.isin(hashes, keys) & live_mask(leaf))[0]
            if len(candidates):
                column = leaf.column_reader(STORY_FIELD)
                for d in candidates.tolist():
                    story = column[d]
                    if wanted.get(value_hash(story)) == story:
                        found.setdefault(story, []).append(offset + d)
            offset += leaf.doc_count_all()
    return found


def _order(fields: dict):
    date = fields.get("date")
    return (date is None, date or datetime.min, fields.get("id", ""))


def story_of(searcher, article_id: str) -> Story:
    """The story of the article with this id: all its copies, first published first (undated
    ones last, then by id), each with its changes against the first (ArticleNotFoundError)."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        raise ArticleNotFoundError(article_id)
    fields = searcher.stored_fields(docnum)
    story = fields.get(STORY_FIELD) or ""
    docs = [searcher.stored_fields(d) for d in _members(searcher, story)] or [fields]
    docs.sort(key=_order)
    first = docs[0]
    copies = []
    for number, doc in enumerate(docs):
        date = doc.get("date")
        copies.append(Copy(id=doc.get("id", ""), title=doc.get("title", ""), source=doc.get("source"),
                           date=to_utc_aware(date) if isinstance(date, datetime) else None,
                           url=doc.get("url"), first=number == 0,
                           changes=Changes() if number == 0 else changes(first, doc)))
    return Story(id=story, copies=copies)


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs: its non-empty lines, spaces collapsed."""
    return [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]


def _key(paragraph: str) -> str:
    return " ".join(re.findall(r"\w+", paragraph.lower()))


def changes(original: dict, copy: dict) -> Changes:
    """What `copy` changed against `original` (stored fields): another headline, and the
    paragraphs it added, cut or edited (matched in order, by their words)."""
    title = copy.get("title", "")
    result = Changes(headline=title if _key(title) != _key(original.get("title", "")) else None)
    ours, theirs = paragraphs(original.get("body", "")), paragraphs(copy.get("body", ""))
    matcher = difflib.SequenceMatcher(a=[_key(p) for p in ours], b=[_key(p) for p in theirs], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        cut, added = ours[i1:i2], theirs[j1:j2]
        while cut and added and difflib.SequenceMatcher(a=_key(cut[0]), b=_key(added[0])).ratio() >= EDITED_FROM:
            result.edited.append(added.pop(0))
            cut.pop(0)
        result.cut.extend(cut)
        result.added.extend(added)
    return result


class _Table:
    """The stories of more than one live article in one state of the index: each such article's
    story by document number (`story`; the numbers in order: `docnums`), each such story's
    articles (`members`), and how many articles are not the first of their story (`extra`)."""

    def __init__(self, story: dict[int, str]):
        self.story = story
        self.docnums = sorted(story)
        self.members: dict[str, list[int]] = {}
        for docnum in self.docnums:
            self.members.setdefault(story[docnum], []).append(docnum)
        self.extra = sum(len(docnums) - 1 for docnums in self.members.values())


def shared_stories(reader, store=None) -> dict:
    """The commit part behind _Table: the document numbers of the live articles whose story has
    another live article, and their stories. Found from each segment's story hashes (kept per
    segment: summaries.SEGMENT_PARTS), then confirmed on the stories themselves."""
    import numpy as np
    hashes, live = [], []
    for leaf in leaves(reader):
        hashes.append(segment_part(store, leaf, STORY_HASHES)["hashes"])
        live.append(live_mask(leaf))
    if not hashes:
        return {"stories": [], "docnums": []}
    every, alive = np.concatenate(hashes), np.concatenate(live)
    alive &= every != 0
    found, counts = np.unique(every[alive], return_counts=True)
    candidates = np.nonzero(alive & np.isin(every, found[counts > 1]))[0]
    stories: dict[int, str] = {}
    offset = 0
    for leaf in leaves(reader):
        count = leaf.doc_count_all()
        mine = candidates[(candidates >= offset) & (candidates < offset + count)]
        if len(mine):
            column = leaf.column_reader(STORY_FIELD)
            stories.update((int(d), column[int(d) - offset]) for d in mine)
        offset += count
    counts_by_story: dict[str, int] = {}
    for story in stories.values():
        counts_by_story[story] = counts_by_story.get(story, 0) + 1
    kept = [(d, story) for d, story in stories.items() if counts_by_story[story] > 1]
    return {"stories": [story for _, story in kept], "docnums": [d for d, _ in kept]}


def _fits(part: dict, count: int) -> bool:
    docnums, stories = part.get("docnums"), part.get("stories")
    return (isinstance(docnums, list) and isinstance(stories, list) and len(docnums) == len(stories)
            and all(isinstance(d, int) and 0 <= d < count for d in docnums)
            and all(isinstance(story, str) for story in stories))


def table(reader) -> _Table:
    """The _Table of this state of the index: remembered in the process, and kept beside the
    index by the indexer (summaries.remember) so that a new process need not read every
    article's story; computed from the segments' story hashes when it was not."""
    key = commit_key(reader)
    found = _cache.get(key)
    if found is None:
        with reading(reader) as store:
            part = commit_part(store, reader, STORY_TABLE, shared_stories)
            if not _fits(part, reader.doc_count_all()):  # (not this commit's: made again)
                part = shared_stories(reader, store)
        if len(_cache) >= 4:
            _cache.clear()
        found = _cache[key] = _Table(dict(zip((int(d) for d in part["docnums"]), part["stories"])))
    return found


class StoryTally:
    """How many of a query's matches belong to a story with more than one live article
    (`copies`), and to how many such stories: shown each segment's matches as they are scored
    (ranking.top_matches' `tally`), so that a collapsed page knows how many stories all the
    matches make (`stories_among`) without ranking every match."""

    def __init__(self, reader):
        found = table(reader)
        self._story = found.story
        self._docnums = found.docnums
        self.copies = 0
        self._stories: set[str] = set()

    def __call__(self, offset: int, count: int, scores: dict) -> None:
        start, end = bisect_left(self._docnums, offset), bisect_left(self._docnums, offset + count)
        if start == end:
            return
        if len(scores) < end - start:
            found = [offset + d for d in scores if offset + d in self._story]
        else:
            found = [d for d in self._docnums[start:end] if d - offset in scores]
        self.copies += len(found)
        self._stories.update(self._story[d] for d in found)

    def stories_among(self, total: int) -> int:
        """The stories the `total` matches tallied make (an article of no shared story is one)."""
        return total - (self.copies - len(self._stories))


def extra_copies(reader) -> int:
    """How many matching articles at most a collapsed page may pass over: the live articles
    that are not the first of their story (0: no story has two)."""
    if STORY_FIELD not in reader.schema:
        return 0
    return table(reader).extra


def collapse(reader, ranked: list, total: int, *, key=lambda item: item[0].docnum
             ) -> tuple[list, int | None]:
    """The ranked items with only the first of each story (an article of no story of two is
    one of its own), and the number of stories among the `total` matches: exact when `ranked`
    holds every match or no story has two articles, else None (not counted: it would take
    another pass over the matches)."""
    if STORY_FIELD not in reader.schema:
        return ranked, total
    stories = table(reader)
    if not stories.story:
        return ranked, total
    seen: set = set()
    kept = []
    for item in ranked:
        story = stories.story.get(key(item))
        if story is not None:
            if story in seen:
                continue
            seen.add(story)
        kept.append(item)
    if len(ranked) >= total:
        return kept, total - (len(ranked) - len(kept))
    return kept, None


def annotate(searcher, hits: Iterable, docnums: Iterable[int]) -> None:
    """Set the `story`, `copies` (articles in its story, itself included) and `outlets` (the
    other copies' distinct sources, the first published first) of each hit whose story has
    more than one article (the others keep copies=1); `docnums`: the hits'."""
    reader = searcher.reader()
    if STORY_FIELD not in reader.schema:
        return
    stories = table(reader)
    for hit, docnum in zip(hits, docnums):
        story = stories.story.get(docnum)
        if story is None:  # (its story id, if any, came with its stored fields)
            continue
        members = stories.members[story]
        others = sorted((searcher.stored_fields(d) for d in members if d != docnum), key=_order)
        outlets: list[str] = []
        for other in others:
            source = other.get("source")
            if source and source not in outlets and source != hit.source:
                outlets.append(source)
        hit.story, hit.copies, hit.outlets = story, len(members), outlets
