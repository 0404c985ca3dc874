"""Counts a script can rely on: the total, the complete and partial matches and every facet are the
same whatever the page size or page; pages continue each other exactly; each hit says whether it
has all the words. Facets have a "(none)" bucket, the date facets list the same kind of buckets,
and "did you mean" prefers the common word over a typo that happens to be in the data."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

import searchlib
from searchlib.querying import facets, searching
from searchlib.querying.facets import UNDATED

from .conftest import ids, index_of, write_records

COMPLETE = {0, 5, 11, 17}  # articles with both "harbour" and "crane"


def _record(i: int) -> dict:
    """Article i of 24 (+3 unrelated): both words (COMPLETE), else harbour (even i) or crane (odd
    i), repeated so the scores differ; every fifth undated, 6 and 7 on the same day; some without
    source, section or author."""
    if i >= 24:
        return {"title": f"Weather {i}", "body": "Rain over the hills again.", "source": "Wire"}
    words = ["harbour", "crane"] if i in COMPLETE else ["harbour" if i % 2 == 0 else "crane"]
    body = " ".join(words * (i % 4 + 1)) + f" by the quay, report number {i}."
    record = {"title": f"Report {i}", "body": body}
    if i % 5 != 4:
        day = date(2019, 1, 1) + timedelta(days=47 * (6 if i == 7 else i))
        record["date"] = day.isoformat()
    if i % 4 != 3:
        record["source"] = ["Wire", "Post", "Daily"][i % 3]
    if i % 5 != 0:
        record["section"] = ["Ports", "Trade"][i % 2]
    if i % 3 == 0:
        record["author"] = "Kim"
    return record


RECORDS = {f"a{i:02d}": _record(i) for i in range(27)}
WITH_ANY = 24  # articles with harbour or crane


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    folder = tmp_path_factory.mktemp("port")
    write_records(folder / "corpus", RECORDS)
    idx = searchlib.Index(folder / "index")
    assert idx.update([folder / "corpus"], jobs=1).articles == 27
    yield idx
    idx.close()


FACETS = ["source", "section", "author", "year", "month", "day", "date"]


def _counts(results):
    return results.total, results.complete, results.partial, results.facets


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
@pytest.mark.parametrize("query", ["harbour crane", "quay harbour"])
def test_counts_do_not_depend_on_the_page_size_or_page(port, query, sort):
    reference = _counts(port.search(query, limit=100, sort=sort, facets=FACETS))
    for limit in range(1, 13):
        for page in range(3):
            results = port.search(query, limit=limit, offset=page * limit, sort=sort, facets=FACETS)
            assert _counts(results) == reference, (limit, page)


def test_the_fallback_rule_is_a_fixed_number_of_complete_matches(port):
    # 4 articles have both words, fewer than searching.FALLBACK_BELOW: the partial matches follow
    both = port.search("harbour crane", limit=1)
    assert (both.total, both.complete, both.partial) == (WITH_ANY, len(COMPLETE), True)
    # 15 have quay and harbour (searching.FALLBACK_BELOW or more): they alone match, on every page size
    quay = port.search("quay harbour", limit=100)
    assert (quay.total, quay.complete, quay.partial) == (15, 15, False) and 15 >= searching.FALLBACK_BELOW
    assert all(hit.complete for hit in quay)


@pytest.mark.parametrize("sort, fresh", [("relevance", None), ("newest", None), ("oldest", None),
                                         ("relevance", 30)])
def test_pages_continue_each_other_exactly(port, sort, fresh):
    whole = ids(port.search("harbour crane", limit=100, sort=sort, fresh=fresh))
    assert len(whole) == len(set(whole)) == WITH_ANY
    for limit in range(1, 13):
        pages = [ids(port.search("harbour crane", limit=limit, offset=offset, sort=sort, fresh=fresh))
                 for offset in range(0, WITH_ANY + limit, limit)]
        assert [hit for page in pages for hit in page] == whole, limit


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_each_hit_says_whether_it_has_all_the_words(port, sort):
    results = port.search("harbour crane", limit=100, sort=sort)
    flags = [hit.complete for hit in results]
    assert flags == [True] * len(COMPLETE) + [False] * (WITH_ANY - len(COMPLETE))
    assert {int(key[1:]) for key, flag in zip(ids(results), flags) if flag} == COMPLETE
    assert [hit.to_dict()["complete"] for hit in results] == flags
    # a query with operators means what it says: every hit is complete
    strict = port.search("harbour OR crane", limit=100)
    assert (strict.total, strict.complete, strict.partial) == (WITH_ANY, WITH_ANY, False)
    assert all(hit.complete for hit in strict)


def test_date_sorted_pages_keep_the_complete_matches_first_each_in_date_order(port):
    newest = port.search("harbour crane", limit=100, sort="newest")
    complete = [hit.date for hit in newest if hit.complete]
    assert [int(k[1:]) for k in ids(newest)[:4]] == [17, 11, 5, 0]
    assert complete == sorted(complete, reverse=True)
    partial = [hit.date for hit in newest if not hit.complete]
    dated = [d for d in partial if d]
    assert dated == sorted(dated, reverse=True) and partial[len(dated):] == [None] * 4


# --- facets ---------------------------------------------------------------------------------

def test_value_facets_count_articles_without_a_value_last(port):
    results = port.search("harbour crane", facets=["source", "section", "author"])
    source = dict(results.facets["source"])
    assert results.facets["source"][-1] == (facets.NONE, 6)  # i % 4 == 3: 3, 7, 11, 15, 19, 23
    assert results.facets["section"][-1] == (facets.NONE, 5)  # i % 5 == 0
    assert results.facets["author"] == [("Kim", 8), (facets.NONE, 16)]
    for name in ("source", "section", "author"):
        assert sum(count for _, count in results.facets[name]) == results.total == WITH_ANY
    assert source == {"Wire": 6, "Post": 6, "Daily": 6, facets.NONE: 6}
    # no (none) bucket when every match has a value
    assert port.search("rain", facets=["source"]).facets["source"] == [("Wire", 3)]


def test_day_month_and_year_facets_list_only_the_buckets_with_articles(port):
    results = port.search("harbour crane", facets=["day", "month", "year"])
    dated = [i for i in range(24) if i % 5 != 4]
    days = sorted({(date(2019, 1, 1) + timedelta(days=47 * (6 if i == 7 else i))) for i in dated})
    assert [label for label, _ in results.facets["day"]] == [d.isoformat() for d in days] + [UNDATED]
    shared = (date(2019, 1, 1) + timedelta(days=47 * 6)).isoformat()
    assert dict(results.facets["day"])[shared] == 2  # 6 and 7 share a day
    months = sorted({d.strftime("%Y-%m") for d in days})
    assert [label for label, _ in results.facets["month"]] == months + [UNDATED]
    assert results.facets["year"] == [("2019", 7), ("2020", 6), ("2021", 7), ("undated", 4)]
    for name in ("day", "month", "year"):
        counts = [count for _, count in results.facets[name]]
        assert 0 not in counts and sum(counts) == WITH_ANY


def test_the_timeline_keeps_every_bucket_but_at_most_max_bars(port):
    # 2019-01-01 .. 2021-12-17: 36 months, every one of them a bar (zeros too), 19 with articles
    timeline = port.search("harbour crane", facets=["date"]).facets["date"]
    assert timeline[0] == ("2019-01", 1) and timeline[-2] == ("2021-12", 1)
    assert timeline[-1] == (UNDATED, 4) and len(timeline) == 36 + 1
    assert sum(1 for _, count in timeline if count) == 19 + 1
    assert ("2019-03", 0) in timeline


def test_a_long_timeline_takes_a_coarser_unit(tmp_path):
    records = {f"y{year}": {"title": "Comet seen", "body": "A comet was seen.", "date": f"{year}-06-01"}
               for year in (1850, 1905, 2020)}
    write_records(tmp_path / "c", records)
    idx = searchlib.Index(tmp_path / "ix")
    idx.update([tmp_path / "c"], jobs=1)
    timeline = idx.search("comet", facets=["date", "year"]).facets
    bars = timeline["date"]
    assert len(bars) <= facets.MAX_BARS
    assert bars[0] == ("1850s", 1) and bars[-1] == ("2020s", 1) and ("1860s", 0) in bars
    assert len(bars) == (2020 - 1850) // 10 + 1 and ("1900s", 1) in bars
    assert timeline["year"] == [("1850", 1), ("1905", 1), ("2020", 1)]
    idx.close()


# --- did you mean ---------------------------------------------------------------------------

def _spelling_records() -> dict:
    records = {f"x{i}": {"title": f"Currency exchange report {i}",
                         "body": f"The exchange rate moved again; harvest {i} was good."}
               for i in range(15)}
    records["typo"] = {"title": "Market note", "body": "The exchage was closed for the harvst."}
    records["other"] = {"title": "Rates", "body": "Interest rates rose."}
    return records


@pytest.fixture(scope="module")
def spelled(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("spell"), _spelling_records()) as idx:
        yield idx


@pytest.mark.parametrize("query, suggestion", [
    ("exchnage", "exchange"),          # not the rare typo "exchage", one edit from it too
    ("exchnage rates", "exchange rates"),
    ("harvt", "harvest"),              # the common word two edits away, not "harvst" one away
    ("exchage rates", "exchange rates"),  # a word in one article, next to a far commoner one
    ("exchange rates", None),          # enough articles have both words
    ("harvst", "harvest"),             # typed word itself rare: the popular word is proposed
    ("interest", None),                # a rare word with no common neighbour is left alone
])
def test_did_you_mean_prefers_the_common_word(spelled, query, suggestion):
    assert spelled.search(query).suggestion == suggestion
