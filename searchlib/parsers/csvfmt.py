"""CSV (and TSV) tables with a header row → Articles, one per row (the standard library's csv).

Stage: ingestion. The header names the columns; they are mapped to fields by the same names as
JSON keys (`records.KEYS`: `title`, `text`, `publish_date`, `article_source_link`, `subtitle`,
...), so `NewsArticles.csv` (`article_id,publish_date,article_source_link,title,subtitle,text`)
needs no configuration. Quoted fields may span lines. The delimiter is a tab for `.tsv` files,
else whichever of `,` `;` `\\t` `|` the header line uses most. A row's key is its id column,
else its row number (1 = the first row after the header). A row that cannot be read (a field
over `limits.max_record_chars`, a row with no title or text) is reported and the other rows are kept.

`csv.field_size_limit` is process-wide; parsing sets it to `max_record_chars`.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterator

from ..article import Article
from ..errors import ParseError
from ..limits import Limits, current as current_limits, size
from .records import fields_found, to_article

_DELIMITERS = ",;\t|"
_FIRST_LINE = re.compile(r"[^\r\n][^\n]*")
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
_SNIFF_CHARS = 65536


def parse(text: str, path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    limits = current_limits(limits)
    csv.field_size_limit(limits.max_record_chars)
    first = _FIRST_LINE.search(text)
    first_line = first.group()[:_SNIFF_CHARS] if first else ""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else max(_DELIMITERS, key=first_line.count)
    too_long: list[tuple[int, int]] = []
    reader = csv.reader(_lines(text, limits.max_record_chars, too_long), delimiter=delimiter)
    header = _header(reader, path, limits)
    found = fields_found(header)
    if not found & {"title", "body"}:
        shown = ", ".join(h for h in header if h)[:200]
        raise ParseError(path, f"CSV header names no title or text column (columns: {shown})")
    number = 0
    while True:
        number += 1
        row, problem = None, None
        try:
            row = next(reader)
        except StopIteration:
            pass
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                problem = ParseError(path, f"a field is over the {size(limits.max_record_chars, 'chars')} limit "
                                           f"{limits.hint('max_record_chars')}; row skipped", f"row {number}")
            else:
                problem = ParseError(path, f"unreadable CSV row: {exc}", f"row {number}")
        for line, chars in too_long:
            yield ParseError(path, f"a line of {size(chars, 'chars')} is over the "
                                   f"{size(limits.max_record_chars, 'chars')} limit "
                                   f"{limits.hint('max_record_chars')}; skipped", f"line {line}")
        too_long.clear()
        if problem is not None:
            yield problem
            continue
        if row is None:
            return
        if not any(cell.strip() for cell in row):
            number -= 1  # blank lines are not rows
            continue
        record = dict(zip(header, row))
        yield to_article(record, path, f"row {number}", str(number))


def _lines(text: str, limit: int, too_long: list[tuple[int, int]]) -> Iterator[str]:
    """The text's lines with their endings (as `open(newline="")` gives them, without a copy of
    the whole text), a line over `limit` characters replaced by a blank one and noted in
    `too_long`: one row of millions of tiny fields must not become millions of strings."""
    for number, m in enumerate(_LINE.finditer(text), start=1):
        if m.end() - m.start() > limit:
            too_long.append((number, m.end() - m.start()))
            yield "\n"
        else:
            yield m.group()


def _header(reader, path: Path, limits: Limits) -> list[str]:
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                return [cell.strip().lstrip("\ufeff") for cell in row]
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ParseError(path, f"CSV header has a field over the {size(limits.max_record_chars, 'chars')} "
                                   f"limit {limits.hint('max_record_chars')}") from None
        raise ParseError(path, f"unreadable CSV header: {exc}") from None
    raise ParseError(path, "CSV file has no header row")
