"""Issue 15, items 13 and 19 as an attacker re-tested them: one document of very many distinct
words stays within bounded memory, `.searchlibignore` is gitignore's semantics (checked against
real git), a `.gz` is treated as its inner file would be, and another searchlib index inside the
corpus is left out."""
from __future__ import annotations

import gzip
import json
import os
import tracemalloc
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

import searchlib
from searchlib.ingest.corpus import find_files
from searchlib.indexing.update import update_index
from searchlib.ingest.limits import Limits
from searchlib.ingest.parsers import parse_file

from .conftest import write_file

MB = 2**20
LICENSE_TEXT = ("Permission is hereby granted, free of charge, to any person obtaining a copy of this "
                "software, to deal in the Software without restriction.\n")


def words(n: int, prefix: str = "u") -> str:
    return " ".join(f"{prefix}{i}x" for i in range(n))


# --- 1. one document of many distinct words -------------------------------------------------

def test_a_field_longer_than_max_field_tokens_is_cut_there_with_a_note(tmp_path):
    path = write_file(tmp_path / "long.txt", "Title line\n\n" + words(30))
    [article] = parse_file(path, Limits(max_field_tokens=12))
    assert article.body.split() == [f"u{i}x" for i in range(12)]
    assert ("truncated: only the first 12 words of the body were read (SEARCHLIB_MAX_FIELD_TOKENS)"
            in article.notes)
    [whole] = parse_file(path, Limits(max_field_tokens=30))
    assert whole.body.split() == [f"u{i}x" for i in range(30)] and not whole.notes
    assert Limits.from_env({"SEARCHLIB_MAX_FIELD_TOKENS": "7"}).max_field_tokens == 7


def test_a_jsonl_record_over_max_field_tokens_is_cut_and_reported_as_a_warning(tmp_path):
    corpus = tmp_path / "c"
    write_file(corpus / "r.jsonl", json.dumps({"id": "a", "title": "Huge", "body": words(50),
                                               "date": "2022-09-06"}) + "\n")
    os.environ["SEARCHLIB_MAX_FIELD_TOKENS"] = "20"
    try:
        report = searchlib.Index(tmp_path / "ix").update([corpus])
    finally:
        del os.environ["SEARCHLIB_MAX_FIELD_TOKENS"]
    assert report.articles == 1 and not report.skipped
    assert [w.reason for w in report.warnings] == [
        "truncated: only the first 20 words of the body were read (SEARCHLIB_MAX_FIELD_TOKENS)"]
    assert searchlib.Index(tmp_path / "ix").search("u19x").total == 1
    assert searchlib.Index(tmp_path / "ix").search("u20x").total == 0


