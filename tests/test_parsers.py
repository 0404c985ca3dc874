"""Each parser on small hand-written files; bad input becomes ParseError, never another exception."""
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from searchlib import Article, Skipped, read_articles
from searchlib.errors import ParseError
from searchlib.ingest.parsers import parse_file

from .conftest import write_file

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "000_0d288e05aca5b171.txt"


def parse_one(path: Path) -> Article:
    items = list(parse_file(path))
    assert len(items) == 1 and isinstance(items[0], Article), items
    return items[0]


def write(tmp_path: Path, name: str, content, encoding="utf-8") -> Path:
    return write_file(tmp_path / name, content, encoding)


# --- plain text -----------------------------------------------------------------------------

def test_seed_layout():
    article = parse_one(SEED)
    assert article.section == "Ukraine war"
    assert article.title == "US intelligence reveals Russian planning to buy weapons from North Korea"
    assert article.summary == "Russian President Vladimir Putin and North Korea's leader Kim Jong Un. (Photo: AP)"
    assert article.date == datetime(2022, 9, 6, 11, 50, tzinfo=UTC)
    assert article.body.startswith("According to a newly revised US intelligence assessment,")
    assert article.body.endswith("to better deal with the United States.")
    assert "Publish" not in article.body and "Give Your Comments" not in article.body
    assert article.body.count("\n\n") == 18  # 19 paragraphs kept


def test_simple_layout_headline_then_paragraphs(tmp_path):
    path = write(tmp_path, "a.txt", "Ad sales boost profit\n\nQuarterly profits rose by 76%.\n\nThe firm said so.\n")
    article = parse_one(path)
    assert (article.title, article.date) == ("Ad sales boost profit", None)
    assert article.section == tmp_path.name.capitalize()  # no section line: the folder's name stands in
    assert article.body == "Quarterly profits rose by 76%.\n\nThe firm said so."


def test_short_headline_is_not_mistaken_for_a_section(tmp_path):
    path = write(tmp_path, "a.txt", "Jobs growth\n\nEmployers added 200,000 jobs in May.\n\nEconomists were surprised.\n")
    article = parse_one(path)
    assert article.title == "Jobs growth" and article.section == tmp_path.name.capitalize()


def test_header_block(tmp_path):
    path = write(tmp_path, "h.txt", "Title: Ferry back\nDate: 2022-09-14 07:30 +01:00\nSource: Gazette\n"
                                    "Tags: ferries, storms\n\nThe ferry sailed.\n")
    article = parse_one(path)
    assert (article.title, article.source, article.tags) == ("Ferry back", "Gazette", ["ferries", "storms"])
    assert article.date == datetime(2022, 9, 14, 6, 30, tzinfo=UTC)
    assert article.body == "The ferry sailed."


def test_date_line_in_the_middle_keeps_what_follows(tmp_path):
    text = ("Headline here\n\nPublished: 2022-09-06\n\n"
            "A long first paragraph that is certainly body text and not page boilerplate at all.\n")
    article = parse_one(write(tmp_path, "m.txt", text))
    assert article.date == datetime(2022, 9, 6, tzinfo=UTC)
    assert article.body.startswith("A long first paragraph")


def test_windows_1252_text_is_decoded(tmp_path):
    path = write(tmp_path, "w.txt", "Caf\xe9 prices\n\nA caf\xe9 raised prices \u2013 again.\n", encoding="cp1252")
    article = parse_one(path)
    assert article.title == "Café prices" and "café raised prices – again" in article.body


# --- HTML -----------------------------------------------------------------------------------

PAGE = """<!doctype html><html lang="fr"><head>
<title>Le titre | Le Site</title>
<meta property="og:site_name" content="Le Site">
<meta property="article:published_time" content="2022-09-06T13:50:00+02:00">
<link rel="canonical" href="https://example.org/a/1">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Le vrai titre", "author": [{"@type": "Person", "name": "Marie Curie"}], "articleSection": "Science"}</script>
<script>var tracking = "do not index me";</script>
</head><body>
<nav><a href="/">Accueil</a> menu text</nav>
<article>
  <h1>Le vrai titre</h1>
  <p>Premier paragraphe de l'article, assez long pour compter.</p>
  <div class="social-share"><p>Partager sur les réseaux</p></div>
  <p>Deuxième paragraphe.</p>
  <ul class="related"><li><a href="/b">Un autre article</a></li></ul>
</article>
<footer><p>Mentions légales</p></footer>
</body></html>"""


def test_html_metadata_and_body(tmp_path):
    article = parse_one(write(tmp_path, "p.html", PAGE))
    assert article.title == "Le vrai titre"
    assert article.url == "https://example.org/a/1"
    assert article.source == "Le Site"
    assert article.author == "Marie Curie"
    assert article.section == "Science"
    assert article.lang == "fr"
    assert article.date == datetime(2022, 9, 6, 11, 50, tzinfo=UTC)
    assert article.body == "Premier paragraphe de l'article, assez long pour compter.\n\nDeuxième paragraphe."


def test_html_fallbacks_title_tag_and_url_date(tmp_path):
    page = ('<html><head><title>Only a title - Some Site</title><link rel="canonical" '
            'href="https://news.example.com/2021/03/04/story"></head><body><div><p>Body text here.</p>'
            '<p>More body.</p></div></body></html>')
    article = parse_one(write(tmp_path, "f.html", page))
    assert article.title == "Only a title"
    assert article.source == "Example"  # the site's name from its host
    assert article.date == datetime(2021, 3, 4, tzinfo=UTC)
    assert article.body == "Body text here.\n\nMore body."


