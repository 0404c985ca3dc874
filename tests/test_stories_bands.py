"""The band table (searchlib.stories.bands): band keys beside the index, not terms in it, kept
in step with the articles the index holds through reindexing, deletion and a failed commit."""
from __future__ import annotations

import sqlite3

import pytest

import searchlib
from searchlib.stories.bands import Bands, article_number

from .conftest import write_records
from .test_stories import RECORDS


def table_ids(index_dir) -> dict[str, str]:
    """id → path of every article in the band table."""
    db = sqlite3.connect(index_dir / "files.sqlite")
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'band_articles'").fetchone():
            return {}  # (an index written before the table)
        return dict(db.execute("SELECT id, path FROM band_rows").fetchall())
    finally:
        db.close()


def key_rows(index_dir) -> int:
    db = sqlite3.connect(index_dir / "files.sqlite")
    try:
        return db.execute("SELECT count(*) FROM band_keys").fetchone()[0]
    finally:
        db.close()


def copies_of(idx, suffix: str) -> list[str]:
    first = next(h.id for h in idx.search("Tamsin", all_copies=True) if h.id.endswith(suffix))
    return sorted(c.id.rsplit("#", 1)[-1] for c in idx.copies(first).copies)


def test_band_keys_are_rows_of_the_table_not_terms_of_the_index(tmp_path):
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {key: RECORDS[key] for key in ("original", "typo", "short")})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1)
        ids = {h.id for h in idx.search("Tamsin OR Marlow", all_copies=True)}
    assert len(ids) == 3
    # the short article (under 20 shingles) has no keys; the two others 12 each
    assert set(table_ids(tmp_path / "index")) == {i for i in ids if not i.endswith("#short")}
    assert key_rows(tmp_path / "index") == 24
    from searchlib.engine.storage import open_for_reading
    assert "bands" not in open_for_reading(tmp_path / "index").schema


def test_rows_follow_the_files_through_reindexing_and_deletion(tmp_path):
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {"original": RECORDS["original"]})
    write_records(corpus / "b", {"headline": RECORDS["headline"], "cut": RECORDS["cut"]})
    index_dir = tmp_path / "index"
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1)
        assert sorted(p.rsplit("/", 2)[-2] for p in table_ids(index_dir).values()) == ["a", "b", "b"]
        assert key_rows(index_dir) == 36
        # b changes: `cut` goes, `typo` comes; the table holds what the index holds
        write_records(corpus / "b", {"headline": RECORDS["headline"], "typo": RECORDS["typo"]})
        idx.update([corpus], jobs=1)
        assert sorted(i.rsplit("#", 1)[-1] for i in table_ids(index_dir)) == ["headline", "original", "typo"]
        assert key_rows(index_dir) == 36
        assert copies_of(idx, "#original") == ["headline", "original", "typo"]
        # a moves its article into c (same id? no: ids carry the file), then a is deleted
        (corpus / "a" / "fixture.jsonl").unlink()
        idx.update([corpus], jobs=1)
        assert sorted(i.rsplit("#", 1)[-1] for i in table_ids(index_dir)) == ["headline", "typo"]
        assert key_rows(index_dir) == 24
        assert copies_of(idx, "#headline") == ["headline", "typo"]
    # each file's path is kept once, and the ids without it; a's path went with its articles
    db = sqlite3.connect(index_dir / "files.sqlite")
    try:
        assert [p.rsplit("/", 2)[-2] for p, in db.execute("SELECT path FROM band_paths")] == ["b"]
        kept = sorted(i for i, in db.execute("SELECT id FROM band_articles"))
    finally:
        db.close()
    assert kept == ["headline", "typo"]


