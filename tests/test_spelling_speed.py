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
