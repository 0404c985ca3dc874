"""Stats: a summary of what an index holds — size, articles, date span, top sources and sections.

Stage: reading (the `search stats` command). Reads stored fields once, without the bodies'
analysis; cheap enough for an interactive command on tens of thousands of articles.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..dates import isoformat, to_utc_aware

TOP = 10


@dataclass
class IndexStats:
    path: Path
    articles: int
    files: int
    size_bytes: int
    undated: int
    first_date: datetime | None
    last_date: datetime | None
    sources: list[tuple[str, int]] = field(default_factory=list)
    sections: list[tuple[str, int]] = field(default_factory=list)
    formats: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "path": str(self.path), "articles": self.articles, "files": self.files,
            "size_bytes": self.size_bytes, "undated": self.undated,
            "first_date": isoformat(self.first_date), "last_date": isoformat(self.last_date),
            "sources": dict(self.sources), "sections": dict(self.sections), "formats": dict(self.formats),
        }


_COLUMNS = ("source", "section", "format", "date")


def compute_stats(searcher, path: Path) -> IndexStats:
    """The summary of what `searcher` (open on the index at `path`) sees; the size is that of the
    files in the folder now (one deleted meanwhile by a commit counts as gone). Counts come from
    the sortable columns and the files from the `path` words, segment by segment, live articles
    only: reading every stored article (bodies and all) grew with the archive's text."""
    sources, sections, formats, files = Counter(), Counter(), Counter(), set()
    dates: list[datetime] = []  # the first and last of each segment
    dated = 0
    date_field = searcher.schema["date"]
    for leaf, _ in searcher.reader().leaf_readers():
        live = list(leaf.all_doc_ids())
        if not all(leaf.has_column(name) for name in _COLUMNS):  # (a segment without them)
            for n in live:
                fields = leaf.stored_fields(n)
                sources[fields.get("source") or "(none)"] += 1
                sections[fields.get("section") or "(none)"] += 1
                formats[fields.get("format") or "(unknown)"] += 1
                files.add(fields.get("path"))
                if isinstance(fields.get("date"), datetime):
                    dates.append(fields["date"])
                    dated += 1
            continue
        for name, counts, missing in (("source", sources, "(none)"), ("section", sections, "(none)"),
                                      ("format", formats, "(unknown)")):
            values = list(leaf.column_reader(name))
            counts.update(values[n] or missing for n in live)
        raw = list(leaf.column_reader("date", translate=False))
        known = [raw[n] for n in live if raw[n] is not None and raw[n] != date_field.default]
        if known:
            dates.extend(date_field.from_column_value(v) for v in (min(known), max(known)))
            dated += len(known)
        is_live = set(live) if leaf.has_deletions() else None
        for term in leaf.lexicon("path"):
            if is_live is None or any(n in is_live for n in leaf.postings("path", term).all_ids()):
                files.add(term.decode("utf-8"))
    articles = searcher.doc_count()
    size = 0
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    size += entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
    return IndexStats(
        path=Path(path), articles=articles, files=len(files), size_bytes=size,
        undated=articles - dated,
        first_date=to_utc_aware(min(dates)) if dates else None,
        last_date=to_utc_aware(max(dates)) if dates else None,
        sources=sources.most_common(TOP), sections=sections.most_common(TOP),
        formats=formats.most_common(),
    )
