"""Execution: run one function per shard and collect what each returned.

Building and searching a sharded index are written against `Executor.map`, so the same code runs
here, one shard after another (`LocalExecutor`), or on a Dask cluster (`searchlib.cluster`), where
a shard may also fail (its worker died, or it did not answer in time): an `Outcome` then carries
the reason instead of a value, and the caller decides whether partial results will do. An error
raised by the function itself (a SearchlibError, a bug) is raised by `map`, in both.
`run_tolerant` is how a search decides: it runs again without the shards that failed (keeping
those whose task never ran, `Outcome.retry`) and says how many answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence


@dataclass
class Outcome:
    """What one task gave: its value, or (on a cluster) why it has none."""
    value: Any = None
    error: str | None = None  # e.g. "worker lost", "no answer in 10 s"
    retry: bool = False  # with an error: the task never ran (its worker was busy), may run elsewhere

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


class _ShardsLost(Exception):
    """Raised out of a tolerant run's executor: these shard paths gave no answer (None: a task
    that was not one shard's, e.g. one reading every shard, gave none)."""

    def __init__(self, paths: list[str] | None, reason: str):
        super().__init__(reason)
        self.paths, self.reason = paths, reason


class _Watching:
    """An executor that passes tasks on and raises _ShardsLost when a shard's task fails. A
    task is a shard's when its first argument is one of the shard paths being run."""

    def __init__(self, executor: Executor, paths: list[str]):
        self.executor, self.paths = executor, set(paths)

    def map(self, function: Callable, tasks: Sequence[tuple], *, timeout: float | None = None
            ) -> list[Outcome]:
        outcomes = self.executor.map(function, tasks, timeout=timeout)
        failed = [(task, outcome) for task, outcome in zip(tasks, outcomes) if not outcome.ok]
        if failed:  # (the tasks that never ran stay, unless nothing else failed)
            failed = [(task, outcome) for task, outcome in failed if not outcome.retry] or failed
            reason = failed[0][1].error or "lost"
            shard_tasks = all(task and isinstance(task[0], str) and task[0] in self.paths
                              for task, _ in failed)
            raise _ShardsLost([task[0] for task, _ in failed] if shard_tasks else None, reason)
        return outcomes


def run_tolerant(paths: Sequence[str], attempt: Callable, executor: Executor) -> tuple[Any, dict]:
    """`attempt(live_paths, executor)` (e.g. a sharded search), run again without the shards
    whose task failed (a worker lost for good, no answer within the executor's timeout) until it
    completes on the shards that answer: (its value, {"total": N, "ok": K, "failed": N - K}).
    Raises ShardsLostError when no shard is left, or when a task that was not one shard's
    failed (nothing can be said without it)."""
    from ..errors import ShardsLostError
    live = [str(path) for path in paths]
    while True:
        try:
            value = attempt(list(live), _Watching(executor, live))
        except _ShardsLost as lost:
            if lost.paths is None:
                raise ShardsLostError(lost.reason) from None
            live = [path for path in live if path not in set(lost.paths)]
            if not live:
                raise ShardsLostError(lost.reason) from None
            continue
        return value, {"total": len(paths), "ok": len(live), "failed": len(paths) - len(live)}
