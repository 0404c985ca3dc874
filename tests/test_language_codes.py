"""Each article's language (issue 17): the declared tag normalised (`en-US` → `en`, region kept
apart), else detected from the text (CLD2, deterministic), else unknown; `lang:`, the language
facet, `Index.search(lang=)` and `search --lang` all use the normalised code."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

import searchlib
from searchlib.errors import ArgumentError, QueryError
from searchlib.ingest import language
from searchlib.ingest.language import detect, detection_text, normalise_tag, parse_languages
from searchlib.ingest.parsers import parse_file
from searchlib.querying.query import parse_query

from .conftest import SHARED, write_file

# Written for these tests (not corpus text): the same story in four languages.
GERMAN = ("Starker Regen hat am Montag die Küstenorte überflutet. Die Rettungsteams arbeiteten die "
          "ganze Nacht, um eingeschlossene Familien zu erreichen, und die Behörden sperrten mehrere Straßen.")
FRENCH = ("De fortes pluies ont inondé les villes côtières lundi. Les équipes de secours ont travaillé "
          "toute la nuit pour atteindre les familles bloquées, et les autorités ont fermé plusieurs routes.")
ENGLISH = ("Heavy rain flooded the coastal towns on Monday. Rescue teams worked through the night to "
           "reach stranded families, and the authorities closed several roads.")
JAPANESE = "月曜日、大雨により沿岸の町が浸水した。救助隊は孤立した家族のもとへ向かうため夜通し活動し、当局は複数の道路を封鎖した。"
CHINESE = "星期一，大雨淹没了沿海城镇。救援队连夜工作，以便到达被困的家庭，当局封闭了几条道路。"


@pytest.mark.parametrize("tag, expected", [
    ("en-US", ("en", "US")), ("en_us", ("en", "US")), ("EN", ("en", None)), ("en", ("en", None)),
    ("pt_BR", ("pt", "BR")), ("pt-BR", ("pt", "BR")), ("pt_BR.UTF-8", ("pt", "BR")),
    ("zh-Hant-TW", ("zh", "TW")), ("zh-Hans", ("zh", None)), ("zh-CN", ("zh", "CN")),
    ("es-419", ("es", "419")), ("sr-Latn-RS", ("sr", "RS")), ("de-DE-1996", ("de", "DE")),
    ("en-GB-x-private", ("en", "GB")), (" fr ", ("fr", None)), ("de, en", ("de", None)),
    ("eng", ("en", None)), ("ger", ("de", None)), ("English", ("en", None)), ("deutsch", ("de", None)),
    ("iw", ("he", None)), ("in-ID", ("id", "ID")), ("yue-HK", ("yue", "HK")),
])
def test_a_declared_tag_becomes_its_language_and_region(tag, expected):
    assert normalise_tag(tag) == expected


@pytest.mark.parametrize("junk", [
    None, "", "  ", "x-default", "und", "mul", "zxx", "qaa", "C", "POSIX", "12", "zz", "xx-XX", "e",
    "english-language", "en--US", "en-", "-en", "i-klingon", "en US", "*", "toolongtag", 3, b"en",
])
def test_junk_is_no_language(junk):
    assert normalise_tag(junk) == (None, None)


def test_detection_finds_the_language_of_a_short_news_text():
    assert [detect(t) for t in (ENGLISH, GERMAN, FRENCH, JAPANESE, CHINESE)] == ["en", "de", "fr", "ja", "zh"]


def test_detection_is_deterministic():
    texts = [ENGLISH, GERMAN, FRENCH, JAPANESE, CHINESE, ENGLISH[:60], "Rain: 12 mm"]
    first = [language.identify(t) for t in texts]
    assert [language.identify(t) for t in texts] == first
    assert [language.identify(t) for t in reversed(texts)] == first[::-1]


@pytest.mark.parametrize("text", ["", "   ", "Yahoo UK", "2022-09-06 11:50", "AP —", "!!! ??? ...",
                                  "ok " * 3])
def test_too_little_text_is_unknown_rather_than_a_guess(text):
    assert detect(text) is None


def test_detection_reads_only_a_bounded_prefix():
    german_first = GERMAN * (language.DETECT_CHARS // len(GERMAN) + 1) + ENGLISH * 50
    assert len(detection_text("", None, german_first)) == language.DETECT_CHARS
    assert detect(german_first) == "de"
    parts = detection_text("Title", "Summary", "x" * 5000)
    assert parts.startswith("Title\nSummary\nxxx") and len(parts) == language.DETECT_CHARS


@pytest.mark.parametrize("noise", ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\ud800", "\ufffe", "\U0010ffff"])
def test_characters_the_detector_refuses_do_not_stop_it(noise):
    assert detect(ENGLISH[:80] + noise + ENGLISH[80:]) == "en"


def test_what_is_not_text_is_unknown():
    assert detect(None) is None
    assert language.identify(12) == (None, False)


@given(st.text(max_size=300))
def test_any_text_gives_a_code_or_unknown_never_an_error(text):
    lang = detect(text)
    assert lang is None or normalise_tag(lang) == (lang, None)
    tag = normalise_tag(text)
    assert tag == (None, None) or (tag[0].isascii() and tag[0].islower() and normalise_tag(tag[0]) == (tag[0], None))


def _parsed(path):
    [article] = [a for a in parse_file(path) if isinstance(a, searchlib.Article)]
    return article


def _page(lang_attribute: str, body: str) -> str:
    return (f"<!doctype html><html{lang_attribute}><head><title>Headline here</title></head><body>"
            f"<article><h1>Headline here</h1><p>{body}</p></article></body></html>")


def test_a_page_keeps_its_declared_language_normalised_with_its_region(tmp_path):
    article = _parsed(write_file(tmp_path / "p.html", _page(' lang="en-GB"', ENGLISH)))
    assert (article.lang, article.region) == ("en", "GB")
    # what is declared wins over what the text looks like
    article = _parsed(write_file(tmp_path / "q.html", _page(' lang="de_AT"', ENGLISH)))
    assert (article.lang, article.region) == ("de", "AT")


def test_undeclared_or_junk_declared_language_is_detected(tmp_path):
    assert _parsed(write_file(tmp_path / "p.html", _page("", GERMAN))).lang == "de"
    article = _parsed(write_file(tmp_path / "q.html", _page(' lang="x-default"', FRENCH)))
    assert (article.lang, article.region) == ("fr", None)
    assert _parsed(write_file(tmp_path / "t.txt", f"Titel\n\n{GERMAN}\n")).lang == "de"
    article = _parsed(write_file(tmp_path / "r.json", json.dumps({"title": "x", "body": JAPANESE, "lang": "und"})))
    assert article.lang == "ja"


def test_a_record_declares_its_language_by_name_or_locale(tmp_path):
    path = write_file(tmp_path / "r.jsonl", "".join(json.dumps(r) + "\n" for r in [
        {"title": "a", "body": GERMAN, "language": "pt_BR"},
        {"title": "b", "body": GERMAN, "locale": "English"},
        {"title": "c", "body": "Short."},
    ]))
    got = [(a.title, a.lang, a.region) for a in parse_file(path) if isinstance(a, searchlib.Article)]
    assert got == [("a", "pt", "BR"), ("b", "en", None), ("c", None, None)]


REUTERS = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="1" NEWID="1">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TOPICS><D>grain</D></TOPICS><PLACES><D>usa</D></PLACES><PEOPLE></PEOPLE><ORGS></ORGS><EXCHANGES></EXCHANGES><COMPANIES></COMPANIES>
<UNKNOWN>C T</UNKNOWN>
<TEXT>&#2;
<TITLE>FARMERS EXPECT LARGER WHEAT CROP</TITLE>
<DATELINE>    KANSAS CITY, Feb 26 - </DATELINE><BODY>Farmers in the plains states expect a larger winter
wheat crop this year after good autumn rains, a survey of growers and elevator operators said.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
"""


