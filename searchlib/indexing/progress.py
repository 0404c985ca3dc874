"""Progress: how fast an indexing run goes and how long it has left, from its progress calls.

Stage: indexing (the figures; render.progress_line draws them, the CLI shows the line). A run
reports the bytes it has read of the bytes it will read. Bytes are not work: a byte of an HTML
page (mostly markup) costs much less than a byte of text, a small file costs its opening whatever
its size, and after the last file comes work no byte stands for (a rebuild's records merged, its
stories relinked, the summaries written). So the run hands over, with
its total (a `Total`: still the int of bytes), its plan: every file's size and format, in the
order they are read, and how many processes read them. The time left is then each file left at
its format's cost (COSTS, a prior, times the rate seen so far: overall, and per format once enough
of it is done) plus the final phase (its articles, estimated from the plan: final_seconds).

Rates are counted from the first progress call that reports bytes done, not from the run's
start: the time before it (listing and hashing the files, starting the worker processes, the
first files in flight) is paid once, and averaged over the first tenth of a run it would inflate
every later estimate. They are over the whole run since then, not a recent window, which would
swing with each file. Without a plan (a plain int total) the time left is the bytes left at the
rate bytes are being done.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

# What a file of each format costs a rebuild's worker (parse, sign, write), as seconds per MB and
# seconds per file, and how many articles it holds, per MB and per file: only their ratios
# matter (the run's own rate scales them). Measured 2026-12-06 on this project's 2-core machine:
# building._write_from_queue in one process (as a worker runs it), after a warm-up,
# over samples of each format of the scale corpus of scripts/bench_scale.py (10 generated JSON
# Lines files of 1,000 articles, 557 BBC texts, the NewsArticles CSV, 197 HTML pages twice, 10
# Reuters SGML files), seconds fitted by least squares to each file's size and to a constant
# where the files' sizes vary (texts, pages), else the seconds per MB alone.
COSTS = {
    #        s/MB  s/file  articles/MB  articles/file
    "jsonl": (0.76, 0.0, 690.0, 0.0),
    "text": (0.31, 0.0005, 0.0, 1.0),
    "csv": (0.58, 0.0, 283.0, 0.0),
    "html": (0.05, 0.028, 0.0, 1.0),
    "sgml": (0.60, 0.0, 765.0, 0.0),
}
COSTS["json"] = COSTS["jsonl"]  # (one JSON document of articles: read as JSON Lines are)
# What each file costs a rebuild beyond a worker's own work (its listing, hashing and records,
# passing it to a worker), in seconds: the same 1,715 BBC articles as text files (one each) and
# as JSON Lines (one file per topic), the time of a parallel rebuild of all five topics less
# one's, medians of 3 (scripts/bench_eta_parts.py, 2026-12-07): the texts took 0.90 and 0.98 of
# the JSON Lines' time in two runs, where the costs above alone give 0.67, so a text file costs
# 0.42 and 0.57 ms beyond its format's cost (the 30,000 scale corpus's first tenth is its BBC
# texts, which the costs above alone made cheaper than they were).
PER_FILE = 0.0005
OTHER = (0.5, 0.005, 400.0, 0.0)  # a format not measured: about the average of those above
# The work after the last file, in seconds on the machine COSTS were measured on, of three parts
# (cProfile of the committing process of rebuilds of the scale corpora, 2026-12-07): its own,
# a cost per article (records merged, band rows loaded, stories relinked, the commit, the
# summaries: 1.2 s at 30,000 articles, 12.4 s at 300,000); each writer's last segment,
# written after its last file (2.2 s for the 15,000 articles each of 2 writers held at 30,000),
# which holds a writer's articles up to a full segment (about 20,000 of news: SEGMENT_POSTINGS),
# LAST_SEGMENT_ARTICLES on average beyond; and, with worker processes, a fixed part (their
# ending, the records handed over): a parallel rebuild of the 2,225 BBC texts spent 0.93 and
# 1.06 s after its last file (medians of 3 in two runs, scripts/bench_eta_parts.py), where the
# two other parts make 0.26 s: the lower difference is FINAL_FIXED. (One cost per article,
# 0.13 ms, was 2 to 3 times the last phase at 300,000 and 1,000,000; without the fixed part and
# with at most 10,000 articles in a last segment, the last phase at 30,000 was estimated at
# 2.7 s where it took 4.5 and 6.3 s in two runs of bench_scale.py.)
FINAL_PER_ARTICLE = 0.00004
LAST_SEGMENT_PER_ARTICLE = 0.00015
LAST_SEGMENT_ARTICLES = 10_000
FULL_SEGMENT_ARTICLES = 20_000
# With worker processes, each writes a segment each FULL_SEGMENT_ARTICLES, its files waiting: 3.6
# to 5.2 s, 4.4 s on average with the collection after it (14 segments of a parallel rebuild of
# the 300,000 scale corpus, 2026-12-07), the two workers together. The first tenth of such a
# run writes none; after it a pair comes about every eighth of the run, a fifth of a tenth's
# time: a rate learnt on the first tenth alone left that unforeseen (40 % short at 300,000).
# A segment is charged to the articles within SEGMENT_SPREAD of its count (segments_written).
FULL_SEGMENT_SECONDS = 4.4
SEGMENT_SPREAD = 0.1
FINAL_FIXED = 0.65
# How many seconds of a format's own work (at its prior cost) must be seen before its own rate
# weighs as much as the prior (the overall rate): a format's rate is learnt gradually.
LEARN_SECONDS = 10.0


def file_format(path: Path) -> str:
    """The format a file's name suggests (for its cost; the parser decides what it really is)."""
    name = Path(path)
    if name.suffix.lower() == ".gz":
        name = name.with_suffix("")
    from ..ingest.parsers import EXTENSIONS
    return EXTENSIONS.get(name.suffix.lower(), name.suffix.lower().lstrip(".") or "?")