def test_writing_a_document_of_many_distinct_words_costs_little_per_word(tmp_path):
    """The writer's cost per distinct term of one huge document (it was ~1 KB at its peak)."""
    corpus = tmp_path / "c"
    n = 60_000
    write_file(corpus / "r.jsonl", json.dumps({"id": "a", "title": "Huge", "body": words(n, "w"),
                                               "date": "2022-09-06"}) + "\n")
    tracemalloc.start()
    try:
        report = update_index(searchlib.Index(tmp_path / "ix").path, [corpus], base=tmp_path, jobs=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.articles == 1
    assert peak / n < 800, f"{peak / n:.0f} bytes per distinct word"  # (956 before)


def test_single_position_encodings_are_not_cached_without_end(tmp_path):
    from searchlib.engine.analysis import SINGLE_POSITIONS, SINGLE_POSITIONS_CACHED
    corpus = tmp_path / "c"
    write_file(corpus / "r.jsonl", json.dumps({"id": "a", "title": "Huge",
                                               "body": words(SINGLE_POSITIONS_CACHED + 5000, "p")}) + "\n")
    update_index(searchlib.Index(tmp_path / "ix").path, [corpus], base=tmp_path, jobs=1)
    assert len(SINGLE_POSITIONS) <= SINGLE_POSITIONS_CACHED


def test_records_of_many_distinct_words_are_committed_between_records(tmp_path):
    """Within one batch of records, the writer commits when it holds its share of a segment, not
    only between batches: two huge records are never held together."""
    corpus = tmp_path / "c"
    write_file(corpus / "r.jsonl", "".join(
        json.dumps({"id": f"r{r}", "title": f"T{r}", "body": words(3000, f"r{r}w")}) + "\n" for r in range(3)))
    report = update_index(searchlib.Index(tmp_path / "ix").path, [corpus], base=tmp_path, jobs=1, segment_postings=8 * 3000)
    assert report.articles == 3 and not report.skipped
    segments = whoosh_index.open_dir(str(tmp_path / "ix"))._segments()
    assert sorted(s.doc_count_all() for s in segments) == [1, 1, 1]


# --- 2. .searchlibignore is gitignore -------------------------------------------------------

# (ignore files by folder, files) → what `git ls-files -co --exclude-standard` lists, with the same
# patterns in .gitignore files (checked with git 2.x on these trees).
GIT_CASES = {
    "re-included folder keeps excluded files": (
        {"": ["*.txt"], "a/b": ["!z.txt", "!c/"]},
        ["top.txt", "a/b/z.txt", "a/b/y.txt", "a/b/c/deep.txt", "a/b/c/keep.md", "a/n.md"],
        ["a/b/c/keep.md", "a/b/z.txt", "a/n.md"]),
    "everything but folders and .txt": (
        {"": ["*", "!*/", "!*.txt", "/a/b/c/"]},
        ["top.txt", "top.md", "a/x.txt", "a/x.md", "a/b/y.txt", "a/b/c/deep.txt", "a/b/cc/d.txt"],
        ["a/b/cc/d.txt", "a/b/y.txt", "a/x.txt", "top.txt"]),
    "no re-inclusion inside an excluded folder": (
        {"": ["docs/", "!docs/keep.txt"]},
        ["docs/keep.txt", "docs/a.txt", "x.txt"],
        ["x.txt"]),
    "anchors and double stars": (
        {"": ["/build", "**/tmp/*.txt", "a/**/z.txt", "sub/*.md"], "sub": ["!x.md", "/only.txt"]},
        ["build/a.txt", "x/build/b.txt", "tmp/t.txt", "q/tmp/t.txt", "q/tmp/r/t.txt", "a/z.txt",
         "a/p/q/z.txt", "sub/x.md", "sub/y.md", "sub/only.txt", "sub/d/only.txt", "sub/d/y.md"],
        ["q/tmp/r/t.txt", "sub/d/only.txt", "sub/d/y.md", "sub/x.md", "x/build/b.txt"]),
    "deeper files later": (
        {"": ["*.txt", "!important.txt"], "p": ["important.txt"], "p/q": ["!*.txt"]},
        ["important.txt", "p/important.txt", "p/q/important.txt", "p/q/other.txt", "p/other.txt"],
        ["important.txt", "p/q/important.txt", "p/q/other.txt"]),
    "wildcards, classes, escapes, trailing spaces": (
        {"": ["a?.txt", "[bc]*.txt", "\\#hash.txt", "trail.txt   "]},
        ["ab.txt", "abc.txt", "b1.txt", "c.txt", "d.txt", "#hash.txt", "trail.txt"],
        ["abc.txt", "d.txt"]),
}


@pytest.mark.parametrize("name", sorted(GIT_CASES))
def test_searchlibignore_lists_what_git_lists(tmp_path, name):
    ignores, files, expected = GIT_CASES[name]
    root = tmp_path / "corpus"
    for f in files:
        write_file(root / f, "x\n")
    for folder, lines in ignores.items():
        write_file(root / folder / ".searchlibignore", "\n".join(lines) + "\n")
    listing = find_files([root])
    found = sorted(p.relative_to(root).as_posix() for p in listing.files + listing.ignored)
    assert found == expected


# --- 3. compressed files of unknown types ---------------------------------------------------

def test_a_gz_file_is_treated_as_its_inner_file_would_be(tmp_path):
    root = tmp_path / "corpus"
    write_file(root / "R2.md.gz", gzip.compress(b"# Notes\n\nSome markdown.\n"))
    write_file(root / "COPYING.gz", gzip.compress(LICENSE_TEXT.encode()))
    write_file(root / "LICENSE", LICENSE_TEXT)
    write_file(root / "feed.gz", gzip.compress(b'{"title": "One", "body": "First body."}\n'
                                               b'{"title": "Two", "body": "Second body."}\n'))
    write_file(root / "story.txt.gz", gzip.compress(b"Harbour fire\n\nA fire broke out.\n"))
    write_file(root / "broken.gz", b"\x1f\x8bnot really gzip")
    listing = find_files([root])
    assert [p.name for p in listing.files] == ["broken.gz", "feed.gz", "story.txt.gz"]
    assert [p.name for p in listing.ignored] == ["COPYING.gz", "LICENSE", "R2.md.gz"]
    report = searchlib.Index(tmp_path / "ix").update([root])
    assert report.articles == 3
    assert [Path(s.path).name for s in report.skipped] == ["broken.gz"]


# --- 4. another searchlib index inside the corpus -------------------------------------------

def test_another_index_inside_the_corpus_is_left_out_and_counted_as_ignored(tmp_path):
    other_corpus = tmp_path / "other"
    write_file(other_corpus / "a.txt", "Other\n\nAnother text.\n")
    root = tmp_path / "corpus"
    write_file(root / "story.txt", "Harbour fire\n\nA fire broke out.\n")
    searchlib.Index(root / "old-index").update([other_corpus])
    assert json.loads((root / "old-index" / "searchlib.json").read_text())["format"] == "searchlib-index"
    for _ in range(2):
        report = searchlib.Index(tmp_path / "ix").update([root])
        assert report.ok and not report.skipped
        assert report.ignored == [root / "old-index"]
    assert searchlib.Index(tmp_path / "ix").stats().articles == 1
    write_file(root / "fake" / "searchlib.json", '{"title": "A record", "body": "not an index"}')
    assert [p.name for p in find_files([root]).files] == ["searchlib.json", "story.txt"]
