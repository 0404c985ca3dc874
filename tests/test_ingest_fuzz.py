"""Property tests: whatever the input, a parser yields Articles or ParseErrors and raises only ParseError.

Each parser is called directly (so a bug shows as its own exception, not hidden by `parse_file`'s
safety net), on arbitrary text and on text stitched from pieces of its own format, which reaches
deeper code than random characters do; `parse_file` gets arbitrary bytes under every extension.
"""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchlib import Article
from searchlib.errors import ParseError
from searchlib.ingest.parsers import EXTENSIONS, PARSERS, charset, parse_file

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PIECES = {
    "text": ["Title: x", "Date: 2022-09-06", "Publish : 2022-09-06 11:50:00", "Section: s", "Tags: a, b",
             "(Photo: AP)", "Headline", "Give Your Comments", "\n", "\n\n", "  ", "Date: EST 5 PDT",
             "Publish : 2022-09-06 11:50 AP", "Date: 1 May 2020 XYZ"],
    "html": ["<html>", "<body>", "<p>", "</p>", "<div class='article-body'>", "</div>", "<article>",
             "<h1>", "</h1>", "<title>", "</title>", '<meta property="og:title" content="T">',
             '<script type="application/ld+json">', "</script>", '{"@type": "NewsArticle", "headline": "H",',
             '"datePublished": "2022-09-06", "author": [{"name": "A"}]}', "<![CDATA[", "]]>",
             '<time datetime="2022-13-45">', '<div class="byline">By', "<br>", "<nav>", "<a href='/'>",
             "</a>", "<ul class='related'><li>", "&nbsp;", "<!--", "-->", "<?xml version='1.0'?>",
             "http://example.com/x", "<table><tr><td>", "</td></tr></table>", "<form>", "</form>"],
    "json": ["{", "}", "[", "]", '"title"', '"body"', '"date"', ":", ",", '"2022-09-06"', "1e400",
             "-1", '{"name": "A"}', "null", "true", '"articles"', "1662422400000"],
    "jsonl": ["{", "}", '"title": "T"', '"id": 1', '"date": 99999999999999999999', ",", "\n", "[]",
              '"tags": [1, null, {"x": 1}]', "\u2028"],
    "smart": [".I 1\n", ".T\n", ".A\n", ".W\n", ".X\n", ".I\n", "words here\n", ".B\n"],
    "sgml": ['<REUTERS NEWID="1">', "</REUTERS>", "<DATE>", "</DATE>", "26-FEB-1987 15:01:01.79",
             "31-MAR-1987 605:12:19.12", "<TOPICS><D>", "</D></TOPICS>", '<TEXT TYPE="UNPROC">',
             '<TEXT TYPE="BRIEF">', "<TEXT>", "</TEXT>", "<TITLE>", "</TITLE>", "<BODY>", "</BODY>",
             "<DATELINE>", "</DATELINE>", "&#3;", "&lt;", "&#99999999;", "\n    ", " Reuter\n", "<AUTHOR>"],
    "csv": ["title", "text", "publish_date", "article_id", "url", ",", ";", "\t", '"', '""', "\n",
            "\r\n", "2017/2/7", "x", "\x00", "http://[::1"],
    "feed": ["<rss>", "</rss>", "<channel>", "</channel>", "<item>", "</item>", "<title>", "</title>",
             "<feed xmlns='http://www.w3.org/2005/Atom'>", "</feed>", "<entry>", "</entry>",
             "<link href='x'/>", "<pubDate>", "</pubDate>", "Tue, 04 Oct 2022 14:00:00 EST",
             "<description>", "</description>", "&lt;p&gt;", "&nbsp;", "&amp;", "<![CDATA[<p>x</p>]]>",
             "<content type='xhtml'>", "</content>", "<category term='c'/>", "<!DOCTYPE rss>", "&bogus;"],
}
NAMES = {"text": "a.txt", "html": "a.html", "json": "a.json", "jsonl": "a.jsonl", "smart": "COLL.ALL",
         "sgml": "a.sgm", "csv": "a.csv", "feed": "a.rss"}


def check_parser(fmt: str, text: str) -> None:
    try:
        items = list(PARSERS[fmt](text, Path(NAMES[fmt])))
    except ParseError:
        return
    for item in items:
        assert isinstance(item, (Article, ParseError)), item
        if isinstance(item, Article):
            item.to_dict()  # every field is serialisable


def stitched(fmt: str):
    return st.lists(st.one_of(st.sampled_from(PIECES[fmt]), st.text(max_size=8)), max_size=40).map("".join)


def test_every_format_has_fuzz_pieces():
    assert set(PIECES) == set(PARSERS) == set(NAMES)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@FUZZ
@given(text=st.text(max_size=300))
def test_parsers_on_arbitrary_text(fmt, text):
    check_parser(fmt, text)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_parsers_on_pieces_of_their_format(fmt, data):
    check_parser(fmt, data.draw(stitched(fmt)))


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from(sorted(EXTENSIONS) + ["", ".gz", ".xyz"]))
def test_parse_file_on_arbitrary_bytes(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        for item in parse_file(path):
            assert isinstance(item, (Article, ParseError))
    except ParseError as error:
        assert error.path == path


@FUZZ
@given(data=st.binary(max_size=400))
def test_decoding_arbitrary_bytes(data):
    try:
        decoded = charset.decode(data)
    except charset.NotText:
        return
    assert isinstance(decoded.text, str)
    assert decoded.note is None or decoded.encoding in ("utf-8", "windows-1252")
