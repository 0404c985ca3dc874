"""Reuters SGML, CSV, RSS/Atom feeds, gzip and folder sections, on small hand-written files."""
import gzip
from datetime import datetime, timezone
from pathlib import Path

import pytest

import searchlib
from searchlib import Article
from searchlib.errors import ParseError
from searchlib.ingest.parsers import detect_format, parse_file
from searchlib.engine.schema import to_article, to_document

from .conftest import write_file

UTC = timezone.utc


def write(folder: Path, name: str, content) -> Path:
    return write_file(folder / name, content)


def split(items):
    items = list(items)
    return ([i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, ParseError)])


# --- Reuters-21578 SGML -----------------------------------------------------------------------

SGML = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="5544" NEWID="7">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TOPICS><D>cocoa</D><D>coffee</D></TOPICS>
<PLACES><D>el-salvador</D><D>usa</D></PLACES>
<PEOPLE><D>volcker</D></PEOPLE>
<ORGS><D>ico-coffee</D></ORGS>
<EXCHANGES><D>nyse</D></EXCHANGES>
<COMPANIES></COMPANIES>
<UNKNOWN>&#5;&#5;&#5;C T
&#22;&#22;&#1;f0704&#31;reute</UNKNOWN>
<TEXT>&#2;
<TITLE>GROWERS &lt;ACME> SEE BETTER CROP</TITLE>
<AUTHOR>    By Jo Smith, Reuters</AUTHOR>
<DATELINE>    SALVADOR, Feb 26 - </DATELINE><BODY>Showers continued throughout the week in
the cocoa zone, &lt;Acme Corp> said.
    A second paragraph follows here.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="8">
<DATE> 3-MAR-1987  09:15:05.40&#5;&#5;&#5;RM</DATE>
<TOPICS></TOPICS><PLACES></PLACES><PEOPLE></PEOPLE><ORGS></ORGS><EXCHANGES></EXCHANGES>
<TEXT TYPE="BRIEF">&#2;
******<TITLE>FED SETS REPURCHASE AGREEMENTS
</TITLE>Blah blah blah.
&#3;
</TEXT>
</REUTERS>
<REUTERS NEWID="9">
<DATE>31-MAR-1987 605:12:19.12</DATE>
<TEXT TYPE="UNPROC">&#2;
VOLCKER REAFFIRMS G
-6 PROCESS
    WASHINGTON, March 26 - Federal Reserve chairman spoke.
