"""Sharded indexes built and searched on a real Dask LocalCluster (2 worker processes, one
thread each), with the faults of issue 19: a worker killed (kill -9) while building and while a
query runs, a shard that does not answer within the timeout (partial results: exit 3, the
`shards` object, a warning), the scheduler unreachable and Dask missing (exit 2, one line).

Faults are put into the workers with `client.run` (module-level functions of this module, which
the workers import): the first call anywhere in the cluster writes its process id and waits, so
the test can kill that process while it works, or a shard's calls wait until released."""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

import searchlib  # noqa: E402
from searchlib.sharding.layout import shard_of, shard_paths  # noqa: E402
from searchlib.sharding.searching import Request, search  # noqa: E402

from .conftest import local_cluster_client  # noqa: E402
from .test_sharding_build import contents, make_corpus  # noqa: E402

SHARDS = 3
RESTART_WAIT = 90  # seconds for a nanny to bring a killed worker back (much less on a quiet machine)


# --- faults, installed in the workers --------------------------------------------------------------

def _wait_until(path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)


def _first_here(marker: str) -> bool:
    """True for the first caller in the whole cluster (the marker file made exclusively)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def install_commit_fault(folder: str) -> None:
    """Worker: the first shard commit in the cluster writes its pid to folder/pid, then waits
    (for kill -9); every commit after it, here or elsewhere, goes through."""
    from searchlib.indexing.run import Run
    original = Run.__dict__["commit"]

    def commit(self, *args, **kwargs):
        if _first_here(os.path.join(folder, "claimed")):
            Path(folder, "pid").write_text(str(os.getpid()))
            _wait_until(os.path.join(folder, "never"))
        return original(self, *args, **kwargs)
    commit.original = original
    Run.commit = commit


def install_open_fault(folder: str, shard: str, hang: bool) -> None:
    """Worker: `sharding.searching.open_shard` of `shard` waits: the first call in the cluster
    only, after writing its pid (hang=False: to be killed), or every call until folder/release
    is made (hang=True: a shard that does not answer)."""
    from searchlib.sharding import searching
    original = getattr(searching.open_shard, "original", searching.open_shard)

    def open_shard(path):
        if path == shard:
            if hang:
                _wait_until(os.path.join(folder, "release"))
            elif _first_here(os.path.join(folder, "claimed")):
                Path(folder, "pid").write_text(str(os.getpid()))
                _wait_until(os.path.join(folder, "never"))
        return original(path)
    open_shard.original = original
    searching.open_shard = open_shard


def install_commit_kill(shard: str) -> None:
    """Worker: every commit into `shard` kills its own process (kill -9) before committing."""
    from searchlib.indexing.run import Run
    original = getattr(Run.commit, "original", Run.commit)

    def commit(self, *args, **kwargs):
        if os.path.realpath(self.ix.storage.folder) == os.path.realpath(shard):
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, *args, **kwargs)
    commit.original = original
    Run.commit = commit


class KillShardCommits(distributed.WorkerPlugin):
    """install_commit_kill on every worker, also those the nannies start after a kill."""

    name = "kill-shard-commits"

    def __init__(self, shard: str):
        self.shard = shard

    def setup(self, worker) -> None:
        install_commit_kill(self.shard)

    def teardown(self, worker) -> None:
        remove_faults()


def remove_faults() -> None:
    from searchlib.indexing.run import Run
    from searchlib.sharding import searching
    if hasattr(Run.commit, "original"):
        Run.commit = Run.commit.original
    if hasattr(searching.open_shard, "original"):
        searching.open_shard = searching.open_shard.original


# --- the cluster and an index --------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    with local_cluster_client() as made:
        yield made


@pytest.fixture
def faults(client, tmp_path):
    """A folder for the faults' files; the faults removed and the workers back at the end."""
    folder = tmp_path / "faults"
    folder.mkdir()
    client.wait_for_workers(2, timeout=RESTART_WAIT)
    yield folder
    (folder / "release").write_text("go")
    (folder / "never").write_text("go")  # (a waiting process not killed: let it finish)
    client.wait_for_workers(2, timeout=RESTART_WAIT)
    client.run(remove_faults)


@pytest.fixture(scope="module")
def built(client, tmp_path_factory):
    """A 3-shard index of the fixture corpus, built on the cluster: (folder, expected ids)."""
    folder = tmp_path_factory.mktemp("cluster")
    expected = make_corpus(folder)
    with searchlib.Index(folder / "index", cluster=client) as idx:
        report = idx.update([folder / "corpus"], shards=SHARDS)
    assert (report.added, report.articles) == (5, len(expected))
    return folder, expected


