"""Months of cron (issue 18): what a query costs per segment of an index grown by many small runs.
Each word of a query is looked up once in every segment, so that lookup is read straight from the
segment's terms file (engine.postings.term_record, doc_frequency, has_term: tested against
Whoosh's own lookups, term by term), and deleted articles (which a grown index holds, a rebuilt one
not) are dropped once from a segment's matches rather than from each word's postings."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from whoosh import query as wq
from whoosh.filedb.filetables import HashReader

import searchlib
from searchlib.engine import postings, ranking
from searchlib.querying import searching


def _records(prefix: str, count: int) -> str:
    words = ("flood river valley", "harvest grain market", "election vote mayor")
    return "".join(json.dumps({
        "id": f"{prefix}-{i}", "title": f"{words[i % 3]} {prefix} report {i}",
        "body": f"The {words[i % 3]} story {i} from the {prefix} desk. " * (1 + i % 4)
                + ("A river flood warning. " if i % 5 == 0 else ""),
        "date": f"2021-0{1 + i % 9}-1{i % 10}T10:00:00Z", "source": f"{prefix.title()} Desk"}) + "\n"
        for i in range(count))


@pytest.fixture(scope="module")
def grown(tmp_path_factory) -> searchlib.Index:
    """An index of four runs' segments (no merging); the first file edited, so its articles are
    written again and the first segment's deleted."""
    from searchlib.indexing import run as run_module
    root = tmp_path_factory.mktemp("grown")
    corpus = root / "corpus"
    corpus.mkdir()
    saved = run_module.budget
    run_module.budget = lambda articles: 0
    try:
        idx = searchlib.Index(root / "index")
        for name, count in (("north", 40), ("south", 30), ("east", 20)):
            (corpus / f"{name}.jsonl").write_text(_records(name, count), encoding="utf-8")
            idx.update([corpus], jobs=1)
        edited = corpus / "north.jsonl"
        lines = edited.read_text(encoding="utf-8").splitlines()
        record = json.loads(lines[5])
        record["body"] += " Corrected."
        edited.write_text("\n".join(lines[:5] + [json.dumps(record)] + lines[6:]) + "\n", encoding="utf-8")
        idx.update([corpus], jobs=1)
    finally:
        run_module.budget = saved
    return idx


def _leaves(reader):
    return [leaf for leaf, _ in reader.leaf_readers()]


def test_term_records_are_what_whooshs_lookup_reads(grown):
    with grown._whoosh.searcher() as s:
        reader = s.reader()
        leaves = _leaves(reader)
        assert len(leaves) == 4 and sum(leaf.has_deletions() for leaf in leaves) >= 1
        terms = list(reader.all_terms())
        assert len(terms) > 200  # (words and ids: dates and stories have no terms)
        absent = [("body", b"nosuchword"), ("title", b"zzz"), ("body", b""), ("nofield", b"river"),
                  ("body", terms[0][1] + b"x")]
        found = missing = 0
        for leaf in leaves:
            table, keycoder = leaf._terms._tindex, leaf._terms._keycoder
            for fieldname, tbytes in terms + absent:
                try:
                    expected = table[keycoder(fieldname, tbytes)]
                except KeyError:
                    expected = None
                assert postings.term_record(leaf._terms, fieldname, tbytes) == expected
                found += expected is not None
                missing += expected is None
        assert found > 300 and missing > 300  # each segment lacks some of the others' words
        for fieldname, tbytes in terms + absent[:-2]:
            if fieldname in reader.schema:
                assert postings.doc_frequency(reader, fieldname, tbytes) == reader.doc_frequency(fieldname, tbytes)
            assert postings.has_term(reader, fieldname, tbytes) == ((fieldname, tbytes) in reader)
        assert postings.doc_frequency(reader, "body", "river") == reader.doc_frequency("body", "river") > 20


