"""Attacks on issue 17's promises (every script through index, search and highlight; queries as
people type them), each a break found and fixed: Hebrew points, invisible characters inside a
word, a word of Latin letters and unspaced script in an index of several languages."""
import pytest

from .conftest import index_of

RECORDS = {
    # pointed Hebrew (niqqud), as in religious texts, children's news and poetry quotations
    "pointed": {"title": "בְּרֵאשִׁית בָּרָא", "body": "הַמֶּלֶךְ דִּבֵּר בִּירוּשָׁלַיִם", "lang": "he",
                "date": "2020-01-01"},
    "plain": {"title": "ירושלים היום", "body": "המלך דיבר בירושלים על העיר", "lang": "he", "date": "2020-01-02"},
    # a soft hyphen (&shy;) and a zero-width space inside words, as web pages break long words
    "shy": {"title": "Die Bundes\u00adregierung tagt", "body": "Die Bundes\u00adregierung beschloss die Steuer\u200breform.",
            "lang": "de", "date": "2020-02-01"},
    "ja": {"title": "Trump氏が来日", "body": "iPhone発表会は東京で開かれた。", "lang": "ja", "date": "2020-03-01"},
    "en": {"title": "Phone makers meet", "body": "The iPhone launch drew crowds in Tokyo.", "lang": "en",
           "date": "2020-03-02"},
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("attack_languages"), RECORDS) as idx:
        yield idx


def found(index, query):
    return sorted(hit.id.split("#")[1] for hit in index.search(query, limit=20))


@pytest.mark.parametrize("query", ["בראשית", "בְּרֵאשִׁית"])
def test_hebrew_with_or_without_points_finds_the_pointed_article(index, query):
    assert found(index, query) == ["pointed"]


@pytest.mark.parametrize("query", ["ירושלים", "בירושלים", "בִּירוּשָׁלַיִם"])
def test_a_pointed_and_an_unpointed_hebrew_word_are_one_word(index, query):
    expected = ["plain"] if query == "ירושלים" else ["plain", "pointed"]
    assert found(index, query) == expected


def test_a_pointed_hebrew_word_is_highlighted_whole(index):
    (hit,) = index.search("בראשית")
    assert [hit.title[s:e] for s, e in hit.title_highlights] == ["בְּרֵאשִׁית"]


@pytest.mark.parametrize("query", ["Bundesregierung", "bundesregierung", "Steuerreform", "Bundes\u00adregierung"])
def test_a_word_broken_by_an_invisible_hyphen_or_space_is_one_word(index, query):
    assert found(index, query) == ["shy"]


def test_a_word_with_a_soft_hyphen_is_highlighted_whole(index):
    (hit,) = index.search("Steuerreform")
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["Steuer\u200breform"]


def test_the_parts_of_a_word_with_a_soft_hyphen_are_not_words_of_their_own(index):
    assert found(index, "regierung") == []


def test_latin_then_unspaced_script_finds_the_article_whatever_its_language(index):
    # `iPhone発表` is `iphone` (unstemmed in a Japanese article, `iphon` by English rules) then `発表`
    assert found(index, "iPhone発表") == ["ja"]
    assert found(index, '"iPhone発表会は東京"') == ["ja"]
    assert found(index, '"iPhone 発表会"') == ["ja"]
    assert found(index, "iPhone") == ["en", "ja"]


def test_an_invisible_character_inside_an_english_word_is_highlighted(tmp_path):
    records = {"a": {"title": "The soft\u00adhyphen title", "body": "Some wire\u200bservice copy arrived.", "lang": "en"}}
    with index_of(tmp_path, records) as idx:
        (hit,) = idx.search("softhyphen")
        assert [hit.title[s:e] for s, e in hit.title_highlights] == ["soft\u00adhyphen"]
        (hit,) = idx.search("wireservice")
        assert [hit.snippet[s:e] for s, e in hit.highlights] == ["wire\u200bservice"]


SPELLING = {
    "de": {"title": "Kabinett tagt", "body": "Die Bundesregierung beschloss die Steuerreform am Mittwoch.",
           "lang": "de", "date": "2020-02-01"},
    "en": {"title": "Cabinet meets", "body": "The government met on Wednesday.", "lang": "en", "date": "2020-02-02"},
}


