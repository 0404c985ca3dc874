"""Issue 22: an article's page lists the watches that match it (issue 21's saved searches)."""
import pytest

import searchlib
from searchlib.errors import ArticleNotFoundError

from .conftest import index_of

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from searchlib.web.app import create_app  # noqa: E402

ALPHA = "corpus/fixture.jsonl#alpha"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("webwatches")
    with index_of(folder) as idx:
        idx.watches.add("floods", "flood")
        idx.watches.add("elections", "election")
        idx.watches.add("old-floods", "flood", until="2020-01-01")   # alpha is from 2022
        idx.watches.add("hostile", 'river OR "<script>alert(1)</script>"')
    return folder


def test_the_library_says_which_watches_match_an_article(folder):
    with searchlib.Index(folder / "index", create=False) as idx:
        assert [w.name for w in idx.watching(ALPHA)] == ["floods", "hostile"]
        assert [w.name for w in idx.watching("corpus/fixture.jsonl#beta")] == ["elections", "floods"]
        with pytest.raises(ArticleNotFoundError):
            idx.watching("corpus/fixture.jsonl#nope")


def test_the_article_page_lists_its_watches_escaped(folder):
    with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
        page = client.get("/article", params={"id": ALPHA}).text
    assert "Watches that match it" in page
    assert "<strong>floods</strong>" in page and "<strong>elections</strong>" not in page
    assert "old-floods" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