class Total(int):
    """The bytes a run will read, an int as progress callbacks take it, that also knows the files
    they are made of, in the order they are read: `files`, (bytes, format) each, and `parallel`,
    the processes reading them. An Estimate given one weighs each file by what its format costs."""

    files: tuple[tuple[int, str], ...]
    parallel: int

    def __new__(cls, files: Iterable[tuple[int, str]], parallel: int = 1):
        files = tuple((int(size), kind) for size, kind in files)
        total = super().__new__(cls, sum(size for size, _ in files))
        total.files, total.parallel = files, max(1, parallel)
        return total

    @classmethod
    def of(cls, paths_and_sizes: Iterable[tuple[Path, int]], parallel: int = 1) -> "Total":
        return cls(((size, file_format(path)) for path, size in paths_and_sizes), parallel)


@dataclass(frozen=True)
class Speed:
    """A run's progress as it is shown: the share of its bytes done, articles/s (None until
    known), and the seconds left (None until a rate is known)."""

    fraction: float
    articles: int | None
    articles_per_s: float | None
    seconds_left: float | None


class Estimate:
    """Speed and time left from a run's progress calls (`update`), on `clock` (seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.first: tuple[float, int, int | None] | None = None  # (time, bytes, articles) of the first bytes done
        self.plan: _Plan | None = None

    def update(self, done: int, total: int, articles: int | None = None) -> Speed:
        now = self.clock()
        fraction = min(1.0, done / total) if total > 0 else 1.0
        if self.plan is None and isinstance(total, Total) and total.files:
            self.plan = _Plan(total)
        if self.first is None:
            if done > 0:
                self.first = (now, done, articles)
                if self.plan is not None:
                    self.plan.start(now, done)
            return Speed(fraction, articles, None, None)
        since, done_then, articles_then = self.first
        elapsed = now - since
        if elapsed <= 0 or done <= done_then:
            return Speed(fraction, articles, None, None)
        per_s = None
        if articles is not None and articles_then is not None and articles > articles_then:
            per_s = (articles - articles_then) / elapsed
        if self.plan is not None:
            return Speed(fraction, articles, per_s, self.plan.seconds_left(now, done))
        rate = (done - done_then) / elapsed
        return Speed(fraction, articles, per_s, max(0.0, (total - done) / rate))


class _Plan:
    """The time left of a run whose files are known (a Total). Its workers are simulated taking
    the files in order, each file costing its format's prior (COSTS) times what the run has shown
    that format to cost: that gives when each file should be done, in simulated seconds, and so
    the simulated time any count of bytes done stands for (a large file on one worker while the
    others go on is in it, and so are each worker's full segments: segments_written). The run's
    rate is its seconds per simulated second since the first call; the time left is the
    simulated time left, the final phase added, at that rate. What a
    format costs is learnt from the calls: the time between two calls is shared among the
    formats of the files simulated done in it, by their cost; the simulation is made again when
    what was learnt moves a format's cost by more than a tenth."""

    def __init__(self, total: Total):
        self.files, self.parallel = total.files, total.parallel
        self.prior = [_cost(size, kind) for size, kind in self.files]
        self.left: dict[str, float] = {}  # format → the prior seconds of its files
        for (_, kind), cost in zip(self.files, self.prior):
            self.left[kind] = self.left.get(kind, 0.0) + cost
        self.final = final_seconds(sum(_articles(size, kind) for size, kind in self.files), self.parallel)
        self.seen: dict[str, list[float]] = {}  # format → [seconds taken, simulated seconds] of its files
        self.factors: dict[str, float] = {}     # format → its cost against the prior, as simulated
        self._simulate()
        self.simulated_at = 0  # the bytes done when the simulation was last made
        self.start_at = self.start_done = 0.0
        self.last_at, self.last_done = 0.0, 0

    def _simulate(self) -> None:
        """When each file is done, with `parallel` workers taking them in order: the bytes done
        and the simulated time at each completion, in the order they complete."""
        import heapq
        workers = [(0.0, worker) for worker in range(self.parallel)]
        articles = [0.0] * self.parallel  # each writer's articles so far
        ends = []
        for number, ((size, kind), cost) in enumerate(zip(self.files, self.prior)):
            start, worker = heapq.heappop(workers)
            before = articles[worker]
            articles[worker] += _articles(size, kind)
            end = start + cost * self.factors.get(kind, 1.0)
            if self.parallel > 1:
                end += segments_written(before, articles[worker])
            heapq.heappush(workers, (end, worker))
            ends.append((end, number))
        ends.sort()
        self.times, self.bytes, self.kinds = [0.0], [0], [None]
        for end, number in ends:
            size, kind = self.files[number]
            self.times.append(end)
            self.bytes.append(self.bytes[-1] + size)
            self.kinds.append(kind)
        self.end = self.times[-1]

    def _time(self, done: int) -> float:
        """The simulated time at which `done` bytes are done."""
        import bisect
        at = bisect.bisect_left(self.bytes, done)
        if at >= len(self.bytes):
            return self.end
        if self.bytes[at] == done or at == 0:
            return self.times[at]
        low, high = self.bytes[at - 1], self.bytes[at]
        return self.times[at - 1] + (self.times[at] - self.times[at - 1]) * (done - low) / (high - low)

    def start(self, now: float, done: int) -> None:
        self.start_at, self.start_done = now, done
        self.last_at, self.last_done = now, done

    def seconds_left(self, now: float, done: int) -> float:
        self._learn(now, done)
        simulated = self._time(done) - self._time(self.start_done)
        if simulated <= 0:
            return 0.0
        rate = (now - self.start_at) / simulated  # this run's seconds per simulated second
        return (self.end - self._time(done) + self.final) * rate

    def _learn(self, now: float, done: int) -> None:
        """Share the time since the last call among the formats of the files done in it (by
        their simulated time), and make each format's factor its own seconds per prior second
        against the run's (each learnt as LEARN_SECONDS of prior work weighs)."""
        import bisect
        before, after = self._time(self.last_done), self._time(done)
        spent = now - self.last_at
        self.last_at, self.last_done = now, done
        if after <= before:
            return
        first = bisect.bisect_right(self.times, before)
        last = bisect.bisect_right(self.times, after)
        kinds: dict[str, float] = {}
        for at in range(max(1, first), min(last + 1, len(self.times))):
            low, high = max(before, self.times[at - 1]), min(after, self.times[at])
            if high > low:
                kinds[self.kinds[at]] = kinds.get(self.kinds[at], 0.0) + high - low
        span = sum(kinds.values())
        for kind, part in kinds.items():
            entry = self.seen.setdefault(kind, [0.0, 0.0])
            entry[0] += spent * part / span                     # seconds taken
            entry[1] += part / self.factors.get(kind, 1.0)      # prior seconds done
        taken = sum(t for t, _ in self.seen.values())
        prior = sum(p for _, p in self.seen.values())
        if prior <= 0 or taken <= 0:
            return
        rate = taken / prior  # the run's seconds per prior second, all formats
        factors = {kind: min(4.0, max(0.25, (own_taken + rate * LEARN_SECONDS)
                                      / (own_prior + LEARN_SECONDS) / rate))
                   for kind, (own_taken, own_prior) in self.seen.items()}
        if done - self.simulated_at < self.bytes[-1] / 100:
            return  # (a simulation costs a pass over the files: at most one each hundredth of the bytes)
        if any(abs(factor / self.factors.get(kind, 1.0) - 1) > 0.1 for kind, factor in factors.items()):
            self.factors = factors
            self._simulate()
            self.simulated_at = done


def final_seconds(articles: float, parallel: int) -> float:
    """The prior seconds of a run's work after its last file: `articles` in all, written by
    `parallel` writers (see FINAL_PER_ARTICLE)."""
    per_writer = articles / max(1, parallel)
    last = per_writer if per_writer <= FULL_SEGMENT_ARTICLES else LAST_SEGMENT_ARTICLES
    fixed = FINAL_FIXED if parallel > 1 else 0.0
    return fixed + FINAL_PER_ARTICLE * articles + LAST_SEGMENT_PER_ARTICLE * last


def segments_written(before: float, after: float) -> float:
    """The prior seconds of the full segments a worker writes while its articles go from
    `before` to `after`: FULL_SEGMENT_SECONDS each FULL_SEGMENT_ARTICLES, each charged evenly
    to the articles within SEGMENT_SPREAD of the count it is written at (a worker writes one
    when it holds SEGMENT_POSTINGS, which a file's articles only estimate: charged at one
    article, it fell on the file before or after the real one, and the time left swung by
    the whole segment's seconds)."""
    spread = FULL_SEGMENT_ARTICLES * SEGMENT_SPREAD
    seconds = 0.0
    first = max(1, math.ceil((before - spread) / FULL_SEGMENT_ARTICLES))
    last = math.floor((after + spread) / FULL_SEGMENT_ARTICLES)
    for k in range(first, last + 1):
        low, high = k * FULL_SEGMENT_ARTICLES - spread, k * FULL_SEGMENT_ARTICLES + spread
        overlap = min(after, high) - max(before, low)
        if overlap > 0:
            seconds += FULL_SEGMENT_SECONDS * overlap / (high - low)
    return seconds


def _cost(size: int, kind: str) -> float:
    per_mb, per_file, _, _ = COSTS.get(kind, OTHER)
    return per_mb * size / 1e6 + per_file + PER_FILE


def _articles(size: int, kind: str) -> float:
    _, _, per_mb, per_file = COSTS.get(kind, OTHER)
    return per_mb * size / 1e6 + per_file
