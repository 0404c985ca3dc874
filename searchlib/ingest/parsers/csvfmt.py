"""CSV (and TSV) tables → Articles, one per row (the standard library's csv).

Stage: ingestion. The header names the columns; they are mapped to fields by the same names as
JSON keys (`records.KEYS`: `title`, `text`, `publish_date`, `article_source_link`, `subtitle`,
...), so `NewsArticles.csv` (`article_id,publish_date,article_source_link,title,subtitle,text`)
needs no configuration. Quoted fields may span lines. The delimiter is a tab for `.tsv` files,
else whichever of `,` `;` `\\t` `|` the header line uses most. A row's key is its id column,
else its row number (1 = the first row after the header). A row that cannot be read (a field
over `limits.max_record_chars`, a row with no title or text) is reported and the other rows are kept.

A table without a header row (an export such as AG News: `3,"Wall St. Bears Claw Back…","Reuters -
Short-sellers…"`) is recognised when its first row names no known column and does not look like
a header: one of its cells is empty, a number, a URL or longer than a name. Its columns are then mapped from the first rows: the
column of the longest text is the body, the nearest text column before it (else after it) the
title, a column of `http(s)://` values the URL; the rest are ignored. `limits.csv_columns`
(`SEARCHLIB_CSV_COLUMNS="class,title,body"`) names the columns explicitly, in order, by the names a
header would use (an empty name ignores a column); a first row that names a known column is then
taken as a header and skipped.

`csv.field_size_limit` is process-wide; parsing sets it to `max_record_chars`.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterator

from ...article import Article
from ...errors import ParseError
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
    sample = _sample(text, delimiter)
    names_fields = bool(sample) and bool(fields_found(sample[0]))
    has_header = names_fields or (bool(sample) and _looks_like_header(sample))
    if limits.csv_columns:
        header = list(limits.csv_columns)
        if names_fields:  # a header after all: skipped
            _header(reader, path, limits)
        if not fields_found(header) & {"title", "body"}:
            raise ParseError(path, f"the CSV columns given ({','.join(header)[:200]}) name no title or text "
                                   f"column {limits.hint('csv_columns')}")
    elif has_header or not sample:
        header = _header(reader, path, limits)
        found = fields_found(header)
        if not found & {"title", "body"}:
            shown = ", ".join(h for h in header if h)[:200]
            raise ParseError(path, f"CSV header names no title or text column (columns: {shown}); "
                                   f"name them with {limits.hint('csv_columns')[1:-1]}")
    else:
        header = _guess_columns(sample)
        if header is None:
            raise ParseError(path, "CSV file has no header row and no column of text; name its columns "
                                   f"with {limits.hint('csv_columns')[1:-1]}")
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


_SAMPLE_ROWS = 50
_NAME_CHARS = 40  # a header's cells are names, no longer than this
_NUMBER = re.compile(r"\s*[-+]?\d+(?:[.,]\d+)*\s*")
_URL = re.compile(r"\s*https?://\S+\s*$", re.I)


def _sample(text: str, delimiter: str) -> list[list[str]]:
    """The first rows (not blank) of the table, read from its first characters only."""
    head = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:  # (the last line may be cut: drop it)
        head = head[:head.rfind("\n") + 1] or head
    try:
        rows = [row for row in csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
                if any(cell.strip() for cell in row)]
    except csv.Error:
        return []
    return rows[:_SAMPLE_ROWS]


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row is a header though it names no known column: none of its cells is
    empty, a number, a URL or longer than a name (in doubt, a header: as before)."""
    return not any(_NUMBER.fullmatch(c) or _URL.match(c) or len(c.strip()) > _NAME_CHARS or not c.strip()
                   for c in rows[0])


def _guess_columns(rows: list[list[str]]) -> list[str] | None:
    """Field names for the columns of a table without a header, from its first rows: the
    longest text column is the body, the nearest text column before it (else after it) the
    title, a column of URLs the URL; None when no column holds text."""
    width = max(len(row) for row in rows)
    columns = [[row[i] for row in rows if i < len(row) and row[i].strip()] for i in range(width)]

    def kind(values: list[str]) -> str:
        if not values:
            return "empty"
        if all(_NUMBER.fullmatch(v) for v in values):
            return "number"
        if all(_URL.match(v) for v in values):
            return "url"
        return "text"

    kinds = [kind(values) for values in columns]
    texts = [i for i, k in enumerate(kinds) if k == "text"]
    if not texts:
        return None
    mean = [sum(map(len, values)) / max(1, len(values)) for values in columns]
    body = max(texts, key=lambda i: (mean[i], -i))
    names = [""] * width
    names[body] = "body"
    before = [i for i in texts if i < body]
    after = [i for i in texts if i > body]
    if before or after:
        names[before[-1] if before else after[0]] = "title"
    if "url" in kinds:
        names[kinds.index("url")] = "url"
    return names


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
