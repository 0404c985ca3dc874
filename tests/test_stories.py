"""Stories: syndicated copies found at indexing time (searchlib.stories), collapsed in results."""
from __future__ import annotations

import json

import pytest

import searchlib
from searchlib.stories import signatures
from searchlib.stories.grouping import changes, paragraphs

from .conftest import write_records

# A made-up wire story of six paragraphs (about 150 words), and edits of it as outlets make them.
PARAS = [
    "Heavy rain flooded the lower town of Marlow on Tuesday after the river Tamsin burst its banks "
    "for the second time this winter, forcing about four hundred residents from their homes.",
    "Emergency crews worked through the night to pump water from the cellars of the old market "
    "square, where shopkeepers said the damage would run to tens of thousands of pounds.",
    "The county council opened the school gymnasium as a shelter and asked drivers to avoid the "
    "bridge road, which was closed until engineers could inspect its supports.",
    "Forecasters said more rain was expected over the weekend and warned that the river could rise "
    "again before the end of the month if the ground stayed saturated.",
    "Residents complained that flood defences promised after last year's floods had not been built, "
    "and a councillor said the money had been spent on repairs elsewhere.",
    "The environment agency said it would review the defences in the spring and publish a plan "
    "for the valley before the next winter season begins.",
]
BODY = "\n\n".join(PARAS)


def story(**records) -> dict:
    return {key: {"source": "Wire", "date": "2024-01-09T08:00:00Z", **rec} for key, rec in records.items()}


RECORDS = story(
    original={"title": "River Tamsin floods Marlow again", "body": BODY, "source": "Wire"},
    headline={"title": "Hundreds flee as Marlow floods", "body": BODY, "source": "The Courier",
              "date": "2024-01-09T10:00:00Z"},
    credit={"title": "Marlow flooded", "source": "Valley Times", "date": "2024-01-10T06:00:00Z",
            "body": "MARLOW (Wire) - " + BODY + "\n\nReporting by A. Writer; editing by B. Editor."},
    cut={"title": "Floods in Marlow", "source": "Daily Post", "date": "2024-01-09T12:00:00Z",
         "body": "\n\n".join(PARAS[:4])},
    typo={"title": "River Tamsin floods Marlow again", "source": "Evening News",
          "date": "2024-01-09T09:00:00Z", "body": BODY.replace("residents", "residnets", 1)},
    # the same story's text 40 days later: outside the window, a story of its own
    late={"title": "River Tamsin floods Marlow again", "body": BODY, "date": "2024-02-18T08:00:00Z"},
    # same topic, same day, mostly other words (one paragraph quoted): not a copy
    other={"title": "Marlow counts the cost", "body": PARAS[5] + " Shopkeepers in the market square "
           "began clearing mud on Wednesday while insurers sent assessors to the town and the mayor "
           "asked the government for emergency funds to rebuild the bridge. Volunteers from nearby "
           "villages brought food and blankets to the families staying in the school gymnasium, and "
           "a local charity said it had raised enough money to help every household replace carpets.",
           "source": "Valley Times"},
    short={"title": "Marlow flood", "body": "Marlow flooded again."},
)


def keys(items) -> list[str]:
    return sorted(item.rsplit("#", 1)[-1] for item in items)


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stories")
    write_records(folder / "corpus", RECORDS)
    with searchlib.Index(folder / "index") as index:
        index.update([folder / "corpus"], jobs=1)
        yield index


def test_signature_equals_datasketch_legacy_minhash():
    datasketch = pytest.importorskip("datasketch")
    hashes = signatures.shingle_hashes(BODY)
    ours = signatures.signature(hashes)
    theirs = datasketch.MinHash(num_perm=signatures.PERMUTATIONS, scheme="legacy", seed=signatures.SEED,
                                hashfunc=int)  # (our shingle hashes are the values to permute)
    theirs.update_batch(hashes.tolist())
    assert list(ours) == list(theirs.hashvalues)


def test_shingles_are_the_runs_of_five_words():
    hashes = signatures.shingle_hashes("a b c d e f a b c d e")
    assert len(hashes) == 6  # abcde bcdef cdefa defab efabc fabcd; abcde again is the same
    assert len(signatures.shingle_hashes("A, b! c d E")) == 1
    assert list(signatures.shingle_hashes("a b c d e")) == list(signatures.shingle_hashes("A B  C\nD E."))
    assert signatures.shingle_hashes("a b c d").size == 0
    assert set(signatures.shingle_hashes("a b c d e")).isdisjoint(signatures.shingle_hashes("a b c e d"))


