"""Shared fixtures: a small hand-written corpus whose articles are crafted so that each query
behaviour gives a result that would differ if it were broken."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import settings

# The property tests are the same examples on every run (derandomize), so a CI run is
# reproducible and a failure is seen again by whoever runs it next; `pytest
# --hypothesis-profile=explore` draws new random examples, ten times as many, to look for more.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=3000)
settings.load_profile("default")

import searchlib

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# id → record. Dates are chosen around month ends and time zones on purpose.
RECORDS = {
    "alpha": {"title": "Alpha river flood", "body": "The river flooded the valley town overnight.",
              "date": "2022-09-06T11:50:00Z", "source": "North Desk", "section": "Weather",
              "author": "Ann Lee", "tags": ["floods"]},
    "beta": {"title": "Beta election result", "body": "Voters in the valley chose a new mayor. Flood defences were the issue.",
             "date": "2022-09-30T23:30:00Z", "source": "South Desk", "section": "Politics"},
    # 00:30 on 1 October in UTC+2 is 22:30 on 30 September in UTC: a September article.
    "gamma": {"title": "Gamma harvest festival", "body": "The village festival celebrated the harvest by the river.",
              "date": "2022-10-01T00:30:00+02:00", "source": "North Desk", "section": "Culture"},
    "delta": {"title": "Delta flood warning issued", "body": "Forecasters warned of a flood on the coast and in the river valley.",
              "source": "North Desk", "section": "Weather"},
    "epsilon": {"title": "Epsilon valley river survey", "body": "Surveyors mapped the valley; the river itself was not measured.",
                "date": "2023-01-15", "source": "East Desk", "section": "Science", "author": "Bo Kim"},
}
NOW = datetime(2022, 10, 1, 12, 0, tzinfo=timezone.utc)


def write_file(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write `content` (text in `encoding`, or bytes as they are) to `path`, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding)
    return path


def write_records(folder: Path, records: dict = RECORDS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fixture.jsonl"
    path.write_text("".join(json.dumps({"id": key, **rec}) + "\n" for key, rec in records.items()),
                    encoding="utf-8")
    return path


def index_of(folder: Path, records: dict = RECORDS) -> searchlib.Index:
    """An index in `folder`/index of `records` written as JSON Lines into `folder`/corpus (one
    process): for module-scoped fixtures, `with index_of(tmp_path_factory.mktemp(..), ..) as idx`."""
    write_records(folder / "corpus", records)
    idx = searchlib.Index(folder / "index")
    idx.update([folder / "corpus"], jobs=1)
    return idx


@pytest.fixture
def run(tmp_path, monkeypatch):
    """The `search` command through click's CliRunner, in tmp_path, with none of searchlib's
    environment variables set: `run("korea", "--json")` -> click's Result."""
    from click.testing import CliRunner

    from searchlib.cli import cli
    monkeypatch.chdir(tmp_path)
    for name in ("SEARCHLIB_INDEX", "SEARCHLIB_CORPUS", "NO_COLOR", "SEARCHLIB_CLUSTER",
                 "SEARCHLIB_CLUSTER_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(cli, list(args), catch_exceptions=False, **kw)


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    write_records(folder)
    return folder


@pytest.fixture
def index(tmp_path, corpus) -> searchlib.Index:
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update([corpus])
    assert report.articles == len(RECORDS) and report.ok
    return idx


def ids(results) -> list[str]:
    """Record keys of the hits, in rank order (ids look like `corpus/fixture.jsonl#alpha`)."""
    return [hit.id.rsplit("#", 1)[-1] for hit in results]


def pytest_collection_modifyitems(config, items):
    if SHARED.joinpath("corpora").is_dir():
        return
    skip = pytest.mark.skip(reason=f"real corpora not found at {SHARED}/corpora")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@contextmanager
def local_cluster_client():
    """A Client of a 2-worker LocalCluster (processes, one thread each), for a module's tests on
    a real cluster; one retry after a worker dies (Dask's default is 3: keeps killing tests short)."""
    import dask
    import distributed
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster:
            with distributed.Client(cluster, set_as_default=False) as made:
                made.wait_for_workers(2, timeout=30)
                yield made
