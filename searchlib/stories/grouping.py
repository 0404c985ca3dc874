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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from ..dates import isoformat, to_utc_aware
from ..errors import ArticleNotFoundError
from .fields import STORY_FIELD

EDITED_FROM = 0.6  # a paragraph of a copy at least this like one of the original's is "edited"
_cache: dict = {}   # (segment id, deleted count) → articles beyond one per story in the segment


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
    reader = searcher.reader()
    if not story or (STORY_FIELD, story) not in reader:
        return []
    return list(reader.postings(STORY_FIELD, story).all_ids())


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


def extra_copies(reader) -> int:
    """At most how many articles of the index are not the only one of their story (0: no story
    has two): how far beyond a page a collapsed search may have to look. Counted per segment
    from its `story` terms' document frequencies (deleted articles included, so never too few)
    and remembered per segment."""
    if STORY_FIELD not in reader.schema:
        return 0
    total = 0
    for segment_reader in _leaves(reader):
        segment = segment_reader.segment() if hasattr(segment_reader, "segment") else None
        key = (segment.segment_id(), segment.deleted_count()) if segment is not None else None
        extra = _cache.get(key) if key is not None else None
        if extra is None:
            extra = sum(info.doc_frequency() - 1 for _, info in segment_reader.iter_field(STORY_FIELD)
                        if info.doc_frequency() > 1)
            if key is not None:
                if len(_cache) > 10_000:
                    _cache.clear()
                _cache[key] = extra
        total += extra
    return total


def _leaves(reader) -> list:
    if reader.is_atomic():
        return [reader]
    return [sub for sub, _ in reader.leaf_readers()]


def collapse(reader, ranked: list, total: int, *, key=lambda item: item[0].docnum) -> tuple[list, int]:
    """The ranked items with only the first of each story (an article with no story is one of
    its own), and the number of stories among the `total` matches (exact when `ranked` holds
    every match, or when no story has two: see `extra_copies`)."""
    if STORY_FIELD not in reader.schema or not reader.has_column(STORY_FIELD):
        return ranked, total
    column = reader.column_reader(STORY_FIELD)
    seen: set = set()
    kept = []
    for item in ranked:
        docnum = key(item)
        story = column[docnum] or ("#", docnum)
        if story in seen:
            continue
        seen.add(story)
        kept.append(item)
    return kept, total - (len(ranked) - len(kept))


def annotate(searcher, hits: Iterable) -> None:
    """Set each hit's `story`, `copies` (articles in its story, itself included) and `outlets`
    (the other copies' distinct sources, the first published first)."""
    for hit in hits:
        docnum = searcher.document_number(id=hit.id)
        story = searcher.stored_fields(docnum).get(STORY_FIELD) if docnum is not None else None
        members = _members(searcher, story) if story else []
        hit.story, hit.copies = story, max(1, len(members))
        others = sorted((searcher.stored_fields(d) for d in members if d != docnum), key=_order)
        outlets: list[str] = []
        for other in others:
            source = other.get("source")
            if source and source not in outlets and source != hit.source:
                outlets.append(source)
        hit.outlets = outlets
