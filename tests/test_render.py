"""render: the presentation functions the CLI (and later the web page) share, on their own."""
from datetime import datetime, timezone

from searchlib import render


def test_marked_segments_cut_text_at_its_spans():
    assert render.marked_segments("the river flooded", [(4, 9), (10, 17)]) == [
        ("the ", False), ("river", True), (" ", False), ("flooded", True)]
    assert render.marked_segments("river", [(0, 5)]) == [("river", True)]
    assert render.marked_segments("calm", []) == [("calm", False)]


def test_marks_by_style_and_hostile_text_made_safe():
    spans = [(4, 9)]
    assert render.marked("the river\x1b[2J", spans, render.Style()) == "the **river**\\x1b[2J"
    assert render.marked("the river", spans, render.Style(marks="none")) == "the river"
    assert render.marked("the river", spans, render.Style(color=True)) == "the \x1b[31m\x1b[1mriver\x1b[0m"


def test_dates_to_the_second_and_json_lines_without_raw_separators():
    when = datetime(2022, 9, 6, 11, 50, 0, 123456, tzinfo=timezone.utc)
    assert render.shown_date(when) == "2022-09-06T11:50:00Z" and render.shown_date(None) == "undated"
    assert render.json_line({"t": "a\u2028b\udcff"}) == '{"t": "a\\u2028b\\udcff"}'
    assert render.one_line("bad\nname\udcff") == "bad\\x0aname\\xff"


def test_timeline_bars_scale_to_the_longest():
    assert render.timeline_lines([("2022-09", 4), ("2022-10", 0), ("2022-11", 1)], False, "#", width=8) == [
        "2022-09 ######## 4", "2022-10  0", "2022-11 ## 1"]
