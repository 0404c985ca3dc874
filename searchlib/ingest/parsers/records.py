"""Records: the field-name table and the record → Article mapping shared by the JSON and CSV parsers.

Stage: ingestion. A record is a mapping from names to values (a JSON object, a CSV row under its
header). Names are matched case-insensitively against `KEYS`; nested values such as
`{"name": ...}` authors or lists of tags are flattened. A record with a URL but no source gets the
URL's site as its source (`www.bbc.co.uk` → `bbc.co.uk`).
"""
from __future__ import annotations

import warnings
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

from dateutil.parser import UnknownTimezoneWarning

from ...article import Article, source_name
from ...dates import parse_article_date
from ...errors import ParseError

# Article field → record keys that may hold it, in order of preference (compared lower-cased).
KEYS = {
    "title": ("title", "headline"),
    "body": ("body", "text", "content", "articlebody", "article", "full_text", "fulltext", "story"),
    "date": ("date", "published", "publish_date", "published_at", "publishedat", "pubdate",
             "datepublished", "published_time", "created_at", "timestamp", "time"),
    "url": ("url", "link", "canonical_url", "permalink", "href", "article_source_link"),
    "source": ("source", "site", "publisher", "outlet", "site_name", "domain"),
    "author": ("author", "authors", "byline", "creator", "writer"),
    "section": ("section", "category", "categories", "desk"),
    "summary": ("summary", "description", "subtitle", "abstract", "lead", "dek", "standfirst"),
    "tags": ("tags", "keywords", "topics", "subjects"),
    "lang": ("lang", "language", "locale"),
    "key": ("id", "article_id", "guid", "uuid", "_id"),
}


def fields_found(names) -> set[str]:
    """The Article fields a record with these keys can fill (for checking a CSV header)."""
    lowered = {n.strip().lower() for n in names if isinstance(n, str)}
    return {field for field, keys in KEYS.items() if lowered.intersection(keys)}


def to_article(record: Any, path: Path, where: str | None, fallback_key: str | None) -> Article | ParseError:
    """The Article a record describes, or a ParseError (naming `where`) when it describes none."""
    if not isinstance(record, dict):
        return ParseError(path, f"expected an object, found {type(record).__name__}", where)
    lowered = {k.strip().lower(): v for k, v in record.items() if isinstance(k, str)}
    fields = {name: _lookup(lowered, keys) for name, keys in KEYS.items()}
    if not (text(fields["title"]) or text(fields["body"])):
        return ParseError(path, "record has no title or text", where)
    key = text(fields.pop("key")) or fallback_key
    raw_tags = fields.pop("tags")
    tags = raw_tags if isinstance(raw_tags, list) else (text(raw_tags) or "").split(",")
    article = Article(
        title=text(fields.pop("title")) or "",
        body=text(fields.pop("body"), "\n\n") or "",
        date=date(fields.pop("date")),
        tags=[t for t in (text(t) for t in tags) if t],
        key=key,
        **{name: text(value) for name, value in fields.items()},
    )
    article.source = article.source or source_name(site_name(article.url))
    return article


def _lookup(lowered: dict, keys: tuple[str, ...]):
    for key in keys:
        value = lowered.get(key)
        if value is not None and not (isinstance(value, (str, list, dict)) and not _strip(value)):
            return value
    return None


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def text(value, joiner: str = ", ") -> str | None:
    """A record value as text: strings as is, numbers formatted, `{"name": ..}` unwrapped, lists joined."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        for key in ("name", "title", "text", "value", "url", "@id"):
            if key in value:
                return text(value[key], joiner)
        return None
    if isinstance(value, list):
        parts = [p for p in (text(v, joiner) for v in value) if p]
        return joiner.join(parts) or None
    return None


def date(value) -> datetime | None:
    """A record's date: text in any common layout, or Unix time in seconds or milliseconds.

    RFC 822 dates (`Tue, 04 Oct 2022 14:00:00 EST`, as in RSS and e-mail) are read by the standard
    library, which knows the US zone names; dateutil would warn about those and drop the zone.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    value = text(value)
    if not value or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
        if parsed.tzinfo is not None and 1800 <= parsed.year <= 2200:
            return parsed
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    with warnings.catch_warnings():  # an unknown zone name: the time is read as UTC, quietly
        warnings.simplefilter("ignore", UnknownTimezoneWarning)
        return parse_article_date(value)


def site_name(url: str | None) -> str | None:
    """The host of a URL without `www.`, e.g. `bbc.co.uk`; None when there is none."""
    if not url:
        return None
    try:
        host = urlparse(url.strip()).hostname or ""
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    return host.removeprefix("www.") or None


def line_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(line number from 1, start, end) of each `\n`-separated line, without copying the text into
    a list of lines: a file of millions of short lines must not cost a Python string each at once."""
    start, number, length = 0, 0, len(text)
    while start < length or (start == length and number == 0):
        end = text.find("\n", start)
        if end < 0:
            end = length
        number += 1
        yield number, start, end
        start = end + 1
