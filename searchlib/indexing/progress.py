"""Progress: how fast an indexing run goes and how long it has left, from its progress calls.

Stage: indexing (the figures; render.progress_line draws them, the CLI shows the line). A run
knows ahead only the bytes of the files it will read, so the time left is the bytes left at the
rate bytes are being done. That rate is counted from the first progress call that reports bytes
done, not from the run's start: the time before it (listing and hashing the files, starting the
worker processes, the first files in flight) is paid once, and averaged over the first tenth of a
run it would inflate every later estimate. The rate is over the whole run since then, not a
recent window: a run's files differ (an HTML page is mostly markup, a JSON Lines file mostly
text) and an average over many files keeps the estimate from swinging with each one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


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

    def update(self, done: int, total: int, articles: int | None = None) -> Speed:
        now = self.clock()
        fraction = min(1.0, done / total) if total > 0 else 1.0
        if self.first is None:
            if done > 0:
                self.first = (now, done, articles)
            return Speed(fraction, articles, None, None)
        since, done_then, articles_then = self.first
        elapsed = now - since
        if elapsed <= 0 or done <= done_then:
            return Speed(fraction, articles, None, None)
        rate = (done - done_then) / elapsed
        per_s = None
        if articles is not None and articles_then is not None and articles > articles_then:
            per_s = (articles - articles_then) / elapsed
        return Speed(fraction, articles, per_s, max(0.0, (total - done) / rate))
