"""Measuring: what the benchmark scripts share, written once: the memory of a whole process tree
(its peak, sampled from /proc), sizes on disk, percentiles, progress lines on stderr and a
record of an indexing run's progress calls.

Used by `bench.py`, `bench_reindex.py`, `bench_scale.py` and `bench_eta_parts.py` (scripts/ is on the path
of a script run from it).
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path


def tree_pids(pid: int) -> set[int]:
    """`pid` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def status_kb(pid: int, key: str = "VmRSS") -> int:
    """A `/proc/PID/status` figure in kB (0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS of `pid` and its descendants, from /proc (0 where unavailable)."""
    return sum(status_kb(p) for p in tree_pids(pid))


def pss_kb(pid: int) -> int:
    """A process's proportional set size in kB (/proc/PID/smaps_rollup; 0 where unavailable): its
    own pages plus its share of the pages it shares, so that a tree's sum counts once the pages
    that forked workers share with the process they were forked from (their RSS counts each)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreePeak:
    """The peak of a running process's memory with its descendants', sampled from /proc: summed
    RSS (`mb`), and, with `pss=True`, summed PSS (`pss_mb`; slower to read, sampled as often)."""

    def __init__(self, proc: subprocess.Popen, every: float = 0.05, pss: bool = False):
        import threading
        self.proc, self.every, self.peak_kb, self.peak_pss_kb, self.pss = proc, every, 0, 0, pss
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while self.proc.poll() is None:
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(self.proc.pid))
            if self.pss:
                self.peak_pss_kb = max(self.peak_pss_kb, sum(pss_kb(p) for p in tree_pids(self.proc.pid)))
            time.sleep(self.every)

    def mb(self) -> float:
        """The peak, once the process has ended."""
        self.thread.join()
        return self.peak_kb / 1024

    def pss_mb(self) -> float:
        """The peak of the summed PSS (with `pss=True`), once the process has ended."""
        self.thread.join()
        return self.peak_pss_kb / 1024


class ProgressLog:
    """A progress callback that notes each call: (seconds since the start, bytes done, bytes in all)."""

    def __init__(self):
        self.started = time.perf_counter()
        self.articles = None  # (set by the library before each call, where it knows)
        self.calls: list[tuple[float, int, int]] = []

    def __call__(self, done: int, total: int, path) -> None:
        self.calls.append((time.perf_counter() - self.started, done, total))


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