&#3;
</TEXT>
</REUTERS>
<REUTERS NEWID="10">
<DATE> 3-APR-1987 07:09:06.48</DATE>
<TEXT TYPE="UNPROC">&#2;
&#3;
</TEXT>
</REUTERS>
<REUTERS NEWID="11">
<DATE> 3-APR-1987 07:09:06.48</DATE>
<TEXT><TITLE>CUT OFF</TITLE><BODY>The file ends
"""


def test_reuters_records(tmp_path):
    articles, problems = split(parse_file(write(tmp_path, "reut2-000.sgm", SGML)))
    first, brief, unprocessed = articles
    assert (first.key, first.format, first.source) == ("7", "sgml", "Reuters")
    assert first.title == "GROWERS <ACME> SEE BETTER CROP"
    assert first.date == datetime(1987, 2, 26, 15, 1, 1, 790000, tzinfo=UTC)
    assert (first.topics, first.places, first.people, first.orgs) == (
        ["cocoa", "coffee"], ["el-salvador", "usa"], ["volcker"], ["ico-coffee"])
    assert first.tags == ["nyse"]
    assert (first.dateline, first.author) == ("SALVADOR, Feb 26", "Jo Smith, Reuters")
    assert first.body == ("Showers continued throughout the week in the cocoa zone, <Acme Corp> said.\n\n"
                          "A second paragraph follows here.")
    assert not any(ord(c) < 32 and c != "\n" for c in first.title + first.body)
    # a BRIEF story is all title: the filler after it is not its body, yet it is indexed
    assert (brief.key, brief.title, brief.body) == ("8", "FED SETS REPURCHASE AGREEMENTS", "")
    assert brief.date == datetime(1987, 3, 3, 9, 15, 5, 400000, tzinfo=UTC)
    # an UNPROC story: headline up to the first indented line; a broken time keeps the day
    assert unprocessed.title == "VOLCKER REAFFIRMS G-6 PROCESS"
    assert (unprocessed.dateline, unprocessed.body) == ("WASHINGTON, March 26", "Federal Reserve chairman spoke.")
    assert unprocessed.date == datetime(1987, 3, 31, tzinfo=UTC)
    assert [(p.record, p.reason) for p in problems] == [
        ("NEWID 10", "record has no title or text"),
        ("NEWID 11", "record is not closed by </REUTERS> (truncated file?)")]


def test_reuters_stray_byte_keeps_the_file_and_notes_just_its_record(tmp_path):
    data = SGML.encode("ascii").replace(b"throughout", b"through\xfcout")
    articles, _ = split(parse_file(write(tmp_path, "reut2-017.sgm", data)))
    assert len(articles) == 3 and "throughüout" in articles[0].body
    assert [(a.key, a.notes) for a in articles] == [
        ("7", ["encoding: 1 byte not valid UTF-8: read as Windows-1252 (a guess)"]), ("8", []), ("9", [])]


def test_reuters_stray_bytes_counted_per_record_and_none_outside_records(tmp_path):
    data = (SGML.encode("ascii").replace(b"cocoa zone", b"coc\xf6a z\xf6ne")
            .replace(b"Blah blah", b"Bl\xe4h blah").replace(b'"lewis.dtd">', b'"lewis.dtd"> \xa9')
            + b"\n" * 5000)  # a big file (as the real one is) with a few stray bytes stays UTF-8
    articles, _ = split(parse_file(write(tmp_path, "reut2-017.sgm", data)))
    assert [(a.key, a.notes) for a in articles] == [
        ("7", ["encoding: 2 bytes not valid UTF-8: read as Windows-1252 (a guess)"]),
        ("8", ["encoding: 1 byte not valid UTF-8: read as Windows-1252 (a guess)"]),  # (anywhere in it)
        ("9", [])]
    assert "cocöa zöne" in articles[0].body


def test_reuters_file_read_as_windows_1252_throughout_notes_every_record(tmp_path):
    data = SGML.replace("cocoa", "cocöa").encode("cp1252")  # small: its stray bytes are no "few"
    articles, _ = split(parse_file(write(tmp_path, "reut2-017.sgm", data)))
    assert "cocöa" in articles[0].body
    assert [a.notes for a in articles] == [
        ["encoding: not valid UTF-8 and no charset declared: decoded as Windows-1252 (a guess)"]] * 3


def test_sgml_without_records_is_an_error(tmp_path):
    with pytest.raises(ParseError, match="no <REUTERS> records"):
        list(parse_file(write(tmp_path, "x.sgm", "<DOC>not reuters</DOC>")))


def test_reuters_fields_are_searchable(tmp_path):
    write(tmp_path / "corpus", "reut2-000.sgm", SGML)
    idx = searchlib.Index(tmp_path / "ix")
    assert idx.update([tmp_path / "corpus"]).articles == 3
    assert [h.title for h in idx.search("topics:coffee")] == ["GROWERS <ACME> SEE BETTER CROP"]
    assert [h.title for h in idx.search("places:USA AND people:volcker")] == ["GROWERS <ACME> SEE BETTER CROP"]
    assert [h.title for h in idx.search("dateline:salvador")] == ["GROWERS <ACME> SEE BETTER CROP"]
    stored = idx.get(idx.search('orgs:"ico-coffee"').hits[0].id)
    assert stored.topics == ["cocoa", "coffee"] and stored.dateline == "SALVADOR, Feb 26"


def test_schema_round_trip_keeps_the_new_fields():
    article = Article(title="T", body="B", topics=["a", "b"], places=["p"], people=["x y"], orgs=["o"],
                      dateline="PARIS, May 1", notes=["encoding: guessed"])
    back = to_article(to_document(article))
    assert (back.topics, back.places, back.people, back.orgs, back.dateline, back.notes) == (
        ["a", "b"], ["p"], ["x y"], ["o"], "PARIS, May 1", ["encoding: guessed"])


# --- CSV --------------------------------------------------------------------------------------

CSV = ('article_id,publish_date,article_source_link,title,subtitle,text\r\n'
       '1,2017/2/7,http://www.example-news.com/politics/a,"Vote, then a tie",A subtitle,"First line\r\n\r\n'
       'second ""quoted"" paragraph"\r\n'
       '2,,https://tass.example/b,,,Text only and no date\r\n'
       '\r\n'
       '3,2017/2/8,http://x.example/c,,,\r\n')


def test_csv_rows_map_to_fields(tmp_path):
    articles, problems = split(parse_file(write(tmp_path, "news.csv", CSV)))
    first, second = articles
    assert (first.key, first.title, first.summary, first.format) == ("1", "Vote, then a tie", "A subtitle", "csv")
    assert first.body == 'First line\n\nsecond "quoted" paragraph'
    assert first.date == datetime(2017, 2, 7, tzinfo=UTC)
    assert (first.url, first.source) == ("http://www.example-news.com/politics/a", "Example-news")
    assert (second.key, second.title, second.date, second.source) == ("2", "", None, "TASS")
    assert [(p.record, p.reason) for p in problems] == [("row 3", "record has no title or text")]


def test_csv_without_id_column_uses_row_numbers_and_other_delimiters(tmp_path):
    articles, _ = split(parse_file(write(tmp_path, "a.csv", "Headline;Body;Source\nOne;B1;Wire\nTwo;B2;Wire\n")))
    assert [(a.key, a.title, a.source) for a in articles] == [("1", "One", "Wire"), ("2", "Two", "Wire")]
    articles, _ = split(parse_file(write(tmp_path, "b.tsv", "title\tbody\nTab, separated\tyes, really\n")))
    assert [(a.title, a.body) for a in articles] == [("Tab, separated", "yes, really")]


def test_csv_oversized_field_is_reported_and_the_rest_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHLIB_MAX_RECORD_MB", str(200 / 2**20))  # 200 characters
    text = "title,text\nShort,fine\nLong,\"" + "x" * 100 + "\n" + "x" * 150 + "\"\nAfter,also fine\n"
    articles, problems = split(parse_file(write(tmp_path, "big.csv", text)))
    assert [a.title for a in articles] == ["Short", "After"]
    assert problems[0].record == "row 2"
    assert "field is over the 200 characters limit (SEARCHLIB_MAX_RECORD_MB)" in problems[0].reason


def test_csv_header_without_text_columns_is_an_error(tmp_path):
    with pytest.raises(ParseError, match="names no title or text column"):
        list(parse_file(write(tmp_path, "n.csv", "a,b\n1,2\n")))


# --- feeds ------------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>Harbour Gazette</title><language>en-gb</language>
<atom:link href="https://g.example/feed" rel="self"/>
<item><title>Ferry back &amp; running</title><link>https://g.example/ferry</link>
<pubDate>Tue, 04 Oct 2022 14:00:00 EST</pubDate><dc:creator>Jo Bloggs</dc:creator>
<category>Transport</category><category>Harbour</category>
<description>The ferry is back.</description>
<content:encoded><![CDATA[<p>The ferry&nbsp;sailed.</p><script>track()</script><p>Second <b>para</b>.</p>]]></content:encoded>
<guid isPermaLink="false">g-1</guid></item>
<item><title>Only a title &nbsp; here</title><guid>https://g.example/only</guid></item>
<item><description>&lt;p&gt;Escaped &lt;i&gt;HTML&lt;/i&gt;&lt;/p&gt;</description><author>ed@g.example (Ed Itor)</author></item>
<item><link>https://g.example/empty</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>Le Fil</title>
<author><name>Rédaction</name></author>
<entry><title type="html">Un &lt;em&gt;titre&lt;/em&gt;</title><id>urn:uuid:1</id>
<link rel="enclosure" href="https://f.example/1.mp3"/><link rel="alternate" href="https://f.example/1"/>
<updated>2022-09-06T13:50:00+02:00</updated><published>2022-09-05T10:00:00Z</published>
<category term="monde" label="Monde"/><summary>Résumé court.</summary>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Premier.</p><p>Deuxième <b>gras</b>.</p></div></content>
</entry>
<entry><title>Sans date</title><id>urn:uuid:2</id><content type="text">a &lt; b</content></entry>
</feed>"""


