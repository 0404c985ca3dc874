"""Charset: a file's bytes → text, saying when the encoding was a guess.

Stage: ingestion, between reading a file and parsing it. The order of trust:

1. a byte-order mark (UTF-8, UTF-16, UTF-32);
2. valid UTF-8 (a random byte string in another encoding is almost never valid UTF-8, so this
   also beats a page's declared charset, which is often wrong in saved pages);
3. the charset the file declares (`<meta charset>`, `<?xml encoding=?>`), legacy Latin labels
   read as Windows-1252 as browsers do;
4. otherwise a guess, which `Decoded.note` records: a file that is UTF-8 (or ASCII) apart from a
   few stray bytes keeps its UTF-8 and reads only those bytes as Windows-1252; any other file is
   read as Windows-1252.

Text that is mostly control characters, or a guessed Windows-1252 reading that is mostly
non-ASCII letters (a Cyrillic or CJK legacy encoding, say), is refused with `NotText`.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

SNIFF_BYTES = 8192
# Share of control / undecodable characters above which a file is not text.
MAX_CONTROL_SHARE = 0.05
# In a guessed Windows-1252 reading, share of letters that are non-ASCII above which the guess is
# implausible (Western European prose has well under 15%).
MAX_GUESSED_NON_ASCII_LETTERS = 0.4
# Stray bytes whose places `Decoded.guessed` lists (beyond that, the whole file is noted).
MAX_GUESSED_OFFSETS = 10_000

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
# Labels that browsers read as Windows-1252 (WHATWG Encoding Standard).
_AS_WINDOWS_1252 = {"ascii", "us-ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1",
                    "iso_8859-1", "cp819", "ibm819", "windows-1252", "cp1252", "x-cp1252"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
_LETTER = re.compile(r"[^\W\d_]")
_ESCAPED = re.compile("[\udc80-\udcff]")
_SLICE = 1 << 20
# Each byte that is not UTF-8 (decoded as a lone surrogate by "surrogateescape") → Windows-1252.
_REPAIRS = {0xDC00 + b: bytes([b]).decode("cp1252", errors="replace") for b in range(0x80, 0x100)}
# Windows-1252 bytes that do not decode to a letter, and those that do not decode to a non-ASCII one.
_CP1252 = [bytes([b]).decode("cp1252", errors="replace") for b in range(256)]
_NOT_LETTER_BYTES = bytes(b for b, c in enumerate(_CP1252) if not _LETTER.fullmatch(c))
_NOT_FOREIGN_LETTER_BYTES = bytes(b for b, c in enumerate(_CP1252) if b < 0x80 or not _LETTER.fullmatch(c))


class NotText(ValueError):
    """The bytes do not decode to plausible text."""


@dataclass(frozen=True)
class Decoded:
    """Decoded text, the codec used, and a note when that codec was a guess (else None).

    `guessed`: where a UTF-8 file's stray bytes were read as Windows-1252, as offsets into
    `text` (one character each), when there were few enough to list (else None, as for a file
    read as Windows-1252 throughout): a parser of many records can then note just the records
    holding them (see `guess_note`).
    """

    text: str
    encoding: str
    note: str | None = None
    guessed: tuple[int, ...] | None = None


def decode(data: bytes, declared_in: str | None = None) -> Decoded:
    """Decode a file's bytes; `declared_in` is "html" or "xml" to honour a declared charset."""
    decoded = _decode(data, declared_in)
    _check_text(decoded)
    return decoded


def _decode(data: bytes, declared_in: str | None) -> Decoded:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            if codec == "utf-8":
                return _repaired(*_utf8_counts(data[len(bom):])[:2])
            try:
                return Decoded(data.decode(codec).lstrip("\ufeff"), codec)
            except UnicodeDecodeError as exc:
                raise NotText(f"invalid {codec.upper()} after its byte-order mark ({exc.reason})") from None
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    declared = declared_charset(data, declared_in)
    if declared:
        try:
            return Decoded(data.decode(declared), declared)
        except UnicodeDecodeError:
            pass
    text, bad, good = _utf8_counts(data)
    if good > bad or bad * 1000 < len(data):  # UTF-8 (or ASCII) with a few stray bytes: keep it,
        return _repaired(text, bad)          # rather than turn its UTF-8 into mojibake
    text = None
    text = data.decode("cp1252", errors="replace")
    return Decoded(text, "windows-1252", "not valid UTF-8 and no charset declared: decoded as Windows-1252 (a guess)")


