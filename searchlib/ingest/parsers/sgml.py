"""Reuters-21578 SGML newswire files (`reut2-000.sgm`) → Articles, one per `<REUTERS>` record.

Stage: ingestion. Each record holds `<DATE>26-FEB-1987 15:01:01.79</DATE>` (sometimes followed by
noise), the category lists `<TOPICS>`, `<PLACES>`, `<PEOPLE>`, `<ORGS>`, `<EXCHANGES>` of `<D>`
items, and `<TEXT>` with `<TITLE>`, `<AUTHOR>`, `<DATELINE>` and `<BODY>`. Per the collection's
README, `<TEXT TYPE="BRIEF">` stories are all title (what follows it is filler), and
`<TEXT TYPE="UNPROC">` stories have no inner tags: their first line, and the unindented lines
after it, are the headline. Character references (`&lt;`, `&#3;`) are decoded and control characters
dropped; the closing `Reuter` sign-off is removed. The record key is `NEWID`; EXCHANGES become tags.
A record holding a byte whose encoding had to be guessed (`reut2-017.sgm` has one) says so in its
notes; the other records of the file need no such note.

Plain regular expressions, no SGML library: the whole 21,578-record collection parses in seconds.
"""
from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Iterator

from ...article import Article
from .records import date as parse_date
from ...errors import ParseError
from ..limits import Limits, current as current_limits, size
from .charset import guess_note

SOURCE = "Reuters"