def test_a_segment_keeps_the_records_it_was_asked_for_a_while(grown, monkeypatch):
    """A search asks for each word's record in every segment twice (its weight, then its
    postings): the second is kept from the first, the same bytes, and at most RECORDS_KEPT are
    kept per segment (then forgotten at once, and read again: still the same answers)."""
    monkeypatch.setattr(postings, "RECORDS_KEPT", 3)
    with grown._whoosh.searcher() as s:
        leaf = _leaves(s.reader())[1]
        terms = leaf._terms
        terms.__dict__.pop("_searchlib_records", None)  # (what the module's other tests asked for)
        table, keycoder = terms._tindex, terms._keycoder
        reads = []
        real_get = terms._tindex.dbfile.get
        monkeypatch.setattr(terms._tindex.dbfile, "get", lambda *a: reads.append(a) or real_get(*a))
        asked = [("body", b"river"), ("title", b"harvest"), ("body", b"nosuchword")]
        for fieldname, tbytes in asked:
            try:
                expected = table[keycoder(fieldname, tbytes)]
            except KeyError:
                expected = None
            reads.clear()
            assert postings.term_record(terms, fieldname, tbytes) == expected
            assert reads or expected is None  # read from the file the first time (a missing
            # word's bucket of the hash table may be empty: nothing to read)
            reads.clear()
            assert postings.term_record(terms, fieldname, tbytes) == expected
            assert reads == []  # kept
        assert len(terms.__dict__["_searchlib_records"]) == 3
        reads.clear()
        assert postings.term_record(terms, "body", b"flood") is not None  # a fourth: the kept forgotten
        assert len(terms.__dict__["_searchlib_records"]) == 1 and reads
        reads.clear()
        assert postings.term_record(terms, "body", b"river") == table[keycoder("body", b"river")]
        assert reads  # read again


QUERIES = ("river flood", "title:harvest market", '"flood warning"', "river -election", "flood OR vote",
           "vote date:2021-03", "harvest vote mayor")


def _counting(monkeypatch, cls, name: str, calls: list) -> None:
    real = getattr(cls, name)

    def counted(self, *args):
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(cls, name, counted)


def test_a_repeated_search_looks_no_word_up_through_whooshs_hash_reader(grown, monkeypatch):
    """The second run of a query (its words' IDFs kept by the searcher) looks each word up in each
    segment with postings.term_record; Whoosh's lookup (HashReader.ranges_for_key) is not used."""
    for text in QUERIES:
        first = grown.search(text, limit=5)
        calls: list = []
        with monkeypatch.context() as patch:
            _counting(patch, HashReader, "ranges_for_key", calls)
            again = grown.search(text, limit=5)
        assert [h.id for h in again.hits] == [h.id for h in first.hits] and again.total == first.total
        assert again.total > 0 and calls == [], (text, calls[:5])


def test_did_you_mean_counts_and_finds_words_without_whooshs_lookups(grown, monkeypatch):
    """Did-you-mean's frequencies and word checks (one per segment, for each close word) are
    read with postings.doc_frequency and has_term; only the postings it reads (to see how a stem
    is spelt, in a few articles) go through Whoosh's reader."""
    from whoosh.codec.whoosh3 import W3TermsReader
    from whoosh.reading import MultiReader, SegmentReader
    assert grown.search("harvst").suggestion == "harvest"
    calls: list = []
    with monkeypatch.context() as patch:
        for cls in (MultiReader, SegmentReader, W3TermsReader):
            _counting(patch, cls, "doc_frequency", calls)
        _counting(patch, MultiReader, "__contains__", calls)  # (`term in reader`, segment by segment)
        results = grown.search("harvst markte")
    assert results.suggestion == "harvest market"
    assert calls == []


def test_deleted_articles_are_dropped_once_from_a_segments_matches(grown):
    """A part of a query may keep a segment's deleted articles (a word's postings hold them); the
    segment's matches, which top_matches and matching_docs count, never do."""
    with grown._whoosh.searcher(weighting=searching.RANKING) as s:
        subs = [(sub, offset) for sub, offset in s.leaf_searchers() if sub.reader().has_deletions()]
        assert len(subs) == 1
        sub, offset = subs[0]
        deleted = set(sub.reader().deleted_docs_set)
        assert len(deleted) == 40  # the edited file's articles: each written again, in the last segment
        q = wq.Or([wq.Term("body", "river"), wq.Term("body", "harvest"), wq.Term("body", "elect")])
        part = ranking._Segment(s, sub, {}).scores(q)
        assert deleted <= set(part)  # the deleted article's words are still in the postings
        gone = {d + offset for d in deleted}
        pairs, total = ranking.top_matches(s, q, None)
        docs = set(ranking.matching_docs(s, q).tolist())
        assert total == len(pairs) == len(docs) == 90  # 130 written, 40 of them replaced
        assert not gone & docs and not gone & {d for d, _ in pairs}
    assert grown.search("river OR harvest OR vote", limit=100).total == 90


def test_did_you_mean_looks_a_common_word_up_in_one_segment(grown, monkeypatch):
    """A typed word that many articles have is no typo: did-you-mean stops looking it up at the
    first segment that shows it is common (4 segments x 3 fields before)."""
    from searchlib.querying import spelling
    looked: list = []
    real = postings.term_record

    def counted(terms, fieldname, tbytes):
        looked.append((fieldname, tbytes))
        return real(terms, fieldname, tbytes)

    with grown._whoosh.searcher() as s:
        reader = s.reader()
        monkeypatch.setattr(postings, "term_record", counted)
        assert spelling.suggest(reader, "river harvest") is None
        assert looked == [("body", b"river"), ("body", b"harvest")]
        assert postings.doc_frequency(reader, "body", "river", enough=3) >= 3
        looked.clear()
        assert postings.doc_frequency(reader, "body", "river") == reader.doc_frequency("body", "river") == 61
        assert len(looked) == 4  # every segment, for the whole count


