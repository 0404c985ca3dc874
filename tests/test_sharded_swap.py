"""A search of a sharded index while a rebuild swaps another index in: the shards it was
reading went with the old folder, and the search is tried again on the new one (as an
unsharded search is), instead of failing."""
from __future__ import annotations

import os

import pytest

import searchlib
from searchlib.sharding import searching as sharded

from .conftest import RECORDS, write_records


def _built(folder, shards: int | None):
    write_records(folder / "corpus")
    with searchlib.Index(folder / "index") as idx:
        idx.update([folder / "corpus"], jobs=1, shards=shards)
    return folder / "index"


@pytest.mark.parametrize("new_shards", [2, None])
def test_a_search_across_a_swap_answers_from_the_new_index(tmp_path, monkeypatch, new_shards):
    path = _built(tmp_path / "a", 3)
    fresh = _built(tmp_path / "b", new_shards)
    real = sharded.search
    calls = []

    def swapping(paths, request, *args, **kwargs):
        calls.append(list(paths))
        if len(calls) == 1:  # the rebuild's two renames, as the search opens the shards
            os.rename(path, tmp_path / "old")
            os.rename(fresh, path)
        return real(paths, request, *args, **kwargs)

    monkeypatch.setattr(sharded, "search", swapping)
    with searchlib.Index(path, create=False) as idx:
        results = idx.search("river", limit=10)
    assert results.total == 4 and len(results.hits) == 4
    assert len(calls) == (2 if new_shards else 1)
    assert all(not p.startswith(str(tmp_path / "old")) for p in calls[-1])


def test_a_shard_damaged_without_a_swap_is_still_an_error(tmp_path):
    path = _built(tmp_path / "a", 2)
    shard = sorted(p for p in path.iterdir() if p.is_dir())[1]
    os.rename(shard, tmp_path / "moved-away")
    with searchlib.Index(path, create=False) as idx, pytest.raises(searchlib.IndexFormatError):
        idx.search("river")
