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
from ..engine.summaries import leaves, live_mask, reading, segment_part

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
_COUNTED = (("source", "(none)"), ("section", "(none)"), ("format", "(unknown)"))


def compute_stats(searcher, path: Path) -> IndexStats:
    """The summary of what `searcher` (open on the index at `path`) sees; the size is that of the
    files in the folder now (one deleted meanwhile by a commit counts as gone). Counts come from
    each segment's column values (read once a segment: engine.summaries keeps them beside the
    index) and its `path` words, live articles only: reading every stored article (bodies and
    all) grew with the archive's text, and a pass over the columns with its articles."""
    import numpy as np
    sources, sections, formats, files = Counter(), Counter(), Counter(), set()
    dates: list[datetime] = []  # the first and last of each segment
    dated = 0
    date_field = searcher.schema["date"]
    reader = searcher.reader()
    with reading(reader) as store:
        for leaf in leaves(reader):
            if not all(leaf.has_column(name) for name in _COLUMNS):  # (a segment without them)
                dated += _count_stored(leaf, sources, sections, formats, files, dates)
                continue
            live = live_mask(leaf)
            for (name, missing), counts in zip(_COUNTED, (sources, sections, formats)):
                part = segment_part(store, leaf, f"codes.{name}")
                for value, n in zip(part["values"], np.bincount(part["codes"][live], minlength=len(part["values"]))):
                    if n:
                        counts[value or missing] += int(n)
            numbers = segment_part(store, leaf, "numbers.date")["numbers"]
            known = numbers[live & (numbers != np.uint64(date_field.default))]
            if len(known):
                dates.extend(date_field.from_column_value(int(v)) for v in (known.min(), known.max()))
                dated += len(known)
            part = segment_part(store, leaf, "terms.path")
            codes = part["codes"][live]
            files.update(part["values"][c] for c in np.unique(codes[codes >= 0]))
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


def _count_stored(leaf, sources: Counter, sections: Counter, formats: Counter, files: set,
                  dates: list) -> int:
    """compute_stats for a segment written without the columns: from its stored fields; the
    number of its live articles that have a date."""
    dated = 0
    for n in leaf.all_doc_ids():
        fields = leaf.stored_fields(n)
        sources[fields.get("source") or "(none)"] += 1
        sections[fields.get("section") or "(none)"] += 1
        formats[fields.get("format") or "(unknown)"] += 1
        files.add(fields.get("path"))
        if isinstance(fields.get("date"), datetime):
            dates.append(fields["date"])
            dated += 1
    return dated
