"""Index.generation() on a sharded index (what a receipt records): it grows with every commit."""
import json

import searchlib


def test_a_sharded_index_has_a_generation_that_grows(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text("".join(json.dumps({"id": f"a{i}", "title": f"river {i}"}) + "\n"
                                            for i in range(6)))
    with searchlib.Index(tmp_path / "idx") as idx:
        idx.update([corpus], jobs=1, shards=2)
        first = idx.generation()
        assert first >= 2  # (each of the 2 shards committed once)
        (corpus / "b.jsonl").write_text(json.dumps({"id": "b", "title": "harbour"}) + "\n")
        idx.update([corpus], jobs=1)
        second = idx.generation()
        assert second > first
        idx.update([corpus], jobs=1)  # nothing changed: no commit
        assert idx.generation() == second
