"""Index folders that are not searchlib's are never deleted, written to or chmod-ed; a full disk
and an interrupted rebuild leave the index at its last commit with a clear error."""
from __future__ import annotations

import errno
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

import searchlib
from searchlib.indexing import update as indexing, manifest
from searchlib.errors import (DiskFullError, IndexFormatError, IndexNotFoundError, NotAnIndexError,
                              PathNotFoundError, SearchlibError)
from searchlib.index import rebuild_index

from .conftest import RECORDS, ids, write_records


def snapshot(folder: Path) -> dict:
    """Every entry under (and including) `folder`: mode, size and content hash or link target."""
    entries = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        st = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
        entries[str(path.relative_to(folder.parent))] = (stat.S_IMODE(st.st_mode), st.st_size, content)
    return entries


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


# --- item 1: a rebuild replaces only a searchlib index, a missing folder or an empty one ------

def test_rebuild_refuses_to_replace_the_corpus_itself(run, tmp_path):
    news = tmp_path / "news"
    write_records(news)
    before, names = snapshot(news), siblings(news)
    result = run("index", "--rebuild", "--index", "news", "news")
    assert result.exit_code == 2
    assert "news/ is not a searchlib index" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(news) == before and siblings(news) == names


def test_rebuild_refuses_an_unrelated_folder_touching_nothing(tmp_path, corpus):
    mydocs = tmp_path / "mydocs"
    mydocs.mkdir(mode=0o755)
    (mydocs / "thesis.txt").write_text("five years of work", encoding="utf-8")
    before, names = snapshot(mydocs), siblings(mydocs)
    with pytest.raises(NotAnIndexError, match=r"mydocs/ is not a searchlib index .*nothing was changed"):
        rebuild_index(mydocs, [corpus])
    with pytest.raises(NotAnIndexError):
        searchlib.create(mydocs, replace=True)
    assert snapshot(mydocs) == before and siblings(mydocs) == names
    assert issubclass(NotAnIndexError, IndexFormatError) and issubclass(NotAnIndexError, SearchlibError)


def test_a_folder_whose_description_file_is_foreign_is_refused(tmp_path, corpus):
    other = tmp_path / "other"
    other.mkdir()
    (other / "searchlib.json").write_text(json.dumps({"format": "something-else"}), encoding="utf-8")
    with pytest.raises(NotAnIndexError):
        rebuild_index(other, [corpus])
    assert sorted(p.name for p in other.iterdir()) == ["searchlib.json"]


def test_an_index_of_an_older_schema_version_may_be_rebuilt(index, corpus):
    meta = index.path / "searchlib.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "schema_version": 1}))
    with pytest.raises(IndexFormatError):
        searchlib.Index(index.path)
    report = rebuild_index(index.path, [corpus])
    assert report.articles == len(RECORDS)
    assert ids(searchlib.Index(index.path, create=False).search("harvest")) == ["gamma"]
    assert siblings(index.path) == ["corpus", "index"]


def test_a_rebuild_builds_in_a_missing_folder_or_an_empty_one(tmp_path, corpus):
    report = rebuild_index(tmp_path / "fresh", [corpus])
    assert report.articles == len(RECORDS)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700  # searchlib made it
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    (shared / ".gitignore").write_text("*\n", encoding="utf-8")
    assert rebuild_index(shared, [corpus]).articles == len(RECORDS)
    assert (shared / ".gitignore").read_text(encoding="utf-8") == "*\n"
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # not ours to chmod, even when swapped
    assert ids(searchlib.Index(shared, create=False).search("harvest")) == ["gamma"]


