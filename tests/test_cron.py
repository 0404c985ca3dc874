"""The cron entry point: one log line per run and its exit codes."""
import importlib.util
import re
from pathlib import Path

from .conftest import write_records

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reindex.py"
spec = importlib.util.spec_from_file_location("reindex_script", SCRIPT)
reindex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reindex)

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 searchlib-reindex status=(\w+)(.*)$")


def test_ok_run_logs_one_line(tmp_path):
    write_records(tmp_path / "corpus")
    log = tmp_path / "reindex.log"
    code = reindex.main([str(tmp_path / "corpus"), "--index", str(tmp_path / "ix"), "--log", str(log)])
    assert code == 0
    (line,) = log.read_text().splitlines()
    m = LINE.match(line)
    assert m and m.group(1) == "ok"
    assert re.fullmatch(r" files=1 added=1 updated=0 deleted=0 unchanged=0 skipped=0 ignored=0 articles=5 seconds=\d+\.\d\d", m.group(2))


def test_skipped_files_exit_1_and_are_named(tmp_path):
    write_records(tmp_path / "corpus")
    (tmp_path / "corpus" / "x.txt").write_bytes(b"")
    log = tmp_path / "reindex.log"
    assert reindex.main([str(tmp_path / "corpus"), "--index", str(tmp_path / "ix"), "--log", str(log)]) == 1
    lines = log.read_text().splitlines()
    assert LINE.match(lines[0]).group(1) == "skipped"
    assert lines[1] == f"  skipped {tmp_path / 'corpus' / 'x.txt'}: empty file"


def test_error_exits_2_and_lock_exits_75(tmp_path, capsys):
    assert reindex.main([str(tmp_path / "missing"), "--index", str(tmp_path / "ix")]) == 2
    assert "status=error" in capsys.readouterr().err
    write_records(tmp_path / "corpus")
    import searchlib
    from searchlib.indexing.update import RunLock
    searchlib.Index(tmp_path / "ix")
    with RunLock(tmp_path / "ix", wait=0):
        assert reindex.main([str(tmp_path / "corpus"), "--index", str(tmp_path / "ix")]) == 75
    assert "status=locked" in capsys.readouterr().err


def test_an_unwritable_log_is_an_error_before_anything_is_indexed(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Title\n\nBody.\n", encoding="utf-8")
    log = tmp_path / "no-such-folder" / "reindex.log"
    assert reindex.main([str(tmp_path / "corpus"), "--index", str(tmp_path / "ix"), "--log", str(log)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"searchlib-reindex: cannot write the log {log}: No such file or directory")
    assert not (tmp_path / "ix").exists()
