"""The corpus boundary (issue 15): the index folder is never indexed (item 3), a symbolic link that
changes between listing and reading never lets a file from outside in (item 11), and files of
types searchlib does not read are ignored, not skipped, with exclusions by glob and by
`.searchlibignore` (item 19)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import searchlib
from searchlib.ingest import corpus as corpus_module
from searchlib.indexing import update as indexing
from searchlib.ingest.corpus import find_files, read_articles
from searchlib.errors import ExcludeError
from searchlib.errors import ParseError
from searchlib.indexing.manifest import digest_file, stat_file
from searchlib.ingest.parsers import boundary, parse_file, read_bytes
from searchlib.ingest.limits import current

from .conftest import write_file as write, write_records

INSIDE = "Harbour fire\n\nThe harbour burned through the night.\n"
SECRET = "Payroll\n\nThe zanzibar password is swordfish.\n"


def names(files, base):
    return [f.relative_to(base).as_posix() for f in files]


def flip(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (a new link renamed over the old one)."""
    tmp = link.with_name(link.name + ".tmp-flip")
    os.symlink(target, tmp)
    os.replace(tmp, link)


# --- item 3: the index folder is never indexed -----------------------------------------------

def test_an_index_inside_the_corpus_is_not_indexed(tmp_path):
    work = tmp_path / "work"
    write_records(work)
    idx = searchlib.Index(work / "index")
    first = idx.update([work])
    assert (first.files, first.articles, first.skipped) == (1, 5, [])
    again = idx.update([work])
    assert (again.files, again.unchanged, again.added, again.skipped) == (1, 1, 0, [])
    rebuilt = idx.update([work], rebuild=True)
    assert (rebuilt.files, rebuilt.articles, rebuilt.skipped) == (1, 5, [])
    with searchlib.Index(work / "index") as reader:
        assert reader.search("valley").total == 4


def test_index_folders_are_left_out_by_identity_and_with_their_siblings(tmp_path):
    work = tmp_path / "work"
    write_records(work)
    write(work / "index" / "stray.txt", INSIDE)        # what an index folder holds is never listed
    write(work / "index.old" / "kept.txt", INSIDE)     # a folder that merely looks like a sibling
    os.symlink(work, tmp_path / "alias")
    files, skipped = find_files([work], exclude_dirs=[tmp_path / "alias" / "index"])
    assert names(files, work) == ["fixture.jsonl", "index.old/kept.txt"] and skipped == []
    # a rebuild's folder stands for its index and the index's other siblings too
    files, _ = find_files([work], exclude_dirs=[work / ".index.rebuild"])
    assert names(files, work) == ["fixture.jsonl", "index.old/kept.txt"]
    # a root inside an index folder lists nothing
    files, skipped = find_files([work / "index"], exclude_dirs=[work / "index"])
    assert files == [] and skipped == []


# --- item 11: the symbolic link race ---------------------------------------------------------

@pytest.fixture
def linked(tmp_path):
    """corpus/good.txt, corpus/link.txt → corpus/good.txt, and outside/secret.txt."""
    corpus = tmp_path / "corpus"
    good = write(corpus / "good.txt", INSIDE)
    secret = write(tmp_path / "outside" / "secret.txt", SECRET)
    os.symlink(good, corpus / "link.txt")
    return corpus, good, secret


def test_opening_checks_where_the_file_really_is(linked):
    corpus, good, secret = linked
    roots = [corpus.resolve()]
    limits = current()
    assert read_bytes(corpus / "link.txt", limits, roots=roots) == INSIDE.encode()  # inside: followed
    assert digest_file(corpus / "link.txt", roots=roots) == digest_file(good, roots=roots)
    assert stat_file(corpus / "link.txt", roots=roots).size == len(INSIDE)
    flip(corpus / "link.txt", secret)
    with pytest.raises(ParseError, match=f"symbolic link to {secret} outside the indexed folders"):
        read_bytes(corpus / "link.txt", limits, roots=roots)
    with pytest.raises(OSError, match="outside the indexed folders"):
        digest_file(corpus / "link.txt", roots=roots)
    with pytest.raises(OSError, match="outside the indexed folders"):
        stat_file(corpus / "link.txt", roots=roots)
    with boundary(roots), pytest.raises(ParseError, match="outside the indexed folders"):
        list(parse_file(corpus / "link.txt"))
    # with no roots given, a link may not leave the folder holding the path's first link
    with pytest.raises(ParseError, match=f"symbolic link to {secret}, outside {corpus},"):
        list(parse_file(corpus / "link.txt"))
    flip(corpus / "link.txt", good)
    assert [a.title for a in parse_file(corpus / "link.txt")] == ["Harbour fire"]


