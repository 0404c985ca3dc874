"""A quoted phrase whose run of unspaced script is one character long (`"Trump氏"`): that
character is indexed inside the bigram of the longer run it begins or ends in the article
(`氏が`, `プ氏`), or alone, and the phrase must find it there, in order, and nowhere else."""
import pytest

from .conftest import index_of

RECORDS = {
    "visit": {"title": "Trump氏が来日", "body": "大統領は東京に着いた。", "lang": "ja", "date": "2020-01-02"},
    "alone": {"title": "会見", "body": "米国のBiden氏。会見は短かった。", "lang": "ja", "date": "2020-01-03"},
    "before": {"title": "声明", "body": "トランプ氏Trumpの発言", "lang": "ja", "date": "2020-01-04"},
    "apart": {"title": "氏名", "body": "Trump大統領と氏名の欄", "lang": "ja", "date": "2020-01-05"},
}


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("unspaced"), RECORDS) as idx:
        yield idx


def ids(idx, query):
    return sorted(hit.id.rsplit("#", 1)[-1] for hit in idx.search(query, limit=50, all_copies=True).hits)


@pytest.mark.parametrize("query, expected", [
    ('"Trump氏"', ["visit"]),           # the character begins a longer run: `氏が`
    ('"Biden氏"', ["alone"]),           # the character is a run of its own: indexed alone
    ('"氏Trump"', ["before"]),          # the character ends a longer run: `プ氏`
    ('"Trump氏が"', ["visit"]),         # (no lone character: a phrase of bigrams, as before)
    ('"Trump大統領"', ["apart"]),
    ('"大統領Trump"', []),              # order counts
    ('"Trump 氏"', ["visit"]),          # the same tokens, typed apart
])
def test_phrase_with_one_character_run(idx, query, expected):
    assert ids(idx, query) == expected


def test_the_character_elsewhere_is_no_match_for_the_phrase(idx):
    # `apart` has Trump and 氏 (in 氏名) but not next to each other
    assert "apart" not in ids(idx, '"Trump氏"')
    assert ids(idx, "Trump氏") == ["apart", "before", "visit"]  # unquoted: both anywhere, as before
