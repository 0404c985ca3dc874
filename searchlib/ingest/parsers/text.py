"""Plain-text articles → Article.

Stage: ingestion. Understands three layouts, detected per file:

1. Scraped page (the seed's layout): a short section line, the headline, an optional photo caption,
   paragraphs, a `Publish : 2022-09-06 11:50:00` line, then page boilerplate ("Give Your Comments").
2. Simple: the headline on line 1, a blank line, then paragraphs (the BBC corpus layout).
3. Either of the above under an optional header block of `Key: value` lines
   (`Title:`, `Date:`, `Source:`, `Author:`, `Section:`, `URL:`, `Tags:`, `Summary:`).

An article that names no section of its own takes the name of its folder, as collections sorted
into category folders are (`bbc/business/001.txt` → section `business`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ...article import Article
from .records import date as parse_date
from ...errors import ParseError
from ..limits import Limits

_HEADER = re.compile(
    r"^(title|headline|date|published|source|author|byline|section|category|url|link|tags|"
    r"keywords|summary|language|lang)\s*:\s*(.+)$", re.I)
_HEADER_FIELD = {"headline": "title", "published": "date", "byline": "author", "category": "section",
                 "link": "url", "keywords": "tags", "language": "lang"}
_DATE_LINE = re.compile(
    r"^(?:publish(?:ed)?|posted|updated|last updated|date)\s*(?:on|at)?\s*[:\-–]\s*(?P<date>.{6,60})$", re.I)
_CAPTION = re.compile(r"\((?:photo|image|picture|pic|file photo|credit|source)s?\s*:[^()]*\)\s*$"
                      r"|^(?:photo|image|picture)s?\s*:", re.I)
_SECTION_MAX_WORDS = 3
_TRAILER_MAX_WORDS = 12


def parse(text: str, path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    # The file is one article: `parse_file` has already truncated it to `limits.max_record_chars`.
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    fields, lines = _header(lines)
    blocks, found_date = _cut_date_line(_blocks(lines))
    date_text = fields.pop("date", None) or found_date
    if not blocks and "title" not in fields:
        raise ParseError(path, "no article text found")

    section = fields.pop("section", None)
    title = fields.pop("title", None)
    if title is None:
        if _looks_like_section(blocks, scraped=found_date is not None):
            section = section or blocks.pop(0)
        title = blocks.pop(0)
    caption = blocks.pop(0) if blocks and _CAPTION.search(blocks[0]) else None
    tags = [t.strip() for t in fields.pop("tags", "").split(",") if t.strip()]
    yield Article(
        title=title,
        body="\n\n".join(blocks),
        summary=fields.pop("summary", None) or caption,
        section=section or path.parent.name or None,
        date=parse_date(date_text),
        tags=tags,
        **fields,
    )


def _header(lines: list[str]) -> tuple[dict, list[str]]:
    """Split off a leading block of `Key: value` lines (two or more, or a single `Title:`)."""
    fields: dict[str, str] = {}
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    end = start
    while end < len(lines) and (m := _HEADER.match(lines[end])):
        name = m.group(1).lower()
        fields[_HEADER_FIELD.get(name, name)] = m.group(2).strip()
        end += 1
    if len(fields) >= 2 or "title" in fields:
        return fields, lines[end:]
    return {}, lines


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs: runs of lines separated by blank lines (each line, if the text has no blanks)."""
    content = [line for line in lines if line]
    if not content:
        return []
    first = lines.index(content[0])
    last = len(lines) - lines[::-1].index(content[-1])
    if "" not in lines[first:last]:
        return content
    blocks, current = [], []
    for line in lines[first:last] + [""]:
        if line:
            current.append(line)
        elif current:
            blocks.append(" ".join(current))
            current = []
    return blocks


def _cut_date_line(blocks: list[str]) -> tuple[list[str], str | None]:
    """Remove the `Publish : ...` line; when it closes the article, drop the short boilerplate after it."""
    for i in range(len(blocks) - 1, -1, -1):
        m = _DATE_LINE.match(blocks[i])
        if m and parse_date(m.group("date")):
            after = blocks[i + 1:]
            if all(_words(b, _TRAILER_MAX_WORDS) <= _TRAILER_MAX_WORDS for b in after):
                after = []
            return blocks[:i] + after, m.group("date")
    return blocks, None


def _looks_like_section(blocks: list[str], scraped: bool) -> bool:
    """A scraped page's section label: a short first line, then a headline, in a page that has
    the scraped layout's other marks (a `Publish :` line, or a photo caption under the headline).
    Without them a short first line is a headline (BBC: "Jobs growth", then the standfirst)."""
    if len(blocks) < 3 or not (scraped or _CAPTION.search(blocks[2])):
        return False
    first, second = blocks[0], blocks[1]
    return (_words(first, _SECTION_MAX_WORDS) <= _SECTION_MAX_WORDS and not first.endswith((".", "!", "?", ":"))
            and _words(second, 30) <= 30 and not second.endswith("."))


def _words(text: str, most: int) -> int:
    """The number of words in `text`, counted up to `most + 1` (no list of every word)."""
    return len(text.split(None, most + 1)[:most + 1])