def test_postings_copied_from_a_segment_have_a_value_for_each_document(grown):
    """A spelling field's stored postings may hold fewer values than documents (values no reader
    reads; the writer leaves empty ones out): ranking.read_postings, which copying a segment reads,
    gives one per document, or a merge of a segment with deleted articles, picking the kept
    documents' values, failed with an IndexError (found merging a segment of a grown index)."""
    from pickle import dumps
    from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
    from whoosh.system import pack_int
    with grown._whoosh.searcher() as s:
        fmt = s.reader().schema["spell_title"].format
    assert fmt.fixed_value_size() == 4
    ids = [3, 7, 8, 20, 31]
    data = dumps(((3, 4, 1, 12, 11), None, b"abcd" * 3), 5)
    info = dumps((len(ids), ids[-1], 1.0, 0, 0, 0), 2)
    stored = WHOOSH3_HEADER_MAGIC + pack_int(-(len(info) + len(data))) + info + data
    got_ids, weights, values = ranking.read_postings(stored, fmt)
    assert (got_ids, weights) == (ids, [1.0] * 5)
    assert values == [b"abcd", b"abcd", b"abcd", b"", b""]
    kept = [1, 4]  # as engine.segments picks the values of the documents a merge keeps
    assert [values[i] for i in kept] == [b"abcd", b""]


@pytest.mark.parametrize("probe", [1, 3, 64])
def test_term_records_read_slots_in_chunks_and_long_records_whole(tmp_path, monkeypatch, probe):
    """The lookup reads PROBE_SLOTS hash slots at once (wrapping at the table's end) and a
    record's header, key and first bytes at once, the rest of a long record after."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long_words = " ".join(["dredge"] * 300)  # (a term in 2 articles keeps its postings in its record)
    (corpus / "a.jsonl").write_text(_records("north", 40) + "".join(json.dumps({
        "id": f"long-{i}", "title": "long", "body": long_words + f" tail{i}"}) + "\n" for i in range(2)))
    index = searchlib.Index(tmp_path / "ix")
    index.update(corpus)
    monkeypatch.setattr(postings, "PROBE_SLOTS", probe)
    with index._whoosh.searcher() as s:
        reader = s.reader()
        terms = list(reader.all_terms())
        for leaf in _leaves(reader):
            table, keycoder = leaf._terms._tindex, leaf._terms._keycoder
            lengths = []
            for fieldname, tbytes in terms + [("body", b"nosuchword")]:
                try:
                    expected = table[keycoder(fieldname, tbytes)]
                except KeyError:
                    expected = None
                assert postings.term_record(leaf._terms, fieldname, tbytes) == expected
                lengths.append(len(expected or b""))
            assert max(lengths) > postings._RECORD_GUESS * 3  # (the dredge record, read in two)
    index.close()


@pytest.mark.parametrize("query", ["nort*", "*ast", "so?th", "title:e*", "sout* OR eas*", "nort* OR so*"])
def test_a_wildcards_words_are_looked_up_only_in_the_segments_that_hold_them(grown, monkeypatch, query):
    """The words a wildcard stands for are listed segment by segment, and ranking is told which
    each segment lacks: no segment is asked for a word it does not hold. The hits, scores and
    count are the same as when every word is looked up in every segment."""
    expected = grown.search(query, limit=50)
    asked = []
    real = postings.term_info

    def counted(terms, fieldname, tbytes):
        found = real(terms, fieldname, tbytes)
        asked.append(found is None)
        return found

    monkeypatch.setattr(ranking, "term_info", counted)
    monkeypatch.setattr(searching, "_expanded", lambda leaf, reader, most, absent: leaf._btexts(reader))
    again = grown.search(query, limit=50)  # (every word asked of every segment)
    every = list(asked)
    monkeypatch.undo()
    monkeypatch.setattr(ranking, "term_info", counted)
    asked.clear()
    found = grown.search(query, limit=50)
    assert [(h.id, h.score) for h in found.hits] == [(h.id, h.score) for h in again.hits] == [
        (h.id, h.score) for h in expected.hits]
    assert found.total == again.total == expected.total > 0
    assert every.count(True) > 0 and asked.count(True) == 0  # (no look-up finds nothing)
    assert asked.count(False) == every.count(False)  # (the words a segment holds: asked as before)
