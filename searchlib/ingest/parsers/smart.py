"""SMART-format collections (CISI, CRAN, MED test collections) → Articles.

Stage: ingestion. A record starts with `.I <number>`; then `.T` title, `.A` author (may repeat),
`.B` bibliographic note, `.W` text, and `.X` / `.N` / `.K` blocks that are not article text.
The record key is the `.I` number; a record with neither title nor text is reported, and so is
a record over `max_record_chars` (its lines are not kept).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ...article import Article, clean_line
from ...errors import ParseError
from ..limits import Limits, current as current_limits, size
from .records import line_spans

_FIELD = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def parse(text: str, path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    limits = current_limits(limits)
    for key, fields in records(text, limits.max_record_chars):
        if fields is None:
            yield ParseError(path, f"record is over the {size(limits.max_record_chars, 'chars')} limit "
                                   f"{limits.hint('max_record_chars')}; skipped", f"record {key}")
            continue
        title = clean_line(" ".join(fields.get("T", [])))
        body = "\n".join(fields.get("W", []))
        if not (title or body.strip()):
            yield ParseError(path, "record has no .T title or .W text", f"record {key}")
            continue
        authors = [clean_line(a) for a in fields.get("A", []) if a.strip()]
        yield Article(title=title, body=body, author=", ".join(authors) or None, key=key)


def records(text: str, max_chars: int | None = None) -> Iterator[tuple[str, dict[str, list[str]] | None]]:
    """(`.I` number, {field letter: lines}) for each record; `.A` keeps one entry per line.

    A record longer than `max_chars` characters comes with None instead of its fields.
    """
    key, fields, current, chars = None, {}, None, 0
    for _, start, end in line_spans(text):
        line = text[start:end].removesuffix("\r")
        m = _FIELD.match(line.rstrip()) if line.startswith(".") else None
        if m and m.group(1) == "I":
            if key is not None:
                yield key, fields
            key, fields, current, chars = (m.group(2) or "").strip(), {}, None, 0
            continue
        if key is None or fields is None:
            continue
        chars += len(line)
        if max_chars is not None and chars > max_chars:
            fields = None  # too big: drop what was kept, skip the rest
        elif m:
            current = m.group(1)
            fields.setdefault(current, [])
            if m.group(2):
                fields[current].append(m.group(2))
        elif current is not None:
            fields[current].append(line.strip() if current == "A" else line)
    if key is not None:
        yield key, fields
