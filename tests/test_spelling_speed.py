"""spelling.terms_within: the close index words "did you mean" looks at, found without Whoosh's
per-word edit-distance table on a reader of several segments, and exactly the words Whoosh's
own `terms_within` gives there (transpositions counting as one edit)."""
from __future__ import annotations

import json

import pytest

import searchlib
from searchlib.engine.schema import DEFAULT_FIELDS, SCHEMA
from searchlib.querying import spelling

FIRST = {"a": {"title": "Required reading on tariffs", "body": "Tariff talks required a river survey."},
         "b": {"title": "Rivers and tarifs", "body": "The rover reached the rivet factory."}}
SECOND = {"c": {"title": "Riverside requires tariffs", "body": "A giver of rivers, revised and riven."},
          "d": {"title": "Tarrifs in the river valley", "body": "Requried forms; tarif and riverr."}}


@pytest.fixture
def two_segments(tmp_path):
    idx = searchlib.Index(tmp_path / "index")
    for n, records in enumerate((FIRST, SECOND)):
        path = tmp_path / f"corpus{n}" / "part.jsonl"
        path.parent.mkdir()
        path.write_text("".join(json.dumps({"id": key, **rec}) + "\n" for key, rec in records.items()),
                        encoding="utf-8")
        idx.update([path], jobs=1)
    yield idx
    idx.close()


@pytest.mark.parametrize("word", ["required", "requried", "tariff", "tarif", "river", "riverr", "rivre", "xq"])
@pytest.mark.parametrize("maxdist", [1, 2])
def test_terms_within_is_whooshs_on_several_segments(two_segments, word, maxdist):
    with two_segments._searcher() as searcher:
        reader = searcher.reader()
        assert not reader.is_atomic()  # the case spelling.terms_within computes itself
        fields = [SCHEMA["title"].spelling_fieldname("title"), *DEFAULT_FIELDS]
        for name in fields:
            expected = set(reader.terms_within(name, word, maxdist, prefix=1))
            assert spelling.terms_within(reader, name, word, maxdist, prefix=1) == expected


@pytest.mark.parametrize("a, b, edits", [
    ("river", "river", 0), ("river", "rivers", 1), ("rivers", "river", 1), ("river", "rover", 1),
    ("river", "rievr", 1),   # an adjacent transposition is one edit
    ("river", "ivre", 2), ("river", "rivet1", 2), ("river", "rvier", 1),
    ("river", "irevr", 2),   # two transpositions
    ("ab", "ba", 1), ("abc", "cba", 2), ("", "a", 1), ("a", "", 1), ("", "", 0), ("abcdef", "fedcba", 5),
])
def test_edits_are_counted_as_whoosh_counts_them(a, b, edits):
    """lexicon_within counts edits with rapidfuzz's optimal string alignment: Whoosh's distance."""
    from rapidfuzz.distance import OSA
    from whoosh.support.levenshtein import distance
    assert distance(a, b) == edits
    for limit in (1, 2):
        assert (OSA.distance(a, b, score_cutoff=limit) <= limit) == (edits <= limit)


def test_lexicon_within_reads_index_terms_on_one_segment_too(tmp_path):
    """On one segment Whoosh's terms_within reads the title's spelling graph (unstemmed words);
    a fuzzy word must expand to the field's index terms (stems) there as on several segments."""
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": k, **r}) + "\n" for k, r in {**FIRST, **SECOND}.items()),
                    encoding="utf-8")
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([path], jobs=1)
        with idx._searcher() as searcher:
            reader = searcher.reader()
            assert reader.is_atomic()
            assert spelling.lexicon_within(reader, "title", "tarif", 1, prefix=1) == {"tarif", "tariff", "tarrif"}
            assert spelling.lexicon_within(reader, "body", "requir", 1, prefix=1) == {"requir", "requri"}


def _third(idx, tmp_path, records) -> None:
    path = tmp_path / "corpus2" / "part.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(json.dumps({"id": key, **rec}) + "\n" for key, rec in records.items()),
                    encoding="utf-8")
    idx.update([path], jobs=1)


