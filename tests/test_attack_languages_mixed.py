"""Attacks on issue 17's promises in an index of several languages: a word's form by another
language's rules (`rates` is `rat` by German ones) finds only that language's articles."""
import pytest

from .conftest import index_of


MIXED = {
    "r1": {"title": "Bank raises rates", "body": "The central bank raised interest rates by half a point.",
           "lang": "en", "date": "2020-01-01"},
    "r2": {"title": "Mortgage rates climb", "body": "Mortgage rates rose again as the bank tightened.",
           "lang": "en", "date": "2020-01-02"},
    "rats": {"title": "Rats in the subway", "body": "A rat was seen on the platform; rats are common.",
             "lang": "en", "date": "2020-01-03"},
}
GERMAN = {"rat": {"title": "Der Rat tagt", "body": "Der Stadtrat beriet über die Zinsen der Bank.", "lang": "de",
                  "date": "2020-01-04"}}


@pytest.mark.parametrize("query", ["rates", "rate", "interest rates"])
def test_a_german_article_added_does_not_make_english_rates_find_rats(tmp_path, query):
    # by German rules `rates` is `rat`: that form may find German articles, not the English `rat`
    with index_of(tmp_path / "en", MIXED) as idx:
        before = [hit.id.split("#")[1] for hit in idx.search(query)]
    with index_of(tmp_path / "en_de", {**MIXED, **GERMAN}) as idx:
        after = [hit.id.split("#")[1] for hit in idx.search(query)]
    assert "rats" not in before
    assert [i for i in after if i != "rat"] == before


def test_a_form_by_another_languages_rules_still_finds_that_languages_articles(tmp_path):
    records = {**MIXED, "street": {"title": "Neue Straße", "body": "Die Straße wurde renoviert.", "lang": "de"}}
    with index_of(tmp_path, records) as idx:
        assert [hit.id.split("#")[1] for hit in idx.search("Straßen")] == ["street"]
        (hit,) = idx.search("Straßen")
        assert [hit.title[s:e] for s, e in hit.title_highlights] == ["Straße"]
