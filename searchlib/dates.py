"""Dates: parsing article dates and the date expressions users type, all in UTC.

Stage: shared by ingestion (article dates → UTC) and querying (`date:`, `--since`, `--until`).

Conventions (as in Elasticsearch): dates without a zone are UTC; the index stores naive UTC
datetimes; the public API returns timezone-aware UTC datetimes. A date expression always means a
*span* whose size is the precision it was written with — `2022` is the whole year, `Sept 2022` the
month, `2022-09-06` the day — so `--since`/`--until` and ranges include whole days.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .errors import DateError, DateOrderError


def _dateparser():
    """dateutil's parser, imported on first use (40 ms of every cold start otherwise)."""
    from dateutil import parser
    return parser


def relativedelta(**units):
    """dateutil's calendar-aware step (`months=1` from Jan 31 is Feb 28/29), imported on first
    use: a search without a date expression never needs it (2–3 ms of a cold start)."""
    from dateutil.relativedelta import relativedelta
    return relativedelta(**units)

UTC = timezone.utc
# Dates outside this window are almost certainly parse accidents ("1" read as year 2001...).
_MIN_YEAR, _MAX_YEAR = 1800, 2200


@dataclass(frozen=True)
class DateSpan:
    """A half-open span of time [start, end) in naive UTC; None means unbounded."""

    start: datetime | None
    end: datetime | None

    def __post_init__(self):
        if self.start and self.end and self.end <= self.start:
            raise DateError(f"{self.start:%Y-%m-%d} .. {self.end:%Y-%m-%d}", "the range is empty")

    def intersect(self, other: "DateSpan") -> "DateSpan":
        starts = [d for d in (self.start, other.start) if d]
        ends = [d for d in (self.end, other.end) if d]
        return DateSpan(max(starts) if starts else None, min(ends) if ends else None)


def to_utc_naive(value: datetime) -> datetime:
    """Normalise a datetime to naive UTC (naive input is taken to be UTC already)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def to_utc_aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return to_utc_naive(value).replace(tzinfo=UTC)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, e.g. `2022-09-06T11:50:00Z`."""
    if value is None:
        return None
    return to_utc_naive(value).isoformat(timespec="seconds") + "Z"


def parse_article_date(text: str | None) -> datetime | None:
    """Parse a date as found in an article (any common layout); naive UTC, or None if unusable."""
    if not text or not text.strip():
        return None
    text = text.strip()
    with warnings.catch_warnings():  # "EST", "AP": unknown zones are read as UTC, silently
        warnings.simplefilter("ignore", _dateparser().UnknownTimezoneWarning)
        try:
            value = _dateparser().parse(text)
        except (ValueError, OverflowError, TypeError, _dateparser().ParserError):
            value = _parse_with_fuzz(text)
    if value is None or not (_MIN_YEAR <= value.year <= _MAX_YEAR):
        return None
    return to_utc_naive(value)


def _parse_with_fuzz(text: str) -> datetime | None:
    try:
        return _dateparser().parse(text, fuzzy=True)
    except (ValueError, OverflowError, TypeError, _dateparser().ParserError):
        return None


# --- date expressions typed by users -------------------------------------------------------

_UNITS = {
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "m": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
    "h": "hours", "hour": "hours", "hours": "hours",
}
_AGO = re.compile(r"^(\d{1,9})\s*([a-z]+?)(?:\s+ago)?$")
_LAST = re.compile(r"^(?:last|past|previous|this)\s+(day|week|month|year)$")


