"""Every language in the archive (issue 17): unspaced scripts as bigrams, folding a reader
expects, each article stemmed in its own language, queries with no language flag."""
import pytest

from searchlib.engine import analysis
from searchlib.engine.analysis import TEXT, bigrams

from .conftest import ids, index_of

RECORDS = {
    "hk": {"title": "梁振英称香港经济稳定", "body": "行政长官梁振英今日表示，香港经济保持稳定。梁振英称将继续推动改革。",
           "lang": "zh", "date": "2017-01-02"},
    "apart": {"title": "振英学校", "body": "梁先生在振英学校讲话。", "lang": "zh", "date": "2017-01-03"},
    "dprk": {"title": "金正恩氏が視察", "body": "北朝鮮の金正恩氏は軍の演習を視察した。トランプ大統領は声明を出した。",
             "lang": "ja", "date": "2018-03-04"},
    "thai": {"title": "ข่าวเศรษฐกิจไทย", "body": "รัฐบาลไทยประกาศมาตรการเศรษฐกิจใหม่ในวันนี้", "lang": "th",
             "date": "2019-05-06"},
    "berlin": {"title": "Neue Straße in Berlin", "body": "Die Häuser an der Straße wurden renoviert.",
               "lang": "de-DE", "date": "2020-01-01"},
    "paris": {"title": "Les élections présidentielles", "body": "Les électeurs ont voté dimanche.",
              "lang": "fr", "date": "2020-02-02"},
    "gulf": {"title": "الإمارات العربية المتحدة", "body": "أعلنت دولة الإمارات عن مشروع جديد في المدينة.",
             "lang": "ar", "date": "2021-03-03"},
    "moscow": {"title": "Новая ёлка в Москве", "body": "В Москве установили новогоднюю ёлку.", "lang": "ru",
               "date": "2021-12-20"},
    "wire": {"title": "ＮＨＫ reports flooding", "body": "Houses were flooded after the river rose.",
             "lang": "en", "date": "2022-09-06"},
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("languages"), RECORDS) as idx:
        yield idx


def hits(index, query, **kwargs):
    return sorted(ids(index.search(query, **kwargs)))


@pytest.mark.parametrize("query, expected", [
    ("梁振英", ["hk"]),            # a name of three characters: not in "apart", where 梁 and 振英 are apart
    ("香港", ["hk"]),
    ("金正恩", ["dprk"]),
    ("トランプ", ["dprk"]),          # Katakana
    ("金正恩 視察", ["dprk"]),
    ("振英", ["apart", "hk"]),
    ("เศรษฐกิจ", ["thai"]),        # Thai, written without spaces
    ("ไทย", ["thai"]),
    ("梁振英称", ["hk"]),
])
def test_unspaced_scripts_are_found_by_any_word_of_two_or_more_characters(index, query, expected):
    assert hits(index, query) == expected


def test_a_cjk_word_is_marked_as_one_span_and_never_respelt(index):
    (hit,) = index.search("梁振英")
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["梁振英", "梁振英"]
    assert [hit.title[s:e] for s, e in hit.title_highlights] == ["梁振英"]
    assert hit.snippet.startswith("行政长官梁振英")
    assert index.search("梁振英").suggestion is None
    assert index.search("梁振英 xqzzy").suggestion is None


@pytest.mark.parametrize("query, expected", [
    ("Straße", ["berlin"]),
    ("strasse", ["berlin"]),
    ("STRASSE", ["berlin"]),
    ("Straßen", ["berlin"]),        # German stemming: Straßen and Straße share a stem
    ("haus", ["berlin"]),           # Häuser → haus
    ("élection", ["paris"]),        # French stemming, accents folded after it
    ("election", ["paris"]),
    ("electeur", ["paris"]),
    ("الامارات", ["gulf"]),           # alef with hamza below, normalised
    ("елка", ["moscow"]),            # ё → е
    ("ёлку", ["moscow"]),
    ("nhk", ["wire"]),               # full-width letters
    ("house", ["wire"]),             # English stemming as before
    ("flood", ["wire"]),
])
def test_folding_and_each_articles_own_stemming(index, query, expected):
    assert hits(index, query) == expected


def test_phrases_and_fields_work_in_every_language(index):
    assert hits(index, '"neue straße"') == ["berlin"]
    assert hits(index, 'title:"élections présidentielles"') == ["paris"]
    assert hits(index, '"梁振英称"') == ["hk"]
    assert hits(index, "title:香港") == ["hk"]
    assert hits(index, "金正恩 -梁振英") == ["dprk"]
    assert hits(index, "北朝鮮 OR 香港") == ["dprk", "hk"]


def test_german_highlights_use_the_articles_own_chain(index):
    (hit,) = index.search("Straßen")
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["Straße"]
    assert [hit.title[s:e] for s, e in hit.title_highlights] == ["Straße"]


