"""engine.fixes: Whoosh's AndNotMatcher kept the first article having both words when an article
with only the excluded word came before it. Every way of writing NOT, through the paths that use
Whoosh's matchers (a date sort, facet counts), and the relevance ranking, must agree."""
import pytest

from .conftest import ids, index_of

RECORDS = {"d0": {"title": "Flood", "body": "A flood.", "source": "A", "date": "2022-01-01"},
           "d1": {"title": "River", "body": "The river flood.", "source": "B", "date": "2022-01-02"},
           "d2": {"title": "River", "body": "The river.", "source": "C", "date": "2022-01-03"},
           "d3": {"title": "Flood river", "body": "Flood.", "source": "D", "date": "2022-01-04"},
           "d4": {"title": "River bank", "body": "A river bank.", "source": "E", "date": "2022-01-05"}}


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("andnot"), RECORDS) as idx:
        yield idx


@pytest.mark.parametrize("query", ["river -flood", "-flood river", "river NOT flood", "river ANDNOT flood",
                                   "river AND NOT flood", "(river OR bank) -flood"])
@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_not_keeps_out_the_excluded_word_in_every_path(idx, query, sort):
    found = idx.search(query, sort=sort, facets=["source"], limit=10)
    assert sorted(ids(found)) == ["d2", "d4"]
    assert found.total == 2
    assert dict(found.facets["source"]) == {"C": 1, "E": 1}
    if sort == "newest":
        assert ids(found) == ["d4", "d2"]
