"""A collapsed page (one hit per story) ranks only a few matches more than it shows, and ranks
again, with room for every copy the index holds, when more of the best matches were copies: the
same pages and counts either way, checked against a collapse of every match done here."""
from __future__ import annotations

import json

import pytest

import searchlib
from searchlib.querying import searching

from .test_stories import BODY, PARAS

SOURCES = [f"Outlet {n}" for n in range(18)]


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    """18 copies of one flood story (the best matches of `flood marlow`), 30 other articles
    about floods, each its own story."""
    base = tmp_path_factory.mktemp("collapse")
    corpus = base / "corpus"
    corpus.mkdir()
    lines = []
    for n, source in enumerate(SOURCES):
        lines.append({"id": f"copy{n:02d}", "title": f"Marlow flood {n}: river Tamsin floods Marlow",
                      "body": BODY, "source": source, "date": f"2024-01-09T{n:02d}:30:00Z"})
    for n in range(30):
        lines.append({"id": f"other{n:02d}", "title": f"Flood note {n}",
                      "body": f"A flood warning number {n} for the valley of river {n}. " + PARAS[n % 6][:60]
                              + " " + " ".join(f"word{n}x{k}" for k in range(40)),
                      "source": "Valley Times", "date": f"2023-0{1 + n % 9}-1{n % 10}T08:00:00Z"})
    (corpus / "all.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    index = searchlib.Index(base / "index")
    index.update([corpus], jobs=1)
    yield index
    index.close()


def _collapsed(index, query: str) -> tuple[list[str], int]:
    """Every match in rank order, one per story (the first), done here: ids and story count."""
    every = index.search(query, all_copies=True, limit=1000)
    seen, kept = set(), []
    for hit in every.hits:
        story = hit.story or hit.id
        if story not in seen:
            seen.add(story)
            kept.append(hit.id)
    return kept, len(kept)


@pytest.mark.parametrize("query", ["flood marlow", "flood OR marlow", "tamsin", "flood"])
@pytest.mark.parametrize("offset,limit", [(0, 1), (0, 3), (1, 2), (0, 10), (5, 10), (20, 10)])
def test_pages_equal_a_collapse_of_every_match(idx, query, offset, limit):
    expected, stories = _collapsed(idx, query)
    results = idx.search(query, offset=offset, limit=limit)
    assert [hit.id for hit in results.hits] == expected[offset:offset + limit]
    # counted when ranking the page and every copy the index holds (17) would have held every
    # match, as before (and as a sharded index counts them)
    counted = results.total <= max(offset + limit + 17, searching.FALLBACK_BELOW)
    assert results.stories == (stories if counted else None)


def test_the_story_of_many_copies_counts_its_copies(idx):
    results = idx.search("tamsin marlow", limit=2)
    assert results.total == 18 + 0 and results.stories == 1
    assert results.hits[0].copies == 18 and len(results.hits) == 1


def test_a_second_ranking_only_when_copies_fill_the_first(idx, monkeypatch):
    calls = []
    original = searching._run_search

    def counted(*args, **kwargs):
        calls.append(kwargs["copies_ranked"])
        return original(*args, **kwargs)

    monkeypatch.setattr(searching, "_run_search", counted)
    idx.search("flood marlow", limit=3)   # 18 copies rank first: ten more were not enough
    assert calls == [searching.COPIES_RANKED, None]
    calls.clear()
    idx.search("warning", limit=3)        # no copies among the matches
    assert calls == [searching.COPIES_RANKED]