def test_html_declared_charset(tmp_path):
    page = '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e.</p></body></html>'
    article = parse_one(write(tmp_path, "c.html", page.encode("latin-1")))
    assert article.title == "Café" and article.body == "Crème brûlée."


def test_truncated_html_keeps_what_it_has(tmp_path):
    article = parse_one(write(tmp_path, "t.html", "<html><head><title>Cut off</title></head><body><p>Half a para"))
    assert article.title == "Cut off" and article.body == "Half a para"


# --- JSON / JSON Lines ----------------------------------------------------------------------

def test_json_list_with_usual_keys(tmp_path):
    path = write(tmp_path, "d.json", '{"articles": [{"headline": "H1", "text": "B1", "published": "2022-09-05",'
                                     ' "authors": [{"name": "A"}, {"name": "B"}], "link": "https://x.org/1"},'
                                     ' {"title": "H2", "content": "B2", "timestamp": 1662422400000}]}')
    first, second = list(parse_file(path))
    assert (first.title, first.body, first.author, first.url, first.key) == ("H1", "B1", "A, B", "https://x.org/1", "0")
    assert first.date == datetime(2022, 9, 5, tzinfo=UTC)
    assert second.date == datetime(2022, 9, 6, tzinfo=UTC) and second.key == "1"


def test_single_json_record_has_no_key(tmp_path):
    article = parse_one(write(tmp_path, "one.json", '{"title": "Solo", "body": "Text", "source": {"name": "Wire"}}'))
    assert (article.key, article.source) == (None, "Wire")


def test_jsonl_bad_line_is_reported_and_the_rest_kept(tmp_path):
    path = write(tmp_path, "w.jsonl", '{"title": "One", "body": "x"}\n{not json\n\n[1, 2]\n{"id": 7, "title": "Four"}\n{"other": 1}\n')
    items = list(parse_file(path))
    articles = [i for i in items if isinstance(i, Article)]
    problems = [i for i in items if isinstance(i, ParseError)]
    assert [(a.title, a.key) for a in articles] == [("One", "1"), ("Four", "7")]
    assert [(p.record, p.reason.split(":")[0]) for p in problems] == [
        ("line 2", "invalid JSON"), ("line 4", "expected an object, found list"),
        ("line 6", "record has no title or text")]


# --- detection and bad files ----------------------------------------------------------------

@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\n ", "empty file"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ("broken.json", b'{"title": "x", ', "invalid JSON"),
    ("scalar.json", b'"just a string"', "JSON holds neither"),
    ("notes.docx", b"PK\x03\x04 zip-like but no NUL", "unsupported file type"),
])
def test_bad_files_raise_parse_error(tmp_path, name, content, reason):
    with pytest.raises(ParseError) as info:
        list(parse_file(write(tmp_path, name, content)))
    assert info.value.reason.startswith(reason)
    assert info.value.path.name == name


def test_content_sniffing_for_unknown_extensions(tmp_path):
    assert parse_one(write(tmp_path, "page", "<!DOCTYPE html><html><body><h1>T</h1><p>B</p></body></html>")).format == "html"
    assert parse_one(write(tmp_path, "rec", '{"title": "T", "body": "B"}')).format == "json"
    assert parse_one(write(tmp_path, "plain", "Headline\n\nBody.")).format == "text"


def test_read_articles_walks_folders_and_reports_skips(tmp_path):
    write(tmp_path, "b.txt", "Second\n\nBody.")
    write(tmp_path, "a.txt", "First\n\nBody.")
    write(tmp_path, "bad.txt", b"\x00\x01")  # a known type: skipped (a .bin is ignored)
    write(tmp_path, ".hidden.txt", "Hidden\n\nNot read.")
    items = list(read_articles(tmp_path))
    assert [i.title for i in items if isinstance(i, Article)] == ["First", "Second"]
    assert [(i.path.name, i.reason.split(" ")[0]) for i in items if isinstance(i, Skipped)] == [("bad.txt", "binary")]


def test_unreadable_file_is_a_parse_error(tmp_path, monkeypatch):
    path = write(tmp_path, "secret.txt", "T\n\nB")
    real_open = os.open

    def denied(name, *args, **kwargs):
        if os.fspath(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)  # chmod 0 does not stop root, who runs CI
    with pytest.raises(ParseError, match="cannot read: Permission denied"):
        list(parse_file(path))


# --- SMART test collections -------------------------------------------------------------------

SMART = """.I 1
.T
experimental investigation of the
aerodynamics of a wing .
.A
brenckman,m.
.A
smith,j.
.B
j. ae. scs. 25, 1958, 324.
.W
an experimental study of a wing
in a propeller slipstream .
.X
1 5 1
.I 2
.W
correlation between maternal and fetal plasma .
.I 3
.B
only a note
"""


def test_smart_records_are_sniffed_and_parsed(tmp_path):
    items = list(parse_file(write(tmp_path, "COLL.ALL", SMART)))
    first, second, third = items
    assert (first.format, first.key, first.author) == ("smart", "1", "brenckman,m., smith,j.")
    assert first.title == "experimental investigation of the aerodynamics of a wing ."
    assert first.body == "an experimental study of a wing in a propeller slipstream ."
    assert (second.title, second.body, second.key) == ("", "correlation between maternal and fetal plasma .", "2")
    assert isinstance(third, ParseError) and third.record == "record 3"
