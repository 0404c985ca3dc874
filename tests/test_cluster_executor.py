"""DaskExecutor on a real LocalCluster (2 worker processes): results in order, a task whose
worker is killed (kill -9) run again elsewhere, a task that does not answer reported within the
timeout (never a hang), a task function's own error raised; connecting: no scheduler, a bad
address, Dask not installed."""
from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from searchlib.cluster.connection import connect, host_and_port  # noqa: E402
from searchlib.cluster.executor import DaskExecutor  # noqa: E402
from searchlib.errors import (ArgumentError, ClusterUnavailableError, ClusterUnreachableError,  # noqa: E402
                              QueryError)

from .conftest import local_cluster_client  # noqa: E402


# --- task functions (module level: the workers import them) ------------------------------------

def square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def blocking_once(x: int, pid_file: str, release_file: str) -> tuple[int, int]:
    """The first run writes its pid and waits (for the test to kill its worker, or to release
    it); a run after that (on another worker) answers at once."""
    if not os.path.exists(pid_file):
        Path(pid_file).write_text(str(os.getpid()))
        deadline = time.monotonic() + 30
        while not os.path.exists(release_file) and time.monotonic() < deadline:
            time.sleep(0.02)
    return x, os.getpid()


def stuck(release_file: str) -> str:
    """Never answers until the test releases it (a stand-in for a hung shard)."""
    deadline = time.monotonic() + 30
    while not os.path.exists(release_file) and time.monotonic() < deadline:
        time.sleep(0.02)
    return "late"


def suicide(marker: str) -> str:
    """Kills its own worker, every time it runs (a shard whose task takes its process down)."""
    with open(marker, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)
    return "never"


def bad_query(text: str) -> None:
    raise QueryError(text, "unbalanced parentheses")


# --- the cluster ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    with local_cluster_client() as made:
        yield made


def wait_for_file(path: Path, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} never written")


def test_results_in_task_order(client):
    outcomes = DaskExecutor(client).map(square, [(n,) for n in range(7)], timeout=30)
    assert [o.value[0] for o in outcomes] == [0, 1, 4, 9, 16, 25, 36]
    assert all(o.ok and o.error is None for o in outcomes)
    assert os.getpid() not in {o.value[1] for o in outcomes}  # run in the workers, not here


def test_killed_worker_task_runs_again_on_another(client, tmp_path):
    pid_file, release = tmp_path / "pid", tmp_path / "release"
    executor = DaskExecutor(client)
    future_outcomes = []
    import threading
    thread = threading.Thread(target=lambda: future_outcomes.extend(executor.map(
        blocking_once, [(1, str(pid_file), str(release)), (2, str(pid_file), str(release))],
        timeout=40)))
    thread.start()
    killed = int(wait_for_file(pid_file))
    os.kill(killed, signal.SIGKILL)
    thread.join(45)
    release.write_text("go")
    assert not thread.is_alive()
    assert [(o.ok, o.value[0]) for o in future_outcomes] == [(True, 1), (True, 2)]
    assert killed not in {o.value[1] for o in future_outcomes}  # the killed one's ran elsewhere
    client.wait_for_workers(2, timeout=90)  # the nanny restarts the killed one


def test_unanswered_task_is_reported_within_the_timeout(client, tmp_path):
    release = tmp_path / "release"
    started = time.monotonic()
    try:
        outcomes = DaskExecutor(client).map(stuck, [(str(release),)], timeout=1.0)
    finally:
        release.write_text("go")  # frees the worker's thread for the next tests
    took = time.monotonic() - started
    assert took < 3.0
    assert [(o.ok, o.value, o.error) for o in outcomes] == [(False, None, "no answer in 1 s")]


def test_task_killing_every_worker_it_runs_on_fails_without_hanging(client, tmp_path):
    marker = tmp_path / "runs"
    started = time.monotonic()
    outcomes = DaskExecutor(client).map(suicide, [(str(marker),)], timeout=20)
    assert time.monotonic() - started < 20
    assert [(o.ok, o.error) for o in outcomes] == [(False, "its worker died each time it ran")]
    assert len(marker.read_text().split()) == 2  # run, killed, run again once (allowed-failures 1)
    client.wait_for_workers(2, timeout=90)


def test_task_functions_own_error_is_raised(client):
    with pytest.raises(QueryError) as caught:
        DaskExecutor(client).map(bad_query, [("(korea",)], timeout=30)
    assert str(caught.value) == "bad query '(korea': unbalanced parentheses"
    assert (caught.value.query, caught.value.problem) == ("(korea", "unbalanced parentheses")


# --- connecting ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connect_to_nothing_is_one_actionable_error():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ClusterUnreachableError) as caught:
        connect(f"tcp://127.0.0.1:{port}", timeout=5)
    assert time.monotonic() - started < 2  # refused at once, no wait for the timeout
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: ")
    assert "dask scheduler" in message and "\n" not in message


def test_connect_to_a_silent_listener_times_out():
    with socket.socket() as server:  # accepts connections, never speaks Dask
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ClusterUnreachableError) as caught:
            connect(address, timeout=1)
        assert time.monotonic() - started < 8
    assert str(caught.value).startswith(f"cannot reach the Dask scheduler at {address}: ")


def test_connect_to_the_cluster(client):
    made = connect(client.scheduler.address, timeout=10)
    try:
        assert made.scheduler.address == client.scheduler.address
        assert DaskExecutor(made).map(square, [(3,)], timeout=30)[0].value[0] == 9
    finally:
        made.close()


@pytest.mark.parametrize("address, problem", [
    ("tcp://:8786", "not a scheduler address"),
    ("tcp://host:99999", "its port is not a number"),
    ("tcp://host:eighty", "its port is not a number"),
    ("", "not a scheduler address"),
    ("foo://bar:1", "unknown address scheme"),
])
def test_bad_addresses(address, problem):
    with pytest.raises(ArgumentError) as caught:
        connect(address, timeout=1)
    assert problem in str(caught.value)


def test_host_and_port():
    assert host_and_port("tcp://10.0.0.5:8786") == ("10.0.0.5", 8786)
    assert host_and_port("sched.example") == ("sched.example", 8786)
    assert host_and_port("tcp://[::1]:9000") == ("::1", 9000)
    assert host_and_port("tls://sched:8786") is None


def test_distributed_missing_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    with pytest.raises(ClusterUnavailableError) as caught:
        connect("tcp://127.0.0.1:8786")
    assert str(caught.value) == ("--cluster needs Dask's distributed package, which is not installed; "
                                 "install it with: pip install 'searchlib[cluster]'")
