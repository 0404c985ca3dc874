"""Extraction promises (issue 15, the smaller items): CSV exports without a header row, dates
that lie in the future or hide in the URL, and one form for sources and sections."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from searchlib.article import Article
from searchlib.errors import ParseError
from searchlib.ingest.limits import Limits
from searchlib.ingest.parsers import parse_file

from .conftest import write_file

AG_NEWS = ('"3","Wall St. Bears Claw Back Into the Black (Reuters)","Reuters - Short-sellers, Wall Street\'s '
           'dwindling band of ultra-cynics, are seeing green again."\n'
           '"3","Carlyle Looks Toward Commercial Aerospace (Reuters)","Reuters - Private investment firm Carlyle '
           'Group, which has a reputation for making well-timed and occasionally controversial plays."\n'
           '"2","Ferry Sails Again","The harbour ferry sailed again on Monday after a week of repairs to its hull."\n')


def articles(items) -> list[Article]:
    items = list(items)
    assert [i for i in items if not isinstance(i, Article)] == []
    return items


# --- CSV without a header row -----------------------------------------------------------------

def test_a_csv_export_without_a_header_row_is_read(tmp_path):
    rows = articles(parse_file(write_file(tmp_path / "train.csv", AG_NEWS)))
    assert [(a.title, a.key) for a in rows] == [
        ("Wall St. Bears Claw Back Into the Black (Reuters)", "1"),
        ("Carlyle Looks Toward Commercial Aerospace (Reuters)", "2"), ("Ferry Sails Again", "3")]
    assert rows[2].body == "The harbour ferry sailed again on Monday after a week of repairs to its hull."


def test_headerless_columns_can_be_named(tmp_path, monkeypatch):
    path = write_file(tmp_path / "train.csv", AG_NEWS)
    monkeypatch.setenv("SEARCHLIB_CSV_COLUMNS", "section, summary,body")
    rows = articles(parse_file(path))
    assert [(a.section, a.title, a.summary) for a in rows][2] == ("2", "", "Ferry Sails Again")
    monkeypatch.delenv("SEARCHLIB_CSV_COLUMNS")
    rows = articles(parse_file(path, Limits(csv_columns="class,title,body")))
    assert [a.title for a in rows][2] == "Ferry Sails Again"
    assert Limits(csv_columns="class,title,body").csv_columns == ("class", "title", "body")
    with pytest.raises(ParseError, match=r"name no title or text column \(SEARCHLIB_CSV_COLUMNS\)"):
        list(parse_file(path, Limits(csv_columns="a,b,c")))
    # a header row is still recognised, and skipped, when columns are named
    with_header = write_file(tmp_path / "h.csv", "class,title,description\n" + AG_NEWS)
    assert len(articles(parse_file(with_header, Limits(csv_columns="class,title,body")))) == 3


def test_tables_with_a_header_still_read_by_it(tmp_path):
    header = write_file(tmp_path / "n.csv", "id,title,text\nx1,Ferry back,It sailed.\nx2,Fire,It burned.\n")
    assert [(a.key, a.title, a.body) for a in articles(parse_file(header))] == [
        ("x1", "Ferry back", "It sailed."), ("x2", "Fire", "It burned.")]
    unknown = write_file(tmp_path / "u.csv", "alpha,beta\none,two\n")
    with pytest.raises(ParseError, match="names no title or text column.*SEARCHLIB_CSV_COLUMNS"):
        list(parse_file(unknown))


# --- dates: none in the future, and dates read from URLs ---------------------------------------

BODY = "<p>" + "The harbour ferry sailed again on Monday after a week of repairs to its hull. " * 4 + "</p>"


def html_page(tmp_path: Path, head: str, url: str | None = None, mtime: str | None = "2015-01-10") -> Article:
    canonical = f'<link rel="canonical" href="{url}">' if url else ""
    path = write_file(tmp_path / "p.html", f"<html><head><title>Ferry back</title>{canonical}{head}</head>"
                                           f"<body><article><h1>Ferry back</h1>{BODY}</article></body></html>")
    if mtime:
        stamp = time.mktime(time.strptime(mtime, "%Y-%m-%d"))
        os.utime(path, (stamp, stamp))
    (article,) = articles(parse_file(path))
    return article


def test_a_date_in_the_future_of_the_file_gives_way_to_the_next_candidate(tmp_path):
    head = ('<meta property="article:published_time" content="14-12-29">'
            '<meta name="date" content="2014-12-29T10:00:00Z">')
    assert html_page(tmp_path, head).date.isoformat() == "2014-12-29T10:00:00+00:00"
    only_future = '<meta property="article:published_time" content="14-12-29">'
    assert html_page(tmp_path, only_future).date is None
    assert html_page(tmp_path, only_future, "https://example.com/2014/12/29/ferry").date.date().isoformat() \
        == "2014-12-29"
    # a day of slack (time zones), and a file written now keeps today's dates
    slack = '<meta property="article:published_time" content="2015-01-10T18:00:00-05:00">'
    assert html_page(tmp_path, slack).date.isoformat() == "2015-01-10T23:00:00+00:00"
    assert html_page(tmp_path, '<meta name="date" content="2029-12-14">', mtime=None).date is None


@pytest.mark.parametrize("url, day", [
    ("https://www.theguardian.com/world/2019/nov/18/hong-kong-protests", "2019-11-18"),
    ("https://www.theguardian.com/world/2019/sept/3/story", "2019-09-03"),
    ("https://example.com/news/2019/11/18/story.html", "2019-11-18"),
    ("https://example.com/2019-11-08/story", "2019-11-08"),
])
def test_dates_are_read_from_urls_when_nothing_better_is_found(tmp_path, url, day):
    assert html_page(tmp_path, "", url, mtime="2020-01-01").date.date().isoformat() == day


# --- one form for sources and sections ----------------------------------------------------------

@pytest.mark.parametrize("given, stored", [
    ("CNN", "CNN"), ("cnn", "CNN"), ("cnn.com", "CNN"), ("https://www.cnn.com/", "CNN"),
    ("http://edition.cnn.com/2019/world", "CNN"), ("https://www.cbsnews.com/", "Cbsnews"),
    ("cbsnews", "Cbsnews"), ("news.bbc.co.uk", "BBC"), ("BBC", "BBC"), ("reuters.com", "Reuters"),
    ("Reuters", "Reuters"), ("The New York Times", "The New York Times"), ("Al Jazeera", "Al Jazeera"),
    ("North Desk", "North Desk"), (None, None),
])
def test_sources_are_normalised(given, stored):
    assert Article(title="T", source=given).source == stored


def test_sections_are_case_folded_to_one_form(tmp_path):
    assert {Article(title="T", section=s).section for s in ("Business", "business", "BUSINESS")} == {"Business"}
    assert Article(title="T").section is None
    csv = write_file(tmp_path / "n.csv", "title,text,section,url\nA,Body one,Business,https://www.cnn.com/a\n"
                                         "B,Body two,business,https://cnn.com/b\n")
    assert [(a.section, a.source) for a in articles(parse_file(csv))] == [("Business", "CNN")] * 2
