"""Limits: how much of one untrusted file searchlib will read, resolved in one place.

Stage: ingestion (used by `corpus` and `parsers`). Corpus files were written by someone else, and
some will be hostile or broken: a gzip bomb, a multi-gigabyte dump, one JSON line holding a huge
string, a page nested thousands of levels deep. These bounds keep any one file from exhausting
memory or time; what goes over a limit is skipped or truncated, with the reason (and the variable
to raise) in `UpdateReport.skipped` or the article's `notes`. The run always goes on.

Each limit is resolved as settings are: an explicit `Limits` (`parse_file(path, limits)`,
`read_articles(paths, limits=...)`), then the environment variable, then the default.

- `max_file_bytes`, 64 MB (`SEARCHLIB_MAX_FILE_MB`): a larger file is skipped without being
  read; a `.gz` file is decompressed only this far (a gzip bomb stops there).
- `max_record_chars`, 8 M characters (`SEARCHLIB_MAX_RECORD_MB`): a longer JSON Lines line, JSON
  record, CSV field or line, feed item, Reuters or SMART record is skipped; a longer text file or
  HTML page (one article each) is truncated.
- `max_html_tags`, 50,000 (`SEARCHLIB_MAX_HTML_TAGS`): a page is read up to that tag.
- `max_html_depth`, 256 (`SEARCHLIB_MAX_HTML_DEPTH`): deeper elements are flattened to their text.
- `max_feed_elements`, 1,000,000 (`SEARCHLIB_MAX_FEED_ELEMENTS`): a larger feed is skipped.
- `max_json_depth`, 512 (`SEARCHLIB_MAX_JSON_DEPTH`): a `.json` file longer than a record that
  nests deeper is skipped as soon as its scan gets there (a shorter one is decoded at once,
  and refused at Python's own recursion limit, about 1,000).
- `max_field_tokens`, 1,000,000 (`SEARCHLIB_MAX_FIELD_TOKENS`): a text field (body, title, ...)
  of more words is cut after that word, with a note, as Lucene's old `maxFieldLength` did: the
  writer holds each distinct word of a document until it commits (a word list of 1.5 M
  distinct words in one 8 M character record would cost over a gigabyte). A real article has
  a few thousand words; the longest novels under a million.

One setting says how to read rather than how much: `csv_columns` (`SEARCHLIB_CSV_COLUMNS`,
e.g. `class,title,body`), the names of a CSV table's columns in order, for a table without a
header row (see `parsers.csvfmt`); empty (the default) reads the header, or guesses.

The defaults are far above real news files (the largest page in the test corpora has ~2,000
tags nested 52 deep; the largest article record is well under 1 MB) and keep the peak memory of
reading any one file well under 1 GB: parsing costs at most a few times `max_file_bytes` for the
text, plus at most a few hundred MB for one record's objects (JSON can take ~30 bytes per
character) or one HTML page's tree (~1 KB per tag). Sizes are MB of 2**20 bytes (characters for
`max_record_chars`); fractions are allowed (`SEARCHLIB_MAX_FILE_MB=0.5`).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Mapping

from ..errors import SearchlibError

MB = 2**20


class LimitsError(SearchlibError, ValueError):
    """A limit set to something that is not a positive number (e.g. `SEARCHLIB_MAX_FILE_MB=lots`)."""

    def __init__(self, name: str, value: object, unit: str):
        self.name, self.value = name, value
        super().__init__(f"{name} must be a positive {unit}, not {value!r}")


@dataclass(frozen=True)
class Limits:
    """Bounds on what one corpus file may cost (see the module docstring for what each does)."""

    max_file_bytes: int = 64 * MB
    max_record_chars: int = 8 * MB
    max_html_tags: int = 50_000
    max_html_depth: int = 256
    max_feed_elements: int = 1_000_000
    max_json_depth: int = 512
    max_field_tokens: int = 1_000_000
    csv_columns: tuple[str, ...] = ()

    def __post_init__(self):
        if isinstance(self.csv_columns, str):  # "class,title,body"
            object.__setattr__(self, "csv_columns", _columns(self.csv_columns))
        if not (isinstance(self.csv_columns, tuple) and all(isinstance(c, str) for c in self.csv_columns)):
            raise LimitsError("csv_columns", self.csv_columns, "list of column names")
        for f in fields(self):
            if f.name == "csv_columns":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LimitsError(f.name, value, "whole number")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Limits":
        """The defaults, overridden by any `SEARCHLIB_MAX_*` variable that is set and not empty."""
        environ = os.environ if environ is None else environ
        limits = _from_values(tuple(environ.get(variable, "") for variable, _ in ENVIRONMENT.values()))
        columns = environ.get(CSV_COLUMNS, "")
        return replace(limits, csv_columns=_columns(columns)) if columns.strip() else limits

    def hint(self, name: str) -> str:
        """`(SEARCHLIB_MAX_FILE_MB)`: the variable that raises limit `name`, for messages."""
        return f"({CSV_COLUMNS if name == 'csv_columns' else ENVIRONMENT[name][0]})"


# Field → (environment variable, the variable's unit in the field's unit: MB or 1).
ENVIRONMENT = {
    "max_file_bytes": ("SEARCHLIB_MAX_FILE_MB", MB),
    "max_record_chars": ("SEARCHLIB_MAX_RECORD_MB", MB),
    "max_html_tags": ("SEARCHLIB_MAX_HTML_TAGS", 1),
    "max_html_depth": ("SEARCHLIB_MAX_HTML_DEPTH", 1),
    "max_feed_elements": ("SEARCHLIB_MAX_FEED_ELEMENTS", 1),
    "max_json_depth": ("SEARCHLIB_MAX_JSON_DEPTH", 1),
    "max_field_tokens": ("SEARCHLIB_MAX_FIELD_TOKENS", 1),
}
CSV_COLUMNS = "SEARCHLIB_CSV_COLUMNS"
DEFAULTS = Limits()


def _columns(text: str) -> tuple[str, ...]:
    """`"class, title,body"` → ("class", "title", "body"); empty when the text is blank."""
    return tuple(name.strip() for name in text.split(",")) if text.strip() else ()


def current(explicit: Limits | None = None) -> Limits:
    """The explicit limits if given, else the defaults overridden by the environment."""
    return explicit if explicit is not None else Limits.from_env()


def size(n: int, unit: str = "B") -> str:
    """`64 MB`, `1.5 MB`, `800 bytes` (or `… characters` with unit "chars") for messages."""
    if n >= MB:
        value = f"{n / MB:.1f}".removesuffix(".0")
        return f"{value} MB" if unit == "B" else f"{value} M characters"
    return f"{n:,} bytes" if unit == "B" else f"{n:,} characters"


@lru_cache(maxsize=16)
def _from_values(values: tuple[str, ...]) -> Limits:
    """Limits from the variables' values (cached: `current()` runs once per file read)."""
    found = {}
    for (name, (variable, scale)), raw in zip(ENVIRONMENT.items(), values):
        if raw.strip():
            found[name] = _parse(variable, raw.strip(), scale)
    return replace(DEFAULTS, **found)


def _parse(variable: str, raw: str, scale: int) -> int:
    try:
        number = float(raw) if scale != 1 else int(raw)
    except ValueError:
        raise LimitsError(variable, raw, "number" if scale != 1 else "whole number") from None
    value = number * scale
    if not math.isfinite(value) or value < 1:
        raise LimitsError(variable, raw, "number" if scale != 1 else "whole number")
    return int(value)
