"""JSON and JSON Lines records → Articles.

Stage: ingestion. A `.json` file holds one record, a list of records, or an object with the list
under `articles` / `items` / `records` / `data` / `results`. A `.jsonl` file holds one record per
line; a line that does not parse is reported and the other lines are kept. Keys are matched by
their usual names, case-insensitively (see `records.KEYS`, shared with the CSV parser).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ..article import Article
from ..errors import ParseError
from .records import KEYS, to_article

__all__ = ["KEYS", "parse_json", "parse_lines"]
_CONTAINERS = ("articles", "items", "records", "data", "results", "entries", "docs")


def parse_json(text: str, path: Path) -> Iterator[Article | ParseError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ParseError(path, "invalid JSON: nested too deeply") from None
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
        yield to_article(record, path, None if single else f"item {i}", None if single else str(i))


def parse_lines(text: str, path: Path) -> Iterator[Article | ParseError]:
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may be in a string
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ParseError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", f"line {number}")
            continue
        except RecursionError:
            yield ParseError(path, "invalid JSON: nested too deeply", f"line {number}")
            continue
        yield to_article(record, path, f"line {number}", str(number))