def declared_charset(data: bytes, declared_in: str | None) -> str | None:
    """The Python codec for the charset an HTML page or XML file declares, if known."""
    head = data[:SNIFF_BYTES]
    found = None
    if declared_in in ("html", "xml"):
        found = _XML_ENCODING.search(head)
    if not found and declared_in == "html":
        found = _META_CHARSET.search(head)
    if not found:
        return None
    label = found.group(1).decode("ascii").lower()
    if label in _AS_WINDOWS_1252:
        return "cp1252"
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    # A declaration readable as ASCII cannot be in UTF-16/32: browsers ignore it, and so do we.
    return None if codec.startswith(("utf-16", "utf-32")) else codec


def _utf8_counts(data: bytes) -> tuple[str, int, int]:
    """The bytes as UTF-8, each byte that is not valid UTF-8 kept as a lone surrogate
    ("surrogateescape"); also the number of such bytes and of valid non-ASCII characters.

    Counted at C speed in memory proportional to the text (no list of matches, no Python call
    per character): a file of stray bytes must not cost gigabytes or minutes.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    bad = len(data) - len(text.encode("utf-8", errors="ignore"))  # each surrogate is one bad byte
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return text, bad, non_ascii - bad


def _repaired(text: str, bad: int) -> Decoded:
    """UTF-8 text from `_utf8_counts` with each of its `bad` bytes read as Windows-1252."""
    if not bad:
        return Decoded(text, "utf-8")
    guessed = None
    if bad * 8 < len(text):  # a few stray bytes: replace just them (each by one character)
        if bad <= MAX_GUESSED_OFFSETS:
            guessed = tuple(m.start() for m in _ESCAPED.finditer(text))
        text = _ESCAPED.sub(lambda m: _REPAIRS[ord(m.group())], text)
    else:
        text = text.translate(_REPAIRS)
    return Decoded(text, "utf-8", guess_note(bad), guessed)


def guess_note(bad: int) -> str:
    """The note for `bad` stray bytes in UTF-8 text read as Windows-1252."""
    return f"{bad:,} byte{'s' if bad != 1 else ''} not valid UTF-8: read as Windows-1252 (a guess)"


def _count_control(text: str, enough: int) -> tuple[int, int]:
    """(control or undecodable characters, characters counted) in `text`, counting in slices (so
    memory stays small) and stopping once there are more than `enough`."""
    count = end = 0
    for start in range(0, len(text), _SLICE):
        end = min(len(text), start + _SLICE)
        count += _CONTROL.subn("", text[start:end])[1]
        if count > enough:
            break
    return count, end


def _letters(text: str) -> tuple[int, int]:
    """(letters, non-ASCII letters) in text decoded from Windows-1252, counted on its bytes."""
    raw = text.encode("cp1252", errors="replace")
    return len(raw.translate(None, _NOT_LETTER_BYTES)), len(raw.translate(None, _NOT_FOREIGN_LETTER_BYTES))


def has_bom(data: bytes) -> bool:
    return data.startswith(tuple(bom for bom, _ in _BOMS))


def _check_text(decoded: Decoded) -> None:
    text = decoded.text
    if not text:
        return
    control, counted = _count_control(text, int(MAX_CONTROL_SHARE * len(text)))
    if control > MAX_CONTROL_SHARE * len(text):
        raise NotText(f"not text: {control * 100 // counted}% of its characters are control or "
                      f"undecodable characters (as {decoded.encoding})")
    if decoded.encoding == "windows-1252" and decoded.note:
        letters, foreign = _letters(text)
        if letters and foreign > MAX_GUESSED_NON_ASCII_LETTERS * letters:
            raise NotText(f"unknown encoding: not valid UTF-8, declares no charset, and read as "
                          f"Windows-1252 {foreign * 100 // letters}% of its letters are non-ASCII")
