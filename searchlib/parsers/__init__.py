"""Parsers: files → Articles. Unpacks, detects each file's format, decodes it, hands it to a parser.

Stage: ingestion. Every parser module exposes `parse(text, path) -> Iterator[Article | ParseError]`:
it yields articles, and yields (does not raise) a ParseError for a single bad record so the rest of
the file is kept. A problem with the whole file raises ParseError. Nothing else may escape:
`parse_file` turns any unexpected exception into a ParseError naming the file.

A gzip-compressed file (`x.jsonl.gz`) is decompressed first, up to `MAX_DECOMPRESSED` bytes, and
its format is that of the inner name (`x.jsonl`). Decoding is `charset.decode`'s; when it had to
guess the encoding, every article from the file carries a note saying so.
"""
from __future__ import annotations

import gzip
import io
import re
import zlib
from pathlib import Path
from typing import Iterator

from ..article import Article
from ..errors import ParseError
from . import charset, csvfmt, feeds, html, jsonl, sgml, smart, text

# Extension → format. `.txt` and files with other extensions are also sniffed by content
# (see `detect_format`); `.xml` is read as a feed, which must then be RSS or Atom.
EXTENSIONS = {
    ".txt": "text", ".text": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".sgm": "sgml", ".sgml": "sgml",
    ".csv": "csv", ".tsv": "csv",
    ".rss": "feed", ".atom": "feed", ".xml": "feed",
}
PARSERS = {"text": text.parse, "html": html.parse, "json": jsonl.parse_json, "jsonl": jsonl.parse_lines,
           "smart": smart.parse, "sgml": sgml.parse, "csv": csvfmt.parse, "feed": feeds.parse}
FORMATS = tuple(PARSERS)
# Extensions whose files are checked for a more specific format first.
SNIFFED_EXTENSIONS = (".txt", ".text")
# Largest decompressed size read from a .gz file.
MAX_DECOMPRESSED = 512 * 2**20

_SNIFF = charset.SNIFF_BYTES
_GZIP_MAGIC = b"\x1f\x8b"
_DECLARES_CHARSET = {"html": "html", "feed": "xml"}
# Sniffed formats trusted over a `.txt` extension.
_UNMISTAKABLE = ("smart", "sgml", "html", "feed")
_SMART = re.compile(rb"\.I \d+\s*\n\.[A-Z]")
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|rdf)[\s>/]", re.I)


def parse_file(path: Path) -> Iterator[Article | ParseError]:
    """Articles (and per-record problems) in one file; raises ParseError if the file is unusable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror or exc}") from None
    name = path
    if data.startswith(_GZIP_MAGIC) or path.suffix.lower() == ".gz":
        data = gunzip(data, path)
        name = path.with_suffix("") if path.suffix.lower() == ".gz" else path
    fmt = detect_format(name, data, report_as=path)
    decoded = decode(data, path, fmt)
    try:
        for item in PARSERS[fmt](decoded.text, path):
            if isinstance(item, Article):
                item.path, item.format = path, item.format or fmt
                if decoded.note:
                    item.notes.append(f"encoding: {decoded.note}")
            yield item
    except ParseError:
        raise
    except Exception as exc:  # a parser bug must cost one file, never the run
        raise ParseError(path, f"{fmt} parser failed: {type(exc).__name__}: {exc}") from exc


def gunzip(data: bytes, path: Path) -> bytes:
    """The decompressed bytes of a gzip file, refusing more than `MAX_DECOMPRESSED`."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            inner = stream.read(MAX_DECOMPRESSED + 1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ParseError(path, f"cannot decompress: {exc}") from None
    if len(inner) > MAX_DECOMPRESSED:
        raise ParseError(path, f"decompressed size exceeds {_size(MAX_DECOMPRESSED)}; not read")
    return inner


def detect_format(path: Path, data: bytes, report_as: Path | None = None) -> str:
    """The file's format, from its extension or, failing that, its first bytes.

    `report_as` is the file named in errors when `path` is an inner name (`x.jsonl` in `x.jsonl.gz`).
    """
    report_as = report_as or path
    head = data[:_SNIFF]
    if not data.strip():
        raise ParseError(report_as, "empty file")
    if b"\x00" in head and not charset.has_bom(head):
        raise ParseError(report_as, "binary file (contains NUL bytes)")
    suffix = path.suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt and suffix not in SNIFFED_EXTENSIONS:
        return fmt
    sniffed = sniff(data)
    if fmt and sniffed not in _UNMISTAKABLE:  # "[Updated] ... [end]" in a .txt is still text
        return fmt
    fmt = sniffed or fmt
    if fmt:
        return fmt
    if not suffix:
        return "text"
    raise ParseError(report_as, f"unsupported file type ({suffix}); known: "
                     + ", ".join(sorted(EXTENSIONS)) + ", and any of them + .gz")


def sniff(data: bytes) -> str | None:
    """A format recognisable from a file's first bytes (and last, for JSON), or None."""
    head = data[:_SNIFF]
    if _SMART.match(head):  # SMART test collections: CISI.ALL, cran.all.1400
        return "smart"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"<!doctype lewis") or start.startswith(b"<reuters "):
        return "sgml"
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:1024]:
        return "html"
    if start.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")) and _FEED_ROOT.search(start[:2048]):
        return "feed"
    if start.startswith((b"{", b"[")):
        first_line = start.split(b"\n", 1)[0].strip()
        if first_line.startswith(b"{") and first_line.endswith(b"}") and b"\n{" in start:
            return "jsonl"
        return "json" if data.rstrip().endswith((b"}", b"]")) else None
    return None


def decode(data: bytes, path: Path, fmt: str) -> charset.Decoded:
    """Bytes → text (see `charset`); raises ParseError when they are not text."""
    try:
        return charset.decode(data, _DECLARES_CHARSET.get(fmt))
    except charset.NotText as exc:
        raise ParseError(path, str(exc)) from None


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n} bytes"