def test_a_link_to_another_folder_of_the_corpus_needs_the_roots(tmp_path):
    """Inside the roots given, a link may lead anywhere; with none (a worker process, a bare
    parse_file) only within the folder holding the path's first link."""
    corpus = tmp_path / "corpus"
    write(corpus / "b" / "x.txt", INSIDE)
    os.makedirs(corpus / "a")
    os.symlink("../b/x.txt", corpus / "a" / "alias.txt")
    os.symlink("b/x.txt", corpus / "top.txt")
    assert [a.title for a in read_articles(corpus)] == ["Harbour fire"] * 3
    assert stat_file(corpus / "a" / "alias.txt", roots=[corpus]).size == len(INSIDE)
    assert stat_file(corpus / "top.txt").size == len(INSIDE)
    with pytest.raises(OSError, match=f"outside {corpus / 'a'},"):
        stat_file(corpus / "a" / "alias.txt")


def race_after_listing(monkeypatch, module, attack) -> None:
    """Make `module.find_files` run `attack()` right after it lists the folders: the race between
    listing and reading, won by the attacker every time."""
    real_find = module.find_files

    def find_then_attack(*args, **kwargs):
        listing = real_find(*args, **kwargs)
        attack()
        return listing

    monkeypatch.setattr(module, "find_files", find_then_attack)


def test_a_link_flipped_between_listing_and_reading_is_not_followed(linked, monkeypatch):
    corpus, good, secret = linked
    race_after_listing(monkeypatch, indexing, lambda: flip(corpus / "link.txt", secret))
    idx = searchlib.Index(corpus.parent / "index")
    report = idx.update([corpus], jobs=1)
    assert idx.search("zanzibar").total == 0
    assert [(s.path.name, s.reason) for s in report.skipped] == [
        ("link.txt", f"cannot read: symbolic link to {secret} outside the indexed folders (not followed)")]