def kill_when_claimed(folder: Path) -> threading.Thread:
    """A thread that kills (-9) the process that writes folder/pid, once it does."""
    def kill():
        pid_file = folder / "pid"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (pid_file.exists() and pid_file.read_text()):
            time.sleep(0.02)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def ids(results) -> list[str]:
    return [hit.id for hit in results]


# --- building ----------------------------------------------------------------------------------------

def test_built_on_the_cluster_each_article_once_where_it_routes(built):
    folder, expected = built
    found = contents(folder / "index", expected)
    assert found == {article_id: shard_of(article_id, SHARDS) for article_id in expected}


def test_worker_killed_while_building_its_shard_is_written_by_another(client, faults, tmp_path):
    expected = make_corpus(tmp_path)
    client.run(install_commit_fault, str(faults))
    killer = kill_when_claimed(faults)
    with searchlib.Index(tmp_path / "index", cluster=client) as idx:
        report = idx.update([tmp_path / "corpus"], shards=SHARDS)
    killer.join(5)
    assert (faults / "pid").exists()  # a shard's writer was killed mid-commit
    assert (report.added, report.articles) == (5, len(expected))
    found = contents(tmp_path / "index", expected)  # each article once, in its shard
    assert found == {article_id: shard_of(article_id, SHARDS) for article_id in expected}
    client.wait_for_workers(2, timeout=RESTART_WAIT)
    with searchlib.Index(tmp_path / "index", cluster=client) as idx:  # the next run: nothing to do
        again = idx.update([tmp_path / "corpus"])
        assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 5)
        assert len(idx) == len(expected)


def test_shard_lost_for_good_stops_the_build_and_the_next_run_completes_it(client, tmp_path):
    from searchlib.errors import IndexingError
    expected = make_corpus(tmp_path)
    index = tmp_path / "index"
    routed = {article_id: shard_of(article_id, SHARDS) for article_id in expected}
    searchlib.create(index, shards=SHARDS).close()
    client.register_plugin(KillShardCommits(str(shard_paths(index, SHARDS)[1])))
    try:
        with pytest.raises(IndexingError) as caught:
            with searchlib.Index(index, cluster=client) as idx:
                idx.update([tmp_path / "corpus"])
        assert "run the same command again to complete it" in str(caught.value)
    finally:
        client.unregister_worker_plugin(KillShardCommits.name)
        client.wait_for_workers(2, timeout=RESTART_WAIT)
    # the index opens at its last commit: what the other shards committed, each article once
    # and where it routes; nothing in shard 1
    committed = contents(index, expected)
    assert committed.items() <= routed.items() and 1 not in committed.values()
    with searchlib.Index(index, cluster=client) as idx:  # the same command again completes it
        idx.update([tmp_path / "corpus"])
        assert len(idx) == len(expected)
    assert contents(index, expected) == routed


# --- searching --------------------------------------------------------------------------------------

def test_cluster_search_equals_the_local_one(built, client):
    folder, _ = built
    local = searchlib.Index(folder / "index", create=False).search("river", limit=20, facets=["source"])
    with searchlib.Index(folder / "index", create=False, cluster=client) as idx:
        remote = idx.search("river", limit=20, facets=["source"])
        assert len(idx) == 30
    assert remote.total == local.total == 30
    assert ids(remote) == ids(local)
    assert [h.score for h in remote] == pytest.approx([h.score for h in local], abs=1e-9)
    assert remote.facets == local.facets
    assert (local.shards, remote.shards) == (None, {"total": 3, "ok": 3, "failed": 0})


def test_worker_killed_while_a_query_runs_the_others_answer(built, client, faults):
    folder, _ = built
    shards = [str(p) for p in shard_paths(folder / "index", SHARDS)]
    local = searchlib.Index(folder / "index", create=False).search("river", limit=20)
    client.run(install_open_fault, str(faults), shards[1], False)
    killer = kill_when_claimed(faults)
    with searchlib.Index(folder / "index", create=False, cluster=client, cluster_timeout=30) as idx:
        started = time.monotonic()
        results = idx.search("river", limit=20)
        took = time.monotonic() - started
    killer.join(5)
    assert (faults / "pid").exists()
    assert took < 30
    assert results.shards == {"total": 3, "ok": 3, "failed": 0}
    assert ids(results) == ids(local) and results.total == local.total


