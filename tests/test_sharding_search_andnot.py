"""`-flood river` where the first article with `flood` comes before the first with `river`:
Whoosh 2.7's AndNotMatcher kept an article with both words (mended in engine.fixes). A sharded
index counts its facets from the ranking's matches; an unsharded index's facet counts and date
sorts, which go through Whoosh's matcher, now agree."""
from __future__ import annotations

import json

import searchlib
from searchlib.engine.layout import META_FILE
from searchlib.indexing.update import update_index
from searchlib.sharding import searching as sharded
from searchlib.sharding.layout import describe, shard_paths

from .conftest import index_of

RECORDS = {"d0": {"title": "Flood", "body": "A flood.", "source": "A", "date": "2022-01-01"},
           "d1": {"title": "River", "body": "The river flood.", "source": "B", "date": "2022-01-02"},
           "d2": {"title": "River", "body": "The river.", "source": "C", "date": "2022-01-03"}}


def test_a_sharded_index_counts_facets_of_the_matches(tmp_path):
    index_of(tmp_path, RECORDS).close()
    top = tmp_path / "sharded"
    top.mkdir()
    paths = [str(p) for p in shard_paths(top, 1)]
    searchlib.Index(paths[0]).close()
    update_index(paths[0], [tmp_path / "corpus"], base=tmp_path, jobs=1)
    (top / META_FILE).write_text(json.dumps({**json.loads((top / "shard-000" / META_FILE).read_text()), **describe(1)}))
    found = sharded.search(paths, sharded.Request("-flood river", facets=("source",)))
    assert [h.id for h in found.hits] == ["corpus/fixture.jsonl#d2"]
    assert found.facets == {"source": [("C", 1)]}


def test_an_unsharded_index_counts_facets_of_the_matches(tmp_path):
    idx = index_of(tmp_path, RECORDS)
    found = idx.search("-flood river", facets=["source"])
    assert found.total == 1 and found.facets == {"source": [("C", 1)]}


def test_a_date_sort_keeps_out_what_not_excludes(tmp_path):
    idx = index_of(tmp_path, RECORDS)
    assert [h.id for h in idx.search("-flood river", sort="newest")] == ["corpus/fixture.jsonl#d2"]
