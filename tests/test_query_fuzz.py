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
