"""Parsers: files → Articles. Detects each file's format, decodes its bytes, hands it to a parser.

Stage: ingestion. Every parser module exposes `parse(text, path) -> Iterator[Article | ParseError]`:
it yields articles, and yields (does not raise) a ParseError for a single bad record so the rest of
the file is kept. A problem with the whole file raises ParseError. Nothing else may escape:
`parse_file` turns any unexpected exception into a ParseError naming the file.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Iterator

from ..article import Article
from ..errors import ParseError
from . import html, jsonl, smart, text

# Extension → format. Files with other extensions are sniffed by content (see `detect_format`).
EXTENSIONS = {
    ".txt": "text", ".text": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
}
PARSERS = {"text": text.parse, "html": html.parse, "json": jsonl.parse_json, "jsonl": jsonl.parse_lines,
           "smart": smart.parse}
FORMATS = tuple(PARSERS)

_SNIFF = 8192
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def parse_file(path: Path) -> Iterator[Article | ParseError]:
    """Articles (and per-record problems) in one file; raises ParseError if the file is unusable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror or exc}") from None
    fmt = detect_format(path, data)
    content = decode(data, path, fmt)
    try:
        for item in PARSERS[fmt](content, path):
            if isinstance(item, Article):
                item.path, item.format = path, item.format or fmt
            yield item
    except ParseError:
        raise
    except Exception as exc:  # a parser bug must cost one file, never the run
        raise ParseError(path, f"{fmt} parser failed: {type(exc).__name__}: {exc}") from exc


def detect_format(path: Path, data: bytes) -> str:
    """The file's format, from its extension or, failing that, its first bytes."""
    head = data[:_SNIFF]
    if not data.strip():
        raise ParseError(path, "empty file")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ParseError(path, "binary file (contains NUL bytes)")
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt:
        return fmt
    if re.match(rb"\.I \d+\s*\n\.[A-Z]", head):  # SMART test collections: CISI.ALL, cran.all.1400
        return "smart"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:1024]:
        return "html"
    if start.startswith((b"{", b"[")):
        first_line = start.split(b"\n", 1)[0].strip()
        return "jsonl" if first_line.startswith(b"{") and first_line.endswith(b"}") and b"\n{" in start else "json"
    if not path.suffix:
        return "text"
    raise ParseError(path, f"unsupported file type ({path.suffix}); known: "
                     + ", ".join(sorted(EXTENSIONS)))


def decode(data: bytes, path: Path, fmt: str) -> str:
    """Bytes → text: BOM, then an HTML page's declared charset, then UTF-8, then Windows-1252."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff")
            except UnicodeDecodeError:
                break
    if fmt == "html":
        declared = _META_CHARSET.search(data[:_SNIFF])
        if declared:
            try:
                return data.decode(declared.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")
