"""Encodings: what decoding decides for each kind of file, and that guesses are visible."""
import codecs
from pathlib import Path

import pytest

from searchlib.errors import ParseError
from searchlib.ingest.parsers import charset, decode, parse_file

TEXT = "Café crème – naïve “quotes” déjà vu"


@pytest.mark.parametrize("data, encoding", [
    (TEXT.encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
    (TEXT.encode("utf-16"), "utf-16"),  # with its BOM
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
])
def test_unicode_files_decode_without_a_note(data, encoding):
    decoded = charset.decode(data)
    assert (decoded.text, decoded.encoding, decoded.note) == (TEXT, encoding, None)


def test_windows_1252_is_a_noted_guess():
    decoded = charset.decode(TEXT.encode("cp1252"))
    assert decoded.text == TEXT and decoded.encoding == "windows-1252"
    assert "a guess" in decoded.note


def test_declared_charset_is_used_and_not_a_guess():
    page = '<html><head><meta charset="iso-8859-1"></head><body>Caf\xe9</body></html>'.encode("latin-1")
    decoded = charset.decode(page, "html")
    assert "Café" in decoded.text and decoded.note is None and decoded.encoding == "cp1252"
    xml = '<?xml version="1.0" encoding="ISO-8859-15"?><rss>€</rss>'.encode("iso-8859-15")
    assert "€" in charset.decode(xml, "xml").text


def test_valid_utf8_beats_a_wrong_declaration():
    page = '<meta charset="gb2312"><p>Ünïcödé</p>'.encode("utf-8")
    assert "Ünïcödé" in charset.decode(page, "html").text
    lying = b'<meta charset="utf-16"><p>caf\xe9</p>'  # readable as ASCII, so not UTF-16
    assert "café" in charset.decode(lying, "html").text


def test_one_stray_byte_in_utf8_is_repaired_not_the_whole_file():
    data = "Grüße aus Köln. ".encode("utf-8") + b"Stray \xfc byte."
    decoded = charset.decode(data)
    assert decoded.text == "Grüße aus Köln. Stray ü byte."  # not "GrÃ¼ÃŸe": the UTF-8 is kept
    assert decoded.encoding == "utf-8" and decoded.note.startswith("1 byte not valid UTF-8")
    assert decoded.guessed == (decoded.text.index("ü byte"),)  # where it is, one character


def test_guessed_places_are_listed_only_for_a_few_stray_bytes():
    few = ("é" * 100).encode("utf-8") + b"a\xfcb\xe9c"
    decoded = charset.decode(few)
    assert decoded.text.endswith("aübéc") and decoded.guessed == (101, 103)
    assert decoded.note == "2 bytes not valid UTF-8: read as Windows-1252 (a guess)"
    assert charset.decode(TEXT.encode("cp1252")).guessed is None  # read as Windows-1252 throughout
    assert charset.decode(TEXT.encode("utf-8")).guessed is None


@pytest.mark.parametrize("data, reason", [
    (bytes(range(1, 32)) * 50 + b"abc", "not text"),
    ("Привет, как дела? Всё хорошо.".encode("cp1251"), "unknown encoding"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8", "invalid UTF-16"),
])
def test_garbage_is_refused(data, reason):
    with pytest.raises(charset.NotText, match=reason):
        charset.decode(data)


def test_parse_file_reports_garbage_and_notes_guesses(tmp_path):
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(bytes(range(1, 32)) * 40)
    with pytest.raises(ParseError, match="not text"):
        list(parse_file(garbage))
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes("Caf\xe9 news\n\nA caf\xe9 opened.\n".encode("cp1252"))
    (article,) = parse_file(legacy)
    assert article.title == "Café news"
    assert article.notes == ["encoding: not valid UTF-8 and no charset declared: decoded as Windows-1252 (a guess)"]
    clean = tmp_path / "clean.txt"
    clean.write_text("Café news\n\nFine.\n", encoding="utf-8")
    assert next(parse_file(clean)).notes == []


def test_decode_wraps_errors_as_parse_errors():
    with pytest.raises(ParseError) as info:
        decode(bytes(range(1, 32)) * 10, Path("x.txt"), "text")
    assert info.value.path == Path("x.txt")
    assert decode(b"plain", Path("x.txt"), "text").text == "plain"
