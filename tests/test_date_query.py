"""`date:` clauses anywhere in a query are answered from the date column (schema version 8: the
date field has no terms), exactly: nested in OR and NOT, with times of day, across segments and
past deleted articles, the same through Whoosh's own collector and through searchlib's ranking."""
from datetime import datetime

import pytest
from whoosh import query as wq

import searchlib
from searchlib.querying.datequery import DateSpanQuery
from searchlib.querying.query import parse_query

from .conftest import NOW, ids, index_of, write_records

DATED = {
    "a": {"title": "River one", "body": "The river rose.", "date": "2021-05-01T08:00:00Z"},
    "b": {"title": "River two", "body": "The river fell.", "date": "2022-09-06T11:49:59Z"},
    "c": {"title": "River three", "body": "The river froze.", "date": "2022-09-06T11:50:00Z"},
    "d": {"title": "Harbour one", "body": "The harbour closed.", "date": "2022-09-06T11:59:00Z"},
    "e": {"title": "Harbour two", "body": "The harbour opened.", "date": "2022-09-06T12:00:00Z"},
    "f": {"title": "Harbour three", "body": "The harbour flooded.", "date": "2023-01-01T00:00:00Z"},
    "g": {"title": "River undated", "body": "The river again, no date."},
}


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("dated"), DATED) as idx:
        yield idx


def hits(index, query):
    return sorted(ids(index.search(query, now=NOW, limit=100)))


@pytest.mark.parametrize("query, expected", [
    ("date:2022", ["b", "c", "d", "e"]),
    ("harbour OR date:2021", ["a", "d", "e", "f"]),
    ("(date:2021 OR date:2023) OR undated", ["a", "f", "g"]),
    ("river NOT date:2022", ["a", "g"]),
    ("river AND NOT date:[2022-09-06T11:50 TO *]", ["a", "b", "g"]),
    ("harbour OR date:[2022-09-06T11:50 TO 2022-09-06T12:00]", ["c", "d", "e", "f"]),
    ("froze OR (date:[2022-09-06T11:50 TO 2022-09-06T12:00} AND harbour)", ["c", "d"]),
    ("(river AND date:<2022-09-06T11:50) OR (harbour AND date:>=2023)", ["a", "b", "f"]),
    ("NOT date:[2000 TO 2030]", ["g"]),
])
def test_date_clauses_anywhere_in_a_query(dated, query, expected):
    assert hits(dated, query) == expected


def test_the_date_field_has_no_terms_and_the_query_reads_the_column(dated):
    with dated._searcher() as searcher:
        reader = searcher.reader()
        assert list(reader.lexicon("date")) == []
        assert reader.has_column("date")
        q = DateSpanQuery(datetime(2022, 9, 6, 11, 50), datetime(2022, 9, 6, 12, 0))
        assert [searcher.stored_fields(d)["title"] for d in q.docs(reader)] == ["River three", "Harbour one"]


def test_a_date_clause_scores_its_boost_like_whoosh_did(dated):
    q = parse_query("harbour OR date:2021", NOW)
    assert [part for part in q.leaves() if isinstance(part, DateSpanQuery)] == [
        DateSpanQuery(datetime(2021, 1, 1), datetime(2022, 1, 1))]
    with dated._searcher() as searcher:
        hits = searcher.search(DateSpanQuery(datetime(2021, 1, 1), datetime(2022, 1, 1), boost=3.0), limit=None)
        scores = {searcher.stored_fields(hit.docnum)["title"]: hit.score for hit in hits}
    assert scores == {"River one": 3.0}


def test_date_clauses_across_segments_and_deleted_articles(tmp_path):
    corpus = tmp_path / "corpus"
    write_records(corpus, DATED)
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    # a second file (another segment), then the first rewritten: its old articles are deleted
    (corpus / "more.jsonl").write_text('{"id": "h", "title": "River four", "body": "The river '
                                       'dried.", "date": "2022-09-06T11:55:00Z"}\n')
    idx.update([corpus], jobs=1)
    changed = {**DATED, "c": {**DATED["c"], "date": "2019-01-01T00:00:00Z"}}
    del changed["d"]
    write_records(corpus, changed)
    idx.update([corpus], jobs=1)
    expected = ["e", "h"]  # c moved to 2019, d is gone
    assert hits(idx, "harbour OR date:[2022-09-06T11:50 TO 2022-09-06T12:01]") == ["e", "f", "h"]
    assert hits(idx, "date:[2022-09-06T11:50 TO 2022-09-06T12:01] OR nothingatall") == expected
    assert hits(idx, "river NOT date:2022") == ["a", "c", "g"]
    with idx._searcher() as searcher:
        spans = DateSpanQuery(datetime(2022, 9, 6, 11, 50), datetime(2022, 9, 6, 12, 1))
        through_whoosh = sorted(searcher.stored_fields(hit.docnum)["id"].rsplit("#", 1)[1]
                                for hit in searcher.search(wq.Or([spans, wq.Term("body", "nothingatal")]),
                                                           limit=None))
    assert through_whoosh == expected


def test_the_size_estimate_counts_the_span(dated):
    with dated._searcher() as searcher:
        reader = searcher.reader()
        for start, end, count in [(datetime(2022, 9, 6, 11, 50), datetime(2022, 9, 6, 12, 0), 2),
                                  (None, datetime(2022, 1, 1), 1), (datetime(2022, 1, 1), None, 5),
                                  (None, None, 6), (datetime(2030, 1, 1), None, 0)]:
            q = DateSpanQuery(start, end)
            assert q.estimate_size(reader) == len(q.docs(reader)) == count


def test_the_matcher_over_a_searcher_of_several_segments(tmp_path):
    corpus = tmp_path / "corpus"
    idx = searchlib.Index(tmp_path / "index")
    for n in range(3):  # a run a file: three segments
        write_records(corpus / f"f{n}", {f"a{n}{m}": {"title": "t", "body": "river", "date": f"202{n}-0{m + 1}-01T10:00:00Z"}
                                         for m in range(3)})
        idx.update([corpus], jobs=1)
    with idx._searcher() as searcher:
        assert not searcher.is_atomic() and len(searcher.subsearchers) == 3
        q = DateSpanQuery(datetime(2021, 1, 15), datetime(2022, 2, 15), boost=2.0)
        matcher, found = q.matcher(searcher), []
        while matcher.is_active():
            found.append((searcher.stored_fields(matcher.id())["id"].rsplit("#", 1)[1], matcher.score()))
            matcher.next()
    assert found == [("a11", 2.0), ("a12", 2.0), ("a20", 2.0), ("a21", 2.0)]
