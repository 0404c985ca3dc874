"""Real data from ../shared/corpora (skipped where the folder is absent, e.g. on a fresh clone)."""
import json
import re
import statistics
from collections import Counter

import pytest

import searchlib
from searchlib import Article, Skipped, read_articles
from searchlib.dates import parse_article_date

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
        assert article.section == article.path.parent.name.capitalize()


def test_bbc_latin1_byte_is_decoded():
    (article,) = read_articles(CORPORA / "bbc" / "sport" / "199.txt")
    assert "\ufffd" not in article.title + article.body


def test_real_html_pages_parse_and_bodies_match_the_references():
    folder = CORPORA / "html" / "newspaper3k-tests"
    pages = sorted((folder / "html").glob("*.html"))
    assert len(pages) == 157
    items = list(read_articles(pages))
    articles = [i for i in items if isinstance(i, Article)]
    assert len(articles) >= 150, [str(i) for i in items if isinstance(i, Skipped)]
    assert sum(bool(a.title) for a in articles) >= 150
    scores = []
    for article in articles:  # references that are article text (not empty, not an all-caps note)
        reference = folder / "text" / (article.path.stem.replace("_article", "") + ".txt")
        expected = reference.read_text(encoding="utf-8") if reference.exists() else ""
        if re.search(r"[a-z]{3}", expected) or (expected.strip() and not re.search(r"[A-Z]{3}", expected)):
            scores.append(token_f1(article.body, expected))
    assert len(scores) >= 120
    assert statistics.median(scores) >= 0.9 and statistics.mean(scores) >= 0.85


def token_f1(got: str, expected: str) -> float:
    a, b = Counter(re.findall(r"\w+", got.lower())), Counter(re.findall(r"\w+", expected.lower()))
    common = sum((a & b).values())
    return 0.0 if not common else 2 * common / (sum(a.values()) + sum(b.values()))


def test_readability_pages_metadata():
    pages = sorted(p for p in (CORPORA / "html" / "readability-test-pages").iterdir() if p.is_dir())
    titles, dates, bylines = [], [], []
    for page in pages:
        expected = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        (article,) = read_articles(page / "source.html")
        titles.append(article.title == " ".join(expected["title"].split()))
        if expected.get("publishedTime"):
            dates.append(article.date.date() == parse_article_date(expected["publishedTime"]).date())
        if expected.get("byline"):
            bylines.append(bool(article.author))
    assert len(pages) == 40
    assert sum(titles) >= 0.9 * len(titles) and sum(dates) >= 0.9 * len(dates)
    assert sum(bylines) >= 0.9 * len(bylines)


def test_reuters_every_record_is_read():
    files = sorted((CORPORA / "reuters21578").glob("reut2-*.sgm"))
    items = list(read_articles(files))
    articles = [i for i in items if isinstance(i, Article)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    records = sum(f.read_bytes().count(b"<REUTERS ") for f in files)
    assert records == 21578
    # every record is an article, except the one whose TEXT is empty, which is reported
    assert len(articles) + len(skipped) == records
    assert [(s.path.name, s.record, s.reason) for s in skipped] == [
        ("reut2-012.sgm", "NEWID 12793", "record has no title or text")]
    assert all(a.date and a.source == "Reuters" and a.title for a in articles)
    assert len({a.key for a in articles}) == len(articles)
    assert sum(1 for a in articles if a.topics) > 10000 and sum(1 for a in articles if not a.body) > 1000
    assert not any(re.search(r"[\x00-\x08\x0b-\x1f]|&#\d+;|&lt;", a.title + a.body) for a in articles)
    # the stray byte in reut2-017 costs nothing but is noted on its record; other records need no note
    assert [(a.path.name, a.key, a.notes) for a in articles if a.notes] == [
        ("reut2-017.sgm", "17980", ["encoding: 1 byte not valid UTF-8: read as Windows-1252 (a guess)"])]


def test_news_articles_csv():
    items = list(read_articles(CORPORA / "newsarticles_dai2017" / "NewsArticles.csv"))
    articles = [i for i in items if isinstance(i, Article)]
    assert len(items) == 3824
    assert [(s.record, s.reason) for s in items if isinstance(s, Skipped)] == [("row 1827", "record has no title or text")]
    assert all(a.date for a in articles) and len({a.key for a in articles}) == len(articles)
    assert len({a.source for a in articles}) == 9 and all(a.url for a in articles)
    assert max(len(a.body) for a in articles) > 20000


def test_seed_article_is_found_in_shared_seeds(tmp_path):
    idx = searchlib.Index(tmp_path / "ix")
    assert idx.update(SHARED / "seeds").articles == 1
    assert idx.search("north korea artillery").hits[0].title.startswith("US intelligence reveals")
