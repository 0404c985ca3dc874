"""Executor: `Executor.map` on a Dask cluster, so the shards' tasks run on its workers.

A map with a timeout (a search's) is one call per worker: each worker holds a `Runner` (a Dask
actor, made on its first use and kept), and the map hands each worker's runner its share of the
tasks, which it runs in turn and answers in one message. An actor's call goes to its worker
without the scheduler's task bookkeeping (about 1 ms here, where a task's round trip is about
10 ms), so a search's phases cost one such trip each whatever the number of shards. The map
waits at most its timeout in all: a worker that has not answered by then (stuck, or dead with
none left) gives Outcomes with an error instead of a value, so a search answers from the other
shards instead of hanging. What its runner finished before that is still asked for (on the
worker's event loop, which a stuck task does not hold); the tasks it had not started are marked
`retry`, for the search to run again elsewhere. Dask cannot stop a running call, so the worker
that held one is left out of timed maps for a while. A worker lost during a call (kill -9, a
lost machine) has its tasks run again on the others while time is left, each at most as often
as Dask's `allowed-failures` lets a task be retried, and is left out while the scheduler still
lists it.

A map without a timeout (a build's) submits each task as its own Dask task: when a worker dies
Dask runs its tasks again elsewhere, up to its `allowed-failures` (3 by default), then reports
them lost (`KilledWorker`); such a map waits as long as it takes. An error the task function
raised itself is raised by `map` in both, as LocalExecutor would. Tasks restricted to a worker
wait forever if it dies (dask/distributed issue 7346): only timed maps restrict (a runner is
made on the worker it serves), and their timeout bounds that wait.
"""
from __future__ import annotations

import threading
import time
import uuid
import warnings
from typing import Callable, Sequence

from ..errors import ClusterUnreachableError
from ..sharding.execution import Outcome
from .connection import Connection, require_distributed


THREADS_SECONDS = 2.0  # how long the workers' thread counts are taken as known
AVOID_SECONDS = 60.0  # how long a worker that held a call past its timeout, or was lost, gets none
PROGRESS_SECONDS = 1.0  # how long a timed-out map waits for a stuck worker to say what it finished
GONE_POLL_SECONDS = 0.05  # how often a map whose workers all died looks for a new one
WATCH_SECONDS = 0.1  # how often a call waited for checks that its worker is still there


class Runner:
    """Actor: one on each worker that timed maps use. `run` does a map's share of the tasks
    there, in turn, in the worker's actor thread; `progress` says what a call still running has
    finished (a coroutine: it runs on the worker's event loop, so it answers while `run` is
    stuck in a task)."""

    def __init__(self):
        self.calls: dict[str, list] = {}  # call id -> [(True, value) | (False, its error)]

    def run(self, call: str, function: Callable, tasks: list) -> list:
        """[(True, value)] for each task, or ending with (False, the error the function raised)."""
        done = self.calls[call] = []
        try:
            for task in tasks:
                try:
                    done.append((True, function(*task)))
                except Exception as exc:  # (the task's own error, raised by map on the client)
                    done.append((False, exc.with_traceback(None)))
                    break
            return done
        finally:
            self.calls.pop(call, None)

    async def progress(self, call: str) -> list:
        return list(self.calls.get(call, ()))