def test_a_folder_swapped_for_a_link_after_listing_is_not_followed(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    write(corpus / "sub" / "a.txt", INSIDE)
    write(tmp_path / "outside" / "a.txt", SECRET)

    def swap() -> None:
        (corpus / "sub").rename(tmp_path / "moved")
        os.symlink(tmp_path / "outside", corpus / "sub")

    race_after_listing(monkeypatch, indexing, swap)
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update([corpus], jobs=1)
    assert idx.search("zanzibar").total == 0 and report.articles == 0
    assert [(s.path.name, s.reason) for s in report.skipped] == [
        ("a.txt", f"cannot read: symbolic link to {tmp_path / 'outside' / 'a.txt'} outside the indexed folders (not followed)")]


def test_an_unchanged_looking_file_that_now_resolves_outside_is_not_kept(linked, monkeypatch):
    """The manifest's size-and-mtime check must not call a file unchanged when it is now another
    file outside the corpus (same size, same mtime)."""
    corpus, good, secret = linked
    secret.write_text(INSIDE.replace("Harbour fire", "Zanzibar pay"), encoding="utf-8")
    assert secret.stat().st_size == good.stat().st_size
    st = good.stat()
    os.utime(secret, ns=(st.st_atime_ns, st.st_mtime_ns))
    idx = searchlib.Index(corpus.parent / "index")
    assert idx.update([corpus], jobs=1).articles == 2
    race_after_listing(monkeypatch, indexing, lambda: flip(corpus / "link.txt", secret))
    report = idx.update([corpus], jobs=1)
    assert report.unchanged == 1                      # good.txt; link.txt is not "unchanged"
    assert [s.path.name for s in report.skipped] == ["link.txt"]
    assert idx.search("zanzibar").total == 0


def test_reading_articles_keeps_to_the_folders_given(linked, monkeypatch):
    corpus, good, secret = linked
    race_after_listing(monkeypatch, corpus_module, lambda: flip(corpus / "link.txt", secret))
    items = list(read_articles(corpus))
    assert [getattr(i, "title", None) for i in items] == ["Harbour fire", None]
    assert items[1].path.name == "link.txt" and "outside the indexed folders" in items[1].reason


FLIPPER = """
import os, sys, time
corpus, outside, parked = sys.argv[1:4]
link, sub = os.path.join(corpus, "link.txt"), os.path.join(corpus, "sub")
flips = 0
while True:
    target = os.path.join(corpus, "f00.txt") if flips % 2 else os.path.join(outside, "secret.txt")
    os.symlink(target, link + ".tmp")
    os.replace(link + ".tmp", link)
    # renameat2(RENAME_EXCHANGE) is not in Python's os: a rename and a link, then back
    if flips % 2 == 0:
        os.rename(sub, parked)
        os.symlink(os.path.join(outside, "sub"), sub)
    else:
        os.unlink(sub)
        os.rename(parked, sub)
    if flips == 1:
        print("flipping", flush=True)
    flips += 1
    time.sleep(0.0002)
"""


def test_a_link_flipping_during_real_runs_never_lets_the_outside_in(tmp_path):
    """A process flips a file link and swaps a folder for a link to outside, without pause, while
    the index is built (in worker processes) and updated (in this one) for a second or more."""
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    for n in range(20):  # enough files for worker processes (PARALLEL_FROM)
        write(corpus / f"f{n:02}.txt", f"Harbour {n}\n\nThe harbour burned again.\n")
    write(outside / "secret.txt", SECRET)
    write(outside / "sub" / "s.txt", SECRET)
    write(corpus / "sub" / "s.txt", INSIDE)
    os.symlink(corpus / "f00.txt", corpus / "link.txt")
    idx = searchlib.Index(tmp_path / "index")
    flipper = subprocess.Popen([sys.executable, "-c", FLIPPER, str(corpus), str(outside), str(tmp_path / "parked")],
                               stdout=subprocess.PIPE, text=True)
    leaks, runs = [], 0
    try:
        assert flipper.stdout.readline() == "flipping\n"
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline or runs < 4:
            report = idx.update([corpus], jobs=2 if runs % 2 == 0 else 1, rebuild=runs % 2 == 0)
            runs += 1
            with searchlib.Index(tmp_path / "index") as reader:
                leaks.append(reader.search("zanzibar").total)
    finally:
        flipper.kill()
        flipper.wait()
        flipper.stdout.close()
    assert runs >= 4 and leaks == [0] * runs
    assert all("zanzibar" not in str(w) for w in report.warnings)


# --- item 19: types searchlib does not read are ignored; exclusions -------------------------

def test_files_of_types_not_read_are_ignored_not_skipped(tmp_path):
    corpus = tmp_path / "corpus"
    write_records(corpus)
    write(corpus / "README.md", "# About this archive\n\nSome notes.\n")
    write(corpus / "lewis.dtd", "<!ELEMENT LEWIS (REUTERS*)>\n")
    write(corpus / "LICENSE", "MIT License\n\nPermission is hereby granted.\n")
    write(corpus / "empty.dat", "")
    write(corpus / "CISI.ALL", ".I 1\n.T\nA title\n.W\nA body about libraries.\n")  # sniffed: read
    write(corpus / "broken.json", "{")                                             # known: skipped
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update([corpus])
    assert names(report.ignored, corpus) == ["LICENSE", "README.md", "empty.dat", "lewis.dtd"]
    assert [s.path.name for s in report.skipped] == ["broken.json"]
    assert report.articles == 6 and report.files == 3
    data = report.to_dict()
    assert data["ignored"] == 4 and data["ignored_paths"] == [str(p) for p in report.ignored]
    (corpus / "broken.json").unlink()
    assert idx.update([corpus]).ok
    # a file named explicitly is always read
    with pytest.raises(ParseError, match="unsupported file type"):
        list(parse_file(corpus / "README.md"))
    assert [s.path.name for s in read_articles(corpus / "README.md")] == ["README.md"]


def test_exclude_globs_are_gitignore_style(tmp_path):
    corpus = tmp_path / "corpus"
    for name in ("a.txt", "keep.txt", "rooted.txt", "sub/rooted.txt", "drafts/d.txt",
                 "sub/drafts/e.txt", "x/y/z/deep.txt", "x/other.txt"):
        write(corpus / name, INSIDE)
    files, _ = find_files([corpus], exclude=["*.txt", "!keep.txt"])
    assert names(files, corpus) == ["keep.txt"]
    files, _ = find_files([corpus], exclude=["drafts/", "/rooted.txt", "x/**/deep.txt"])
    assert names(files, corpus) == ["a.txt", "keep.txt", "sub/rooted.txt", "x/other.txt"]


def test_a_searchlibignore_file_excludes_and_nested_ones_override(tmp_path):
    corpus = tmp_path / "corpus"
    for name in ("a.txt", "notes.txt", "keep.txt", "drafts/d.txt", "sub/notes.txt", "sub/b.txt"):
        write(corpus / name, INSIDE)
    write(corpus / ".searchlibignore", "# comments and blank lines are ignored\n\n"
                                       "notes.txt\ndrafts/\n")
    write(corpus / "sub" / ".searchlibignore", "!notes.txt\nb.txt\n")
    files, skipped = find_files([corpus])
    assert names(files, corpus) == ["a.txt", "keep.txt", "sub/notes.txt"] and skipped == []
    # patterns given by the caller come last and win
    files, _ = find_files([corpus], exclude=["keep.txt"])
    assert names(files, corpus) == ["a.txt", "sub/notes.txt"]
    assert [a.path.name for a in read_articles(corpus, exclude=["a.txt"])] == ["keep.txt", "notes.txt"]


def test_excluding_a_file_removes_its_articles_from_the_index(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "a.txt", INSIDE)
    write(corpus / "drafts" / "b.txt", SECRET)
    idx = searchlib.Index(tmp_path / "index")
    assert idx.update([corpus]).articles == 2
    report = idx.update([corpus], exclude=["drafts/"])
    assert (report.deleted, report.unchanged, report.files) == (1, 1, 1)
    assert idx.search("zanzibar").total == 0


def test_bad_patterns_are_an_error_when_given_and_reported_in_an_ignore_file(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "a.txt", INSIDE)
    write(corpus / "b.md", INSIDE)
    with pytest.raises(ExcludeError, match=r"bad exclude pattern '!': .*gitignore syntax"):
        find_files([corpus], exclude=["*.md", "!"])
    assert issubclass(ExcludeError, searchlib.SearchlibError)
    write(corpus / ".searchlibignore", "!\n*.md\n")
    files, skipped = find_files([corpus])
    assert names(files, corpus) == ["a.txt"]
    assert [(s.path.name, s.reason) for s in skipped] == [
        (".searchlibignore", "line 1: '!' is not a valid gitignore pattern; left out")]
    # a file named explicitly is read whatever the patterns say
    files, _ = find_files([corpus / "b.md"], exclude=["*.md"])
    assert names(files, corpus) == ["b.md"]


@pytest.mark.parametrize("rebuild, jobs", [(False, 1), (False, 2), (True, 2)])
def test_indexing_follows_a_link_between_folders_of_the_corpus(tmp_path, rebuild, jobs):
    """The roots reach every process that opens files: a link from one folder of the corpus to
    another is followed by the writer, by parsing workers and by a rebuild's workers alike."""
    corpus = tmp_path / "corpus"
    for n in range(20):  # enough files for worker processes (PARALLEL_FROM)
        write(corpus / "b" / f"f{n:02}.txt", f"Ferry {n}\n\nThe ferry ran late.\n")
    write(corpus / "b" / "x.txt", INSIDE)
    os.makedirs(corpus / "a")
    os.symlink("../b/x.txt", corpus / "a" / "alias.txt")
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update([corpus], jobs=jobs, rebuild=rebuild)
    assert report.skipped == []
    assert report.files == 22 and report.articles == 22