def test_band_keys_need_enough_words():
    assert signatures.band_keys(signatures.shingle_hashes("Marlow flooded again.")) == []
    keys = signatures.band_keys(signatures.shingle_hashes(BODY))
    assert len(keys) == signatures.BANDS and len(set(keys)) == signatures.BANDS


def test_copies_with_edits_join_one_story(idx):
    first = idx.copies(next(i for i in all_ids(idx) if i.endswith("#original")))
    assert keys(c.id for c in first.copies) == ["credit", "cut", "headline", "original", "typo"]
    # first published first: the original at 08:00, then by date
    assert [c.id.rsplit("#", 1)[-1] for c in first.copies] == ["original", "typo", "headline", "cut", "credit"]
    assert first.copies[0].first and not any(c.first for c in first.copies[1:])


def test_out_of_window_and_other_story_and_short_are_apart(idx):
    stories = {i.rsplit("#", 1)[-1]: idx.copies(i).id for i in all_ids(idx)}
    assert len({stories["original"], stories["late"], stories["other"], stories["short"]}) == 4
    assert len(idx.copies([i for i in all_ids(idx) if i.endswith("#late")][0]).copies) == 1


def test_changes_name_headline_added_cut_and_edited(idx):
    by_key = {c.id.rsplit("#", 1)[-1]: c for c in idx.copies(all_ids(idx)[0]).copies
              if c.id.rsplit("#", 1)[-1] in RECORDS}
    story_ = idx.copies(next(i for i in all_ids(idx) if i.endswith("#original")))
    got = {c.id.rsplit("#", 1)[-1]: c.changes for c in story_.copies}
    assert got["original"].none
    assert got["headline"].headline == "Hundreds flee as Marlow floods" and not got["headline"].cut
    assert got["cut"].cut == PARAS[4:] and got["cut"].added == [] and got["cut"].edited == []
    assert got["credit"].added == ["Reporting by A. Writer; editing by B. Editor."]
    assert got["credit"].edited == ["MARLOW (Wire) - " + PARAS[0]]
    assert got["typo"].headline is None and len(got["typo"].edited) == 1 and not got["typo"].cut
    assert by_key  # (the first story listed is one of the fixture's)


def test_search_collapses_copies_by_default(idx):
    results = idx.search("+Tamsin +Marlow")
    assert results.total == 6 and results.stories == 2
    top = results.hits[0]
    assert top.copies == 5 and len(top.outlets) >= 3
    assert set(top.outlets) <= {"Wire", "The Courier", "Valley Times", "Daily Post", "Evening News"}
    assert top.source not in top.outlets
    assert len(results.hits) == 2
    every = idx.search("+Tamsin +Marlow", all_copies=True)
    assert every.total == 6 and every.stories is None and len(every.hits) == 6


def test_pages_count_stories(idx):
    one = idx.search("+Tamsin +Marlow", limit=1)
    two = idx.search("+Tamsin +Marlow", limit=1, offset=1)
    assert one.hits[0].story != two.hits[0].story
    assert len(one.hits) == len(two.hits) == 1 and one.grouped and two.grouped
    assert one.stories == two.stories == 2 and one.total == 6
    assert idx.search("+Tamsin +Marlow", offset=2).hits == []


def test_stories_are_not_counted_when_not_every_match_was_ranked(idx):
    from searchlib.stories.grouping import collapse

    class Ranked:
        def __init__(self, docnum):
            self.docnum = docnum

    with idx._searcher() as searcher:
        reader = searcher.reader()
        docnums = sorted(searcher.document_number(id=h.id) for h in idx.search("+Tamsin +Marlow", all_copies=True))
        kept, stories = collapse(reader, [(Ranked(d), True) for d in docnums], 6)
        assert (len(kept), stories) == (2, 2)
        kept, stories = collapse(reader, [(Ranked(d), True) for d in docnums[:4]], 6)
        assert stories is None and len(kept) <= 2


