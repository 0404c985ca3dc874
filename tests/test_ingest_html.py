"""HTML pages: metadata choices and body extraction, on small hand-written pages."""
from datetime import datetime, timezone
from pathlib import Path

import pytest

from searchlib import Article
from searchlib.errors import ParseError
from searchlib.ingest.parsers import parse_file

UTC = timezone.utc
PROSE = ("The council voted on Tuesday to rebuild the harbour wall, which storms damaged last winter, "
         "and the work will start in the spring, officials said.")


def page(tmp_path: Path, html: str, name: str = "p.html") -> Article:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    items = list(parse_file(path))
    assert len(items) == 1 and isinstance(items[0], Article), items
    return items[0]


def paragraphs(n: int, word: str = "harbour") -> str:
    return "".join(f"<p>{PROSE.replace('harbour', f'{word}{i}')}</p>\n" for i in range(n))


# --- titles ------------------------------------------------------------------------------------

def test_og_title_loses_the_site_name(tmp_path):
    html = ('<html><head><meta property="og:site_name" content="Gazette.cz - News you need">'
            '<meta property="og:title" content="Wall to be rebuilt | Gazette.cz"><title>x</title></head>'
            f'<body>{paragraphs(2)}</body></html>')
    article = page(tmp_path, html)
    assert article.title == "Wall to be rebuilt" and article.source == "Gazette.cz - News you need"


def test_json_ld_headline_in_cdata_wins(tmp_path):
    html = ('<html><head><meta property="og:title" content="Short og title">'
            '<script type="application/ld+json"><![CDATA[ {"@type": "NewsArticle", "headline": "The full headline",'
            ' "datePublished": "2023-06-07T20:54:26Z", "author": [{"@type": "Person", "name": "Alex Heath"}],'
            ' "publisher": {"name": "The Wire"},} ]]></script></head>'
            f'<body>{paragraphs(2)}</body></html>')
    article = page(tmp_path, html)
    assert (article.title, article.author, article.source) == ("The full headline", "Alex Heath", "The Wire")
    assert article.date == datetime(2023, 6, 7, 20, 54, 26, tzinfo=UTC)


@pytest.mark.parametrize("title_tag, head", [
    ("Harbour news » Wall to be rebuilt | Gazette", ""),        # parts set off by separators
    ("Wall to be rebuilt - Harbour news - Gazette", ""),
    ("Wall to be rebuilt _Harbour news _Gazette",                # the site's declared name
     '<meta property="og:site_name" content="Gazette">'),
    ("Wall to be rebuilt [gazette.example]", '<link rel="canonical" href="https://gazette.example/a/1">'),
])
def test_h1_beats_a_title_tag_that_decorates_it(tmp_path, title_tag, head):
    html = (f'<html><head><title>{title_tag}</title>{head}</head>'
            f'<body><h1>Wall to be rebuilt</h1>{paragraphs(2)}</body></html>')
    assert page(tmp_path, html).title == "Wall to be rebuilt"


@pytest.mark.parametrize("title_tag", ["Wall to be rebuilt _Harbour news _Gazette",
                                       "Wall to be rebuilt [Gazette.example]", "Wall to be rebuilt_Gazette"])
def test_title_tag_with_decoration_nothing_identifies_is_kept(tmp_path, title_tag):
    html = (f'<html><head><title>{title_tag}</title></head>'
            f'<body><h1>Wall to be rebuilt</h1>{paragraphs(2)}</body></html>')
    assert page(tmp_path, html).title == title_tag


def test_declared_title_loses_only_a_known_site_name(tmp_path):
    html = ('<html><head><meta property="og:title" content="Wall to be rebuilt - Harbour news">'
            '<meta property="og:site_name" content="Gazette"></head>'
            f'<body><h1>Wall to be rebuilt</h1>{paragraphs(2)}</body></html>')
    assert page(tmp_path, html).title == "Wall to be rebuilt - Harbour news"


def test_title_tag_beats_an_unrelated_h1(tmp_path):
    html = ('<html><head><title>Babies who eat peanuts early may avoid allergy</title></head>'
            f'<body><h1>Allergies Health Center</h1>{paragraphs(2)}</body></html>')
    assert page(tmp_path, html).title == "Babies who eat peanuts early may avoid allergy"


# --- dates, authors, language, URL ------------------------------------------------------------

def test_date_from_time_tag_and_byline_without_its_date(tmp_path):
    html = ('<html lang="en_GB"><head><meta property="og:url" content="https://news.example/a/b">'
            '<link rel="canonical" href="/story/1"></head><body><article>'
            '<div class="FeatureByline">By <b>Nathan Willis</b><br>March 25, 2015</div>'
            f'<time datetime="2015-03-25T10:00:00-04:00">March 25</time>{paragraphs(3)}</article></body></html>')
    article = page(tmp_path, html)
    assert article.author == "Nathan Willis"
    assert article.date == datetime(2015, 3, 25, 14, 0, tzinfo=UTC)
    assert (article.lang, article.region, article.url) == ("en", "GB", "https://news.example/story/1")
    assert "Nathan" not in article.body and "March 25" not in article.body


def test_user_name_in_meta_gives_way_to_the_visible_byline(tmp_path):
    html = ('<html><head><meta property="article:author" content="devindra"></head><body>'
            '<span class="author-name">Devindra Hardawar</span>'
            f'<div class="article-text">{paragraphs(3)}</div></body></html>')
    assert page(tmp_path, html).author == "Devindra Hardawar"