def test_shard_not_answering_gives_partial_results_within_the_timeout(built, client, faults):
    folder, _ = built
    shards = [str(p) for p in shard_paths(folder / "index", SHARDS)]
    client.run(install_open_fault, str(faults), shards[1], True)
    with searchlib.Index(folder / "index", create=False, cluster=client, cluster_timeout=1.5) as idx:
        started = time.monotonic()
        results = idx.search("river", limit=20)
        took = time.monotonic() - started
    assert took < 1.5 + 5
    assert results.shards == {"total": 3, "ok": 2, "failed": 1}
    others = search([shards[0], shards[2]], Request("river", limit=20))  # here, without shard 1
    assert ids(results) == ids(others) and results.total == others.total < 30
    assert {hit.id for hit in results}.isdisjoint(
        {hit.id for hit in search([shards[1]], Request("river", limit=20))})


# --- the command line --------------------------------------------------------------------------------

def test_cli_partial_results_exit_3_json_shards_and_a_warning(built, client, faults, run, monkeypatch):
    folder, _ = built
    shards = [str(p) for p in shard_paths(folder / "index", SHARDS)]
    client.run(install_open_fault, str(faults), shards[2], True)
    monkeypatch.setenv("SEARCHLIB_CLUSTER_TIMEOUT", "1.5")
    monkeypatch.delenv("SEARCHLIB_CLUSTER", raising=False)
    result = run("river", "--index", str(folder / "index"), "--cluster", client.scheduler.address,
                 "--json", "--limit", "50")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    summary = json.loads(lines[-1])
    assert summary["shards"] == {"total": 3, "ok": 2, "failed": 1}
    others = search(shards[:2], Request("river", limit=50))
    assert [json.loads(line)["id"] for line in lines[:-1]] == ids(others)
    assert summary["total"] == others.total
    warnings = [line for line in result.stderr.splitlines() if "partial results" in line]
    assert warnings == ["search: warning: partial results: 1 of 3 shards did not answer on the "
                        "cluster; these are the matches of the other 2"]


def test_cli_search_and_index_on_the_cluster(client, run, tmp_path, monkeypatch):
    expected = make_corpus(tmp_path)
    monkeypatch.setenv("SEARCHLIB_CLUSTER", client.scheduler.address)  # the environment's cluster
    built = run("index", "--shards", "2", "--index", "idx", "corpus", "--json")
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["articles"] == len(expected)
    assert contents(tmp_path / "idx", expected, 2) == {i: shard_of(i, 2) for i in expected}
    found = run("north", "--index", "idx", "--json", "--limit", "50")
    assert found.exit_code == 0
    summary = json.loads(found.stdout.splitlines()[-1])
    assert (summary["total"], summary["shards"]) == (12, {"total": 2, "ok": 2, "failed": 0})
    rebuilt = run("index", "--rebuild", "--index", "idx", "corpus", "--json")
    assert rebuilt.exit_code == 0 and json.loads(rebuilt.stdout)["articles"] == len(expected)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_cli_scheduler_unreachable_is_one_line_exit_2(built, run):
    folder, _ = built
    address = f"tcp://127.0.0.1:{free_port()}"
    result = run("river", "--index", str(folder / "index"), "--cluster", address)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"search: error: cannot reach the Dask scheduler at {address}: ")


def test_cli_dask_missing_is_one_line_exit_2(built, run, monkeypatch):
    folder, _ = built
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    result = run("river", "--index", str(folder / "index"), "--cluster", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2
    assert result.stderr == ("search: error: --cluster needs Dask's distributed package, which is "
                             "not installed; install it with: pip install 'searchlib[cluster]'\n")
    built_index = run("index", "--index", str(folder / "index"), str(folder / "corpus"),
                      "--cluster", "tcp://127.0.0.1:8786")
    assert built_index.exit_code == 2 and "pip install 'searchlib[cluster]'" in built_index.stderr


def test_cold_start_imports_no_dask():
    import subprocess
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import searchlib.cli"],
                         capture_output=True, text=True, check=True).stderr
    modules = {line.split("|")[-1].strip().split(".")[0] for line in out.splitlines() if "|" in line}
    assert "searchlib" in modules and not modules & {"dask", "distributed", "tornado", "cloudpickle"}
