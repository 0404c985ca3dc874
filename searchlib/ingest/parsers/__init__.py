"""Parsers: files → Articles. Unpacks, detects each file's format, decodes it, hands it to a parser.

Stage: ingestion. Every parser module exposes `parse(text, path, limits=None) -> Iterator[Article |
ParseError]`: it yields articles, and yields (does not raise) a ParseError for a single bad record
so the rest of the file is kept. A problem with the whole file raises ParseError. Nothing else may
escape: `parse_file` turns any unexpected exception into a ParseError naming the file.

Files are untrusted, so every step is bounded by `searchlib.ingest.limits`: only regular files are read
(never a FIFO or a device), a file over `max_file_bytes` is refused before any of it is read, a
gzip-compressed file (`x.jsonl.gz`) is decompressed only up to `max_file_bytes` (its format is
that of the inner name, `x.jsonl`), and a format that makes the whole file one article (plain text,
HTML) is truncated to `max_record_chars`, with a note. Decoding is `charset.decode`'s; when it had
to guess the encoding, every article from the file carries a note saying so, or, in a Reuters SGML
file that is UTF-8 but for a few stray bytes, every record holding one of them. Every article
leaves with its language settled (`language.settle`: the declared tag normalised, else detected).
"""
from __future__ import annotations

import errno
import gzip
import importlib
import io
import os
import re
import stat
import zlib
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

from ...article import Article
from ...errors import ParseError
from ..language import settle as settle_language
from ..limits import Limits, current as current_limits, size as _size
from . import charset

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


class _Parsers(Mapping):
    """Format → parse function, each module imported on first use: `search QUERY` never pays for
    BeautifulSoup (about 100 ms of a cold start)."""

    WHERE = {"text": ("text", "parse"), "html": ("html", "parse"), "json": ("jsonl", "parse_json"),
             "jsonl": ("jsonl", "parse_lines"), "smart": ("smart", "parse"), "sgml": ("sgml", "parse"),
             "csv": ("csvfmt", "parse"), "feed": ("feeds", "parse")}

    def __getitem__(self, fmt: str):
        module, name = self.WHERE[fmt]
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)

    def __iter__(self):
        return iter(self.WHERE)

    def __len__(self) -> int:
        return len(self.WHERE)


PARSERS = _Parsers()
FORMATS = tuple(PARSERS)
# Extensions whose files are checked for a more specific format first.
SNIFFED_EXTENSIONS = (".txt", ".text")

_SNIFF = charset.SNIFF_BYTES
_GUNZIP_CHUNK = 1 << 20
# Formats in which the whole file is one article: truncated to `max_record_chars`.
_ONE_ARTICLE = ("text", "html")
# Formats whose parser takes `guessed` (`charset.Decoded.guessed`) and notes a guessed encoding
# only on the records holding the guessed bytes; other formats note it on every article.
LOCATES_GUESSES = ("sgml",)
# How a parser's note on a page that ends before it is complete begins (a truncated file).
CUT_OFF_NOTE = "truncated page"
_GZIP_MAGIC = b"\x1f\x8b"
_DECLARES_CHARSET = {"html": "html", "feed": "xml"}
# Sniffed formats trusted over a `.txt` extension.
_UNMISTAKABLE = ("smart", "sgml", "html", "feed")
_SMART = re.compile(rb"\.I \d+\s*\n\.[A-Z]")
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|rdf)[\s>/]", re.I)


