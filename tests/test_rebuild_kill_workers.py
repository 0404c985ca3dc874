"""A `kill -9` of a parallel rebuild while its workers write their records (into a folder of the
new index's own, `searchlib-build-*`, since bdb07ed): the next rebuild removes what the killed one
left, as it removes any leftover of searchlib's; a leftover holding anything else is refused and
kept. Before the fix the next rebuild refused its own leftover (the records' folder was not one
searchlib was known to write)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import searchlib


def _search(cwd, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    return subprocess.run([sys.executable, "-m", "searchlib.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _corpus(folder, files: int = 40, per_file: int = 150) -> int:
    folder.mkdir(parents=True)
    for f in range(files):
        (folder / f"part-{f:03d}.jsonl").write_text("".join(
            json.dumps({"id": f"a{f}-{n}", "title": f"report {f} {n}",
                        "body": " ".join(f"word{(f * 7 + n * 13 + k) % 5000}" for k in range(300))}) + "\n"
            for n in range(per_file)), encoding="utf-8")
    return files * per_file


def _killed_rebuild(tmp_path):
    """An index, and the leftover of a rebuild of it killed while its workers wrote records."""
    total = _corpus(tmp_path / "corpus")
    assert _search(tmp_path, "index", "--index", "idx", "-j", "1", "corpus").returncode == 0
    leftover = tmp_path / ".idx.rebuild"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--rebuild", "--index", "idx",
                             "-j", "2", "corpus"], cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(leftover.glob("searchlib-build-*/written-*")) and time.monotonic() < deadline:
            assert proc.poll() is None, "the rebuild ended before its workers were caught writing"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # (the workers too)
        proc.wait()
    records = list(leftover.glob("searchlib-build-*/written-*"))
    assert records, "no records folder left: the state this test is about was not reached"
    return total, leftover, records[0].parent


def test_the_next_rebuild_removes_a_killed_rebuilds_records(tmp_path):
    total, leftover, _ = _killed_rebuild(tmp_path)
    with searchlib.Index(tmp_path / "idx", create=False) as idx:  # the old index answers meanwhile
        assert len(idx) == total
    again = _search(tmp_path, "index", "--rebuild", "--index", "idx", "-j", "2", "corpus")
    assert again.returncode == 0, again.stderr
    assert not leftover.exists()
    with searchlib.Index(tmp_path / "idx", create=False) as idx:
        assert len(idx) == total
    assert not list((tmp_path / "idx").glob("searchlib-build-*"))


def test_a_leftover_with_a_file_searchlib_did_not_write_is_refused_and_kept(tmp_path):
    _, leftover, spill = _killed_rebuild(tmp_path)
    (spill / "notes.txt").write_text("mine", encoding="utf-8")
    again = _search(tmp_path, "index", "--rebuild", "--index", "idx", "-j", "2", "corpus")
    assert again.returncode == 2 and "is in the way of the rebuild and is not searchlib's" in again.stderr
    assert (spill / "notes.txt").read_text(encoding="utf-8") == "mine"
