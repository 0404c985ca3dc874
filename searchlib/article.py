"""Article: the record every parser produces and the indexer stores.

Stage: the hand-off between ingestion (`searchlib.ingest.parsers`) and indexing (`searchlib.indexing.update`).
Plain Python only: no Whoosh types here.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from .dates import isoformat, to_utc_aware

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n")  # starts only at a newline: fast on long texts
_SURROGATES = re.compile("[\ud800-\udfff]")  # lone surrogates: not characters
# Fields holding lists of short labels.
LIST_FIELDS = ("tags", "topics", "places", "people", "orgs")


@dataclass(slots=True)
class Article:
    """One news article. `date` is timezone-aware UTC (or None when the source gave none).

    `path` is the file the article came from and `key` its record within that file (a line
    number, a record id) when the file holds many. `id` is stable: the URL where known, else
    the path (relative to the index's project folder) plus the record key; the indexer sets it.

    `lang` is an ISO 639-1 code (`en`, `pt`, `zh`) and `region` the region its tag named (`US`,
    `BR`), as `searchlib.ingest.language.settle` normalises them when a file is parsed.

    `dateline` is the wire-service place line ("SALVADOR, Feb 26"); `topics`, `places`, `people`
    and `orgs` are a newswire's controlled category lists (Reuters-21578). `notes` records doubts
    about how the article was read, e.g. an encoding that had to be guessed.

    Slotted (no per-instance dict): a file may hold hundreds of thousands of short records,
    and a batch of them is held at once.
    """

    title: str = ""
    body: str = ""
    url: str | None = None
    source: str | None = None
    section: str | None = None
    author: str | None = None
    summary: str | None = None
    date: datetime | None = None
    lang: str | None = None
    region: str | None = None
    tags: list[str] = field(default_factory=list)
    dateline: str | None = None
    topics: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    path: Path | None = None
    key: str | None = None
    format: str | None = None
    id: str = ""

    def __post_init__(self):
        self.date = to_utc_aware(self.date)
        self.title = clean_line(self.title)
        self.body = clean_text(self.body)
        for name in ("url", "source", "section", "author", "summary", "lang", "region", "dateline"):
            value = getattr(self, name)
            setattr(self, name, clean_line(value) or None if value is not None else None)
        for name in LIST_FIELDS:
            setattr(self, name, [t for t in (clean_line(t) for t in getattr(self, name)) if t])
        self.source = source_name(self.source)
        self.section = section_name(self.section)

    @property
    def has_text(self) -> bool:
        return bool(self.title or self.body)

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field (dates in ISO 8601 UTC, paths as strings)."""
        data = asdict(self)
        data["date"] = isoformat(self.date)
        data["path"] = str(self.path) if self.path else None
        return data


_HOST = re.compile(r"(?:https?://)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,})(?::\d+)?(?:[/?#]\S*)?",
                   re.I)
_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go"}  # co.uk, com.au, ...


def source_name(value: str | None) -> str | None:
    """One form for an outlet however a file names it: a URL or a host is reduced to the site's
    name, its main label (`https://www.cnn.com/` and `edition.cnn.com` → `cnn`, `news.bbc.co.uk`
    → `bbc`), and such a label, like a one-word name written all in lower case, is written as a
    name: upper case up to 4 letters (an acronym: `CNN`, `BBC`), else capitalised (`Reuters`,
    `Cbsnews`). So "CNN", "cnn", "cnn.com" and "https://www.cnn.com/" are all `CNN`. Other
    names ("The New York Times", "Al Jazeera") are kept as written."""
    if not value:
        return value
    host = _HOST.fullmatch(value)
    if host:
        labels = host.group(1).lower().split(".")
        suffix = 2 if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 1
        labels = labels[:-suffix]
        value = labels[-1]
    elif not (value.isalnum() and value.islower()):
        return value
    return value.upper() if len(value) <= 4 else value[:1].upper() + value[1:]


def section_name(value: str | None) -> str | None:
    """One form for a section whatever its case: lower case with a capital first letter
    (`business`, `BUSINESS` → `Business`; `World News` → `World news`)."""
    return value[:1].upper() + value[1:].lower() if value else value


def clean_line(text: str | None) -> str:
    """Collapse all whitespace (newlines included) to single spaces."""
    return " ".join(_valid(text).split()) if text else ""


def _valid(text: str) -> str:
    """The text with each lone surrogate (a JSON "\\ud800" escape, say: not a character, and
    not writable as UTF-8) replaced by U+FFFD, as a decoder replaces a byte it cannot read."""
    return text if text.isascii() else _SURROGATES.sub("\ufffd", text)


def clean_text(text: str | None) -> str:
    """Normalise body text: paragraphs separated by one blank line, spaces collapsed inside."""
    if not text:
        return ""
    text = _valid(text).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (_SPACES.sub(" ", p.replace("\n", " ")).strip() for p in _BLANK_LINES.split(text))
    return "\n\n".join(p for p in paragraphs if p)
