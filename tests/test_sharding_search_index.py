"""searchlib.Index on a sharded folder: search, similar, stats, get, copies, history, marks and
len answer as on one unsharded index of the same articles (the fixture of
test_sharding_search: 40 articles, unsharded and as 3 shards), and the CLI searches it."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

import searchlib

from .test_sharding_search import ARTICLES, NOW, _write_corpus, assert_same, make_sharded


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    plain_root = tmp_path_factory.mktemp("plain")
    _write_corpus(plain_root)
    sharded_root = tmp_path_factory.mktemp("sharded")
    top = make_sharded(sharded_root, 3)
    with searchlib.Index(plain_root / "index") as plain:
        plain.update([plain_root / "corpus"], jobs=1)
        with searchlib.Index(top, create=False) as sharded:
            yield plain, sharded


@pytest.mark.parametrize("text", ["river flood", "harbour", "artilery~", "harbur fees",
                                  "what did the council decide about the harbour bridge repairs"])
def test_search_equal(pair, text):
    plain, sharded = pair
    assert_same(plain.search(text, limit=50, now=NOW, facets=["source", "month"]),
                sharded.search(text, limit=50, now=NOW, facets=["source", "month"]))


def test_search_options_equal(pair):
    plain, sharded = pair
    for options in (dict(sort="newest"), dict(since="2022-09-10", until="2022-10-01"), dict(lang="de,fr"),
                    dict(fresh=30), dict(all_copies=True)):
        one = plain.search("harbour OR river OR fluss", limit=60, now=NOW, **options)
        other = sharded.search("harbour OR river OR fluss", limit=60, now=NOW, **options)
        assert_same(one, other, options.get("sort", "relevance"))


def test_len_get_and_stats(pair):
    plain, sharded = pair
    assert len(sharded) == len(plain) == len(ARTICLES)
    article_id = "corpus/a07.json#a07"
    one, other = plain.get(article_id), sharded.get(article_id)
    assert other.path.name == one.path.name == "a07.json"  # (each corpus in its own folder)
    assert replace(other, path=None) == replace(one, path=None)
    assert sharded.get("corpus/nothing.json#x") is None
    one, other = plain.stats(), sharded.stats()
    assert (other.articles, other.files, other.undated, other.first_date, other.last_date) == \
           (one.articles, one.files, one.undated, one.first_date, one.last_date)
    for name in ("sources", "sections", "formats"):  # (values with the same count: in any order)
        assert sorted(getattr(other, name)) == sorted(getattr(one, name))
    assert other.size_bytes > 0


def test_similar_equal(pair):
    plain, sharded = pair
    for article in ("corpus/a00.json#a00", "corpus/a12.json#a12", "corpus/a25.json#a25"):
        one, other = plain.similar(article, limit=40), sharded.similar(article, limit=40)
        assert other.total == one.total
        assert [round(h.score, 6) for h in other.hits] == pytest.approx([round(h.score, 6) for h in one.hits], abs=1e-6)
        groups_one, groups_other = {}, {}
        for h in one.hits:
            groups_one.setdefault(round(h.score, 6), set()).add(h.id)
        for h in other.hits:
            groups_other.setdefault(round(h.score, 6), set()).add(h.id)
        assert groups_other == groups_one


def test_copies_history_and_marks(pair):
    plain, sharded = pair
    story_one, story_other = plain.copies("corpus/a05.json#a05"), sharded.copies("corpus/a05.json#a05")
    assert [c.id for c in story_other.copies] == [c.id for c in story_one.copies]
    assert len(story_other.copies) == 2
    assert [v.text for v in sharded.history("corpus/a05.json#a05").versions] == \
           [v.text for v in plain.history("corpus/a05.json#a05").versions]
    assert sharded.marks("corpus/a00.json#a00", "river flood") == plain.marks("corpus/a00.json#a00", "river flood")
    from searchlib.errors import ArticleNotFoundError
    with pytest.raises(ArticleNotFoundError):
        sharded.similar("corpus/nothing.json#x")


def test_the_cli_searches_a_sharded_index(pair, run):
    plain, sharded = pair
    result = run("--index", str(sharded.path), "harbour", "--json", "--facet", "source")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    summary = lines[-1]
    assert summary["total"] == plain.search("harbour").total
    assert [line["id"] for line in lines[:-1]] == [h.id for h in sharded.search("harbour")]
    assert run("--index", str(sharded.path), "nothingatall").exit_code == 1
    assert run("--index", str(sharded.path), "titel:x").exit_code == 2