class DaskExecutor:
    """Runs `function(*task)` for each task on the workers of a cluster: `cluster` a
    distributed.Client, or a `Connection` (which connects on the first map)."""

    def __init__(self, cluster, *, timeout: float | None = None):
        self.connection = cluster if isinstance(cluster, Connection) else Connection(cluster)
        self.timeout = timeout  # used when map is given none
        # workers that held a call past its timeout (still busy with it: Dask cannot stop a
        # running call), or were lost under one -> until when no timed map uses them
        self.avoided: dict[str, float] = {}
        self.threads: dict[int, tuple] = {}  # the cluster's workers and their threads, as last asked
        # worker address -> [client, future of its Runner actor, the actor's handle once made]
        self.runners: dict[str, list] = {}
        self.lock = threading.Lock()

    @property
    def client(self):
        return self.connection.client

    def with_timeout(self, timeout: float | None) -> "DaskExecutor":
        """The same cluster, waiting `timeout` seconds by default (None: as long as it takes)."""
        twin = DaskExecutor(self.connection, timeout=timeout)
        twin.avoided, twin.threads, twin.runners, twin.lock = self.avoided, self.threads, self.runners, self.lock
        return twin

    def _threads(self, client, timeout: float | None = None) -> dict[str, int]:
        """The cluster's workers and their threads, asked again now and then (waiting at most
        `timeout` seconds for the scheduler: TimeoutError); the workers avoided no longer
        (their time is up, or they left) forgotten."""
        now = time.monotonic()
        known = self.threads.get(id(client))
        if known is None or now - known[0] > THREADS_SECONDS:  # (a round trip to the scheduler)
            self.threads.clear()
            known = self.threads[id(client)] = (now, client.nthreads(callback_timeout=timeout))
        threads = known[1]
        for address, until in list(self.avoided.items()):
            if until <= now or address not in threads:
                self.avoided.pop(address, None)
        return threads

    def map(self, function: Callable, tasks: Sequence[tuple], *, timeout: float | None = None
            ) -> list[Outcome]:
        """`function(*task)` for each task on the workers, the outcomes in the tasks' order:
        with a timeout, one call per worker's Runner (`_map_on_runners`); without, one Dask task
        each (`_map_tasks`)."""
        timeout = self.timeout if timeout is None else timeout
        if timeout is None:
            return self._map_tasks(function, tasks)
        return self._map_on_runners(function, tasks, timeout)

    def _map_tasks(self, function: Callable, tasks: Sequence[tuple]) -> list[Outcome]:
        """At most as many tasks are in flight as the cluster has threads: the next is submitted
        when one answers, so no task waits in a worker's queue behind one that dies (Dask sends
        a task to a worker before a thread there is free, and counts a queued task as a suspect
        when that worker dies). Never restricted to workers: nothing would bound the wait."""
        distributed = require_distributed()
        client = self.client
        slots = max(1, sum(self._threads(client).values()))
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
                            futures[at] = client.submit(function, *tasks[at], pure=False)
                        running.append(futures[at])
                    try:
                        distributed.wait(running, return_when="FIRST_COMPLETED" if waiting else "ALL_COMPLETED")
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
                    outcomes.append(Outcome(error="not started (another task failed first)"))
                elif future.key in values:
                    outcomes.append(Outcome(values[future.key]))
                elif future.status == "error":
                    if isinstance(future.exception(), distributed.KilledWorker):
                        outcomes.append(Outcome(error="its worker died each time it ran"))
                    else:
                        future.result()  # raises the task function's own error
                elif not future.done():
                    outcomes.append(Outcome(error="not finished when another task failed"))
                else:  # cancelled or lost (the scheduler went away)
                    outcomes.append(Outcome(error=f"the cluster lost it ({future.status})"))
            return outcomes
        finally:
            unfinished = [future for future in futures if future is not None and not future.done()]
            if unfinished:
                self._avoid(client, {future.key for future in unfinished})
                client.cancel(unfinished)
            for future in futures:
                if future is not None:
                    future.release()

    def _map_on_runners(self, function: Callable, tasks: Sequence[tuple], timeout: float
                        ) -> list[Outcome]:
        """The tasks dealt in turn to the usable workers (task i to the i-th modulo their
        number), each worker's share in one call to its Runner, all the calls in flight at
        once; a share whose worker was lost dealt again to the others while time is left."""
        import dask
        client = self.client
        deadline = time.monotonic() + timeout
        allowed = int(dask.config.get("distributed.scheduler.allowed-failures", 3))
        outcomes: list = [None] * len(tasks)
        lost_runs = [0] * len(tasks)  # how often each task's worker died under it
        gone: set = set()  # workers lost during this map
        todo = list(range(len(tasks)))
        with client.as_current():  # (an actor's handle finds its client so)
            while todo:
                workers = self._alive(client, gone, deadline)
                if not workers:
                    for at in todo:
                        outcomes[at] = Outcome(error=f"no answer in {timeout:g} s (no worker left)")
                    break
                shares = {address: todo[i::len(workers)] for i, address in enumerate(workers)}
                shares = {address: share for address, share in shares.items() if share}
                calls = self._call(client, shares, function, tasks, deadline)
                todo = []
                for address, share in shares.items():
                    call, pending, made = calls[address]
                    try:
                        done = _wait(pending, deadline, made)
                    except TimeoutError:
                        done = self._progress(client, address, call, pending)
                        self.avoided[address] = time.monotonic() + max(AVOID_SECONDS, 2 * timeout)
                        _settle(outcomes, share, done)
                        for n, at in enumerate(share[len(done):]):
                            outcomes[at] = Outcome(error=f"no answer in {timeout:g} s") if n == 0 else Outcome(
                                error=f"not started within {timeout:g} s (its worker was busy with "
                                      f"another task)", retry=True)
                        continue
                    except Exception:  # (the worker was lost: the actor cannot be reached)
                        self._lost(address)
                        gone.add(address)
                        for at in share:
                            lost_runs[at] += 1
                            if lost_runs[at] > allowed:
                                outcomes[at] = Outcome(error="its worker died each time it ran")
                            elif time.monotonic() >= deadline:
                                outcomes[at] = Outcome(error=f"no answer in {timeout:g} s")
                            else:
                                todo.append(at)
                        continue
                    _settle(outcomes, share, done)
                todo.sort()
        return outcomes

    def _alive(self, client, gone: set, deadline: float) -> list[str]:
        """The workers to deal a timed map's tasks to: those not lost during it, less those
        avoided unless that leaves none; waits for a new one (a nanny's restart) until the
        deadline when every worker was lost."""
        while True:
            try:
                # (a scheduler lost: Dask's reconnecting would outlast the search's timeout)
                known = list(self._threads(client, max(deadline - time.monotonic(), THREADS_SECONDS)))
            except (OSError, RuntimeError) as exc:  # (CommClosedError, TimeoutError; "ConnectionPool is closed")
                raise ClusterUnreachableError(self.connection.address, "the scheduler was lost during "
                                              f"the search ({type(exc).__name__}: {exc})") from None
            with self.lock:  # (a runner on a worker that left: its actor went with it)
                for address in [a for a in self.runners if a not in known]:
                    self._drop(address)
            alive = [address for address in known if address not in gone]
            now = time.monotonic()
            preferred = [address for address in alive if self.avoided.get(address, 0) <= now]
            if preferred or alive:
                return preferred or alive
            if now >= deadline:
                return []
            time.sleep(GONE_POLL_SECONDS)
            self.threads.clear()  # (ask the scheduler again)

    def _call(self, client, shares: dict, function: Callable, tasks: Sequence[tuple],
              deadline: float) -> dict:
        """Each worker's share sent to its Runner (made there first if it has none): worker ->
        (call id, the ActorFuture of the call or the exception that stopped it, the future that
        made the Runner)."""
        with self.lock:
            made = {}
            for address in shares:
                entry = self.runners.get(address)
                if entry is not None and entry[0] is not client:  # (a client closed since)
                    self._drop(address)
                    entry = None
                if entry is None:  # (restricted to its worker: waits for it, bounded by the deadline)
                    future = client.submit(Runner, actor=True, workers=[address], allow_other_workers=False,
                                           pure=False, key=f"searchlib-runner-{uuid.uuid4().hex}")
                    entry = self.runners[address] = [client, future, None]
                made[address] = entry
        calls = {}
        for address, share in shares.items():
            call = uuid.uuid4().hex
            entry = made[address]
            try:
                if entry[2] is not None and entry[1].status != "finished":  # (made, and lost since)
                    raise _WorkerLost(f"its Runner's worker is gone ({entry[1].status})")
                if entry[2] is None:
                    entry[2] = _wait(entry[1], deadline)
                calls[address] = call, entry[2].run(call, function, [tasks[at] for at in share]), entry[1]
            except Exception as exc:  # (not made in time, or its worker lost: see _map_on_runners)
                if entry[1].status == "error" and not _is_lost(entry[1]):
                    entry[1].result()  # (the actor could not be made there: e.g. searchlib missing)
                calls[address] = call, exc, entry[1]
        return calls

    def _progress(self, client, address: str, call: str, pending) -> list:
        """What a call that did not answer in time had finished, asked of its worker's event
        loop (nothing when that does not answer either)."""
        entry = self.runners.get(address)
        try:
            if not isinstance(pending, Exception) and pending.done():  # (it answered meanwhile)
                return pending.result()
            if entry is None or entry[2] is None:
                return []
            return entry[2].progress(call).result(timeout=PROGRESS_SECONDS)
        except Exception:
            return []

    def _lost(self, address: str) -> None:
        """A worker lost under a call: its runner forgotten, and the worker avoided until the
        scheduler no longer lists it (a runner made there would wait for it until the deadline:
        the scheduler may list a dead worker a while, up to its worker-ttl for a lost machine)."""
        with self.lock:
            self._drop(address)
        self.avoided[address] = time.monotonic() + AVOID_SECONDS
        self.threads.clear()  # (the workers asked again at the next map)

    def _drop(self, address: str) -> None:
        """Forget the runner on this worker (its actor released). Holding self.lock."""
        entry = self.runners.pop(address, None)
        if entry is not None:
            try:
                entry[1].release()
            except Exception:  # (its client already closed)
                pass

    def _avoid(self, client, keys: set) -> None:
        """Avoid for a while the workers still running these keys (Dask cannot stop them)."""
        try:
            processing = client.processing()
        except Exception:  # (the scheduler gone: nothing to learn)
            return
        until = time.monotonic() + AVOID_SECONDS
        for address, held in processing.items():
            if keys & set(held):
                self.avoided[address] = until

    def __repr__(self) -> str:
        return f"DaskExecutor({self.connection.address!r}, timeout={self.timeout!r})"


def _wait(pending, deadline: float, made=None):
    """The result of a Future or ActorFuture (or raise the exception given in its place),
    waiting at most until the deadline (TimeoutError). With `made`, the future that made the
    actor called: when it is no longer finished, the actor's worker is gone and the call is
    given up at once (Dask's handle would wait for the actor to be made again, on a worker that
    no longer exists: for ever)."""
    if isinstance(pending, Exception):
        raise pending
    while not pending.done():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if made is not None and made.status != "finished":
            raise _WorkerLost(f"its Runner's worker is gone ({made.status})")
        try:
            return pending.result(timeout=min(left, WATCH_SECONDS))
        except TimeoutError:
            continue
    return pending.result()


class _WorkerLost(Exception):
    """A Runner's worker left while a call to it was waited for."""


def _is_lost(future) -> bool:
    distributed = require_distributed()
    try:
        return isinstance(future.exception(timeout=0), (distributed.KilledWorker, OSError))
    except Exception:
        return True


def _settle(outcomes: list, share: list[int], done: list) -> None:
    """The outcomes of the tasks a Runner finished; the error one of them raised is raised."""
    for at, (ok, value) in zip(share, done):
        if not ok:
            raise value
        outcomes[at] = Outcome(value)
