"""The cron entry point's log (issue 15, items 19 and 20): file names are escaped, so a name can
neither forge a log line nor crash the run; ignored files keep a run ok; --jobs and --exclude."""
import importlib.util
import os
import re
from pathlib import Path

import pytest

import searchlib

from .conftest import write_file, write_records

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reindex.py"
spec = importlib.util.spec_from_file_location("reindex_script_log", SCRIPT)
reindex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reindex)

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 searchlib-reindex status=(\w+)(.*)$")
FORGED = "x\n2026-01-01T00:00:00+00:00 searchlib-reindex status=ok files=0.txt"


def run(tmp_path, *args):
    log = tmp_path / "reindex.log"
    code = reindex.main([str(tmp_path / "corpus"), "--index", str(tmp_path / "ix"), "--log", str(log), *args])
    return code, log.read_text(encoding="utf-8").splitlines()


def test_escape_shows_controls_and_undecodable_bytes():
    assert reindex.escape("a\tb\x1b[31m\\\udcff\u202e\u2028\x85é\n") == \
        "a\\tb\\x1b[31m\\\\\\xff\\u202e\\u2028\\x85é\\n"
    assert reindex.escape("plain/name.txt") == "plain/name.txt"


def test_a_newline_in_a_file_name_cannot_forge_a_log_line(tmp_path):
    write_records(tmp_path / "corpus")
    write_file(tmp_path / "corpus" / FORGED, b"")  # empty: skipped and named
    code, lines = run(tmp_path)
    assert code == 1 and len(lines) == 2
    assert LINE.match(lines[0]).group(1) == "skipped"
    assert lines[1] == f"  skipped {tmp_path / 'corpus'}/x\\n2026-01-01T00:00:00+00:00 searchlib-reindex " \
                       "status=ok files=0.txt: empty file"


def test_a_name_that_is_not_utf8_is_logged_escaped(tmp_path):
    write_records(tmp_path / "corpus")
    with open(os.path.join(os.fsencode(tmp_path / "corpus"), b"bad\xff\x1b.txt"), "wb") as stream:
        stream.write(b"Harbour news\n\nMore harbour.\n")
    code, lines = run(tmp_path)
    assert code == 1 and len(lines) == 2
    assert re.fullmatch(r" files=1 added=1 updated=0 deleted=0 unchanged=0 skipped=1 ignored=0 articles=5 "
                        r"seconds=\d+\.\d\d", LINE.match(lines[0]).group(2))
    assert lines[1] == f"  skipped {tmp_path / 'corpus'}/bad\\xff\\x1b.txt: its name is not valid UTF-8; " \
                       "not read (rename it to index it)"


def test_an_error_naming_a_path_is_escaped_too(tmp_path, capsys):
    missing = tmp_path / "no\nsuch"
    assert reindex.main([str(missing), "--index", str(tmp_path / "ix")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "status=error" in err[0]
    assert "no\\nsuch" in err[1]


def test_ignored_files_are_counted_and_the_run_stays_ok(tmp_path):
    write_records(tmp_path / "corpus")
    write_file(tmp_path / "corpus" / "README.md", "# The archive\n\nNotes.\n")
    write_file(tmp_path / "corpus" / "LICENSE", "MIT License\n")
    write_file(tmp_path / "corpus" / "lewis.dtd", "<!ELEMENT LEWIS (REUTERS*)>\n")
    for _ in range(2):  # every cron run, not only the first
        code, lines = run(tmp_path)
        assert code == 0 and len(lines) == 1
        assert LINE.match(lines[0]).group(1) == "ok" and " skipped=0 ignored=3 " in lines[0]
        (tmp_path / "reindex.log").unlink()


def test_jobs_and_exclude_reach_the_update(tmp_path, monkeypatch):
    write_records(tmp_path / "corpus")
    write_file(tmp_path / "corpus" / "drafts" / "d.txt", "Draft\n\nNot yet.\n")
    seen = {}
    real = searchlib.Index.update

    def update(self, paths, **kwargs):
        seen.update(kwargs)
        return real(self, paths, **kwargs)

    monkeypatch.setattr(searchlib.Index, "update", update)
    code, lines = run(tmp_path, "--jobs", "1", "--exclude", "drafts/", "--exclude", "*.md")
    assert code == 0 and seen["jobs"] == 1 and list(seen["exclude"]) == ["drafts/", "*.md"]
    assert " files=1 added=1 " in lines[0]
    with pytest.raises(SystemExit) as exit_:
        reindex.main([str(tmp_path / "corpus"), "--jobs", "0"])
    assert exit_.value.code == 2