def parse_file(path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    """Articles (and per-record problems) in one file; raises ParseError if the file is unusable.

    `limits` defaults to `searchlib.ingest.limits.current()` (the defaults and SEARCHLIB_MAX_* variables).
    """
    path = Path(path)
    limits = current_limits(limits)
    data = read_bytes(path, limits)
    name = path
    if data.startswith(_GZIP_MAGIC) or path.suffix.lower() == ".gz":
        data = gunzip(data, path, limits)
        name = path.with_suffix("") if path.suffix.lower() == ".gz" else path
    fmt = detect_format(name, data, report_as=path)
    decoded = decode(data, path, fmt)
    data = None  # the bytes are not needed any more: free them before parsing
    text, notes, options = decoded.text, [f"encoding: {decoded.note}"] if decoded.note else [], {}
    if fmt in LOCATES_GUESSES and decoded.guessed is not None:  # the parser notes the records
        notes, options = [], {"guessed": decoded.guessed}
    decoded = None
    cut = fmt in _ONE_ARTICLE and len(text) > limits.max_record_chars
    if cut:
        notes.append(f"truncated: only the first {_size(limits.max_record_chars, 'chars')} of "
                     f"{_size(len(text), 'chars')} were read {limits.hint('max_record_chars')}")
        text = text[:limits.max_record_chars]
    try:
        for item in PARSERS[fmt](text, path, limits=limits, **options):
            if isinstance(item, Article):
                item.path, item.format = path, item.format or fmt
                if cut:  # the page ends early because we cut it: that is said already
                    item.notes = [n for n in item.notes if not n.startswith(CUT_OFF_NOTE)]
                item.notes[:0] = notes
                cap_words(item, limits)
                settle_language(item)
            yield item
    except ParseError:
        raise
    except Exception as exc:  # a parser bug must cost one file, never the run
        raise ParseError(path, f"{fmt} parser failed: {type(exc).__name__}: {exc}") from exc


# An article's text fields, in the order their cuts are noted (the writer indexes each word of them).
WORD_FIELDS = ("title", "summary", "body", "url", "source", "section", "author", "dateline")


def cap_words(article: Article, limits: Limits) -> None:
    """Cut each text field of `article` after its `max_field_tokens`-th word (as the analyzer
    finds words), with a note: the writer holds every distinct word of a document at once.
    A field of no more characters than the limit cannot hold more words, and is not scanned."""
    most = limits.max_field_tokens
    for name in WORD_FIELDS:
        text = getattr(article, name)
        if not text or len(text) <= most:
            continue
        from ...engine.analysis import TOKEN  # (only for a field this long: `search parse` needs no Whoosh)
        end = None
        for number, match in enumerate(TOKEN.finditer(text), 1):
            if number == most:
                end = match.end()
                break
        if end is None or not TOKEN.search(text, end):
            continue
        setattr(article, name, text[:end])
        article.notes.append(f"truncated: only the first {most:,} words of the {name} were read "
                             f"{limits.hint('max_field_tokens')}")


def read_bytes(path: Path, limits: Limits, roots: Iterable[str | os.PathLike] | None = None) -> bytes:
    """A regular file's bytes, refusing (unread) one over `max_file_bytes` and anything that is not
    a regular file: a FIFO would block the run forever, a device never ends. The file is opened
    with `open_within(path, roots)`: one that really lies outside the corpus is refused."""
    limit = limits.max_file_bytes
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer
        with open(path, "rb", opener=lambda name, flags: open_within(name, roots, flags)) as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ParseError(path, "not a regular file (a FIFO, socket or device); not read")
            if info.st_size > limit:
                raise ParseError(path, f"file is {_size(info.st_size)}, over the {_size(limit)} limit "
                                       f"{limits.hint('max_file_bytes')}; not read")
            data = stream.read(info.st_size + 1)
            while len(data) == info.st_size + 1 and len(data) <= limit:  # it grew while we read
                more = stream.read(1 << 20)
                if not more:
                    break
                data += more
    except OutsideCorpus as exc:
        raise ParseError(path, exc.strerror) from None
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ParseError(path, f"file grew over the {_size(limit)} limit {limits.hint('max_file_bytes')} "
                               "while being read; not read")
    return data


def _open_nonblocking(name, flags):
    return os.open(name, flags | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))


class OutsideCorpus(OSError):
    """A file that, when opened, turned out to lie outside the folders being indexed (a symbolic
    link, or a folder on its path, changed after the folder was listed)."""

    def __init__(self, real: str, folder: str | None = None):
        where = f", outside {folder}," if folder else " outside the indexed folders"
        super().__init__(errno.EXDEV, f"symbolic link to {real}{where} (not followed)")
        self.real = real


_BOUNDARY: ContextVar[tuple[str, ...] | None] = ContextVar("searchlib_boundary", default=None)


@contextmanager
def boundary(roots: Iterable[str | os.PathLike]) -> Iterator[None]:
    """Within the block, files are opened (`read_bytes`, `parse_file`, and the manifest's hashing)
    only where they really lie inside one of `roots` (the folders and files being indexed)."""
    token = _BOUNDARY.set(tuple(os.path.realpath(root) for root in roots))
    try:
        yield
    finally:
        _BOUNDARY.reset(token)