def test_rss_items(tmp_path):
    articles, problems = split(parse_file(write(tmp_path, "g.rss", RSS)))
    first, second, third = articles
    assert (first.title, first.url, first.key, first.format) == ("Ferry back & running", "https://g.example/ferry", "g-1", "feed")
    assert first.date == datetime(2022, 10, 4, 19, 0, tzinfo=UTC)  # EST is UTC-5
    assert (first.author, first.source, first.lang, first.region) == ("Jo Bloggs", "Harbour Gazette", "en", "GB")
    assert (first.section, first.tags) == ("Transport", ["Transport", "Harbour"])
    assert first.body == "The ferry sailed.\n\nSecond para." and first.summary == "The ferry is back."
    assert (second.title, second.url, second.body, second.date) == ("Only a title here", "https://g.example/only", "", None)
    assert (third.body, third.author, third.key) == ("Escaped HTML", "Ed Itor", "3")
    assert [(p.record, p.reason) for p in problems] == [("item 4", "item has no title or text")]


def test_atom_entries(tmp_path):
    first, second = parse_file(write(tmp_path, "f.atom", ATOM))
    assert (first.title, first.url, first.key) == ("Un titre", "https://f.example/1", "urn:uuid:1")
    assert first.date == datetime(2022, 9, 5, 10, 0, tzinfo=UTC)  # published, not updated
    assert (first.author, first.lang, first.section, first.source) == ("Rédaction", "fr", "Monde", "Le Fil")
    assert (first.body, first.summary) == ("Premier.\n\nDeuxième gras.", "Résumé court.")
    assert (second.title, second.body, second.date) == ("Sans date", "a < b", None)