@pytest.fixture(scope="module")
def spelling_index(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("attack_spelling"), SPELLING) as idx:
        yield idx


def test_did_you_mean_respells_a_word_known_only_by_its_own_languages_stem(spelling_index):
    # English rules keep `bundesregirung` whole; German ones make it `bundesregir`, one edit from
    # the body's `bundesregier`: the suggestion must come from the German stems too
    results = spelling_index.search("Bundesregirung")
    assert results.total == 0
    assert results.suggestion == "bundesregierung"


@pytest.mark.parametrize("query", ["Bundesregierung", "Steuerreformen", "government", "Mittwoch"])
def test_did_you_mean_leaves_a_known_word_of_any_language_alone(spelling_index, query):
    assert spelling_index.search(query).suggestion is None


CHARACTERS = {
    "north": {"title": "北朝鮮の発表", "body": "北朝鮮は声明を出した。", "lang": "ja", "date": "2020-01-01"},
    "visit": {"title": "Trump氏が来日", "body": "大統領は東京に着いた。", "lang": "ja", "date": "2020-01-02"},
    "hk": {"title": "香港经济", "body": "香港经济保持稳定。", "lang": "zh", "date": "2020-01-03"},
    "alone": {"title": "米 prices", "body": "The price of 米 rose.", "lang": "en", "date": "2020-01-04"},
}


@pytest.fixture(scope="module")
def characters(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("attack_characters"), CHARACTERS) as idx:
        yield idx


@pytest.mark.parametrize("query, expected", [
    ("北", ["north"]),           # the first character of a run (`北朝`)
    ("日", ["visit"]),           # the last (`来日`): in no bigram as the first
    ("氏", ["visit"]),           # inside a run (`氏が`)
    ("济", ["hk"]),
    ("米", ["alone"]),           # a run of one: its own term
    ("title:港", ["hk"]),
    ("北 声明", ["north"]),
    ("南", []),
])
def test_a_cjk_word_of_one_character_finds_the_articles_that_have_it(characters, query, expected):
    assert found(characters, query) == expected


def test_a_one_character_match_is_highlighted(characters):
    (hit,) = characters.search("日")
    assert [hit.title[s:e] for s, e in hit.title_highlights] == ["来日"]



RARE = {
    **{f"en{i}": {"title": f"Night shift {i}", "body": "The night was long; the word spread and the minister spoke.",
                  "lang": "en", "date": f"2020-03-{i + 1:02d}"} for i in range(25)},
    "de": {"title": "Die Zeitung", "body": "Das wird nicht passieren, sagte er.", "lang": "de", "date": "2020-04-01"},
    "fr": {"title": "Le ministre parle", "body": "Le ministre a parlé.", "lang": "fr", "date": "2020-04-02"},
    "typo": {"title": "Weather", "body": "A cold nigt in the city.", "lang": "en", "date": "2020-04-03"},
}


@pytest.fixture(scope="module")
def rare_words(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("attack_rare"), RARE) as idx:
        yield idx


@pytest.mark.parametrize("query", ["wird", "nicht", "ministre"])
def test_did_you_mean_leaves_a_rare_correct_word_of_another_indexed_language_alone(rare_words, query):
    # one German (French) article has it; English articles have `word`, `night`, `minister`
    results = rare_words.search(query)
    assert results.total == 1
    assert results.suggestion is None


def test_did_you_mean_still_respells_a_rare_typo_in_an_article_of_the_first_language(rare_words):
    assert rare_words.search("nigt").suggestion == "night"


@pytest.mark.parametrize("query, expected", [
    ("Trump氏", ["visit"]),        # a name, then a title of one character (`Trump氏が来日`)
    ("Trump氏 来日", ["visit"]),
    ("Trump南", []),
])
def test_a_latin_word_then_one_cjk_character_finds_the_article(characters, query, expected):
    results = characters.search(query)
    assert sorted(hit.id.split("#")[1] for hit in results) == expected
    assert results.complete == len(expected)