def test_byline_with_glued_date_is_trimmed(tmp_path):
    html = f'<html><body><div class="byline">by Lucas Nolan22 Dec 2016651</div>{paragraphs(2)}</body></html>'
    assert page(tmp_path, html).author == "Lucas Nolan"


def test_date_from_the_url_as_a_last_resort(tmp_path):
    html = ('<html><head><link rel="canonical" href="https://x.example/2021/03/04/story"></head>'
            f'<body>{paragraphs(1)}</body></html>')
    assert page(tmp_path, html).date == datetime(2021, 3, 4, tzinfo=UTC)


def test_undated_page_is_still_an_article(tmp_path):
    article = page(tmp_path, f"<html><body><h1>No date</h1>{paragraphs(1)}</body></html>")
    assert article.date is None and article.title == "No date"


# --- body --------------------------------------------------------------------------------------

def test_body_leaves_out_page_furniture(tmp_path):
    html = ('<html><body>'
            '<div id="cookie-banner"><p>We use cookies to improve your experience on this site, accept them all.</p></div>'
            '<div class="menu"><a href="/">Home</a> <a href="/news">News</a></div>'
            '<div class="main-content"><h1>Headline</h1>'
            f'{paragraphs(4)}'
            '<div class="share-tools"><p>Share this story on every social network you know.</p></div>'
            '<ul class="related-links"><li><a href="/1">Another story about harbours and walls</a></li>'
            '<li><a href="/2">Yet another story</a></li></ul>'
            '<p><a href="/more">Read more: harbour stories</a></p>'
            '<script>var tracking = "do not index me";</script>'
            '</div>'
            '<section id="comments"><p>Great article, I fully agree with everything that was said here!</p></section>'
            '</body></html>')
    body = page(tmp_path, html).body
    assert body.split("\n\n") == [PROSE.replace("harbour", f"harbour{i}") for i in range(4)]


def test_article_split_by_an_advert_is_kept_whole(tmp_path):
    html = ('<html><body><div class="story">'
            f'<div class="chunk">{paragraphs(3, "first")}</div>'
            '<div class="advert"><p>Buy our product today, it is the best product in the world.</p></div>'
            f'<div class="chunk">{paragraphs(3, "second")}</div>'
            '</div><div class="sidebar-list">' + paragraphs(1, "side") + '</div></body></html>')
    body = page(tmp_path, html).body
    assert "first0" in body and "second2" in body
    assert "Buy our product" not in body and "side0" not in body


def test_article_inside_a_sidebar_named_container_is_found_on_retry(tmp_path):
    html = ('<html><body><div class="float-sidebar-container"><div class="blog-content">'
            f'{paragraphs(5)}</div></div></body></html>')
    assert page(tmp_path, html).body.count("\n\n") == 4


def test_empty_meta_article_body_is_ignored_and_repeats_dropped(tmp_path):
    html = ('<html><body><div class="entry"><meta itemprop="articleBody" content="teaser">'
            f'{paragraphs(3)}</div><div class="entry mobile-copy">{paragraphs(3)}</div></body></html>')
    body = page(tmp_path, html).body
    assert body.count(PROSE.replace("harbour", "harbour0")) == 1 and "teaser" not in body


def test_xhtml_and_url_like_pages_raise_no_warnings(tmp_path):
    xhtml = ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
             f'<head><title>X</title></head><body>{paragraphs(1)}</body></html>')
    assert page(tmp_path, xhtml).title == "X"
    assert page(tmp_path, "https://example.com/a/page", "link.html").body == "https://example.com/a/page"


# --- truncated pages ----------------------------------------------------------------------------

CUT_OFF = "truncated page: it opens <html> or <body> but ends without closing either (a truncated file?)"


@pytest.mark.parametrize("html", [
    f"<html><head><title>Cut</title></head><body>{paragraphs(2)}<div><p>The sto",
    f"<!DOCTYPE html><HTML><body>{paragraphs(2)}<a href='/x",
    f"<body>{paragraphs(2)}<ul><li>",
])
def test_page_cut_off_is_read_and_noted(tmp_path, html):
    article = page(tmp_path, html)
    assert article.notes == [CUT_OFF] and "harbour1" in article.body


@pytest.mark.parametrize("html", [
    f"<html><body>{paragraphs(2)}</body>",                        # </html> may be left out
    f"<html><body>{paragraphs(2)}</BODY ></html>\n<!-- served by x -->",
    f"<div>{paragraphs(2)}</div>",                                # a fragment, not a page
    f"<html><body>{paragraphs(2)}</html>",
])
def test_complete_pages_and_fragments_are_not_noted(tmp_path, html):
    assert page(tmp_path, html).notes == []


def test_page_truncated_at_the_record_limit_is_noted_once(tmp_path):
    from searchlib.ingest.limits import Limits
    path = tmp_path / "long.html"
    path.write_text(f"<html><body>{paragraphs(40)}</body></html>", encoding="utf-8")
    (article,) = parse_file(path, Limits(max_record_chars=2000))
    assert article.notes == [f"truncated: only the first 2,000 characters of {len(path.read_text()):,} "
                             "characters were read (SEARCHLIB_MAX_RECORD_MB)"]


def test_page_without_text_is_reported(tmp_path):
    path = tmp_path / "empty.html"
    path.write_text("<html><head><script>x()</script></head><body><nav>Home</nav></body></html>")
    with pytest.raises(ParseError, match="no article text"):
        list(parse_file(path))
