"""Executor: `Executor.map` on a Dask cluster, so the shards' tasks run on its workers.

Each task is its own Dask task, so when a worker dies (kill -9, a lost machine) Dask runs its
tasks again on another worker, up to its `allowed-failures` (3 by default), and then reports
them lost (`KilledWorker`). A map with a timeout (a search's) waits at most that long in all: a
task that has not answered by then (its worker stuck, or dead with none left) is cancelled and
gives an Outcome with an error instead of a value, so a search answers from the other shards
instead of hanging. Dask cannot stop a task that is running, so the worker that held it is left
out of timed maps for a while; that is the one place tasks are restricted to workers, and a
restricted task waits forever for its workers if they all die (dask/distributed issue 7346): the
timeout bounds that wait too. A map without a timeout (a build's) waits as long as it takes. An
error the task function raised itself is raised by `map`, as LocalExecutor would.
"""
from __future__ import annotations

import time
import warnings
from typing import Callable, Sequence

from ..sharding.execution import Outcome
from .connection import Connection, require_distributed


THREADS_SECONDS = 2.0  # how long the workers' thread counts are taken as known
AVOID_SECONDS = 60.0  # how long a worker that held a task past its timeout gets no timed task


class DaskExecutor:
    """Runs `function(*task)` for each task on the workers of a cluster: `cluster` a
    distributed.Client, or a `Connection` (which connects on the first map)."""

    def __init__(self, cluster, *, timeout: float | None = None):
        self.connection = cluster if isinstance(cluster, Connection) else Connection(cluster)
        self.timeout = timeout  # used when map is given none
        # workers that held a task past its timeout (still busy with it: Dask cannot stop a
        # running task) -> until when no task of a timed map is sent there
        self.avoided: dict[str, float] = {}
        self.threads: dict[int, tuple] = {}  # the cluster's workers and their threads, as last asked

    @property
    def client(self):
        return self.connection.client

    def with_timeout(self, timeout: float | None) -> "DaskExecutor":
        """The same cluster, waiting `timeout` seconds by default (None: as long as it takes)."""
        twin = DaskExecutor(self.connection, timeout=timeout)
        twin.avoided, twin.threads = self.avoided, self.threads
        return twin

    def _workers(self, client) -> tuple[list[str] | None, int]:
        """The workers a timed map may use (None: any) and their threads: all but those avoided,
        unless that leaves none."""
        now = time.monotonic()
        known = self.threads.get(id(client))
        if known is None or now - known[0] > THREADS_SECONDS:  # (a round trip to the scheduler)
            self.threads.clear()
            known = self.threads[id(client)] = (now, client.nthreads())
        threads = known[1]
        for address, until in list(self.avoided.items()):
            if until <= now or address not in threads:
                self.avoided.pop(address, None)
        usable = [address for address in threads if address not in self.avoided]
        if not self.avoided or not usable:
            return None, max(1, sum(threads.values()))
        return usable, sum(threads[address] for address in usable)

    def map(self, function: Callable, tasks: Sequence[tuple], *, timeout: float | None = None
            ) -> list[Outcome]:
        """At most as many tasks are in flight as the cluster has threads: the next is submitted
        when one answers, so no task waits in a worker's queue behind one that hangs or dies
        (Dask sends a task to a worker before a thread there is free, and counts a queued task
        as a suspect when that worker dies), and every shard the healthy workers can answer is
        answered within the timeout."""
        distributed = require_distributed()
        timeout = self.timeout if timeout is None else timeout
        client = self.client
        deadline = None if timeout is None else time.monotonic() + timeout
        workers, slots = self._workers(client)
        if timeout is None:  # (never restricted: with no timeout, nothing would bound the wait)
            workers, slots = None, max(1, sum(self.threads[id(client)][1].values()))
        # (a task restricted to workers waits for them forever if they all die, dask/distributed
        # issue 7346: only timed maps restrict, and the timeout bounds the wait)
        where = {} if workers is None else {"workers": workers, "allow_other_workers": False}
        futures: list = [None] * len(tasks)
        waiting = list(range(len(tasks)))[::-1]  # (popped from the end: in task order)
        running: list = []
        try:
            with client.as_current():  # (wait asks for the current client)
                while waiting or running:
                    while waiting and len(running) < slots:
                        at = waiting.pop()
                        with warnings.catch_warnings():  # (a shard's articles are its task's data)
                            warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
                            futures[at] = client.submit(function, *tasks[at], pure=False, **where)
                        running.append(futures[at])
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    try:
                        distributed.wait(running, timeout=left,
                                         return_when="FIRST_COMPLETED" if waiting else "ALL_COMPLETED")
                    except TimeoutError:
                        break  # what has not answered is reported below
                    except Exception:  # some cancelled (the scheduler lost them): reported below
                        pass
                    running = [future for future in running if not future.done()]
                    if any(future.status == "error" and not isinstance(
                            future.exception(), distributed.KilledWorker)
                           for future in futures if future is not None):
                        break  # a task's own error: raised below without waiting for the rest
            finished = [future for future in futures if future is not None and future.status == "finished"]
            values = dict(zip((future.key for future in finished), client.gather(finished)))  # (one trip)
            outcomes = []
            for future in futures:
                if future is None:
                    outcomes.append(Outcome(error="not started (no worker free)" if timeout is None else
                                            f"not started within {timeout:g} s (no worker free)"))
                elif future.key in values:
                    outcomes.append(Outcome(values[future.key]))
                elif future.status == "error":
                    if isinstance(future.exception(), distributed.KilledWorker):
                        outcomes.append(Outcome(error="its worker died each time it ran"))
                    else:
                        future.result()  # raises the task function's own error
                elif not future.done():
                    outcomes.append(Outcome(error="not finished when another task failed" if timeout is None
                                            else f"no answer in {timeout:g} s"))
                else:  # cancelled or lost (the scheduler went away)
                    outcomes.append(Outcome(error=f"the cluster lost it ({future.status})"))
            return outcomes
        finally:
            unfinished = [future for future in futures if future is not None and not future.done()]
            if unfinished:
                self._avoid(client, {future.key for future in unfinished}, timeout)
                client.cancel(unfinished)
            for future in futures:
                if future is not None:
                    future.release()

    def _avoid(self, client, keys: set, timeout: float | None) -> None:
        """Avoid for a while the workers running these keys past the timeout."""
        try:
            processing = client.processing()
        except Exception:  # (the scheduler gone: nothing to learn)
            return
        until = time.monotonic() + max(AVOID_SECONDS, 2 * (timeout or 0))
        for address, held in processing.items():
            if keys & set(held):
                self.avoided[address] = until

    def __repr__(self) -> str:
        return f"DaskExecutor({self.connection.address!r}, timeout={self.timeout!r})"