def test_xml_files_are_sniffed_as_feeds(tmp_path):
    assert detect_format(Path("feed.xml"), RSS.encode()) == "feed"
    assert detect_format(Path("feed"), ATOM.encode()) == "feed"
    assert detect_format(Path("notes.txt"), RSS.encode()) == "feed"
    assert detect_format(Path("reut.txt"), SGML.encode()) == "sgml"
    assert detect_format(Path("a.txt"), b"[Updated] Ferry back\n\nIt sailed. [end]") == "text"
    assert detect_format(Path("noext"), b'{"title": "T"}') == "json"
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        list(parse_file(write(tmp_path, "sitemap.xml", "<urlset><url><loc>x</loc></url></urlset>")))


@pytest.mark.parametrize("text, reason", [
    ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
     '<rss><channel><item><title>&b;</title></item></channel></rss>', "refused as unsafe"),
    ("<rss><channel><item><title>unclosed</channel></rss>", "invalid XML"),
    ("<rss><channel><title>Empty</title></channel></rss>", "feed has no items"),
])
def test_bad_feeds(tmp_path, text, reason):
    with pytest.raises(ParseError, match=reason):
        list(parse_file(write(tmp_path, "bad.rss", text)))


# --- gzip -------------------------------------------------------------------------------------

def test_gzip_files_are_read_by_their_inner_name(tmp_path):
    lines = '{"id": "a", "title": "Zipped", "body": "Inside a gzip file"}\n'
    (article,) = parse_file(write(tmp_path, "x.jsonl.gz", gzip.compress(lines.encode())))
    assert (article.title, article.format, article.key, article.path.name) == ("Zipped", "jsonl", "a", "x.jsonl.gz")
    articles, _ = split(parse_file(write(tmp_path, "reut2-000.sgm.gz", gzip.compress(SGML.encode()))))
    assert [a.key for a in articles] == ["7", "8", "9"]


def test_gzip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHLIB_MAX_FILE_MB", str(1000 / 2**20))
    path = write(tmp_path, "bomb.txt.gz", gzip.compress(b"a" * 5000))
    with pytest.raises(ParseError, match="decompressed size exceeds 1,000 bytes"):
        list(parse_file(path))


def test_broken_gzip_is_reported(tmp_path):
    with pytest.raises(ParseError, match="cannot decompress"):
        list(parse_file(write(tmp_path, "bad.json.gz", b"\x1f\x8bnot really gzip")))
    truncated = gzip.compress(b'{"title": "x"}' * 100)[:30]
    with pytest.raises(ParseError, match="cannot decompress"):
        list(parse_file(write(tmp_path, "cut.json.gz", truncated)))


# --- plain text: the folder is the section ----------------------------------------------------

def test_text_file_takes_its_folder_as_section(tmp_path):
    path = write(tmp_path, "bbc/business/001.txt", "Ad sales boost profit\n\nProfits rose by 76%.\n")
    (article,) = parse_file(path)
    assert (article.title, article.section) == ("Ad sales boost profit", "Business")
    own = write(tmp_path, "bbc/business/002.txt", "Section: Markets\nTitle: Shares up\n\nThey rose.\n")
    (article,) = parse_file(own)
    assert article.section == "Markets"


def test_article_without_a_date_is_indexed(tmp_path):
    write(tmp_path / "corpus", "undated.txt", "No date here\n\nThe body has words like zebra.\n")
    idx = searchlib.Index(tmp_path / "ix")
    report = idx.update([tmp_path / "corpus"])
    assert report.articles == 1 and report.ok
    (hit,) = idx.search("zebra")
    assert hit.title == "No date here" and hit.date is None
