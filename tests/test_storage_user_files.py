"""A commit deletes only the files Whoosh wrote: a user's file named like a segment's
(`MAIN_notes.bak`) in an unsharded index survives updates, merges and deletions."""
import json
import os

import searchlib


def test_a_users_main_file_survives_commits_and_merges(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    mine = tmp_path / "index" / "MAIN_notes.bak"
    mine.write_text("my notes")
    os.chmod(mine, 0o640)
    for run in range(12):  # small runs: the merge policy merges some of their segments
        (corpus / f"f{run}.jsonl").write_text(json.dumps({"id": f"a{run}", "title": f"river {run}"}) + "\n")
        if run % 4 == 3:
            (corpus / f"f{run - 1}.jsonl").unlink()
        idx.update([corpus], jobs=1)
    assert mine.read_text() == "my notes" and (mine.stat().st_mode & 0o777) == 0o640
    assert len(idx) == 9
    names = {p.name for p in (tmp_path / "index").iterdir()}
    assert sum(n.endswith(".seg") for n in names) < 12  # segments were merged and their files deleted