def open_within(path: str | os.PathLike, roots: Iterable[str | os.PathLike] | None = None,
                flags: int = os.O_RDONLY) -> int:
    """A descriptor for `path` (non-blocking, close-on-exec), refused with OutsideCorpus unless the
    file it opened really lies inside one of `roots` (default: those of the `boundary()` in force).

    A folder is listed before its files are read, so a symbolic link checked when it was listed may
    point elsewhere by the time it is opened: what counts is where the opened descriptor is, read
    back from the kernel (`/proc/self/fd`) after opening, so no change of links can slip past. With
    no roots known (a worker process, a direct `parse_file`), the boundary is the longest leading
    part of the path that holds no symbolic link: a link may lead anywhere inside the folder
    holding the path's first link, never above it.
    """
    allowed = _BOUNDARY.get() if roots is None else tuple(os.path.realpath(root) for root in roots)
    folder = None
    if allowed is None:
        folder = _unlinked_prefix(os.path.abspath(path))
        allowed = (folder,)
    fd = _open_nonblocking(path, flags)
    try:
        real = _real_path(fd, path)
        if not within(real, allowed):
            raise OutsideCorpus(real, folder)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _real_path(fd: int, path) -> str:
    """Where the open descriptor `fd` really is (`path` is what was opened)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # no /proc: resolve the name, and make sure it is the file we hold
        real = os.path.realpath(path)
        held, there = os.fstat(fd), os.stat(real)
        if (held.st_dev, held.st_ino) != (there.st_dev, there.st_ino):
            raise OutsideCorpus(real) from None
        return real


def within(path: str | os.PathLike, roots: Iterable[str | os.PathLike]) -> bool:
    """Whether the absolute `path` is one of `roots` or inside one of them, by name (resolve
    links first where they matter)."""
    path = os.fspath(path)
    return any(path == os.fspath(root) or path.startswith(os.fspath(root).rstrip(os.sep) + os.sep)
               for root in roots)


def _unlinked_prefix(path: str) -> str:
    """The longest leading part of the absolute `path` with no symbolic link in it.

    Folders found to be no link are remembered (a corpus has few folders and many files): if one
    has become a link since, the prefix comes out longer than it is, which only narrows what may
    be opened, never widens it."""
    parts = Path(path).parts
    prefix = parts[0]
    last = len(parts) - 1
    for i, part in enumerate(parts[1:], 1):
        step = os.path.join(prefix, part)
        if step not in _REAL_FOLDERS:
            try:
                info = os.lstat(step)
            except OSError:
                break
            if stat.S_ISLNK(info.st_mode):
                break
            if i < last and stat.S_ISDIR(info.st_mode):
                if len(_REAL_FOLDERS) >= 4096:
                    _REAL_FOLDERS.clear()
                _REAL_FOLDERS[step] = None
        prefix = step
    return prefix


_REAL_FOLDERS: dict[str, None] = {}


def gunzip(data: bytes, path: Path, limits: Limits | None = None) -> bytes:
    """The decompressed bytes of a gzip file, refusing more than `max_file_bytes`: a gzip bomb
    (a small file that expands without end) is decompressed only that far, never into memory."""
    limits = current_limits(limits)
    limit = limits.max_file_bytes
    chunks, total = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_GUNZIP_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise ParseError(path, f"decompressed size exceeds {_size(limit)} "
                                           f"{limits.hint('max_file_bytes')}; not read")
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ParseError(path, f"cannot decompress: {exc}") from None
    return b"".join(chunks)


def detect_format(path: Path, data: bytes, report_as: Path | None = None) -> str:
    """The file's format, from its extension or, failing that, its first bytes.

    `report_as` is the file named in errors when `path` is an inner name (`x.jsonl` in `x.jsonl.gz`).
    """
    report_as = report_as or path
    head = data[:_SNIFF]
    if not data or data.isspace():  # (not data.strip(): no copy of a big file)
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
        tail = data[-_SNIFF:].rstrip()  # the end, not a copy of the whole file
        return "json" if tail.endswith((b"}", b"]")) else None
    return None


def decode(data: bytes, path: Path, fmt: str) -> charset.Decoded:
    """Bytes → text (see `charset`); raises ParseError when they are not text."""
    try:
        return charset.decode(data, _DECLARES_CHARSET.get(fmt))
    except charset.NotText as exc:
        raise ParseError(path, str(exc)) from None
