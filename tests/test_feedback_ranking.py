"""Pseudo-relevance feedback for typed questions (querying.searching._with_feedback): a plain
query of FEEDBACK_MIN_WORDS content words or more is ranked again with the key words of its best
hits. It reorders hits within their group; what matches, the totals and the groups stay."""
from __future__ import annotations

import pytest

from searchlib.querying import searching

from .conftest import NOW, index_of

QUESTION = "which vaccines protect children against measles outbreaks in schools"
RECORDS = {
    "complete": {"title": "Measles vaccines", "body": "Measles vaccines protect children; outbreaks in "
                 "schools fell after immunisation clinics gave booster doses."},
    "clinic": {"title": "Immunisation clinics", "body": "Measles outbreaks: immunisation clinics gave "
               "booster doses to pupils. Immunisation clinics and booster doses work."},
    "booster": {"title": "Booster doses", "body": "Immunisation clinics gave booster doses; measles "
                "vaccines for children. Booster doses at immunisation clinics."},
    "graffiti": {"title": "Graffiti", "body": "Volunteers protect schools from outbreaks of graffiti; "
                 "pupils painted murals over graffiti."},
    **{f"filler{i}": {"title": f"Harbour notes {i}", "body": f"The harbour ferry ran {i} times; gulls "
                      f"followed the ferry along the harbour wall."} for i in range(12)},
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("feedback"), RECORDS) as idx:
        yield idx


def order(index, query, **kwargs):
    results = index.search(query, now=NOW, limit=20, **kwargs)
    return [(hit.id.rsplit("#", 1)[-1], hit.complete) for hit in results], (results.total, results.complete)


def test_feedback_lifts_partial_matches_about_what_the_best_hits_are_about(index, monkeypatch):
    monkeypatch.setattr(searching, "FEEDBACK_DOCS", 1)  # the key words of the complete match
    with_feedback = order(index, QUESTION)
    monkeypatch.setattr(searching, "FEEDBACK_WEIGHT", 0.0)
    without = order(index, QUESTION)
    # without feedback the article with the typed words of the highest weight (about graffiti) leads
    # the partial matches; with it, the one that also shares the best hit's words (immunisation,
    # clinics, booster, doses) rises above it
    assert without[0] == [("complete", True), ("graffiti", False), ("booster", False), ("clinic", False)]
    assert with_feedback[0] == [("complete", True), ("booster", False), ("graffiti", False), ("clinic", False)]
    assert with_feedback[1] == without[1] == (4, 1)  # the same matches, the same counts


def test_short_queries_and_date_sorted_ones_get_no_feedback(index, monkeypatch):
    short = order(index, "measles outbreaks schools")  # 3 content words
    dated = order(index, QUESTION, sort="newest")
    monkeypatch.setattr(searching, "FEEDBACK_WEIGHT", 0.0)
    assert order(index, "measles outbreaks schools") == short
    assert order(index, QUESTION, sort="newest") == dated


def test_filler_words_are_no_key_words(index):
    with index._searcher() as searcher:
        extra = searching._feedback_query(searcher, list(range(4)))
    words = {term.text for term in extra.leaves()}
    assert {"booster", "clinic", "dose", "immunis"} <= words
    assert not words & {"and", "in", "of", "for", "from", "after", "the"}


def test_feedback_scores_only_what_matches(index):
    """The key words of the best hits (`harbour` is not among them, nor is any word of an
    article that does not match) never bring in an article with none of the typed words."""
    found, (total, complete) = order(index, QUESTION)
    assert not any(doc.startswith("filler") for doc, _ in found)
    assert total == len(found) == 4


def test_pages_of_any_size_continue_each_other(index):
    """The key words come from the same best hits whatever the page asks for, so one hit per
    page lists the same articles in the same order as one page of all of them."""
    whole = [hit.id for hit in index.search(QUESTION, now=NOW, limit=20)]
    assert len(whole) == 4
    assert [index.search(QUESTION, now=NOW, limit=1, offset=i).hits[0].id for i in range(4)] == whole
    assert [hit.id for page in (0, 2) for hit in index.search(QUESTION, now=NOW, limit=2, offset=page)] == whole


def test_the_key_words_come_from_the_same_best_hits_whatever_the_page(index, monkeypatch):
    seen = []
    real = searching._feedback_query
    monkeypatch.setattr(searching, "_feedback_query", lambda searcher, docnums: seen.append(docnums) or real(searcher, docnums))
    for limit, offset in ((20, 0), (1, 0), (1, 3), (2, 2)):
        index.search(QUESTION, now=NOW, limit=limit, offset=offset)
    assert len(seen) == 4 and len(seen[0]) == 4
    assert seen == [seen[0]] * 4