def test_count_note_and_summary_say_what_they_count(idx):
    from searchlib import render
    every = idx.search("+Tamsin +Marlow")
    assert render.count_note(every) == "6 matching articles in 2 stories"
    one = idx.search("+Tamsin +Marlow", limit=1)
    assert render.count_note(one) == "6 matching articles in 2 stories (showing stories 1–1)"
    assert render.summary_object(one, 1, 1)["pages"] == "stories"
    assert render.summary_object(one, 1, 1)["stories"] == 2
    one.stories = None  # (as when more matched than were ranked)
    assert render.count_note(one) == "6 matching articles (showing stories 1–1)"
    assert render.summary_object(one, 1, 1)["stories"] is None
    listed = idx.search("+Tamsin +Marlow", all_copies=True, limit=2)
    assert render.count_note(listed) == "6 matching articles (showing 1–2)"
    assert "pages" not in render.summary_object(listed, 1, 2)


def test_hit_json_carries_story(idx):
    data = idx.search("+Tamsin +Marlow").hits[0].to_dict()
    assert data["copies"] == 5 and data["story"].startswith("s") and isinstance(data["outlets"], list)


def all_ids(idx) -> list[str]:
    return sorted(hit.id for hit in idx.search("Marlow", all_copies=True, limit=50))


def test_paragraphs_split_on_lines():
    assert paragraphs("a  b\n\n c\n") == ["a b", "c"]
    assert changes({"title": "T", "body": "x y z"}, {"title": "t", "body": "x y z"}).none


def test_copy_indexed_later_joins_story_and_first_hands_over(tmp_path):
    """A copy indexed by a later run finds its story in the band table; deleting the first
    published article leaves the story to the next (earliest dated) copy."""
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {"original": RECORDS["original"]})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1)
        write_records(corpus / "b", {"headline": RECORDS["headline"], "cut": RECORDS["cut"]})
        idx.update([corpus], jobs=1)
        first_id = next(h.id for h in idx.search("Tamsin", all_copies=True) if h.id.endswith("#original"))
        story_ = idx.copies(first_id)
        assert [c.id.rsplit("#", 1)[-1] for c in story_.copies] == ["original", "headline", "cut"]
        (corpus / "a" / "fixture.jsonl").unlink()
        idx.update([corpus], jobs=1)
        later = idx.copies(next(h.id for h in idx.search("Tamsin", all_copies=True)))
        assert later.id == story_.id
        assert [c.id.rsplit("#", 1)[-1] for c in later.copies] == ["headline", "cut"]
        assert later.copies[0].first and later.copies[1].changes.cut == PARAS[4:]


def test_copies_in_one_batch_and_across_commits(tmp_path):
    """Copies written before a commit are found among the pending articles, and after it in
    the index (batch_files=1: a commit per file)."""
    corpus = tmp_path / "corpus"
    for n, key in enumerate(["original", "typo", "headline", "cut", "credit"]):
        write_records(corpus / f"f{n}", {key: RECORDS[key]})
    for batch in (1, 100):
        with searchlib.Index(tmp_path / f"index{batch}") as idx:
            idx.update([corpus], jobs=1, batch_files=batch)
            assert idx.search("Tamsin").stories == 1
            assert idx.search("Tamsin").hits[0].copies == 5


def test_parallel_rebuild_joins_copies_written_by_different_workers(tmp_path):
    corpus = tmp_path / "corpus"
    for n in range(20):  # enough files for worker processes; the copies spread among them
        key = ["original", "typo", "headline", "cut", "credit"][n % 5]
        rec = dict(RECORDS[key]) if n < 5 else {"title": f"Note {n}", "body": f"Filler note number {n}."}
        write_records(corpus / f"f{n:02d}", {f"{key}{n}" if n >= 5 else key: rec})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1)
        report = idx.update([corpus], jobs=2, rebuild=True)
        assert report.articles == 20
    with searchlib.Index(tmp_path / "index") as idx:
        results = idx.search("Tamsin")
        assert results.total == 5 and results.stories == 1 and results.hits[0].copies == 5
        first = idx.copies(results.hits[0].id).copies[0]
        assert first.id.endswith("#original") and first.first


