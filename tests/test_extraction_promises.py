"""Extraction promises (issue 15, the smaller items): CSV exports without a header row, dates
that lie in the future or hide in the URL, and one form for sources and sections."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from searchlib.article import Article
from searchlib.errors import ParseError
from searchlib.limits import Limits
from searchlib.parsers import parse_file

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
