"""Executor: `Executor.map` on a Dask cluster, so the shards' tasks run on its workers.

Each task is submitted as its own Dask task (never pinned to one worker: a task restricted to a
worker that dies waits for that worker forever, dask/distributed issue 7346), so when a worker
dies (kill -9, a lost machine) Dask runs its tasks again on another worker, up to its
`allowed-failures` (3 by default), and then reports them as lost (`KilledWorker`). `map` waits at
most `timeout` seconds in all: a task that has not answered by then (its worker dead and none
left, a worker stuck) is cancelled and gives an Outcome with an error instead of a value, so a
search returns partial results instead of hanging. An error the task function raised itself is
raised by `map`, as LocalExecutor would.
"""
from __future__ import annotations

from typing import Callable, Sequence

from ..sharding.execution import Outcome
from .connection import require_distributed


class DaskExecutor:
    """Runs `function(*task)` for each task on the workers of `client` (a distributed.Client)."""

    def __init__(self, client, *, timeout: float | None = None):
        self.client = client
        self.timeout = timeout  # used when map is given none

    def map(self, function: Callable, tasks: Sequence[tuple], *, timeout: float | None = None
            ) -> list[Outcome]:
        distributed = require_distributed()
        timeout = self.timeout if timeout is None else timeout
        futures = [self.client.submit(function, *task, pure=False) for task in tasks]
        try:
            try:
                with self.client.as_current():  # (wait asks for the current client)
                    distributed.wait(futures, timeout=timeout)
            except TimeoutError:
                pass  # what has not answered is reported below
            except Exception:  # some cancelled (the scheduler lost them): reported below
                pass
            outcomes = []
            for future in futures:
                if future.status == "finished":
                    outcomes.append(Outcome(future.result()))
                elif future.status == "error":
                    if isinstance(future.exception(), distributed.KilledWorker):
                        outcomes.append(Outcome(error="its worker died each time it ran"))
                    else:
                        future.result()  # raises the task function's own error
                elif future.status in ("pending", "processing", "waiting", "no-worker") or not future.done():
                    outcomes.append(Outcome(error=f"no answer in {timeout:g} s"))
                else:  # cancelled or lost (the scheduler went away)
                    outcomes.append(Outcome(error=f"the cluster lost it ({future.status})"))
            return outcomes
        finally:
            unfinished = [future for future in futures if not future.done()]
            if unfinished:
                self.client.cancel(unfinished)
            for future in futures:
                future.release()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client.scheduler.address!r}, timeout={self.timeout!r})"