def test_bigrams_and_their_offsets():
    assert bigrams("梁振英", 4) == [("梁振", 4, 6), ("振英", 5, 7)]
    assert bigrams("港", 0) == [("港", 0, 1)]
    assert [t for t, _, _ in TEXT.tokens("abc香港def")] == ["abc", "香港", "def"]
    # half-width Katakana is normalised to full width (its offsets: the whole run)
    assert bigrams("ﾄﾗﾝﾌﾟ", 0)[0][0] == "トラ"


def test_the_chains_fold_what_a_reader_expects():
    de = TEXT.for_language("de")
    assert [t for t, _, _ in de.tokens("Straßen Straße STRASSE")] == ["strass"] * 3
    assert [t for t, _, _ in TEXT.tokens("ﬁnance Ｔｏｋｙｏ café naïve Æon")] == ["financ", "tokyo", "cafe", "naiv",
                                                                                 "aeon"]
    # combining marks typed decomposed stay in the word; Devanagari vowel signs too
    assert [t for t, _, _ in TEXT.tokens("cafe\u0301 हिन्दी")] == ["cafe", "हिन्दी"]
    assert analysis.stemmer_name("pt-BR") == "portuguese"
    assert analysis.stemmer_name("zh") is None
    assert analysis.stemmer_name(None) == "english"


def test_an_index_of_one_language_parses_a_query_once():
    from whoosh import query as wq

    from searchlib.querying.query import parse_query
    one = parse_query("Straßen verkehr")
    both = parse_query("Straßen verkehr", languages=("en", "de"))
    assert one == parse_query("Straßen verkehr", languages=("en",))
    # the words differ by language: an Or of the two stems in each field, inside the same And
    assert isinstance(both, wq.And) and len(both.subqueries) == 2
    assert sorted(t.text for t in both.subqueries[0].leaves() if t.fieldname == "body") == ["strass", "strassen"]
    assert [t.text for t in both.subqueries[1].leaves() if t.fieldname == "body"] == ["verkehr"]
    # a phrase: one phrase per distinct spelling of its words
    phrase = parse_query('"Straßen verkehr"', languages=("en", "de"))
    assert sorted(tuple(p.words) for p in phrase.leaves() if p.fieldname == "body") == [
        ("strass", "verkehr"), ("strassen", "verkehr")]


@pytest.mark.parametrize("query, marked", [
    ("เศรษฐกิจ", ["เศรษฐกิจ"]),                 # Thai: the word's bigrams, one span
    ("الامارات", ["الإمارات"]),                  # Arabic: the form written, found by the normalised one
    ("елка", ["ёлку"]),
    ("Ｈｏｕｓｅｓ", ["Houses"]),               # full-width query, the text's own form marked
])
def test_snippets_mark_matches_in_every_script(index, query, marked):
    (hit,) = index.search(query)
    assert [hit.snippet[s:e] for s, e in hit.highlights] == marked


def test_did_you_mean_knows_each_languages_stems(index):
    # `Straßen` is in no article as written, but its German stem is: a known word, left alone
    assert index.search("Straßen").suggestion is None
    assert index.search("Strase").suggestion == "strasse"   # a typo is still respelt


def test_a_search_walks_each_segments_languages_once(tmp_path, monkeypatch):
    """A first search over an index of several segments reads each segment's `lang` words once,
    for the query's languages and for every language filter alike (ranking.language_counts),
    and still keeps each word's forms by other languages' rules to those languages' articles."""
    import json

    from whoosh import index as whoosh_index
    from whoosh.reading import SegmentReader

    import searchlib
    from searchlib.engine.ranking import language_counts
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    idx = searchlib.Index(tmp_path / "index")
    for key in ("wire", "berlin", "paris", "moscow"):  # one run each: a segment each
        (corpus / f"{key}.jsonl").write_text(json.dumps({"id": key, **RECORDS[key]}) + "\n", encoding="utf-8")
        idx.update([corpus], jobs=1)
    idx.close()
    with whoosh_index.open_dir(str(tmp_path / "index")).reader() as reader:
        segments = len(reader.leaf_readers())
        assert segments >= 2  # (small runs may be merged, not all into one)
        assert language_counts(reader) == {"en": 1, "de": 1, "fr": 1, "ru": 1}

    walks = []
    for name in ("terms_from", "iter_from"):
        def spy(self, fieldname, *args, _walk=getattr(SegmentReader, name)):
            if fieldname == "lang":
                walks.append(self)
            return _walk(self, fieldname, *args)
        monkeypatch.setattr(SegmentReader, name, spy)
    fresh = searchlib.Index(tmp_path / "index", create=False)
    # `straße` is stemmed apart by the German, French and Russian rules: a form kept to each
    assert sorted(ids(fresh.search("Straße"))) == ["berlin"]
    assert sorted(ids(fresh.search("élections"))) == ["paris"]
    fresh.close()
    assert len(walks) == segments == len({id(reader) for reader in walks})
