"""Merging: which segments an indexing run merges when it commits, within a budget of its own size.

Stage: indexing. Each commit of an incremental run writes a new segment, and a query looks each
of its words up, and reads its postings, once per segment: an index grown by months of small cron
runs must keep few segments to answer as fast as a rebuilt one. Whoosh's default (MERGE_SMALL)
keeps few segments, but now and then makes one small run merge most of the index, all of it held
in memory at once (README, "Cron", has the figures).

The policy (README, "Cron"): segments are put in levels by their article count (deleted ones
included, since they are read too): level 0 up to FLOOR articles, level k up to FLOOR x FACTOR**k.
When a level holds FACTOR segments or more, its smallest ones are merged into the commit's new
segment, the lowest such level first, one group per commit. A run merges at most
`budget(articles)` articles in all: BUDGET_PER_ARTICLE times the articles it wrote itself, and
at least MIN_BUDGET. So a merge's cost has a ceiling, and segments grow by merging up to the size
a run's budget allows; larger groups are left to a larger run (a backfill) or to a rebuild.
MIN_BUDGET trades the two: a small run that merges MIN_BUDGET articles takes many times one that
merges nothing, and a lower one leaves more segments, each costing every query (README, "Scale",
months of cron, has both measured).

Crash-safe as every commit: the merged segments' articles are written into the commit's new
segment, and the table of contents that drops the old segments is the commit itself (written
under a temporary name, synced, renamed; storage.py): a run killed before it leaves the last
commit whole, and a run killed after it has lost nothing.
"""
from __future__ import annotations

import math
from typing import Callable

FACTOR = 4            # segments of one level that make a merge (and the ratio of level sizes)
FLOOR = 1000          # articles: the segments up to this size are level 0
BUDGET_PER_ARTICLE = 4
MIN_BUDGET = 5000     # articles a run may merge whatever it wrote


def budget(articles: int) -> int:
    """The articles a run that wrote `articles` may merge."""
    return max(BUDGET_PER_ARTICLE * articles, MIN_BUDGET)


def level(size: int, floor: int | None = None, factor: int | None = None) -> int:
    """A segment's level: 0 up to `floor` articles, then one more for each `factor` times that."""
    floor, factor = floor or FLOOR, factor or FACTOR
    if size <= floor:
        return 0
    return max(0, math.ceil(math.log(size / floor, factor) - 1e-9))


def plan(sizes: list[int], allowed: int, floor: int | None = None, factor: int | None = None) -> list[int]:
    """Which of the segments of `sizes` (article counts) to merge now, as indexes into `sizes`
    (none, or at least two): the smallest segments of the lowest level holding `factor` or more,
    as many as `allowed` articles cover."""
    floor, factor = floor or FLOOR, factor or FACTOR
    levels: dict[int, list[int]] = {}
    for i, size in enumerate(sizes):
        levels.setdefault(level(size, floor, factor), []).append(i)
    for lvl in sorted(levels):
        members = sorted(levels[lvl], key=lambda i: (sizes[i], i))
        if len(members) < factor:
            continue
        chosen, total = [], 0
        for i in members:
            if total + sizes[i] > allowed:
                break
            chosen.append(i)
            total += sizes[i]
        if len(chosen) >= 2:
            return chosen
    return []


def merge_policy(allowed: int, merged: Callable[[int], None]) -> Callable:
    """A Whoosh merge function (a writer's `commit(mergetype=...)`) following `plan` within
    `allowed` articles; `merged(n)` is told how many articles it merged."""

    def merge_segments(writer, segments):
        from whoosh.reading import SegmentReader

        from ..engine.segments import add_segment
        sizes = [segment.doc_count_all() for segment in segments]
        chosen = set(plan(sizes, allowed))
        if not chosen:
            return segments
        for i in sorted(chosen):
            with SegmentReader(writer.storage, writer.schema, segments[i]) as reader:
                add_segment(writer, reader)
        merged(sum(sizes[i] for i in chosen))
        return [segment for i, segment in enumerate(segments) if i not in chosen]

    return merge_segments