def test_a_run_killed_part_way_loses_no_story(tmp_path, monkeypatch):
    """A run interrupted after two committed files: the next run indexes the rest, and the
    copies it writes join the story committed before (state lives in the index's commits)."""
    from searchlib.indexing.run import Run
    corpus = tmp_path / "corpus"
    for n, key in enumerate(["original", "typo", "headline", "cut", "credit"]):
        write_records(corpus / f"f{n}", {key: RECORDS[key]})
    calls = []
    index_file = Run.index_file

    def dies_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return index_file(self, *args, **kwargs)

    monkeypatch.setattr(Run, "index_file", dies_third)
    with searchlib.Index(tmp_path / "index") as idx:
        with pytest.raises(KeyboardInterrupt):
            idx.update([corpus], jobs=1, batch_files=1)
        assert len(idx.search("Tamsin", all_copies=True).hits) == 2
        monkeypatch.setattr(Run, "index_file", index_file)
        report = idx.update([corpus], jobs=1, batch_files=1)
        assert report.added == 3
        results = idx.search("Tamsin")
        assert results.total == 5 and results.stories == 1 and results.hits[0].copies == 5


def test_story_types_are_public_and_plain(idx):
    story_ = idx.copies(next(i for i in all_ids(idx) if i.endswith("#original")))
    assert isinstance(story_, searchlib.Story) and all(isinstance(c, searchlib.Copy) for c in story_.copies)
    assert isinstance(story_.copies[1].changes, searchlib.Changes)
    data = story_.copies[1].to_dict()
    assert set(data) == {"id", "title", "source", "date", "url", "first", "changes"}
    assert json.dumps(data)  # plain values only


def test_copies_of_an_unknown_id_raise(idx):
    with pytest.raises(searchlib.ArticleNotFoundError):
        idx.copies("no/such#id")


def _count_lookups(monkeypatch) -> list:
    """Count the Linker's band-key lookups in the index's commits (one entry per article)."""
    from searchlib.stories import linking
    calls = []
    looked_up = linking.Linker._looked_up

    def counting(self, reader, keys):
        calls.append(len(keys))
        return looked_up(self, reader, keys)

    monkeypatch.setattr(linking.Linker, "_looked_up", counting)
    return calls


def test_a_first_build_finds_its_copies_in_memory_not_by_lookups(tmp_path, monkeypatch):
    """A run that began on an empty index wrote every committed article itself and remembers
    them: it links copies across its commits without looking band keys up in the index; a later
    run on that index looks them up (its copies may be anywhere in the index)."""
    calls = _count_lookups(monkeypatch)
    corpus = tmp_path / "corpus"
    for n, key in enumerate(["original", "typo", "headline"]):
        write_records(corpus / f"f{n}", {key: RECORDS[key]})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1, batch_files=1)  # (a commit per file)
        assert calls == [] and idx.search("Tamsin").hits[0].copies == 3
        write_records(corpus / "f3", {"cut": RECORDS["cut"]})
        idx.update([corpus], jobs=1)
        assert calls == [signatures.BANDS] and idx.search("Tamsin").hits[0].copies == 4


def test_a_first_build_past_its_memory_looks_up_again(tmp_path, monkeypatch):
    """When a first build has written more articles than it remembers (PENDING_MOST), it
    forgets them and looks band keys up in its commits from then on: no copy is missed."""
    from searchlib.stories import linking
    monkeypatch.setattr(linking, "PENDING_MOST", 2)
    calls = _count_lookups(monkeypatch)
    corpus = tmp_path / "corpus"
    for n, key in enumerate(["original", "typo", "headline", "cut", "credit"]):
        write_records(corpus / f"f{n}", {key: RECORDS[key]})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1, batch_files=1)
        assert len(calls) == 2  # the 4th and 5th (the 3rd still found the first two in memory)
        results = idx.search("Tamsin")
        assert results.stories == 1 and results.hits[0].copies == 5


def test_band_keys_are_those_of_an_index_written_with_16_bands():
    """Indexes written before BANDS went from 16 to 12 hold 16 keys per article: the 12 are
    their first 12 (the same permutations, in order), so a copy indexed now finds them."""
    hashes = signatures.shingle_hashes(BODY)
    assert signatures.band_keys(hashes) == signatures.band_keys(hashes, bands=16)[:signatures.BANDS]
    assert signatures.BANDS == 12


