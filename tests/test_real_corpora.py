"""Real data from ../shared/corpora (skipped where the folder is absent, e.g. on a fresh clone)."""
from pathlib import Path

import pytest

import searchlib
from searchlib import Article, Skipped, read_articles

from .conftest import SHARED

pytestmark = pytest.mark.shared
CORPORA = SHARED / "corpora"


def test_bbc_every_article_is_titled_with_its_first_line():
    files = sorted((CORPORA / "bbc").glob("*/*.txt"))
    assert len(files) == 2225
    items = list(read_articles(sorted(p for p in (CORPORA / "bbc").iterdir() if p.is_dir())))
    articles = [i for i in items if isinstance(i, Article)]
    assert [i for i in items if isinstance(i, Skipped)] == []
    assert len(articles) == 2225
    for article in articles:
        first_line = article.path.read_bytes().decode("utf-8", "replace").split("\n", 1)[0].strip()
        if "\ufffd" not in first_line:
            assert article.title == " ".join(first_line.split()), article.path
        assert article.body


def test_bbc_latin1_byte_is_decoded():
    (article,) = read_articles(CORPORA / "bbc" / "sport" / "199.txt")
    assert "\ufffd" not in article.title + article.body


def test_real_html_pages_parse_without_crashing(tmp_path):
    pages = sorted((CORPORA / "html" / "newspaper3k-tests" / "html").glob("*.html"))
    assert len(pages) == 157
    items = list(read_articles(pages))
    articles = [i for i in items if isinstance(i, Article)]
    assert len(articles) >= 150, [str(i) for i in items if isinstance(i, Skipped)]
    assert sum(bool(a.title) for a in articles) >= 150


def test_seed_article_is_found_in_shared_seeds(tmp_path):
    idx = searchlib.Index(tmp_path / "ix")
    assert idx.update(SHARED / "seeds").articles == 1
    assert idx.search("north korea artillery").hits[0].title.startswith("US intelligence reveals")