def test_ids_with_and_without_a_file_part_come_back_whole(tmp_path):
    from searchlib.stories.bands import Bands
    with Bands(tmp_path / "files.sqlite") as bands:
        bands.add("https://news.example/1", "/corpus/a.jsonl", [1, 2, 3])
        bands.add("/corpus/a.jsonl#2", "/corpus/a.jsonl", [3, 4])
        bands.add("/corpus/b.jsonl", "/corpus/b.jsonl", [4])
        bands.flush()
        assert bands.look_up([3]) == {"https://news.example/1": 1, "/corpus/a.jsonl#2": 1}
        assert sorted(map(sorted, bands.shared())) == [["/corpus/a.jsonl#2", "/corpus/b.jsonl"],
                                                       ["/corpus/a.jsonl#2", "https://news.example/1"]]
        bands.forget("/corpus/a.jsonl")
        bands.flush()
        assert bands.look_up([1, 2, 3, 4]) == {"/corpus/b.jsonl": 1}


def test_a_commit_that_fails_after_the_table_was_written_is_mended_by_the_next_run(tmp_path, monkeypatch):
    """The table is written just before Whoosh's commit: when that commit fails, the table holds
    rows of articles the index does not; the next run writes those files again, and the table
    then matches the index, and the copies link."""
    import searchlib.indexing.run as run_module
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {"original": RECORDS["original"]})
    index_dir = tmp_path / "index"
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1)
        write_records(corpus / "a", {"original": RECORDS["original"], "cut": RECORDS["cut"]})
        write_records(corpus / "b", {"typo": RECORDS["typo"]})
        policy = run_module.merge_policy

        def fails(*args, **kwargs):
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(run_module, "merge_policy", fails)
        with pytest.raises(Exception):
            idx.update([corpus], jobs=1)
        assert len(table_ids(index_dir)) == 3  # rows ahead of the index ...
        assert len(idx.search("Tamsin", all_copies=True).hits) == 1  # ... which kept its last commit
        monkeypatch.setattr(run_module, "merge_policy", policy)
        idx.update([corpus], jobs=1)
        assert sorted(i.rsplit("#", 1)[-1] for i in table_ids(index_dir)) == ["cut", "original", "typo"]
        assert key_rows(index_dir) == 36
        assert copies_of(idx, "#original") == ["cut", "original", "typo"]


def test_a_row_of_an_article_the_index_does_not_hold_is_never_a_candidate(tmp_path):
    """A stale row (a run that failed before its commit, say) with a copy's very keys: the
    copy indexed later does not take the missing article's story, nor fail."""
    from searchlib.stories.linking import signed
    from searchlib.article import Article
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {"short": RECORDS["short"]})
    index_dir = tmp_path / "index"
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1)
    ghost = signed(Article(title="x", body=RECORDS["original"]["body"]))
    with Bands(index_dir / "files.sqlite") as table:
        table.add("corpus/ghost#original", "/nowhere/ghost.jsonl", ghost.keys)
        table.flush()
        assert set(table.look_up(ghost.keys)) == {"corpus/ghost#original"}
    write_records(corpus / "b", {"headline": RECORDS["headline"]})
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1)
        results = idx.search("Tamsin")
        assert results.total == 1 and results.hits[0].copies == 1


def test_an_index_written_with_band_terms_still_links_its_articles(tmp_path, monkeypatch):
    """Indexes written before the band table hold band keys as terms of a `bands` field: a copy
    indexed now finds its story there (and its own keys go to the table)."""
    from whoosh.fields import KEYWORD

    import searchlib.index as index_module
    from searchlib.engine.schema import build_schema
    from searchlib.indexing.run import Run
    from searchlib.stories.linking import story_text
    from searchlib.stories.signatures import band_terms, shingle_hashes
    legacy = build_schema()
    legacy.add("bands", KEYWORD(commas=True, lowercase=True))
    monkeypatch.setattr(index_module, "SCHEMA", legacy)
    document = Run.document

    def with_terms(self, article):
        doc = document(self, article)
        doc["bands"] = ",".join(band_terms(shingle_hashes(story_text(article.title, article.summary,
                                                                      article.body))))
        return doc

    monkeypatch.setattr(Run, "document", with_terms)
    monkeypatch.setattr(Bands, "flush", lambda self: self.discard())  # (as before the table)
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {"original": RECORDS["original"]})
    index_dir = tmp_path / "index"
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1)
    monkeypatch.undo()
    assert table_ids(index_dir) == {}
    write_records(corpus / "b", {"headline": RECORDS["headline"]})
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1)
        assert copies_of(idx, "#original") == ["headline", "original"]
    assert [i.rsplit("#", 1)[-1] for i in table_ids(index_dir)] == ["headline"]


