"""CSV (and TSV) tables with a header row → Articles, one per row (the standard library's csv).

Stage: ingestion. The header names the columns; they are mapped to fields by the same names as
JSON keys (`records.KEYS`: `title`, `text`, `publish_date`, `article_source_link`, `subtitle`,
...), so `NewsArticles.csv` (`article_id,publish_date,article_source_link,title,subtitle,text`)
needs no configuration. Quoted fields may span lines. The delimiter is a tab for `.tsv` files,
else whichever of `,` `;` `\\t` `|` the header line uses most. A row's key is its id column,
else its row number (1 = the first row after the header). A row that cannot be read (a field
over `MAX_FIELD_CHARS`, a row with no title or text) is reported and the other rows are kept.

`csv.field_size_limit` is process-wide; parsing sets it to `MAX_FIELD_CHARS`.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from ..article import Article
from ..errors import ParseError
from .records import fields_found, to_article

# Largest field accepted (characters): far above any article, far below exhausting memory.
MAX_FIELD_CHARS = 50 * 2**20
_DELIMITERS = ",;\t|"


def parse(text: str, path: Path) -> Iterator[Article | ParseError]:
    csv.field_size_limit(MAX_FIELD_CHARS)
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = _header(reader, path)
    found = fields_found(header)
    if not found & {"title", "body"}:
        shown = ", ".join(h for h in header if h)[:200]
        raise ParseError(path, f"CSV header names no title or text column (columns: {shown})")
    number = 0
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield ParseError(path, f"unreadable CSV row: {exc}", f"row {number}")
            continue
        if not any(cell.strip() for cell in row):
            number -= 1  # blank lines are not rows
            continue
        record = dict(zip(header, row))
        yield to_article(record, path, f"row {number}", str(number))


def _header(reader, path: Path) -> list[str]:
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                return [cell.strip().lstrip("\ufeff") for cell in row]
    except csv.Error as exc:
        raise ParseError(path, f"unreadable CSV header: {exc}") from None
    raise ParseError(path, "CSV file has no header row")
