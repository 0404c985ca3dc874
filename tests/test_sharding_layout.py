"""The routing rule and the local executor that sharded building and searching stand on."""
from collections import Counter

from searchlib.sharding.execution import LocalExecutor, Outcome
from searchlib.sharding.layout import shard_name, shard_of, shard_paths


def test_shard_of_is_stable_across_processes_and_versions():
    # fixed values: a change of the hash would send existing articles to other shards
    assert [shard_of(f"a{i}", 4) for i in range(12)] == [0, 3, 2, 2, 3, 2, 1, 3, 3, 3, 0, 1]
    assert shard_of("reuters/reut2-000.sgm#5", 1) == 0


def test_shard_of_spreads_ids_evenly():
    counts = Counter(shard_of(f"corpus/file{i}.html", 8) for i in range(8000))
    assert sorted(counts) == list(range(8))
    assert min(counts.values()) > 900 and max(counts.values()) < 1100


def test_shard_paths(tmp_path):
    assert shard_paths(tmp_path, 2) == [tmp_path / "shard-000", tmp_path / "shard-001"]
    assert shard_name(12) == "shard-012"


def test_local_executor_keeps_order_and_raises_errors():
    assert LocalExecutor().map(pow, [(2, 3), (3, 2)]) == [Outcome(8), Outcome(9)]
    try:
        LocalExecutor().map(int, [("x",)])
    except ValueError:
        pass
    else:
        raise AssertionError("an error in a task must be raised")


def test_shard_count_reads_the_description():
    import pytest
    from searchlib.sharding.layout import describe, shard_count
    assert shard_count({"format": "searchlib-index"}) is None
    assert shard_count({"format": "searchlib-index", **describe(3)}) == 3
    for bad in ({"shards": {"count": 0, "routing": "blake2b-8/id"}}, {"shards": {"count": "2"}},
                {"shards": {"count": 2, "routing": "md5"}}, {"shards": 2}):
        with pytest.raises(ValueError):
            shard_count(bad)