def test_article_numbers_are_stable_signed_64_bit():
    assert article_number("corpus/a#1") == article_number("corpus/a#1") != article_number("corpus/a#2")
    assert -2**63 <= article_number("x") < 2**63


def test_a_full_disk_while_the_table_is_written_is_a_clear_error(tmp_path, monkeypatch):
    from searchlib.errors import DiskFullError
    from searchlib.stories import bands
    corpus = tmp_path / "corpus"
    write_records(corpus / "a", {"original": RECORDS["original"]})
    index_dir = tmp_path / "index"
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1)
        write_records(corpus / "b", {"headline": RECORDS["headline"]})

        def full(*args):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(bands, "_write", full)
        with pytest.raises(DiskFullError, match=r"no space left on device while writing .*files\.sqlite"):
            idx.update([corpus], jobs=1)
        monkeypatch.undo()
        assert len(idx.search("Tamsin", all_copies=True).hits) == 1  # at its last commit
        idx.update([corpus], jobs=1)
        assert copies_of(idx, "#original") == ["headline", "original"]


def test_a_flush_keeps_the_order_of_adds_and_forgets(tmp_path):
    """Forgetting a file after some of its articles were added in the same flush drops them;
    forgetting it before keeps what is added after; an article added twice keeps the last."""
    with Bands(tmp_path / "t.sqlite") as table:
        table.add("a#1", "a", [1, 2])
        table.flush()
        table.forget("a")
        table.add("a#2", "a", [3])
        table.add("b#1", "b", [4])
        table.forget("b")  # (after b#1 was added: b#1 goes)
        table.add("c#1", "c", [5])
        table.add("c#1", "c", [6])
        table.flush()
        assert table.look_up([1, 2, 3, 4, 5, 6]) == {"a#2": 1, "c#1": 1}
        assert table.look_up([6]) == {"c#1": 1} and table.look_up([5]) == {}
        assert sorted(table.shared()) == []
        table.add("d#1", "d", [3, 6])
        table.flush()
        assert sorted(sorted(ids) for ids in table.shared()) == [["a#2", "d#1"], ["c#1", "d#1"]]


KILLED_AT_THE_SECOND_FLUSH = """
import os, signal, sys
from pathlib import Path
import searchlib
from searchlib.stories import bands
flush, flushes = bands.Bands.flush, []

def flush_then_die(self):
    flush(self)
    flushes.append(1)
    if len(flushes) == 2:  # the table written, the Whoosh commit not yet
        os.kill(os.getpid(), signal.SIGKILL)

bands.Bands.flush = flush_then_die
if __name__ == "__main__":
    with searchlib.Index(Path(sys.argv[1])) as idx:
        idx.update([Path(sys.argv[2])], jobs=1, batch_files=1)
"""


