"""Index folders as an attacker names them: `.`, `..` and '' as the index, a forged or linked
searchlib.json in a folder of the user's files, a table of contents gone, an index reached through
a symbolic link, a killed swap's leftovers (or a planted link in their place) met by a read-only
command, and a dangling link. Nothing that is not searchlib's is ever removed or renamed, and
every refusal is a one-line error (exit 2), never a traceback."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

import searchlib
from searchlib.cli import cli
from searchlib.errors import (IndexFormatError, IndexNotFoundError, NotAnIndexError,
                              SearchlibError)

from .conftest import RECORDS, write_records


@pytest.fixture
def news(tmp_path):
    write_records(tmp_path / "news")
    return tmp_path / "news"


def names(folder):
    return sorted(p.name for p in folder.iterdir())


# --- 1. `.`, `..` and '' as the index ----------------------------------------------------------

def test_dot_as_the_index_searches_the_folder_one_is_in(run, tmp_path, news, monkeypatch):
    assert run("index", "--index", "idx", "news").exit_code == 0
    monkeypatch.chdir(tmp_path / "idx")
    result = run("--index", ".", "flood", "--json")
    assert result.exit_code == 0, result.output
    assert '"total": 3' in result.output
    monkeypatch.setenv("SEARCHLIB_INDEX", ".")
    assert run("stats").exit_code == 0
    assert len(searchlib.Index(".", create=False)) == len(RECORDS)
    assert len(searchlib.Index("", create=False)) == len(RECORDS)


def test_dot_as_the_index_in_an_empty_folder_is_a_clean_error(run, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    result = run("--index", ".", "stats")
    assert result.exit_code == 2 and "no index at" in result.output
    with pytest.raises(IndexNotFoundError):
        searchlib.Index(".", create=False)
    assert names(tmp_path / "empty") == []


def test_dot_as_the_index_is_built_and_rebuilt_in_place(run, tmp_path, news, monkeypatch):
    (tmp_path / "idx").mkdir()
    monkeypatch.chdir(tmp_path / "idx")
    result = run("index", "--index", ".", "../news")
    assert result.exit_code == 0, result.output
    assert len(searchlib.Index(tmp_path / "idx", create=False)) == len(RECORDS)
    monkeypatch.chdir(tmp_path)
    write_records(tmp_path / "news", {"zeta": {"title": "Zeta flood", "body": "Floods."}})
    monkeypatch.chdir(tmp_path / "idx")
    result = run("index", "--rebuild", "--index", ".", "../news")
    assert result.exit_code == 0, result.output
    assert len(searchlib.Index(tmp_path / "idx", create=False)) == 1
    assert names(tmp_path) == ["idx", "news"]


def test_dot_dot_as_the_index(run, tmp_path, news, monkeypatch):
    (tmp_path / "idx2").mkdir()
    sub = tmp_path / "idx2" / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    # `..` is idx2, a folder holding only `sub`: not an index, refused, untouched
    result = run("index", "--rebuild", "--index", "..", "../../news")
    assert result.exit_code == 2 and "'sub'" in result.output
    assert names(tmp_path / "idx2") == ["sub"]


def test_the_root_folder_as_the_index_is_refused(news):
    with pytest.raises(SearchlibError):
        searchlib.index.rebuild_index(searchlib.index.Path("/"), [news])


# --- 2. forged or linked searchlib.json ---------------------------------------------------------

@pytest.fixture
def forged(tmp_path, news):
    searchlib.Index(tmp_path / "idx1").update([news], jobs=1)
    folder = tmp_path / "forged"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious")
    (folder / "searchlib.json").write_bytes((tmp_path / "idx1" / "searchlib.json").read_bytes())
    return folder


def test_rebuild_refuses_a_folder_of_user_files_with_a_forged_description(run, forged):
    result = run("index", "--rebuild", "--index", "forged", "news")
    assert result.exit_code == 2 and "'thesis.txt'" in result.output
    assert (forged / "thesis.txt").read_text() == "precious"
    assert names(forged) == ["searchlib.json", "thesis.txt"]
    assert names(forged.parent) == ["forged", "idx1", "news"]
    with pytest.raises(NotAnIndexError):
        searchlib.index.create(forged, replace=True)
    with pytest.raises(NotAnIndexError):
        searchlib.Index(forged).update([forged.parent / "news"])
    assert names(forged) == ["searchlib.json", "thesis.txt"]


def test_a_read_only_command_on_a_forged_folder_does_not_suggest_rebuilding_it(run, forged):
    result = run("--index", "forged", "stats")
    assert result.exit_code == 2
    assert "--rebuild" not in result.output and "'thesis.txt'" in result.output
    result = run("--index", "forged", "flood")
    assert result.exit_code == 2 and "--rebuild" not in result.output


def test_rebuild_refuses_a_folder_whose_description_is_a_link(run, tmp_path, news):
    searchlib.Index(tmp_path / "idx1").update([news], jobs=1)
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "searchlib.json").symlink_to(tmp_path / "idx1" / "searchlib.json")
    result = run("index", "--rebuild", "--index", "linked", "news")
    assert result.exit_code == 2
    assert names(folder) == ["searchlib.json"] and (folder / "searchlib.json").is_symlink()


def test_rebuild_refuses_an_index_holding_a_subfolder_or_a_link(run, tmp_path, news):
    assert run("index", "--index", "idx", "news").exit_code == 0
    (tmp_path / "idx" / "drafts").mkdir()
    (tmp_path / "idx" / "drafts" / "a.txt").write_text("mine")
    result = run("index", "--rebuild", "--index", "idx", "news")
    assert result.exit_code == 2 and "'drafts'" in result.output
    assert (tmp_path / "idx" / "drafts" / "a.txt").read_text() == "mine"
    (tmp_path / "idx" / "drafts" / "a.txt").unlink()
    (tmp_path / "idx" / "drafts").rmdir()
    (tmp_path / "idx" / "notes").symlink_to(tmp_path / "news")
    result = run("index", "--rebuild", "--index", "idx", "news")
    assert result.exit_code == 2 and "notes is a symbolic link" in result.output
    assert names(tmp_path / "news") == ["fixture.jsonl"]


def test_a_real_index_after_commits_and_rebuilds_may_still_be_rebuilt(run, tmp_path, news):
    assert run("index", "--index", "idx", "news").exit_code == 0
    write_records(tmp_path / "more", {"zeta": {"title": "Zeta flood", "body": "Floods."}})
    assert run("index", "--index", "idx", "news", "more").exit_code == 0
    (tmp_path / "idx" / ".gitignore").write_text("*\n")
    assert run("index", "--rebuild", "--index", "idx", "news").exit_code == 0
    assert run("index", "--rebuild", "--index", "idx", "news", "more").exit_code == 0
    assert len(searchlib.Index(tmp_path / "idx", create=False)) == len(RECORDS) + 1
    assert (tmp_path / "idx" / ".gitignore").read_text() == "*\n"


def test_a_killed_writers_temporary_folder_does_not_make_an_index_foreign(run, tmp_path, news):
    assert run("index", "--index", "idx", "news").exit_code == 0
    tmp = tmp_path / "idx" / "MAIN.tmp"
    tmp.mkdir()
    (tmp / "0123456789abcdefghijklmnopqr.run").write_bytes(b"x")
    (tmp_path / "idx" / "_MAIN_9.toc.1765000000.123456").write_bytes(b"x")
    assert run("--index", "idx", "flood").exit_code == 0
    assert run("index", "--rebuild", "--index", "idx", "news").exit_code == 0
    assert "MAIN.tmp" not in names(tmp_path / "idx")


# --- 3. no table of contents --------------------------------------------------------------------

def test_stats_without_a_table_of_contents_is_a_clean_error(run, tmp_path, news):
    assert run("index", "--index", "idx", "news").exit_code == 0
    for toc in (tmp_path / "idx").glob("_MAIN_*.toc"):
        toc.unlink()
    result = run("--index", "idx", "stats")
    assert result.exit_code == 2 and "cannot use the index" in result.output
    with pytest.raises(IndexFormatError):
        searchlib.Index(tmp_path / "idx", create=False).stats()
    only = tmp_path / "only"
    only.mkdir()
    (only / "searchlib.json").write_bytes((tmp_path / "idx" / "searchlib.json").read_bytes())
    result = run("--index", "only", "stats")
    assert result.exit_code == 2 and "cannot use the index" in result.output


# --- 4. an index reached through a symbolic link ------------------------------------------------

def test_rebuilding_through_a_link_rebuilds_the_real_folder_and_keeps_the_link(run, tmp_path, news):
    assert run("index", "--index", "realidx", "news").exit_code == 0
    (tmp_path / "linkidx").symlink_to("realidx")
    write_records(tmp_path / "more", {"zeta": {"title": "Zeta flood", "body": "Floods."}})
    for _ in range(2):  # the second time too: nothing was left broken
        result = run("index", "--rebuild", "--index", "linkidx", "news", "more")
        assert result.exit_code == 0, result.output
    assert (tmp_path / "linkidx").is_symlink() and os.readlink(tmp_path / "linkidx") == "realidx"
    assert not (tmp_path / "realidx").is_symlink()
    assert len(searchlib.Index(tmp_path / "realidx", create=False)) == len(RECORDS) + 1
    assert names(tmp_path) == ["linkidx", "more", "news", "realidx"]
    result = run("index", "--index", "linkidx", "news")  # an update through the link
    assert result.exit_code == 0
    assert len(searchlib.Index(tmp_path / "linkidx", create=False)) == len(RECORDS) + 1
    searchlib.index.create(tmp_path / "linkidx", replace=True)
    assert (tmp_path / "linkidx").is_symlink() and len(searchlib.Index(tmp_path / "realidx")) == 0
    assert names(tmp_path) == ["linkidx", "more", "news", "realidx"]


# --- 5. read-only commands rename nothing -------------------------------------------------------

def test_a_read_only_command_does_not_finish_a_killed_swap(run, tmp_path, news):
    assert run("index", "--index", "idx3", "news").exit_code == 0
    (tmp_path / "idx3").rename(tmp_path / ".idx3.old")
    result = run("--index", "idx3", "flood")
    assert result.exit_code == 2 and "interrupted" in result.output
    assert "search index --index idx3" in result.output
    with pytest.raises(IndexNotFoundError):
        searchlib.Index(tmp_path / "idx3", create=False)
    assert not searchlib.index.exists(tmp_path / "idx3")
    assert names(tmp_path) == [".idx3.old", "news"]
    # a writer finishes it
    assert run("index", "--index", "idx3", "news").exit_code == 0
    assert names(tmp_path) == ["idx3", "news"]
    assert len(searchlib.Index(tmp_path / "idx3", create=False)) == len(RECORDS)


def test_a_planted_link_in_place_of_a_swapped_out_index_is_never_renamed(run, tmp_path, news):
    victim = tmp_path / "victim"
    searchlib.Index(victim).update([news], jobs=1)
    (tmp_path / ".idx4.old").symlink_to("victim")
    result = run("--index", "idx4", "stats")
    assert result.exit_code == 2
    assert (tmp_path / ".idx4.old").is_symlink() and not os.path.lexists(tmp_path / "idx4")
    result = run("index", "--index", "idx4", "news")  # a writer does not take it either
    assert (tmp_path / ".idx4.old").is_symlink()
    assert not (tmp_path / "idx4").is_symlink()
    assert len(searchlib.Index(victim, create=False)) == len(RECORDS)


# --- 7. a dangling link -------------------------------------------------------------------------

def test_a_dangling_link_as_the_index_says_so(run, tmp_path, news):
    (tmp_path / "dangling").symlink_to("nowhere")
    for args in (("--index", "dangling", "flood"), ("index", "--index", "dangling", "news"),
                 ("index", "--rebuild", "--index", "dangling", "news")):
        result = run(*args)
        assert result.exit_code == 2, args
        assert "not empty" not in result.output and "link" in result.output, result.output
    assert not os.path.lexists(tmp_path / "nowhere")


def test_a_stray_file_in_an_index_is_read_and_updated_but_never_deleted_by_a_rebuild(tmp_path):
    """A `.DS_Store` or a note in an index folder does not stop searching or updating it; a
    rebuild, which removes the old folder as a whole, refuses rather than delete it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Harbour fire\n\nThe harbour burned.\n", encoding="utf-8")
    index = tmp_path / "index"
    searchlib.Index(index).update([corpus], jobs=1)
    (index / ".DS_Store").write_bytes(b"finder")
    assert searchlib.Index(index, create=False).search("harbour").total == 1
    (corpus / "b.txt").write_text("Harbour ferry\n\nThe ferry sailed.\n", encoding="utf-8")
    assert searchlib.Index(index).update([corpus], jobs=1).added == 1
    with pytest.raises(searchlib.NotAnIndexError, match="holds '.DS_Store'"):
        searchlib.Index(index).update([corpus], rebuild=True, jobs=1)
    assert (index / ".DS_Store").read_bytes() == b"finder"
    assert searchlib.Index(index, create=False).search("harbour").total == 2


def test_an_index_whose_schema_names_moved_classes_says_to_rebuild(tmp_path):
    """Whoosh pickles the schema, analyzers by module, into the table of contents: an index
    written before a module moved cannot be unpickled. That is a clear IndexFormatError (exit 2,
    rebuild), for searching and for updating, not a ModuleNotFoundError traceback."""
    corpus = tmp_path / "corpus"
    write_records(corpus)
    index = tmp_path / "index"
    searchlib.Index(index).update([corpus], jobs=1)
    (toc,) = index.glob("_MAIN_*.toc")
    data = toc.read_bytes()
    assert b"searchlib.engine.analysis" in data
    toc.write_bytes(data.replace(b"searchlib.engine.analysis", b"searchlib.enginx.analysis"))
    for command in (["river"], ["stats"], ["index", str(corpus)]):
        result = CliRunner().invoke(cli, [*command, "--index", str(index)])
        assert result.exit_code == 2, result.output
        assert "written by another version of searchlib" in result.output
        assert "search index --rebuild --index" in result.output