def test_reuters_and_bbc_style_files_come_out_english(tmp_path):
    assert _parsed(write_file(tmp_path / "reut2-000.sgm", REUTERS)).lang == "en"
    bbc = write_file(tmp_path / "business" / "001.txt", f"Ad sales boost profits\n\n{ENGLISH}\n")
    assert (_parsed(bbc).lang, _parsed(bbc).region) == ("en", None)


LANG_RECORDS = {
    "us": {"title": "Coastal floods", "body": ENGLISH, "lang": "en-US"},
    # (not a copy of "us": copies would be collapsed into one story's hit)
    "gb": {"title": "Coastal floods again", "body": "Rivers flooded farmland across the north on Tuesday, "
           "and rescue boats reached villages cut off by the water. Flood warnings stay.", "lang": "en_GB"},
    "de": {"title": "Hochwasser flood", "body": GERMAN + " flood"},
    "fr": {"title": "Inondations flood", "body": FRENCH + " flood", "lang": "FR"},
    "none": {"title": "flood", "body": "flood 12"},
}


@pytest.fixture(scope="module")
def lang_index(tmp_path_factory):
    from .conftest import index_of
    with index_of(tmp_path_factory.mktemp("langs"), LANG_RECORDS) as idx:
        yield idx


def _keys(results):
    return sorted(hit.id.rsplit("#", 1)[-1] for hit in results)


def test_the_index_stores_the_normalised_language_and_region(lang_index):
    stored = {key: lang_index.get(f"corpus/fixture.jsonl#{key}") for key in LANG_RECORDS}
    assert {key: (a.lang, a.region) for key, a in stored.items()} == {
        "us": ("en", "US"), "gb": ("en", "GB"), "de": ("de", None), "fr": ("fr", None), "none": (None, None)}


