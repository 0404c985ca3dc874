"""Issue 15, items 6 and 8 as an attacker tested them: `"a b"~1` is a sloppy phrase (any order),
bad library arguments and text that is not valid UTF-8 are SearchlibErrors (exit 2 from the CLI,
one line), a bad fuzzy distance is refused, and `similar`'s total does not depend on its limit.
"""
import json
import os
import subprocess
import sys

import pytest

import searchlib
from searchlib import QueryError, SearchlibError
from searchlib.querying.query import parse_query
from searchlib.engine.ranking import SloppyPhrase, top_matches

from .conftest import RECORDS, ids, index_of, write_records

# --- item 6: `~1` is within one position, in either order; only `~0` (or no `~`) is exact -------

WORDS = {
    "za": {"title": "One", "body": "zebra apple"},
    "az": {"title": "Two", "body": "apple zebra"},
    "zya": {"title": "Three", "body": "zebra yak apple"},
    "amk": {"title": "Four", "body": "apple mango kiwi"},
    "akm": {"title": "Five", "body": "apple kiwi pear mango"},
}


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("slop1"), WORDS) as idx:
        yield idx


SLOP_CASES = [
    ('"zebra apple"~1', ["az", "za"]),
    ('"apple zebra"~1', ["az", "za"]),
    ('"zebra apple"~2', ["az", "za", "zya"]),
    ('"apple zebra"~2', ["az", "za", "zya"]),
    ('"zebra apple"~0', ["za"]),          # the exact phrase, ordered
    ('"apple zebra"~0', ["az"]),
    ('"zebra apple"', ["za"]),
    ('"apple zebra"', ["az"]),
    ('"apple mango kiwi"~1', ["amk"]),     # three words, none other among them, any order
    ('"kiwi mango apple"~1', ["amk"]),
    ('"mango apple kiwi"~1', ["amk"]),
    ('"kiwi mango apple"~2', ["akm", "amk"]),  # one other word among them
    ('"kiwi mango apple"', []),
    ('body:"apple zebra"~1', ["az", "za"]),
]


@pytest.mark.parametrize("query, expected", SLOP_CASES)
def test_slop_one_ignores_word_order(words, query, expected):
    assert sorted(ids(words.search(query))) == expected


@pytest.mark.parametrize("query, expected", SLOP_CASES)
def test_slop_one_same_through_whoosh_matchers(words, query, expected):
    """Date sorting and facets go through Whoosh's own matcher for the phrase: the same articles."""
    results = words.search(query, sort="newest", facets=["source"])
    assert sorted(ids(results)) == expected
    assert results.total == len(expected)


def test_slop_one_is_a_sloppy_phrase():
    q = parse_query('body:"zebra apple"~1')
    assert type(q) is SloppyPhrase and q.slop == 1
    assert type(parse_query('body:"zebra apple"~0')) is not SloppyPhrase
    assert type(parse_query('body:"zebra apple"')) is not SloppyPhrase


@pytest.mark.parametrize("query", ['"zebra apple"~1', '"apple zebra"~1', '"kiwi mango apple"~1',
                                   '"kiwi mango apple"~2', '"zebra apple"~2', '"apple mango kiwi"~0'])
def test_fast_scorer_and_whoosh_matcher_agree(words, query):
    q = parse_query(query).normalize()
    with words._searcher() as searcher:
        fast, total = top_matches(searcher, q, None)
        slow = searcher.search(q, limit=None)
        assert total == len(slow)
        assert sorted(d for d, _ in fast) == sorted(hit.docnum for hit in slow)
        expected = {hit.docnum: hit.score for hit in slow}
        for docnum, score in fast:
            assert score == pytest.approx(expected[docnum])


# --- item 8: text that is not valid UTF-8 (lone surrogates) --------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    records = {**RECORDS, "zeta": {"title": "Zeta stock markets", "body": "Shares rallied on Tuesday."}}
    with index_of(tmp_path_factory.mktemp("small"), records) as idx:
        yield idx


NOT_TEXT = "is not valid text: it holds bytes that are not UTF-8"


@pytest.mark.parametrize("query", ["title:\ud800*", "\udcff", "river \udcff", '"river \udcff"', "riv\udcffer~"])
def test_search_refuses_lone_surrogates(small, query):
    with pytest.raises(QueryError, match=NOT_TEXT):
        small.search(query)
    with pytest.raises(QueryError, match=NOT_TEXT):
        parse_query(query)


def test_get_and_similar_refuse_lone_surrogates(small):
    with pytest.raises(QueryError, match=NOT_TEXT):
        small.get("\ud800")
    with pytest.raises(QueryError, match=NOT_TEXT):
        small.similar("\udcff")


