"""Execution: run one function per shard and collect what each returned.

Building and searching a sharded index are written against `Executor.map`, so the same code runs
here, one shard after another (`LocalExecutor`), or on a Dask cluster (`searchlib.cluster`), where
a shard may also fail (its worker died, or it did not answer in time): an `Outcome` then carries
the reason instead of a value, and the caller decides whether partial results will do. An error
raised by the function itself (a SearchlibError, a bug) is raised by `map`, in both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence


@dataclass
class Outcome:
    """What one task gave: its value, or (on a cluster) why it has none."""
    value: Any = None
    error: str | None = None  # e.g. "worker lost", "no answer in 10 s"

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(Protocol):
    def map(self, function: Callable, tasks: Sequence[tuple], *, timeout: float | None = None
            ) -> list[Outcome]:
        """`function(*task)` for each task, the outcomes in the tasks' order. `function` is a
        module-level function (picklable) and its arguments plain data (str, numbers, dicts,
        searchlib's dataclasses), so that a cluster can send them to its workers."""
        ...


class LocalExecutor:
    """Runs the tasks one after another in this process; every outcome is ok."""

    def map(self, function: Callable, tasks: Sequence[tuple], *, timeout: float | None = None
            ) -> list[Outcome]:
        return [Outcome(function(*task)) for task in tasks]