def test_a_users_folder_named_like_a_rebuild_sibling_is_kept(index, corpus, tmp_path):
    users = tmp_path / ".index.rebuild"
    users.mkdir()
    (users / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(NotAnIndexError, match=r"\.index\.rebuild"):
        rebuild_index(index.path, [corpus])
    assert (users / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert len(searchlib.Index(index.path, create=False)) == len(RECORDS)


def test_a_leftover_rebuild_sibling_of_our_own_is_replaced(index, corpus, tmp_path):
    searchlib.create(tmp_path / ".index.rebuild")  # as a killed rebuild leaves it
    (tmp_path / ".index.old").mkdir()  # a user's folder: not ours to remove
    (tmp_path / ".index.old" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(NotAnIndexError, match=r"\.index\.old"):
        rebuild_index(index.path, [corpus])
    assert (tmp_path / ".index.old" / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert searchlib.exists(tmp_path / ".index.rebuild")  # refused before anything was touched
    (tmp_path / ".index.old" / "keep.txt").unlink()
    (tmp_path / ".index.old").rmdir()
    assert rebuild_index(index.path, [corpus]).articles == len(RECORDS)
    assert siblings(index.path) == ["corpus", "index"]


# --- item 2: opening never creates or changes a folder that is not an index ------------------

def test_a_search_pointed_at_a_shared_folder_changes_nothing(run, tmp_path):
    write_records(tmp_path / "corpus")  # (so the first-run demo would have something to build)
    shared = tmp_path / "drop"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "report.txt").write_text("Quarterly flood report\n\nText.", encoding="utf-8")
    before = snapshot(shared)
    result = run("flood", "--index", "drop")
    assert result.exit_code == 2
    assert "drop/ is not a searchlib index" in result.stderr
    for command in (["stats"], ["show", "x"], ["similar", "x"]):
        assert run(*command, "--index", "drop").exit_code == 2
    assert snapshot(shared) == before
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_opening_without_create_never_writes(tmp_path, corpus):
    folder = tmp_path / "articles"
    write_records(folder)
    before = snapshot(folder)
    with pytest.raises(NotAnIndexError):
        searchlib.Index(folder, create=False)
    with pytest.raises(NotAnIndexError):
        searchlib.Index(folder)
    with pytest.raises(IndexNotFoundError):
        searchlib.Index(tmp_path / "missing", create=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IndexNotFoundError):
        searchlib.Index(empty, create=False)
    assert snapshot(folder) == before and list(empty.iterdir()) == []
    assert not (tmp_path / "missing").exists()


def test_a_new_index_in_an_existing_empty_folder_keeps_its_mode(tmp_path, corpus):
    folder = tmp_path / "ix"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / ".gitignore").write_text("*\n", encoding="utf-8")  # like the repository's index/
    idx = searchlib.Index(folder)
    assert idx.update([corpus]).articles == len(RECORDS)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    missing = tmp_path / "made" / "here"
    searchlib.Index(missing).update([corpus])
    assert stat.S_IMODE(missing.stat().st_mode) == 0o700  # searchlib made it: the user's alone


def test_an_update_from_a_missing_corpus_leaves_no_index_behind(tmp_path, run):
    with pytest.raises(PathNotFoundError):
        searchlib.Index(tmp_path / "ix").update([tmp_path / "nope"])
    assert not (tmp_path / "ix").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PathNotFoundError):
        searchlib.Index(empty).update([tmp_path / "nope"])
    assert list(empty.iterdir()) == []
    result = run("index", "--index", "cli-ix", "nope")
    assert result.exit_code == 2 and not (tmp_path / "cli-ix").exists()


def test_a_killed_swap_is_finished_by_the_next_writer_not_by_a_reader(index, tmp_path):
    old = tmp_path / ".index.old"
    index.path.rename(old)  # killed between the swap's two renames
    with pytest.raises(IndexNotFoundError, match="a rebuild was interrupted"):
        searchlib.Index(index.path, create=False)  # read-only: renames nothing (issue 15 item 2)
    assert old.exists() and not index.path.exists()
    assert len(searchlib.Index(index.path)) == len(RECORDS)
    assert not old.exists()


def test_a_users_dot_old_folder_is_never_moved(tmp_path):
    old = tmp_path / ".ix.old"
    old.mkdir()
    (old / "a.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(IndexNotFoundError):
        searchlib.Index(tmp_path / "ix", create=False)
    assert (old / "a.txt").read_text(encoding="utf-8") == "mine" and not (tmp_path / "ix").exists()


# --- item 18: a full disk ---------------------------------------------------------------------

def test_a_full_disk_while_the_manifest_is_written_is_a_clear_error(index, tmp_path, monkeypatch):
    write_records(tmp_path / "more", {"zeta": {"title": "Zeta flood", "body": "Floods again."}})

    def full(self):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(manifest._transaction, "__enter__", full)  # the manifest's connection
    with pytest.raises(DiskFullError, match=r"no space left on device while writing .*files\.sqlite.*"
                                            r"last commit; free space and run again"):
        index.update([tmp_path / "more"])
    monkeypatch.undo()
    fresh = searchlib.Index(index.path, create=False)
    assert len(fresh) == len(RECORDS) + 1  # the Whoosh commit before the manifest stands
    assert index.update([tmp_path / "more"]).unchanged == 0  # re-read: the manifest was stale
    assert len(searchlib.Index(index.path, create=False)) == len(RECORDS) + 1


def test_a_full_disk_while_segments_are_written_is_a_clear_error(index, tmp_path, monkeypatch, run):
    write_records(tmp_path / "more", {"zeta": {"title": "Zeta flood", "body": "Floods again."}})

    def full(fd):  # each segment file is synced as it is closed: the data did not fit
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFullError, match=r"no space left on device while writing .*index"):
        index.update([tmp_path / "more"])
    result = run("index", "--index", str(index.path), str(tmp_path / "more"))
    assert result.exit_code == 2 and "no space left on device" in result.stderr
    monkeypatch.undo()
    assert len(searchlib.Index(index.path, create=False)) == len(RECORDS)
    assert searchlib.Index(index.path).update([tmp_path / "more"]).articles == 1
    assert issubclass(DiskFullError, indexing.IndexingError)


# --- Ctrl-C during a rebuild ------------------------------------------------------------------

def test_an_interrupted_rebuild_cleans_up_its_half_built_sibling(index, corpus, tmp_path, monkeypatch):
    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(indexing.Run, "commit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(index.path, [corpus])
    monkeypatch.undo()
    assert siblings(index.path) == ["corpus", "index"]
    assert ids(searchlib.Index(index.path, create=False).search("harvest")) == ["gamma"]


def test_an_interrupted_rebuild_into_a_new_or_empty_folder_leaves_it_as_it_was(corpus, tmp_path,
                                                                             monkeypatch):
    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(indexing.Run, "commit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(tmp_path / "new", [corpus])
    assert not (tmp_path / "new").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".gitignore").write_text("*\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(empty, [corpus])
    assert [p.name for p in empty.iterdir()] == [".gitignore"]
