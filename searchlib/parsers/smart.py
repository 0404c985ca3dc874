"""SMART-format collections (CISI, CRAN, MED test collections) → Articles.

Stage: ingestion. A record starts with `.I <number>`; then `.T` title, `.A` author (may repeat),
`.B` bibliographic note, `.W` text, and `.X` / `.N` / `.K` blocks that are not article text.
The record key is the `.I` number; a record with neither title nor text is reported.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..article import Article, clean_line
from ..errors import ParseError

_FIELD = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def parse(text: str, path: Path) -> Iterator[Article | ParseError]:
    for key, fields in records(text):
        title = clean_line(" ".join(fields.get("T", [])))
        body = "\n".join(fields.get("W", []))
        if not (title or body.strip()):
            yield ParseError(path, "record has no .T title or .W text", f"record {key}")
            continue
        authors = [clean_line(a) for a in fields.get("A", []) if a.strip()]
        yield Article(title=title, body=body, author=", ".join(authors) or None, key=key)


def records(text: str) -> Iterator[tuple[str, dict[str, list[str]]]]:
    """(`.I` number, {field letter: lines}) for each record; `.A` keeps one entry per line."""
    key, fields, current = None, {}, None
    for line in text.splitlines():
        m = _FIELD.match(line.rstrip())
        if m and m.group(1) == "I":
            if key is not None:
                yield key, fields
            key, fields, current = (m.group(2) or "").strip(), {}, None
        elif m and key is not None:
            current = m.group(1)
            fields.setdefault(current, [])
            if m.group(2):
                fields[current].append(m.group(2))
        elif current is not None:
            fields[current].append(line.strip() if current == "A" else line)
    if key is not None:
        yield key, fields
