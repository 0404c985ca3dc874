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


def test_one_edit_away():
    assert spelling.within_one("river", "river")
    assert spelling.within_one("river", "rivers")
    assert spelling.within_one("rivers", "river")
    assert spelling.within_one("river", "rover")
    assert spelling.within_one("river", "rievr")      # an adjacent transposition is one edit
    assert spelling.within_one("river", "ivre") is False
    assert spelling.within_one("river", "rivet1") is False
    assert spelling.within_one("river", "rvier") is True
    assert spelling.within_one("river", "irevr") is False  # two transpositions
    assert spelling.within_one("ab", "ba")
    assert spelling.within_one("abc", "cba") is False
    assert spelling.within_one("", "a")
    assert spelling.within_one("a", "") and spelling.within_one("", "")
