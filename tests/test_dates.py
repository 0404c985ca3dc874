from datetime import datetime, timezone

import pytest

from searchlib.dates import DateSpan, isoformat, parse_article_date, parse_since, parse_span, parse_until
from searchlib.errors import DateError

NOW = datetime(2022, 9, 14, 15, 30)  # a Wednesday


@pytest.mark.parametrize("text, start, end", [
    ("2022", datetime(2022, 1, 1), datetime(2023, 1, 1)),
    ("2022-09", datetime(2022, 9, 1), datetime(2022, 10, 1)),
    ("2022-12", datetime(2022, 12, 1), datetime(2023, 1, 1)),
    ("2022-09-06", datetime(2022, 9, 6), datetime(2022, 9, 7)),
    ("Sept 2022", datetime(2022, 9, 1), datetime(2022, 10, 1)),
    ("6 September 2022", datetime(2022, 9, 6), datetime(2022, 9, 7)),
    ("2022-09-06 11:50", datetime(2022, 9, 6, 11, 50), datetime(2022, 9, 6, 11, 51)),
    ("2022-09-06T11:50:00+02:00", datetime(2022, 9, 6, 9, 50), datetime(2022, 9, 6, 9, 50, 1)),
    ("today", datetime(2022, 9, 14), datetime(2022, 9, 15)),
    ("yesterday", datetime(2022, 9, 13), datetime(2022, 9, 14)),
    ("7d", datetime(2022, 9, 7), datetime(2022, 9, 15)),
    ("2 weeks ago", datetime(2022, 8, 31), datetime(2022, 9, 1)),
    ("last week", datetime(2022, 9, 5), datetime(2022, 9, 12)),
    ("this month", datetime(2022, 9, 1), datetime(2022, 10, 1)),
    ("last year", datetime(2021, 1, 1), datetime(2022, 1, 1)),
])
def test_parse_span(text, start, end):
    assert parse_span(text, NOW) == DateSpan(start, end)


@pytest.mark.parametrize("text", ["", "soon", "2022-13", "Sept 6", "99999", "the 5th of never"])
def test_parse_span_rejects(text):
    with pytest.raises(DateError):
        parse_span(text, NOW)


def test_since_and_until_include_whole_days():
    assert parse_since("2022-09-06", NOW) == datetime(2022, 9, 6)
    assert parse_until("2022-09-06", NOW) == datetime(2022, 9, 7)
    assert parse_until("Sept 2022", NOW) == datetime(2022, 10, 1)
    assert parse_since(None) is None


def test_article_dates_are_normalised_to_utc():
    assert parse_article_date("2022-09-06 11:50:00") == datetime(2022, 9, 6, 11, 50)
    assert parse_article_date("2022-10-01T00:30:00+02:00") == datetime(2022, 9, 30, 22, 30)
    assert parse_article_date("Tue, 04 Oct 2022 14:00:00 GMT") == datetime(2022, 10, 4, 14, 0)
    assert parse_article_date("not a date") is None
    assert parse_article_date("") is None


def test_isoformat_is_utc_with_z():
    aware = datetime(2022, 9, 6, 13, 50, tzinfo=timezone.utc)
    assert isoformat(aware) == "2022-09-06T13:50:00Z"
    assert isoformat(None) is None
