"""scripts/bench_eta_parts.py (issue 18): it measures what progress.PER_FILE and FINAL_FIXED stand
for, on any folder shaped as the BBC corpus (topics of one text file an article), and prints
both figures; nothing is written under the corpora."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import bench_eta_parts  # noqa: E402

from .conftest import write_file  # noqa: E402


def test_the_two_parts_are_measured_and_printed(tmp_path, monkeypatch, capsys):
    corpora = tmp_path / "corpora"
    for topic in ("business", "sport"):
        for n in range(6):
            write_file(corpora / "bbc" / topic / f"{n:03}.txt",
                       f"{topic.title()} news {n}\n\nThe {topic} desk filed story {n} on Monday.\n")
    before = sorted((p, p.stat().st_mtime_ns) for p in corpora.rglob("*"))
    monkeypatch.setattr(sys, "argv", ["bench_eta_parts.py", "--corpora", str(corpora), "--rounds", "1"])
    assert bench_eta_parts.main() == 0
    out = capsys.readouterr().out
    assert "1. 6 text files" in out and "the same articles as JSON Lines" in out
    assert "2. last phase of the parallel rebuild of 12 texts" in out
    assert sorted((p, p.stat().st_mtime_ns) for p in corpora.rglob("*")) == before


def test_a_folder_without_bbc_topics_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench_eta_parts.py", "--corpora", str(tmp_path)])
    assert bench_eta_parts.main() == 2
    assert "no BBC topics" in capsys.readouterr().err
