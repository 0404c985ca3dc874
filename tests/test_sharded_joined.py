"""A shard's count of the stories its articles joined from other shards (sharding.searching.
joined), what a collapsed search of all the shards asks each, is kept in the shard's summaries
when it is written, so that a new process does not read every story and id of every shard; a
missing, damaged or forged count is counted again."""
from __future__ import annotations

import json
import random

import pytest

import searchlib
from searchlib.engine.layout import SUMMARIES_FILE
from searchlib.engine.summaries import commit_key, remember
from searchlib.sharding import searching as sharded
from searchlib.sharding.layout import shard_of, shard_paths

WORDS = ("harbour authority approved fees cargo ships monday debate cost dredging channel pier council "
         "budget river flood bridge school teachers strike hospital nurses election mayor voters police "
         "court judge trial farmers harvest drought rain storm coast fishing boats tourism hotel museum "
         "festival music theatre library park garden railway station tram airport runway").split()


def _corpus(folder):
    """Six stories, each copied into files whose ids route to different shards of 3."""
    folder.mkdir(parents=True)
    for story in range(6):
        for copy in range(3):
            words = random.Random(story).sample(WORDS, 30)  # (each story its own text)
            record = {"id": f"s{story}c{copy}", "title": f"Harbour fees story {story}",
                      "body": "harbour fees " + " ".join(words * 2),
                      "source": f"Outlet {copy}", "date": f"2024-03-0{story + 1}T10:00:00Z"}
            (folder / f"s{story}c{copy}.json").write_text(json.dumps(record), encoding="utf-8")


@pytest.fixture()
def index(tmp_path):
    _corpus(tmp_path / "corpus")
    path = tmp_path / "index"
    with searchlib.Index(path) as idx:
        idx.update([tmp_path / "corpus"], jobs=1, shards=3)
    sharded._JOINED.clear()
    return path


def _readers(path):
    return [sharded.open_shard(str(p)).reader() for p in shard_paths(path, 3)]


def test_the_fixture_spreads_stories_over_shards(index):
    routes = {shard_of(f"corpus/s0c{c}.json#s0c{c}", 3) for c in range(3)}
    assert len(routes) > 1
    counts = [sharded.count_joined(r)["count"] for r in _readers(index)]
    assert sum(counts) > 0, counts


def test_the_kept_count_is_the_counted_one(index, monkeypatch):
    expected = [sharded.count_joined(r)["count"] for r in _readers(index)]
    monkeypatch.setattr(sharded, "count_joined", None)  # (counting again would fail)
    assert [sharded.joined(r) for r in _readers(index)] == expected


def test_a_search_of_all_shards_reads_no_story_column(index, monkeypatch):
    with searchlib.Index(index, create=False) as idx:
        before = idx.search("harbour fees", limit=3)
    sharded._JOINED.clear()
    monkeypatch.setattr(sharded, "count_joined", None)
    with searchlib.Index(index, create=False) as idx:
        after = idx.search("harbour fees", limit=3)
    assert (after.total, after.stories, [h.id for h in after.hits], [h.copies for h in after.hits]) == \
           (before.total, before.stories, [h.id for h in before.hits], [h.copies for h in before.hits])
    assert all(h.copies == 3 for h in after.hits) and len({h.title for h in after.hits}) == 3


@pytest.mark.parametrize("damage", ["deleted", "garbage", "forged"])
def test_a_missing_or_wrong_count_is_counted_again(index, damage):
    expected = [sharded.count_joined(r)["count"] for r in _readers(index)]
    sharded._JOINED.clear()
    for path in shard_paths(index, 3):
        (path / SUMMARIES_FILE).unlink()
        if damage == "garbage":
            (path / SUMMARIES_FILE).write_bytes(b"\x00not sqlite" * 50)
        elif damage == "forged":  # a well-formed part of this commit that is not a count
            remember(path, {sharded.JOINED: lambda reader, store: {"count": -5}})
    readers = _readers(index)
    if damage == "forged":
        from searchlib.engine.summaries import Store
        with Store(shard_paths(index, 3)[0]) as store:
            assert store.get(f"{sharded.JOINED}@{commit_key(readers[0])}") == {"count": -5}
    assert [sharded.joined(r) for r in readers] == expected
