"""Corrections: an article reindexed with another text keeps its earlier versions (bounded),
`Index.history` and `search history` list them with a word diff; searches see the current one."""
from __future__ import annotations

import json
import time

import pytest

import searchlib
from searchlib.stories import revisions
from searchlib.stories.revisions import word_diff

from .conftest import write_records

BODY = ("The council said on Monday that the bridge would reopen in March after repairs costing "
        "two million pounds, and that buses would run on the old road until then.")


def _write(corpus, body, title="Bridge to reopen"):
    time.sleep(0.002)  # (another mtime)
    write_records(corpus, {"bridge": {"title": title, "body": body, "date": "2024-01-09"},
                           "other": {"title": "Other", "body": "Nothing changes here at all."}})


def _id(idx):
    return next(h.id for h in idx.search("bridge", all_copies=True) if h.id.endswith("#bridge"))


def test_a_corrected_article_keeps_its_earlier_version(tmp_path):
    corpus = tmp_path / "corpus"
    _write(corpus, BODY)
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1)
        assert len(idx.history(_id(idx)).versions) == 1
        _write(corpus, BODY.replace("two million", "three million"), title="Bridge to reopen in March")
        idx.update([corpus], jobs=1)
        found = idx.history(_id(idx))
        assert [v.current for v in found.versions] == [False, True]
        assert found.versions[0].title == "Bridge to reopen"
        assert ("-", "two") in found.versions[1].diff and ("+", "three") in found.versions[1].diff
        assert ("+", "in March") in found.versions[1].diff  # the title's words too
        assert found.versions[0].seen <= found.versions[1].seen
        # searches match the current version only
        assert idx.search('"three million"').total == 1 and idx.search('"two million"').total == 0
        # the same text again (the file touched) keeps no new version
        _write(corpus, BODY.replace("two million", "three million"), title="Bridge to reopen in March")
        idx.update([corpus], jobs=1)
        assert len(idx.history(_id(idx)).versions) == 2
        # an unchanged article of the same file has no history
        other = next(h.id for h in idx.search("nothing", all_copies=True))
        assert len(idx.history(other).versions) == 1


def test_versions_kept_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(revisions, "MOST_VERSIONS", 3)
    corpus = tmp_path / "corpus"
    with searchlib.Index(tmp_path / "index") as idx:
        for n in range(6):
            _write(corpus, BODY + f" Update number {n}.")
            idx.update([corpus], jobs=1)
        found = idx.history(_id(idx))
        assert len(found.versions) == 4  # 3 earlier versions and the current one
        assert found.versions[-1].text.endswith("Update number 5.")
        assert found.versions[0].text.endswith("Update number 2.")


def test_word_diff():
    assert word_diff("a b c d", "a x c d e") == [("=", "a"), ("-", "b"), ("+", "x"), ("=", "c d"), ("+", "e")]
    assert word_diff("same", "same") == [("=", "same")]


def test_history_command_text_and_json(run, tmp_path):
    corpus = tmp_path / "corpus"
    _write(corpus, BODY)
    assert run("index", "corpus", "--jobs", "1").exit_code == 0
    _write(corpus, BODY.replace("March", "April"))
    assert run("index", "corpus", "--jobs", "1").exit_code == 0
    article = next(json.loads(line)["id"] for line in run("bridge", "--json").stdout.splitlines()
                   if json.loads(line).get("id", "").endswith("#bridge"))
    text = run("history", article, "--color", "never")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0] == f"{article}: 2 versions"
    assert lines[4].startswith("2. ") and lines[4].endswith("(current) · Bridge to reopen")
    assert lines[5] == "  … that the bridge would reopen in [-March-] {+April+} after repairs costing two million pounds, …"
    data = [json.loads(line) for line in run("history", article, "--json").stdout.splitlines()]
    assert data[-1] == {"id": article, "versions": 2}
    assert data[1]["current"] and ["-", "March"] in data[1]["diff"] and ["+", "April"] in data[1]["diff"]
    missing = run("history", "no/such#id")
    assert missing.exit_code == 2 and "Traceback" not in missing.stderr


def test_a_run_killed_between_keeping_a_version_and_committing(tmp_path, monkeypatch):
    """The earlier version is written before the commit: if the commit never happens, history
    does not show the still-current text twice, and the next run keeps the version once."""
    from searchlib.engine.writer import Writer
    corpus = tmp_path / "corpus"
    _write(corpus, BODY)
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1)
        _write(corpus, BODY.replace("March", "April"))
        commit = Writer.commit

        def dies(self, *args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(Writer, "commit", dies)
        with pytest.raises(KeyboardInterrupt):
            idx.update([corpus], jobs=1)
        monkeypatch.setattr(Writer, "commit", commit)
        found = idx.history(_id(idx))
        assert len(found.versions) == 1 and "March" in found.versions[0].text
        idx.update([corpus], jobs=1)
        found = idx.history(_id(idx))
        assert len(found.versions) == 2 and "April" in found.versions[1].text and "March" in found.versions[0].text
