"""Relinking: the stories of a fresh index written by several processes at once, joined.

Stage: stories (indexing side), after a parallel rebuild (indexing/building.py). Each worker
links the copies among the files it wrote, but not those another worker wrote. Here, every
band key (the band table's, bands.py) shared by articles of different stories is looked at
once: pairs that are copies (linking.is_copy, within the window) join their stories, each
joined group taking the story of its earliest article, and the articles whose story changes
are written again with it (their stored fields, `entered` stamp included, unchanged), in one
more commit.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..engine.schema import to_article, to_document
from ..engine.writer import open_writer
from .bands import Bands
from .fields import STORY_FIELD
from .linking import is_copy, story_text, within_window
from .signatures import shingle_hashes

HASHES_KEPT = 20_000  # articles whose shingle hashes are kept for the next pairs (bounded memory)


class Groups:
    """Union-find over stories."""

    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, story: str) -> str:
        root = story
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while story != root:  # (path compression: each story on the way points at the root)
            step = self.parent[story]
            self.parent[story] = root
            story = step
        return root

    def join(self, one: str, other: str) -> None:
        a, b = self.find(one), self.find(other)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _order(fields: dict):
    date = fields.get("date")
    return (date is None, date or datetime.min, fields.get("id", ""))


def _shared_keys(searcher, table: Bands):
    """For each band key of two or more articles, their document numbers in the index (ids in
    the table that it does not hold left out)."""
    for ids in table.shared():
        docs = [searcher.document_number(id=article_id) for article_id in ids]
        docs = sorted(d for d in docs if d is not None)
        if len(docs) > 1:
            yield docs


def relink(ix, table: Path) -> int:
    """Join the stories of copies that were written apart (their band keys in the band table at
    `table`, the index's files.sqlite); returns the articles rewritten."""
    if STORY_FIELD not in ix.schema:
        return 0
    groups = Groups()
    with ix.searcher() as searcher, Bands(table, read_only=True) as bands:
        reader = searcher.reader()
        if not reader.has_column(STORY_FIELD):
            return 0
        column = reader.column_reader(STORY_FIELD)
        hashes: dict[int, object] = {}
        checked: set[tuple[int, int]] = set()

        def shingles(docnum: int):
            if docnum not in hashes:
                if len(hashes) >= HASHES_KEPT:  # (else they would grow with the archive)
                    hashes.clear()
                stored = searcher.stored_fields(docnum)
                hashes[docnum] = (shingle_hashes(story_text(stored.get("title"), stored.get("summary"),
                                                            stored.get("body"))), stored.get("date"))
            return hashes[docnum]

        for docs in _shared_keys(searcher, bands):
            stories = {column[d] for d in docs}
            if len(stories) < 2:
                continue
            for i, one in enumerate(docs):
                for other in docs[i + 1:]:
                    if groups.find(column[one]) == groups.find(column[other]) or (one, other) in checked:
                        continue
                    checked.add((one, other))
                    (a, a_date), (b, b_date) = shingles(one), shingles(other)
                    if within_window(a_date, b_date) and is_copy(a, b)[0]:
                        groups.join(column[one], column[other])
        joined = set(groups.parent) | {groups.find(story) for story in groups.parent}
        if not joined:
            return 0
        # each joined group takes the story of its earliest article
        members: dict[str, list[dict]] = {}
        for docnum in range(reader.doc_count_all()):
            if not reader.is_deleted(docnum) and column[docnum] in joined:
                members.setdefault(groups.find(column[docnum]), []).append(searcher.stored_fields(docnum))
        target = {root: min(docs, key=_order).get(STORY_FIELD) for root, docs in members.items()}
        rewrite = [(fields, target[root]) for root, docs in members.items() for fields in docs
                   if fields.get(STORY_FIELD) != target[root]]
    if not rewrite:
        return 0
    writer = open_writer(ix, compound=False)
    try:
        for fields, story in rewrite:
            writer.delete_by_term("id", fields["id"])
            doc = to_document(to_article(fields))
            for name in ("entered",):
                if fields.get(name) is not None and name in ix.schema:
                    doc[name] = fields[name]
            doc[STORY_FIELD] = story  # (its band keys, in the band table, are unchanged)
            writer.add_document(**doc)
        writer.commit(optimize=False, merge=False)
    except BaseException:
        writer.cancel()
        raise
    return len(rewrite)
