"""Issue 17, queries as people type them: a query in capitals is read as words, and question and
filler words (stop words) neither make a complete match nor outrank content words, while a query
of stop words only is a phrase."""
from __future__ import annotations

import pytest

from searchlib.engine.schema import SCHEMA_VERSION
from searchlib.querying.query import is_plain, read_capitals, without_stop_words

from .conftest import NOW, ids, index_of

RECORDS = {
    "relations": {"title": "Relations between China and Russia",
                  "body": "Trade relations between China and Russia grew this year."},
    "china": {"title": "China exports", "body": "China sold more steel to India."},
    "russia": {"title": "Russia gas", "body": "Russia sold gas to Europe."},
    "fed": {"title": "Fed raises interest rates",
            "body": "The Fed raised interest rates by half a point on Wednesday."},
    "fed-filler": {"title": "What did they do with it",
                   "body": "What did the Fed do with the rest? What did they do with that? "
                           "They did what they do, with interest."},
    "filler": {"title": "What did you do", "body": "What did he do with it? What did she do with them?"},
    "here-were": {"title": "Arrivals", "body": "They were here first, long before the town."},
    "were-apart": {"title": "Departures", "body": "Here the roads were wide."},
    "band": {"title": "The Who in concert", "body": "The Who played their old songs."},
    "article": {"title": "Who pays", "body": "The question is who pays for the roads."},
    "hamlet": {"title": "Hamlet", "body": "To be or not to be, that is the question."},
    "be-apart": {"title": "Plans", "body": "To do or not, to be seen: not to be here."},
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("typing"), RECORDS) as idx:
        yield idx


def ranked(index, query, **kwargs):
    results = index.search(query, now=NOW, limit=50, **kwargs)
    return [(hit.id.rsplit("#", 1)[-1], hit.complete, round(hit.score, 6)) for hit in results]


# --- a query in capitals ------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "RELATIONS BETWEEN CHINA AND RUSSIA",
    "CHINA OR RUSSIA",
    "CHINA NOT RUSSIA",
    "CHINA AND RUSSIA GAS",          # no article has all three: the partial matches follow
    "WHAT DID THE FED DO WITH INTEREST RATES?",
    "TITLE:CHINA",                   # a field name in capitals is still a field (as in lower case)
    "CHINA -RUSSIA",
])
def test_a_query_in_capitals_finds_what_it_finds_in_lower_case(index, query):
    assert ranked(index, query) == ranked(index, query.lower())
    assert ranked(index, query)  # (each finds something: the comparison is not of two nothings)


def complete(index, query):
    results = index.search(query, now=NOW, limit=50)
    return sorted(ids(hit for hit in results if hit.complete)), results.partial


def test_in_capitals_and_or_not_are_words_not_operators(index):
    # read as words: china and russia both required (`or`, `not`, `and` are filler), and as a
    # plain query, the partial matches follow the one complete match
    for query in ("CHINA OR RUSSIA", "CHINA NOT RUSSIA", "CHINA AND RUSSIA"):
        assert complete(index, query) == (["relations"], True)


def test_mixed_case_queries_keep_their_operators(index):
    # operators mean exactly what they say: every hit complete, no partial matches
    assert complete(index, "China OR Russia") == (["china", "relations", "russia"], False)
    assert complete(index, "China NOT Russia") == (["china"], False)
    assert complete(index, "china AND russia") == (["relations"], False)
    assert complete(index, "NATO OR china") == (["china", "relations"], False)


def test_read_capitals_lowers_only_a_query_with_no_lower_case_letter():
    assert read_capitals("RELATIONS BETWEEN CHINA AND RUSSIA") == "relations between china and russia"
    assert read_capitals("TITLE:KOREA -MISSILE 2022") == "title:korea -missile 2022"
    assert read_capitals("NATO OR eu") == "NATO OR eu"
    assert read_capitals("Korea AND Japan") == "Korea AND Japan"
    assert read_capitals("2022 12:30") == "2022 12:30"          # no letter with a case at all
    assert read_capitals("ÉTATS-UNIS ET CHINE") == "états-unis et chine"
    assert is_plain("KOREA OR JAPAN") and not is_plain("Korea OR Japan")