def test_lang_in_a_query_means_the_normalised_code(lang_index):
    assert _keys(lang_index.search("lang:en")) == ["gb", "us"]
    assert _keys(lang_index.search("lang:en-US")) == ["gb", "us"]
    assert _keys(lang_index.search('lang:"EN_gb"')) == ["gb", "us"]
    assert _keys(lang_index.search("flood AND lang:(de OR fr-CA)")) == ["de", "fr"]
    assert parse_query("lang:pt_BR") == parse_query("lang:pt")
    with pytest.raises(QueryError, match="lang:zz names no language"):
        lang_index.search("lang:zz")


def test_each_hit_carries_its_language(lang_index):
    hits = {hit.id.rsplit("#", 1)[-1]: hit.lang for hit in lang_index.search("flood")}
    assert hits == {"us": "en", "gb": "en", "de": "de", "fr": "fr", "none": None}


def test_the_language_facet_counts_one_code_per_language(lang_index):
    facets = lang_index.search("flood", facets=["lang"]).facets["lang"]
    assert dict(facets) == {"en": 2, "de": 1, "fr": 1, "(none)": 1}


@pytest.mark.parametrize("lang, expected", [
    ("en", ["gb", "us"]), ("en-US", ["gb", "us"]), ("EN", ["gb", "us"]), ("de,fr", ["de", "fr"]),
    (["de", "fr_FR"], ["de", "fr"]), (("en", "de"), ["de", "gb", "us"]), ("ja", []), (None, ["de", "fr", "gb", "none", "us"]),
])
def test_search_filters_by_language(lang_index, lang, expected):
    results = lang_index.search("flood", lang=lang, facets=["lang"])
    assert _keys(results) == expected and results.total == len(expected)
    assert sum(count for _, count in results.facets["lang"]) == len(expected)


def test_the_language_filter_combines_with_dates_and_the_partial_fallback(lang_index):
    assert _keys(lang_index.search("lang:en", lang="de")) == []
    results = lang_index.search("flood rescue", lang="en")  # the English ones have both words
    assert _keys(results) == ["gb", "us"] and not results.partial
    assert _keys(lang_index.search("flood", lang="de", since="2020-01-01")) == []


@pytest.mark.parametrize("bad", ["xx", "en,,de", "", "en,zz", 5, ["en", 5], [None]])
def test_a_bad_language_code_is_an_argument_error(lang_index, bad):
    with pytest.raises(ArgumentError, match="bad argument lang="):
        lang_index.search("flood", lang=bad)


def test_parse_languages():
    assert parse_languages(None) == ()
    assert parse_languages("en-US, de ,en") == ("en", "de")
    assert parse_languages(["pt_BR", "zh-Hant-TW"]) == ("pt", "zh")


def test_the_command_line_lang_option(run, tmp_path):
    from .conftest import write_records
    write_records(tmp_path / "corpus", LANG_RECORDS)
    assert run("index", "corpus", "--index", "idx").exit_code == 0
    result = run("flood", "--index", "idx", "--lang", "de", "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and [(h["id"].rsplit("#")[-1], h["lang"]) for h in lines[:-1]] == [("de", "de")]
    assert lines[-1]["total"] == 1
    both = run("flood", "--index", "idx", "--lang", "de", "--lang", "fr", "--json")
    comma = run("flood", "--index", "idx", "--lang", "de,fr", "--json")
    assert json.loads(both.stdout.splitlines()[-1])["total"] == 2 and both.stdout == comma.stdout
    assert run("flood", "--index", "idx", "--lang", "ja").exit_code == 1
    bad = run("flood", "--index", "idx", "--lang", "klingon")
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "search: error: bad argument lang='klingon': not a language code; use ISO 639-1 codes "
        "such as en, de, zh (several: en,de)"]
    parsed = run("parse", "corpus", "--json")
    records = [json.loads(line) for line in parsed.stdout.splitlines()][:-1]
    assert [(r["title"], r["lang"], r["region"]) for r in records][:2] == [
        ("Coastal floods", "en", "US"), ("Coastal floods again", "en", "GB")]


@pytest.mark.shared
def test_the_real_corpora_come_out_in_their_languages():
    corpora = SHARED / "corpora"
    reuters = [a.lang for a in parse_file(corpora / "reuters21578" / "reut2-000.sgm")
               if isinstance(a, searchlib.Article)]
    assert len(reuters) == 1000
    assert reuters.count("en") >= 950 and set(reuters) <= {"en", None}
    bbc = [_parsed(p).lang for p in sorted((corpora / "bbc" / "business").glob("*.txt"))[:100]]
    assert bbc == ["en"] * 100
    html = corpora / "html" / "newspaper3k-tests" / "html"
    assert [_parsed(html / f"{name}.html").lang for name in (
        "chinese_article", "japanese_article2", "vogue.de1", "spanish_article", "thai_article")] == [
        "zh", "ja", "de", "es", "th"]
    folha = _parsed(corpora / "html" / "readability-test-pages" / "folha" / "source.html")
    assert (folha.lang, folha.region) == ("pt", "BR")
    # declares nothing: detected
    assert _parsed(corpora / "html" / "readability-test-pages" / "la-nacion" / "source.html").lang == "es"