# `[^<>]`, not `[^>]`: an unclosed tag must not make each later "<" scan to the end of the file.
_RECORD_START = re.compile(r"<REUTERS\b([^<>]*)>", re.I)
_RECORD_END = re.compile(r"</REUTERS\s*>", re.I)
_ATTRIBUTE = re.compile(r"""([A-Za-z]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z]+)\b([^<>]*)>")
_ITEM = re.compile(r"<D>([^<]*+(?:<(?!/?D>)[^<]*+)*+)</D>", re.I)  # (linear: never rescans)
_TAG = re.compile(r"<[^<>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SIGN_OFFS = ("reuter", "reuters")
_PARAGRAPH_INDENT = re.compile(r"\n[ \t]+(?=\S)")
_DATE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})(?:\s+(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?")
_STARS = re.compile(r"\*{3,}")
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP",
                                         "OCT", "NOV", "DEC"), start=1)}
_UNPROC_DATELINE = re.compile(r"^\s*([A-Z][A-Za-z .'&/-]+(?:, [A-Z][A-Za-z.]+)?, [A-Z][a-z]+\.? \d{1,2}) - ")
_BY = re.compile(r"^\s*by\s+", re.I)
_LISTS = ("TOPICS", "PLACES", "PEOPLE", "ORGS", "EXCHANGES")


def parse(text: str, path: Path, limits: Limits | None = None,
          guessed: Sequence[int] = ()) -> Iterator[Article | ParseError]:
    """`guessed`: offsets in `text` of characters whose encoding was guessed (sorted); the records
    holding them get a note saying how many."""
    limits = current_limits(limits)
    starts = _RECORD_START.finditer(text)  # lazily: a file of millions of tags is no list of matches
    start = next(starts, None)
    if start is None:
        raise ParseError(path, "no <REUTERS> records found")
    i = 0
    while start is not None:
        following = next(starts, None)
        stop = following.start() if following is not None else len(text)
        attributes = _attributes(start.group(1)[:10_000])
        key = attributes.get("NEWID") or str(i + 1)
        where = f"NEWID {key}" if "NEWID" in attributes else f"record {key}"
        if stop - start.end() > limits.max_record_chars:
            yield ParseError(path, f"record is over the {size(limits.max_record_chars, 'chars')} limit "
                                   f"{limits.hint('max_record_chars')}; skipped", where)
        else:
            chunk = text[start.end():stop]
            end = _RECORD_END.search(chunk)
            if end:
                item = _record(chunk[:end.start()], key, path, where)
                doubtful = bisect_left(guessed, start.end() + end.end()) - bisect_left(guessed, start.start())
                if doubtful and isinstance(item, Article):  # a stray byte in this record
                    item.notes.append(f"encoding: {guess_note(doubtful)}")
                yield item
            else:
                yield ParseError(path, "record is not closed by </REUTERS> (truncated file?)", where)
        start, i = following, i + 1


def _record(record: str, key: str, path: Path, where: str) -> Article | ParseError:
    elements = _elements(record)
    lists = {name: [_clean(item) for item in _ITEM.findall(elements.get(name, ("", ""))[1])] for name in _LISTS}
    title, body, dateline, author = "", "", None, None
    if "TEXT" in elements:
        attributes, inner = elements["TEXT"]
        kind = _attributes(attributes).get("TYPE", "NORM").upper()
        title = _clean(elements.get("TITLE", ("", ""))[1])
        dateline = _clean(elements.get("DATELINE", ("", ""))[1]).rstrip(" -") or None
        author = _BY.sub("", _clean(elements.get("AUTHOR", ("", ""))[1])) or None
        if kind == "UNPROC" and not title:
            title, body, dateline = _unprocessed(inner)
        elif kind != "BRIEF":
            body = _body(elements.get("BODY", ("", ""))[1])
    if not (title or body):
        return ParseError(path, "record has no title or text", where)
    return Article(
        title=title, body=body, date=_date(elements.get("DATE", ("", ""))[1]), dateline=dateline,
        author=author, source=SOURCE, key=key, topics=lists["TOPICS"], places=lists["PLACES"],
        people=lists["PEOPLE"], orgs=lists["ORGS"], tags=lists["EXCHANGES"],
    )


def _elements(record: str) -> dict[str, tuple[str, str]]:
    """Tag name → (attributes, content) of its first occurrence; an unclosed one runs to the end."""
    opened: dict[str, tuple[str, int]] = {}
    found: dict[str, tuple[str, str]] = {}
    for m in _TAG_TOKEN.finditer(record):
        closing, name, attributes = m.group(1), m.group(2).upper(), m.group(3)
        if name in found:
            continue
        if not closing:
            opened.setdefault(name, (attributes, m.end()))
        elif name in opened:
            attributes, start = opened.pop(name)
            found[name] = (attributes, record[start:m.start()])
    for name, (attributes, start) in opened.items():
        found.setdefault(name, (attributes, record[start:]))
    return found


def _attributes(text: str) -> dict[str, str]:
    return {m.group(1).upper(): next(g for g in m.groups()[1:] if g is not None)
            for m in _ATTRIBUTE.finditer(text)}


def _decode(text: str) -> str:
    """Markup removed, character references decoded, control characters dropped."""
    return _CONTROL.sub("", html.unescape(_TAG.sub("", text)))


def _clean(text: str) -> str:
    return " ".join(_decode(text).split())


def _body(raw: str) -> str:
    """Body text with Reuters' indented paragraphs kept apart and the sign-off removed."""
    text = _decode(raw).replace("\r\n", "\n").rstrip()
    last_word = text[text.rfind("\n") + 1:].strip().lower() if "\n" in text else ""
    if last_word in _SIGN_OFFS:
        text = text[:text.rfind("\n")]
    return _PARAGRAPH_INDENT.sub("\n\n", text).strip()


def _unprocessed(inner: str) -> tuple[str, str, str | None]:
    """Headline, body and dateline of an untagged story: the headline runs to the first indented line."""
    lines = _decode(inner).replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    head = [lines.pop(0).strip()] if lines else []
    while lines and lines[0].strip() and not lines[0][:1].isspace():
        head.append(lines.pop(0).strip())
    body = "\n".join(lines)
    dateline = _UNPROC_DATELINE.match(body)
    if dateline:
        body = body[dateline.end():]
    title = "".join(h if h.startswith("-") or not i else " " + h for i, h in enumerate(head))
    return " ".join(_STARS.sub(" ", title).split()), _body(body), dateline.group(1) if dateline else None


def _date(text: str) -> datetime | None:
    """`26-FEB-1987 15:01:01.79` (noise may follow) in UTC, as the source gives no zone; a broken
    time (`605:12:19.12`) leaves the day."""
    m = _DATE.search(text)
    if not m:
        return parse_date(_clean(text)[:40])
    day, month, year, hour, minute, second, fraction = m.groups()
    try:
        return datetime(int(year), _MONTHS.get(month.upper(), 0), int(day), int(hour or 0), int(minute or 0),
                        int(second or 0), int((fraction or "0").ljust(6, "0")))
    except ValueError:
        pass
    try:
        return datetime(int(year), _MONTHS.get(month.upper(), 0), int(day))
    except ValueError:
        return None