def test_a_run_killed_between_the_table_and_the_commit_is_mended_by_the_next(tmp_path):
    """A real kill -9 after the band table was written and before Whoosh's commit: the next run
    leaves the table holding exactly the articles the index holds, and the copies linked."""
    import subprocess
    import sys
    corpus = tmp_path / "corpus"
    for n, key in enumerate(["original", "typo", "headline", "cut"]):
        write_records(corpus / f"f{n}", {key: RECORDS[key]})
    script = tmp_path / "killed.py"
    script.write_text(KILLED_AT_THE_SECOND_FLUSH, encoding="utf-8")
    index_dir = tmp_path / "index"
    proc = subprocess.run([sys.executable, str(script), str(index_dir), str(corpus)], capture_output=True,
                          timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    with searchlib.Index(index_dir, create=False) as idx:
        committed = {h.id for h in idx.search("Tamsin", all_copies=True)}
    ahead = set(table_ids(index_dir)) - committed
    assert len(committed) == 1 and [i.rsplit("#", 1)[-1] for i in ahead] == ["typo"]  # a row ahead
    # the file whose rows are ahead changes before the next run: its old article must not stay
    write_records(corpus / "f1", {"credit": RECORDS["credit"]})
    with searchlib.Index(index_dir) as idx:
        idx.update([corpus], jobs=1, batch_files=1)
        indexed = {h.id for h in idx.search("Tamsin", all_copies=True)}
        assert copies_of(idx, "#original") == ["credit", "cut", "headline", "original"]
    assert set(table_ids(index_dir)) == indexed and len(indexed) == 4
    assert key_rows(index_dir) == 48


def _table_rows(path):
    db = sqlite3.connect(path)
    try:
        return (sorted(db.execute("SELECT article, id, path, keys FROM band_rows")),
                sorted(db.execute("SELECT key, article FROM band_keys")),
                db.execute("SELECT count(*) FROM band_paths").fetchone()[0])
    finally:
        db.close()


def test_a_first_builds_loader_writes_what_add_and_flush_write(tmp_path, monkeypatch):
    from searchlib.stories import bands as module
    monkeypatch.setattr(module._Loader, "BATCH", 3)  # to its temporary tables 3 at a time
    articles = [(f"/c/f{n % 3}.jsonl#a{n}", f"/c/f{n % 3}.jsonl", [n, n + 1, 1000 + n % 4]) for n in range(10)]
    articles.append(("https://news.example/x", "/c/f0.jsonl", [5, 77]))
    with Bands(tmp_path / "added.sqlite") as table:
        for article in articles:
            table.add(*article)
        table.flush()
    with Bands(tmp_path / "loaded.sqlite") as table:
        with table.load(tmp_path) as loader:
            for article in articles:
                loader.add(*article)
        assert table.look_up([5]) == {"/c/f1.jsonl#a4": 1, "/c/f2.jsonl#a5": 1, "https://news.example/x": 1}
    loaded = _table_rows(tmp_path / "loaded.sqlite")
    assert loaded == _table_rows(tmp_path / "added.sqlite")
    assert len(loaded[0]) == 11 and len(loaded[1]) == 32 and loaded[2] == 4


def test_a_loader_whose_block_fails_writes_nothing(tmp_path):
    with Bands(tmp_path / "files.sqlite") as table:
        with pytest.raises(RuntimeError):
            with table.load(tmp_path) as loader:
                for n in range(loader.BATCH + 1):  # (some in its temporary tables)
                    loader.add(f"/c/a.jsonl#1-{n}", "/c/a.jsonl", [1, 2])
                raise RuntimeError("the build failed")
        assert table.look_up([1, 2]) == {}
        with table.load(tmp_path) as loader:  # (its temporary tables went with the failed block)
            loader.add("/c/a.jsonl#2", "/c/a.jsonl", [2])
        assert table.look_up([1, 2]) == {"/c/a.jsonl#2": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files.sqlite"]  # (nothing left beside it)
    assert _table_rows(tmp_path / "files.sqlite")[1] == [(2, article_number("/c/a.jsonl#2"))]


def test_a_full_disk_while_the_loader_writes_is_a_disk_full_error_and_writes_nothing(tmp_path, monkeypatch):
    import sqlite3 as sqlite
    from searchlib.errors import DiskFullError
    from searchlib.stories import bands as module

    def full(self):
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO band_paths (path, prefix) VALUES ('/c/a.jsonl', '/c/a.jsonl#')")
        raise sqlite.OperationalError("database or disk is full")
    monkeypatch.setattr(module._Loader, "_merge", full)
    with Bands(tmp_path / "files.sqlite") as table:
        with pytest.raises(DiskFullError):
            with table.load(tmp_path) as loader:
                loader.add("/c/a.jsonl#1", "/c/a.jsonl", [1, 2])
        assert table.look_up([1, 2]) == {}
    assert _table_rows(tmp_path / "files.sqlite") == ([], [], 0)  # (the half-written rows rolled back)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files.sqlite"]