def test_the_lexicon_keeps_each_word_once_and_reads_a_segment_once(two_segments, tmp_path, monkeypatch):
    """Fuzzy words are compared against the union of the segments' words (a word of every
    segment once), read once per process and segment: a commit's new segment alone is read."""
    monkeypatch.setattr(spelling, "_LEXICONS", type(spelling._LEXICONS)())
    reads = []
    real = spelling._segment_words
    monkeypatch.setattr(spelling, "_segment_words", lambda leaf, *a: reads.append(leaf) or real(leaf, *a))
    with two_segments._searcher() as searcher:
        reader = searcher.reader()
        words, stale = spelling._lexicon(reader, "body", "r")
        each = [set(real(leaf, "body", "r")) for leaf, _ in reader.leaf_readers()]
        assert len(each) == 2 and each[0] & each[1]  # (words in both segments)
        assert sorted(words) == sorted(each[0] | each[1]) and not stale
        assert spelling.lexicon_within(reader, "body", "rivr", 1, prefix=1) == set(
            reader.terms_within("body", "rivr", 1, prefix=1)) == {"river"}
    assert len(reads) == 2
    _third(two_segments, tmp_path, {"e": {"title": "x", "body": "The rivr gauge."}})
    with two_segments._searcher() as searcher:
        reader = searcher.reader()
        assert len(list(reader.leaf_readers())) == 3
        assert spelling.lexicon_within(reader, "body", "rivr", 1, prefix=1) == set(
            reader.terms_within("body", "rivr", 1, prefix=1)) == {"river", "rivr"}
    assert len(reads) == 3  # the new segment only


def test_words_of_segments_gone_are_found_only_if_a_segment_still_has_them(two_segments, monkeypatch):
    monkeypatch.setattr(spelling, "_LEXICONS", type(spelling._LEXICONS)())
    with two_segments._searcher() as searcher:
        reader = searcher.reader()
        words, _ = spelling._lexicon(reader, "body", "r")
        folder = next(iter(spelling._LEXICONS))[0]
        # as if a merged-away segment had held "rivez": the union keeps its words
        gone = spelling._Lexicon()
        gone.covered = frozenset({*spelling._LEXICONS[(folder, "body", "r")].covered, "merged-away"})
        gone.words = [*words, "rivez"]
        spelling._LEXICONS[(folder, "body", "r")] = gone
        assert spelling._lexicon(reader, "body", "r") == (gone.words, True)
        assert spelling.lexicon_within(reader, "body", "rivex", 1, prefix=1) == set(
            reader.terms_within("body", "rivex", 1, prefix=1)) == {"river", "rivet", "riven"}


def test_a_rebuild_at_the_same_path_starts_a_new_lexicon(two_segments, tmp_path, monkeypatch):
    monkeypatch.setattr(spelling, "_LEXICONS", type(spelling._LEXICONS)())
    with two_segments._searcher() as searcher:
        assert "riverr" in spelling.lexicon_within(searcher.reader(), "body", "river", 1, prefix=1)
    path = tmp_path / "corpus2" / "part.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps({"id": "z", "title": "t", "body": "A rivet only."}) + "\n", encoding="utf-8")
    two_segments.update([path], rebuild=True, jobs=1)
    with two_segments._searcher() as searcher:
        reader = searcher.reader()
        assert spelling.lexicon_within(reader, "body", "river", 1, prefix=1) == {"rivet"}
        assert spelling._lexicon(reader, "body", "r") == (["rivet"], False)


def test_the_lexicons_keep_at_most_so_many_words_and_answer_the_same(two_segments, monkeypatch):
    monkeypatch.setattr(spelling, "_LEXICONS", type(spelling._LEXICONS)())
    monkeypatch.setattr(spelling, "_WORDS_MOST", 6)
    monkeypatch.setattr(spelling, "_words_kept", 0)
    with two_segments._searcher() as searcher:
        reader = searcher.reader()
        for word in ("required", "tarif", "river", "rivre", "tariff", "river"):
            for name in ("title", "body"):
                assert spelling.terms_within(reader, name, word, 1, prefix=1) == set(
                    reader.terms_within(name, word, 1, prefix=1))
                assert spelling._words_kept == sum(len(x.words) for x in spelling._LEXICONS.values()) <= 6


def test_threads_building_one_lexicon_find_the_same_words(two_segments, monkeypatch):
    import threading
    monkeypatch.setattr(spelling, "_LEXICONS", type(spelling._LEXICONS)())
    found, failed = [], []
    with two_segments._searcher() as searcher:
        reader = searcher.reader()

        def look() -> None:
            try:
                found.append(spelling.lexicon_within(reader, "body", "rivr", 1, prefix=1))
            except Exception as exc:  # pragma: no cover - reported below
                failed.append(exc)

        threads = [threading.Thread(target=look) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failed == [] and found == [{"river"}] * 6
