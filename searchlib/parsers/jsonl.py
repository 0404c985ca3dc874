"""JSON and JSON Lines records → Articles.

Stage: ingestion. A `.json` file holds one record, a list of records, or an object with the list
under `articles` / `items` / `records` / `data` / `results`. A `.jsonl` file holds one record per
line; a line that does not parse is reported and the other lines are kept. Keys are matched by
their usual names, case-insensitively (see `KEYS`); nested values such as `{"name": ...}` authors
or lists of tags are flattened.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ..article import Article
from ..dates import parse_article_date
from ..errors import ParseError

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
_CONTAINERS = ("articles", "items", "records", "data", "results", "entries", "docs")


def parse_json(text: str, path: Path) -> Iterator[Article | ParseError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(data, dict):
        lowered = {k.lower(): v for k, v in data.items() if isinstance(k, str)}
        found = next((lowered[c] for c in _CONTAINERS if isinstance(lowered.get(c), list)), None)
        records = found if found is not None else [data]
    elif isinstance(data, list):
        records = data
    else:
        raise ParseError(path, "JSON holds neither a record nor a list of records")
    single = len(records) == 1 and isinstance(data, dict)
    for i, record in enumerate(records):
        yield from _record(record, path, None if single else f"item {i}", None if single else str(i))


def parse_lines(text: str, path: Path) -> Iterator[Article | ParseError]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ParseError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", f"line {number}")
            continue
        yield from _record(record, path, f"line {number}", str(number))


def _record(record: Any, path: Path, where: str | None, fallback_key: str | None):
    if not isinstance(record, dict):
        yield ParseError(path, f"expected an object, found {type(record).__name__}", where)
        return
    fields = {name: _lookup(record, keys) for name, keys in KEYS.items()}
    if not (_text(fields["title"]) or _text(fields["body"])):
        yield ParseError(path, "record has no title or text", where)
        return
    key = _text(fields.pop("key")) or fallback_key
    raw_tags = fields.pop("tags")
    tags = raw_tags if isinstance(raw_tags, list) else (_text(raw_tags) or "").split(",")
    yield Article(
        title=_text(fields.pop("title")) or "",
        body=_text(fields.pop("body"), "\n\n") or "",
        date=_date(fields.pop("date")),
        tags=[t for t in (_text(t) for t in tags) if t],
        key=key,
        **{name: _text(value) for name, value in fields.items()},
    )


def _lookup(record: dict, keys: tuple[str, ...]):
    lowered = {k.lower(): v for k, v in record.items() if isinstance(k, str)}
    for key in keys:
        value = lowered.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(value, joiner: str = ", ") -> str | None:
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
                return _text(value[key], joiner)
        return None
    if isinstance(value, list):
        parts = [p for p in (_text(v, joiner) for v in value) if p]
        return joiner.join(parts) or None
    return None


def _date(value) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):  # Unix time, in seconds or milliseconds
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_article_date(_text(value))