def cli(*args: bytes) -> subprocess.CompletedProcess:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "NO_COLOR": "1"}
    env.pop("SEARCHLIB_INDEX", None)
    return subprocess.run([sys.executable, "-c", "from searchlib.cli import main; main()", *args],
                          capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("args", [[b"title:\xff*"], [b"show", b"\xff"], [b"similar", b"\xff"],
                                  [b"river\xff"]])
def test_cli_non_utf8_arguments_exit_2_with_one_line(small, args):
    done = cli(b"--index", os.fsencode(small.path), *args)
    assert done.returncode == 2, done.stderr
    assert b"Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert b"not valid text" in done.stderr


# --- item 8: library arguments of the wrong type or value ---------------------------------------

@pytest.mark.parametrize("kwargs", [{"fresh": "x"}, {"fresh": float("nan")}, {"fresh": float("inf")},
                                    {"fresh": -3}, {"fresh": True}, {"fresh": [30]},
                                    {"snippets": "2"}, {"snippets": 0}, {"snippets": 2.0},
                                    {"snippets": None}, {"snippets": True}])
def test_search_refuses_bad_fresh_and_snippets(small, kwargs):
    with pytest.raises(QueryError, match="fresh|snippets"):
        small.search("river", **kwargs)


def test_search_good_fresh_and_snippets_still_work(small):
    assert small.search("river", fresh=30).total == small.search("river", fresh=0.5, snippets=3).total == 4


@pytest.mark.parametrize("article_id", [None, 123, b"x", ["x"]])
def test_similar_refuses_what_is_no_id(small, article_id):
    with pytest.raises(QueryError, match="an article id is text"):
        small.similar(article_id)


@pytest.mark.parametrize("limit", ["2", -1, 2.5, None, True])
def test_similar_refuses_bad_limit(small, limit):
    with pytest.raises(QueryError, match="limit"):
        small.similar("corpus/fixture.jsonl#alpha", limit=limit)


@pytest.mark.parametrize("paths, kwargs", [
    (None, {}), (123, {}), ([None], {}), ([b"news"], {}), (b"news", {}), ([["corpus"]], {}),
    ("corpus", {"jobs": "2"}), ("corpus", {"jobs": 0}), ("corpus", {"jobs": 2.0}),
    ("corpus", {"batch_files": "9"}), ("corpus", {"batch_articles": -1}), ("corpus", {"wait": "1"}),
    ("corpus", {"wait": float("nan")}), ("corpus", {"exclude": "*.md"}), ("corpus", {"exclude": [None]}),
    ("corpus\udcff", {}), (["corpus", "x\ud800"], {}),
])
def test_update_refuses_bad_arguments_and_leaves_nothing(tmp_path, monkeypatch, paths, kwargs):
    monkeypatch.chdir(tmp_path)
    write_records(tmp_path / "corpus")
    with pytest.raises(SearchlibError) as info:
        searchlib.Index(tmp_path / "index").update(paths, **kwargs)
    assert not isinstance(info.value, TypeError)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "index").exists()  # the empty index Index() made is taken back


def test_update_still_takes_paths_and_a_single_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_records(tmp_path / "corpus")
    idx = searchlib.Index(tmp_path / "index")
    idx.update((p for p in [tmp_path / "corpus"]), jobs=1, exclude=("*.md",), wait=0)
    idx.update("corpus", jobs=1)
    assert len(idx) == len(RECORDS)
    idx.close()


# --- item 8: a bad fuzzy distance is an error, as a bad boost is ---------------------------------

@pytest.mark.parametrize("query", ["river~abc", "river~x", "river~2x", "river~/x", "river~2/x",
                                   "title:river~abc"])
def test_bad_fuzzy_distance_is_an_error(small, query):
    with pytest.raises(QueryError, match="fuzzy"):
        small.search(query)


@pytest.mark.parametrize("query, expected", [("rivr~", ["alpha", "delta", "epsilon", "gamma"]),
                                             ("rivr~1", ["alpha", "delta", "epsilon", "gamma"]),
                                             ("rivr~2", ["alpha", "delta", "epsilon", "gamma"]),
                                             ("rivr~/2", ["alpha", "delta", "epsilon", "gamma"]),
                                             ("rivr~ flood", ["alpha", "delta"]),
                                             ("(rivr~) AND flood", ["alpha", "delta"]),
                                             ("rivr~^2", ["alpha", "delta", "epsilon", "gamma"]),
                                             ("river 12~ ok", [])])
def test_good_fuzzy_distances_still_work(small, query, expected):
    results = small.search(query)
    assert sorted(ids(hit for hit in results if hit.complete)) == expected


# --- `similar`: the total is every article the more-like-this query matches, whatever the limit --

ALPHA = "corpus/fixture.jsonl#alpha"


def test_similar_total_does_not_depend_on_limit(small):
    # alpha's body words (river, flood, valley, town, overnight): every other article but zeta
    # holds one of them; the article itself is not counted
    for limit in (0, 1, 2, 3, 4, 10, 1000):
        results = small.similar(ALPHA, limit=limit)
        assert results.total == 4, limit
        assert len(results.hits) == min(limit, 4)
    assert ids(small.similar(ALPHA, limit=1)) == ["delta"]


@pytest.mark.parametrize("limit", ["1", "2", "3", "50"])
def test_cli_similar_total_does_not_depend_on_limit(small, limit):
    done = cli(b"--index", os.fsencode(small.path), b"similar", ALPHA.encode(), b"--json", b"-n", limit.encode())
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["total"] == 4
    text = cli(b"--index", os.fsencode(small.path), b"similar", ALPHA.encode(), b"-n", limit.encode())
    assert b"4 matching articles" in text.stderr


def test_a_fuzzy_prefix_longer_than_the_word_is_the_whole_word(index):
    """`x~/2` asks for a 2-letter prefix of a 1-letter word: Whoosh's automaton read past the end
    (IndexError, found by hypothesis as `~~/2`); the prefix is the whole word at most."""
    assert index.search("x~/2").total == 0
    assert index.search("~~/2").total == 0
    assert index.search("rive~/9").total == index.search("rive~").total > 0