# --- question and filler words ------------------------------------------------------------------

def test_filler_words_do_not_make_a_complete_match_nor_outrank_content_words(index):
    found = ranked(index, "what did the fed do with interest rates")
    assert found[0][:2] == ("fed", True)
    # fed-filler has fed and interest but not rates: a partial match, below the complete one,
    # however many of the filler words it holds
    assert [(doc, complete) for doc, complete, _ in found] == [("fed", True), ("fed-filler", False)]
    results = index.search("what did the fed do with interest rates", now=NOW)
    assert (results.complete, results.total, results.partial) == (1, 2, True)
    # the filler-only article has none of the content words: it is no match at all
    assert "filler" not in [doc for doc, _, _ in found]


def test_a_complete_match_needs_only_the_content_words(index):
    results = index.search("which interest rates did the fed raise", now=NOW)
    assert [(hit.id.rsplit("#", 1)[-1], hit.complete) for hit in results][:1] == [("fed", True)]
    assert results.complete == 1


def test_without_stop_words_drops_bare_filler_words_only():
    assert without_stop_words("what did the fed do with interest rates") == "fed interest rates"
    # a quoted phrase keeps its words; a filler word with syntax (wildcard, boost, fuzzy) stays
    assert without_stop_words('"the who" tour of the world') == '"the who" tour world'
    assert without_stop_words("the* with^2 over~ rates") == "the* with^2 over~ rates"
    # stop words only: the whole query is one phrase
    assert without_stop_words("to be or not to be") == '"to be or not to be"'
    assert without_stop_words("The Who") == '"The Who"'
    assert without_stop_words("who?") == '"who"'


def test_a_word_in_capitals_in_a_mixed_case_query_is_an_acronym_not_filler():
    # `WHO`, `US`, `IT` among lower-case words name something; in an all-capitals query every
    # word is in capitals, so there they are read in lower case first (read_capitals)
    assert without_stop_words("WHO guidance on masks") == "WHO guidance masks"
    assert without_stop_words("what did the US do with rates") == "US rates"
    assert without_stop_words("The Who") == '"The Who"'   # capitalised, not in capitals
    assert without_stop_words("I am here") == '"I am here"'  # one letter: no acronym


def test_an_acronym_is_required_while_the_same_word_in_lower_case_is_not(index):
    assert complete(index, "WHO roads")[0] == ["article"]
    assert complete(index, "who roads")[0] == ["article", "were-apart"]


def test_a_query_of_stop_words_only_is_a_phrase(index):
    # `were` and `here` are stop words indexed by every schema version: the phrase, not the AND
    assert sorted(ids(index.search("were here", now=NOW))) == ["here-were"]
    assert sorted(ids(index.search("WERE HERE", now=NOW))) == ["here-were"]


@pytest.mark.skipif(SCHEMA_VERSION < 7, reason="stop words are indexed from schema version 7")
def test_the_who_and_to_be_or_not_to_be_are_found_as_phrases(index):
    assert sorted(ids(index.search("the who", now=NOW))) == ["band"]
    assert sorted(ids(index.search("The Who", now=NOW))) == ["band"]
    assert sorted(ids(index.search("to be or not to be", now=NOW))) == ["hamlet"]
    assert sorted(ids(index.search("TO BE OR NOT TO BE", now=NOW))) == ["hamlet"]


def test_us_in_capitals_is_the_country_not_a_filler_word(tmp_path):
    records = {"troops": {"title": "US troops leave", "body": "US troops left the base on Monday."},
               "other": {"title": "Troops train", "body": "Troops trained in the hills."}}
    with index_of(tmp_path, records) as idx:
        assert [h.id.rsplit("#", 1)[-1] for h in idx.search("US TROOPS") if h.complete] == ["troops"]
        assert without_stop_words("us troops") == "us troops"