def parse_span(text: str, now: datetime | None = None) -> DateSpan:
    """The span a date expression denotes, e.g. `2022` → the year 2022.

    Accepts ISO dates at any precision (`2022`, `2022-09`, `2022-09-06`, `2022-09-06T11:50`),
    written dates (`Sept 2022`, `6 September 2022`), and relative forms: `today`, `yesterday`,
    `7d` / `7 days` (the last seven days up to now), `2 weeks ago` (that day), `last week`,
    `this month`. Raises DateError when the text is not a date.
    """
    raw = text
    text = " ".join(text.strip().lower().split())
    if not text:
        raise DateError(raw)
    now = to_utc_naive(now) if now else datetime.now(UTC).replace(tzinfo=None)
    today = datetime.combine(now.date(), datetime.min.time())

    if text in ("today", "now"):
        return DateSpan(today, today + timedelta(days=1))
    if text == "yesterday":
        return DateSpan(today - timedelta(days=1), today)
    if text == "tomorrow":
        return DateSpan(today + timedelta(days=1), today + timedelta(days=2))
    m = _LAST.match(text)
    if m:
        unit = m.group(1)
        if text.startswith("this"):
            start = _truncate(today, unit)
            return DateSpan(start, start + relativedelta(**{unit + "s": 1}))
        end = _truncate(today, unit)
        return DateSpan(end - relativedelta(**{unit + "s": 1}), end)
    m = _AGO.match(text)
    if m and m.group(2) in _UNITS:
        amount, unit = int(m.group(1)), _UNITS[m.group(2)]
        try:
            then = now - relativedelta(**{unit: amount})
            if then.year < _MIN_YEAR:
                raise ValueError(then.year)
        except (ValueError, OverflowError):
            raise DateError(raw, f"that is too far back (before {_MIN_YEAR})") from None
        if text.endswith("ago"):  # "2 weeks ago": that day
            day = datetime.combine(then.date(), datetime.min.time())
            return DateSpan(day, day + timedelta(days=1))
        # "7d": the last seven days, whole days, up to the end of today
        return DateSpan(datetime.combine(then.date(), datetime.min.time()),
                        today + timedelta(days=1))
    return _absolute_span(raw, text)


def _truncate(day: datetime, unit: str) -> datetime:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    return day


_ISO_PARTIAL = re.compile(r"^(\d{4})(?:[-/.](\d{1,2}))?$")


def _absolute_span(raw: str, text: str) -> DateSpan:
    m = _ISO_PARTIAL.match(text)
    if m:  # dateutil reads "2022-09" as 2022-09-<today's day>; handle year/month ourselves
        year, month = int(m.group(1)), m.group(2)
        _check_year(raw, year)
        if month is None:
            return DateSpan(datetime(year, 1, 1), datetime(year + 1, 1, 1))
        if not 1 <= int(month) <= 12:
            raise DateError(raw, "the month must be 01 to 12")
        start = datetime(year, int(month), 1)
        return DateSpan(start, start + relativedelta(months=1))
    # Parse twice with different defaults: the fields that change were not written, which gives
    # the precision of the expression (and so the length of its span).
    try:
        a = _dateparser().parse(text, default=datetime(2000, 1, 1, 0, 0, 0, 0))
        b = _dateparser().parse(text, default=datetime(2001, 2, 2, 1, 1, 1, 1))
        a.utcoffset()  # a zone offset of a day or more (`+99:00`) fails only here
    except (ValueError, OverflowError, TypeError, _dateparser().ParserError):
        raise DateError(raw) from None
    if a.year != b.year and a.month == b.month:
        raise DateError(raw, "give a year too, e.g. 'Sept 6 2022'")
    _check_year(raw, a.year)
    if a.month != b.month:
        step = relativedelta(years=1)
    elif a.day != b.day:
        step = relativedelta(months=1)
    elif a.hour != b.hour:
        step = relativedelta(days=1)
    elif a.minute != b.minute:
        step = relativedelta(hours=1)
    elif a.second != b.second:
        step = relativedelta(minutes=1)
    else:
        step = relativedelta(seconds=1)
    start = to_utc_naive(a)
    return DateSpan(start, start + step)


def _check_year(raw: str, year: int) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise DateError(raw, f"the year must be between {_MIN_YEAR} and {_MAX_YEAR}")


def parse_window(since, until, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """`parse_since` and `parse_until` of the two values; raises DateOrderError when `until`
    ends before `since` begins (the window would hold no time, so nothing could match)."""
    start, end = parse_since(since, now), parse_until(until, now)
    if start is not None and end is not None and end <= start:
        raise DateOrderError(str(since), str(until))
    return start, end


def _check_type(value) -> None:
    if not isinstance(value, (str, date)):  # (a datetime is a date)
        raise DateError(str(value), f"give text such as '2022-09' or '7d', a date or a datetime, "
                                    f"not {type(value).__name__}")


def parse_since(value: str | date | datetime | None, now: datetime | None = None) -> datetime | None:
    """Start of the span of a `--since` value (naive UTC), inclusive."""
    if value is not None:
        _check_type(value)
    if value is None or isinstance(value, datetime):
        return to_utc_naive(value) if value else None
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    return parse_span(value, now).start


def parse_until(value: str | date | datetime | None, now: datetime | None = None) -> datetime | None:
    """End of the span of an `--until` value (naive UTC), exclusive: whole days are included."""
    if value is not None:
        _check_type(value)
    if value is None or isinstance(value, datetime):
        return to_utc_naive(value) if value else None
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time()) + timedelta(days=1)
    return parse_span(value, now).end