def test_workers_sign_the_articles_they_parse(tmp_path):
    """With worker processes, each article's shingles and band keys are made where it is
    parsed (linking.Signed), not by the one writer; the writer links them the same."""
    from searchlib.indexing.update import parse_worker
    from searchlib.ingest.limits import current
    from searchlib.stories.linking import Signed, story_text
    path = write_records(tmp_path / "one", {"original": RECORDS["original"], "short": RECORDS["short"]})
    items = parse_worker(str(path), current(), sign=True)
    assert [type(item) for item in items] == [Signed, Signed]
    article = items[0].article
    hashes = signatures.shingle_hashes(story_text(article.title, article.summary, article.body))
    assert (items[0].hashes == hashes).all() and items[0].keys == signatures.band_keys(hashes)
    assert items[1].keys == []  # (too short for band keys)
    assert [type(item) for item in parse_worker(str(path), current())] == [searchlib.Article] * 2
    corpus = tmp_path / "corpus"
    for n in range(20):  # enough files for worker processes
        key = ["original", "typo", "headline", "cut", "credit"][n % 5]
        rec = dict(RECORDS[key]) if n < 5 else {"title": f"Note {n}", "body": f"Filler note number {n}."}
        write_records(corpus / f"f{n:02d}", {f"{key}{n}" if n >= 5 else key: rec})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=2)
        results = idx.search("Tamsin")
        assert results.total == 5 and results.stories == 1 and results.hits[0].copies == 5


def test_story_has_no_terms_and_its_members_come_from_the_column(tmp_path):
    """Schema version 8: no `story` terms; a story's live articles (`story_members`: a shard's
    story of one article too) are found from the column's hashes, deleted ones left out."""
    from searchlib.stories.grouping import story_members
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {k: RECORDS[k] for k in ("original", "typo", "late")})
    write_records(corpus / "b", {k: RECORDS[k] for k in ("headline", "other")})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1)
        write_records(corpus / "a", {k: RECORDS[k] for k in ("original", "late")})  # typo deleted
        idx.update([corpus], jobs=1)
        with idx._searcher() as searcher:
            reader = searcher.reader()
            assert list(reader.lexicon("story")) == []
            by_key = {f["id"].rsplit("#", 1)[-1]: (d, f["story"])
                      for d in reader.all_doc_ids() for f in [reader.stored_fields(d)]}
            assert sorted(by_key) == ["headline", "late", "original", "other"]
            wire, late = by_key["original"][1], by_key["late"][1]
            assert by_key["headline"][1] == wire and late != wire
            found = story_members(reader, [wire, late, "no-such-story", ""])
            assert found == {wire: sorted([by_key["original"][0], by_key["headline"][0]]),
                             late: [by_key["late"][0]]}
        assert keys(c.id for c in idx.copies(next(i for i in all_ids(idx) if i.endswith("#late"))).copies) == ["late"]


def test_past_its_memory_with_nothing_committed_it_looks_nothing_up(tmp_path, monkeypatch):
    """A parallel rebuild's worker never commits: once it has forgotten what it wrote
    (PENDING_MOST), the index's last commit is still empty, and a look-up of each article's band
    keys in it can find nothing (under cProfile it was a band-table query an article, 0.8 s of
    each 20,000-article segment's 44 s). The same Linker with a commit holding articles looks
    them up, and finds the copy there."""
    from searchlib.engine.storage import open_for_writing
    from searchlib.stories import linking
    monkeypatch.setattr(linking, "PENDING_MOST", 2)
    calls = _count_lookups(monkeypatch)
    empty = tmp_path / "empty"
    with searchlib.Index(empty) as idx:
        idx.update([], jobs=1)
    with open_for_writing(empty).searcher() as searcher:
        linker = linking.Linker(lambda: searcher)
        stories = [linker.fields(f"a#{n}", RECORDS[key]["body"], None)[linking.STORY_FIELD]
                   for n, key in enumerate(["original", "typo", "headline", "cut"])]
    assert calls == []
    assert stories == [stories[0]] * 4  # (the 4th found the 3rd, written after the 1st two were forgotten)
    corpus = tmp_path / "corpus"
    write_records(corpus / "f0", {"original": RECORDS["original"]})
    full = tmp_path / "full"
    with searchlib.Index(full) as idx:
        idx.update([corpus], jobs=1)
        band_table = idx.path / "files.sqlite"
    from searchlib.stories.bands import Bands
    with open_for_writing(full).searcher() as searcher, Bands(band_table) as bands:
        linker = linking.Linker(lambda: searcher, lambda: [bands])
        for n, key in enumerate(["headline", "credit", "typo"]):
            story = linker.fields(f"b#{n}", RECORDS[key]["body"], None)[linking.STORY_FIELD]
        committed = searcher.stored_fields(0)[linking.STORY_FIELD]
    assert len(calls) == 3 and story == committed
