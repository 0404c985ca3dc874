"""Any query string is safe: it finds something, nothing, or raises QueryError — never anything else."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import searchlib
from searchlib import QueryError, SearchlibError

from .conftest import write_records

# Words from the fixture corpus, query syntax, and arbitrary text.
TOKENS = st.one_of(
    st.sampled_from(["river", "flood", "valley", "AND", "OR", "NOT", "(", ")", '"', "date:", "title:",
                     "source:", "*", "?", "~", "~2", "^2", "+", "-", ":", "[", "]", "{", "}", " TO ",
                     "2022", "2022-09", ">=", "<", "yesterday", "\\", "/", "'", "http://x.org/a?b=1",
                     # issue 15, item 8: once tracebacks
                     "[a TO z]", 'places:"usa,uk"', 'tags:"a b"', 'title:date:""', 'title:date:"2022 2023"',
                     "^abc", "^", "titel:", "Title:", "url:", "12:30", "~5", '"river flood"~3', "date:[",
                     "date:[2023 TO 2022]", "5000y", "+99:00",
                     # the attacker's round: ~1 phrases, bad fuzzy distances, bytes that are not UTF-8
                     '"river flood"~1', '"flood river"~1', '"valley river flood"~1', '"river flood"~0',
                     "~1", "~0", "~12", "~/2", "~abc", "river~abc", "~2x", "\ud800", "\udcff",
                     "title:\ud800*"]),
    st.text(max_size=8),
)
QUERIES = st.lists(TOKENS, max_size=12).map("".join)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    write_records(folder / "corpus")
    idx = searchlib.Index(folder / "index")
    idx.update(folder / "corpus")
    return idx


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES)
def test_any_query_is_answered_or_rejected_clearly(index, query):
    try:
        results = index.search(query)
    except QueryError as exc:
        assert str(exc).startswith("bad query ")
        return
    assert results.total >= len(results.hits)
    for hit in results:
        assert all(0 <= s < e <= len(hit.snippet) for s, e in hit.highlights)


_WORDS = ["river", "Flood", "the", "of", "a", "U.S.", "korea's", "café", "Café", "İstanbul", "2022", "3.5",
          "north-korea", "x", "AND", "and", "OR", "not", "NOT", ",", ".", "!", ";", "shells", "shelling",
          "die", "dying", "_under", "naïve", "o'neill", "artillery", "ab.cd", "…", "—", "river,flood", "korea!north"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=6)), min_size=1, max_size=8),
       st.sampled_from([" ", "  ", ", ", "\t", "! "]), st.booleans())
def test_plain_words_are_built_as_the_parser_builds_them(words, joiner, any_word):
    """query._words_query (plain words, built directly) against Whoosh's parser, both passes."""
    from searchlib.querying import query
    text = query.natural(joiner.join(words))
    if not text.strip():
        return
    built = query._words_query(text, any_word)
    if built is not None:
        parsed = query._parser(None, any_word).parse(text, normalize=False)
        assert query._weight_repeats(built) == query._weight_repeats(parsed), text


def test_plain_words_take_the_direct_path():
    from searchlib.querying import query
    assert query._words_query("north korea, artillery!", False) is not None
    assert query._words_query("the U.S. café", True) is not None
    for text in ('"north korea"', "north OR korea", "title:korea", "korea*", "north-korea", "korea~",
                 "(korea)", "-korea", "korea^2", "date:2022"):
        assert query._words_query(text, False) is None, text


# Library arguments (issue 15, item 8): any value is answered or refused with a SearchlibError.
ODD_VALUES = st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.booleans(),
                       st.binary(max_size=4), st.text(max_size=10),
                       st.sampled_from(["5000y", "99999m", "2022-09-06T11:50+99:00", "2017", "1987", "7d",
                                        "yesterday", "2022-13", "0y", "99999999999d", "\ud800", "x\udcff",
                                        "2", "corpus", "corpus/fixture.jsonl#alpha", "*.md"]),
                       st.lists(st.one_of(st.none(), st.text(max_size=4), st.binary(max_size=2)), max_size=3))


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(QUERIES, ODD_VALUES), since=ODD_VALUES, until=ODD_VALUES,
       limit=st.one_of(st.integers(-5, 20), ODD_VALUES), offset=st.one_of(st.integers(-5, 20), ODD_VALUES))
def test_any_library_arguments_are_answered_or_rejected_clearly(index, query, since, until, limit, offset):
    try:
        results = index.search(query, since=since, until=until, limit=limit, offset=offset)
    except SearchlibError:
        return
    assert isinstance(query, str) and isinstance(limit, int) and limit >= 0 and offset >= 0
    assert len(results.hits) <= limit


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(article_id=ODD_VALUES)
def test_get_takes_any_value(index, article_id):
    try:
        index.get(article_id)
    except SearchlibError:
        assert not isinstance(article_id, str) or not is_utf8(article_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(QUERIES, ODD_VALUES), snippets=st.one_of(st.integers(-2, 4), ODD_VALUES),
       fresh=st.one_of(st.floats(allow_nan=True, allow_infinity=True), ODD_VALUES))
def test_any_snippets_and_fresh_are_answered_or_rejected_clearly(index, query, snippets, fresh):
    try:
        results = index.search(query, snippets=snippets, fresh=fresh)
    except SearchlibError:
        return
    assert isinstance(snippets, int) and snippets >= 1
    assert fresh is None or (isinstance(fresh, (int, float)) and 0 < fresh < float("inf"))
    assert all(len(hit.fragments) <= snippets for hit in results)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(article_id=ODD_VALUES, limit=st.one_of(st.integers(-2, 20), ODD_VALUES))
def test_similar_takes_any_value(index, article_id, limit):
    try:
        results = index.similar(article_id, limit=limit)
    except SearchlibError:
        return
    assert isinstance(limit, int) and limit >= 0 and len(results.hits) <= limit
    assert results.total >= len(results.hits)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=ODD_VALUES, jobs=st.one_of(st.just(None), ODD_VALUES), wait=st.one_of(st.just(0), ODD_VALUES),
       exclude=st.one_of(st.just(()), ODD_VALUES))
def test_update_takes_any_value(tmp_path_factory, paths, jobs, wait, exclude):
    """Index.update with any arguments: done, or a SearchlibError, and a refused call leaves no
    empty index behind. (Any path that exists is only ever the fixture corpus: the working folder
    is an empty temporary one.)"""
    import os
    folder = tmp_path_factory.mktemp("update")
    before = os.getcwd()
    os.chdir(folder)
    try:
        try:
            searchlib.Index(folder / "index").update(paths, jobs=jobs, wait=wait, exclude=exclude)
        except SearchlibError:
            assert not (folder / "index").exists()
    finally:
        os.chdir(before)
