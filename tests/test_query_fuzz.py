"""Any query string is safe: it finds something, nothing, or raises QueryError — never anything else."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import searchlib
from searchlib import QueryError

from .conftest import write_records

# Words from the fixture corpus, query syntax, and arbitrary text.
TOKENS = st.one_of(
    st.sampled_from(["river", "flood", "valley", "AND", "OR", "NOT", "(", ")", '"', "date:", "title:",
                     "source:", "*", "?", "~", "~2", "^2", "+", "-", ":", "[", "]", "{", "}", " TO ",
                     "2022", "2022-09", ">=", "<", "yesterday", "\\", "/", "'", "http://x.org/a?b=1"]),
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
    from searchlib import query
    text = query.natural(joiner.join(words))
    if not text.strip():
        return
    built = query._words_query(text, any_word)
    if built is not None:
        parsed = query._parser(None, any_word).parse(text, normalize=False)
        assert query._weight_repeats(built) == query._weight_repeats(parsed), text


def test_plain_words_take_the_direct_path():
    from searchlib import query
    assert query._words_query("north korea, artillery!", False) is not None
    assert query._words_query("the U.S. café", True) is not None
    for text in ('"north korea"', "north OR korea", "title:korea", "korea*", "north-korea", "korea~",
                 "(korea)", "-korea", "korea^2", "date:2022"):
        assert query._words_query(text, False) is None, text
