"""Watches: what is new since a watch last ran, across reindexes, rebuilds, kills and failures."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import searchlib
from searchlib.errors import ArgumentError, IndexLockedError, UnknownWatchError, WatchError
from searchlib.indexing.update import RunLock

ROOT = Path(__file__).resolve().parents[1]


def put(corpus: Path, name: str, title: str, body: str, date: str | None = "2022-09-06") -> Path:
    """One article per file, its id its key, so each test changes exactly one article."""
    record = {"id": name, "title": title, "body": body}
    if date:
        record["date"] = date
    path = corpus / f"{name}.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


def keys(outcome) -> list[str]:
    return [item.hit.id.rsplit("#", 1)[-1] for item in outcome.arrivals]


@pytest.fixture
def setup(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    put(corpus, "a", "River flood in the valley", "The river flooded the town.")
    put(corpus, "b", "Flood defences", "Voters chose flood defences.")
    put(corpus, "q", "Harvest festival", "The village celebrated the harvest.")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    return idx, corpus


def run_one(idx, name="floods", **kw):
    done = idx.watches.run([name], **kw)
    assert len(done.outcomes) == 1
    outcome = done.outcomes[0]
    assert outcome.error is None, outcome.error
    return outcome


def test_new_changed_same_text_deleted_and_late_articles(setup):
    idx, corpus = setup
    idx.watches.add("floods", "flood")
    assert run_one(idx).new == 0  # what was there when the watch was added is not news

    put(corpus, "c", "Flood of 1999 remembered", "An old flood report, indexed late.", date="1999-05-01")
    put(corpus, "n", "Harvest again", "No match here.")
    idx.update([corpus], jobs=1)
    assert keys(run_one(idx)) == ["c"]  # an old article indexed late is new; a non-match is not
    assert run_one(idx).new == 0        # and never twice

    # the same text written again (other key order, new mtime): updated, not new
    (corpus / "a.jsonl").write_text(json.dumps({"body": "The river flooded the town.", "date": "2022-09-06",
                                                "title": "River flood in the valley", "id": "a"}) + "\n")
    report = idx.update([corpus], jobs=1)
    assert report.updated == 1
    assert run_one(idx).new == 0

    put(corpus, "b", "Flood defences", "Voters chose flood defences, and the council agreed.")  # changed
    (corpus / "c.jsonl").unlink()                                                               # deleted
    put(corpus, "d", "Flash flood", "A flash flood hit the coast.", date="2022-09-07")          # new
    report = idx.update([corpus], jobs=1)
    assert (report.updated, report.deleted, report.added) == (1, 1, 1)
    assert keys(run_one(idx)) == ["d", "b"]  # newest first by date; the deleted one is gone
    watch = idx.watches.get("floods")
    assert watch.found == 3 and watch.runs == 5 and watch.last_run is not None


def test_a_watch_remembers_nothing_of_an_article_deleted_and_restored_with_the_same_text(setup):
    """Deleted and indexed again later: it entered the index again, so it is new again."""
    idx, corpus = setup
    idx.watches.add("floods", "flood")
    put(corpus, "e", "Flood for a moment", "Indexed, then deleted before the watch ran.")
    idx.update([corpus], jobs=1)
    (corpus / "e.jsonl").unlink()
    idx.update([corpus], jobs=1)
    assert run_one(idx).new == 0
    saved = (corpus / "a.jsonl").read_text()
    (corpus / "a.jsonl").unlink()
    idx.update([corpus], jobs=1)
    assert run_one(idx).new == 0
    (corpus / "a.jsonl").write_text(saved)
    idx.update([corpus], jobs=1)
    assert keys(run_one(idx)) == ["a"]


def test_an_article_moved_to_another_file_with_the_same_text_is_not_new(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    record = {"url": "https://example.com/flood", "title": "Flood", "body": "A flood came."}
    (corpus / "one.jsonl").write_text(json.dumps(record) + "\n")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    idx.watches.add("floods", "flood")
    (corpus / "one.jsonl").unlink()
    (corpus / "two.jsonl").write_text(json.dumps(record) + "\n")
    idx.update([corpus], jobs=1)
    assert idx.get("https://example.com/flood") is not None
    assert run_one(idx).new == 0


def test_backfill_reports_what_is_already_there(setup):
    idx, _ = setup
    idx.watches.add("floods", "flood", backfill=True)
    assert sorted(keys(run_one(idx))) == ["a", "b"]
    assert run_one(idx).new == 0


@pytest.mark.parametrize("files", [3, 17])  # 17: a rebuild of 16+ files is built by 2 workers
def test_a_rebuild_keeps_the_stamps_of_unchanged_articles_and_the_watches(tmp_path, files):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(files):
        put(corpus, f"f{n:02d}", f"Flood report {n}", f"Flood number {n} in the valley.")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    idx.watches.add("floods", "flood")
    put(corpus, "f01", "Flood report 1", "Flood number 1, corrected: in the hills.")  # changed
    put(corpus, "new", "Flood report new", "A new flood.")
    idx.update([corpus], rebuild=True, jobs=2)
    assert (idx.path / "watches.json").is_file()  # the watches moved with the rebuild's swap
    assert sorted(keys(run_one(idx))) == ["f01", "new"]
    idx.update([corpus], rebuild=True, jobs=2)  # rebuilt again: nothing is news
    assert run_one(idx).new == 0
    assert sorted(os.listdir(idx.path)) == sorted(n for n in os.listdir(idx.path) if ".tmp" not in n)


def test_a_run_killed_between_reindex_and_digest_reports_those_articles_next_time_once(setup, tmp_path):
    idx, corpus = setup
    idx.watches.add("floods", "flood")
    put(corpus, "c", "Flood warning", "A flood warning was issued.")
    put(corpus, "d", "Flood drill", "A flood drill took place.", date="2022-09-07")
    feeds = tmp_path / "feeds"
    script = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
import searchlib
if __name__ == "__main__":
    idx = searchlib.Index({str(idx.path)!r})
    idx.update([{str(corpus)!r}], jobs=1)
    def deliver(watch, arrivals):  # the feed is written; the cursor has not moved yet
        print("delivering", len(arrivals), flush=True)
        time.sleep(60)
    idx.watches.run(deliver=deliver, digest_dir={str(feeds)!r})
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().split() == ["delivering", "2"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert idx.get(next(h.id for h in idx.search("drill"))) is not None  # the reindex was committed
    outcome = run_one(idx, digest_dir=feeds)
    assert keys(outcome) == ["d", "c"]   # reported now, since the killed run never finished
    assert run_one(idx, digest_dir=feeds).new == 0  # and not again
    feed = (feeds / "floods.atom").read_text()
    assert feed.count("<entry>") == 2   # the killed run's entries were replaced, not doubled


def test_a_run_killed_right_after_the_reindex_loses_nothing(setup):
    idx, corpus = setup
    idx.watches.add("floods", "flood")
    put(corpus, "c", "Flood warning", "A flood warning was issued.")
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
import searchlib
if __name__ == "__main__":
    searchlib.Index({str(idx.path)!r}).update([{str(corpus)!r}], jobs=1)
    os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", script])
    assert done.returncode == -signal.SIGKILL
    assert keys(run_one(idx)) == ["c"]
    assert run_one(idx).new == 0


def test_runs_are_serialised_by_the_index_lock(setup):
    idx, corpus = setup
    idx.watches.add("floods", "flood")
    with RunLock(idx.path, 0):  # a reindex under way
        with pytest.raises(IndexLockedError):
            idx.watches.run()
    for name in "cdef":
        put(corpus, name, f"Flood {name}", f"Flood story {name}.")
    idx.update([corpus], jobs=1)
    seen: list[str] = []
    errors: list[BaseException] = []

    def deliver(watch, arrivals):
        seen.extend(item.hit.id for item in arrivals)
        time.sleep(0.3)  # the other run must wait for this one's cursor

    def one_run():
        try:
            searchlib.Index(idx.path).watches.run(deliver=deliver, wait=30)
        except BaseException as exc:  # (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sorted(i.rsplit("#", 1)[-1] for i in seen) == ["c", "d", "e", "f"]  # each exactly once


def test_a_failing_watch_is_named_keeps_its_cursor_and_the_others_still_run(setup, tmp_path):
    idx, corpus = setup
    idx.watches.add("floods", "flood")
    idx.watches.add("harvest", "harvest")
    idx.watches.add("broken", "flood")
    # the query no longer parses (as after a schema change): edit it in the store
    store = idx.path / "watches.json"
    data = json.loads(store.read_text())
    data["watches"]["broken"]["query"] = "titel:flood"
    store.write_text(json.dumps(data))
    put(corpus, "c", "Flood harvest", "A flood spoilt the harvest.")
    idx.update([corpus], jobs=1)
    before = {w.name: w.cursor for w in idx.watches.list()}
    done = idx.watches.run(["floods", "nosuch", "broken", "harvest"])
    by_name = {o.name: o for o in done.outcomes}
    assert isinstance(by_name["nosuch"].error, UnknownWatchError)
    assert "'nosuch'" in str(by_name["nosuch"].error) and "\n" not in str(by_name["nosuch"].error)
    assert "'broken'" in str(by_name["broken"].error) and "titel" in str(by_name["broken"].error)
    assert keys(by_name["floods"]) == ["c"] and keys(by_name["harvest"]) == ["c"]
    after = {w.name: w.cursor for w in idx.watches.list()}
    assert after["broken"] == before["broken"]
    assert after["floods"] > before["floods"] and after["harvest"] > before["harvest"]

    # an unwritable digest folder (a file where the folder should be), a failing mail command
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    put(corpus, "d", "Flood and harvest", "Another flood, another harvest.")
    idx.update([corpus], jobs=1)
    done = idx.watches.run(["floods"], digest_dir=blocker)
    assert "'floods'" in str(done.errors[0]) and "not-a-folder" in str(done.errors[0])
    done = idx.watches.run(["harvest"], mail_command=f"{sys.executable} -c 'import sys; sys.exit(3)'")
    assert "'harvest'" in str(done.errors[0]) and "status 3" in str(done.errors[0])
    assert blocker.read_text() == "x"
    # fixed: the same articles come now, once
    assert keys(run_one(idx, "floods", digest_dir=tmp_path / "feeds")) == ["d"]
    assert keys(run_one(idx, "harvest")) == ["d"]
    assert run_one(idx, "floods").new == 0 and run_one(idx, "harvest").new == 0


def test_names_and_duplicates_are_refused(setup):
    idx, _ = setup
    for bad in ("", "../x", "a b", "x" * 65, ".hidden"):
        with pytest.raises(ArgumentError):
            idx.watches.add(bad, "flood")
    idx.watches.add("floods", "flood")
    with pytest.raises(WatchError, match="exists already"):
        idx.watches.add("floods", "river")
    with pytest.raises(searchlib.QueryError):
        idx.watches.add("bad", "titel:x")
    with pytest.raises(UnknownWatchError):
        idx.watches.remove("nosuch")
    assert [w.name for w in idx.watches.list()] == ["floods"]
    (idx.path / "watches.json.999999.tmp").write_text("{")  # left by a writer killed mid-write
    assert idx.watches.remove("floods").query == "flood"
    assert not (idx.path / "watches.json.999999.tmp").exists()
    assert idx.watches.list() == []


def test_the_command_line(run, setup):
    idx, corpus = setup
    where = ["--index", str(idx.path)]
    added = run("watch", "add", "floods", "flood", *where, "--json")
    assert added.exit_code == 0 and json.loads(added.output)["query"] == "flood"
    assert run("watch", "add", "floods", "x", *where).exit_code == 2
    listed = run("watch", "list", *where, "--json")
    lines = [json.loads(line) for line in listed.output.splitlines()]
    assert listed.exit_code == 0 and lines[-1] == {"watches": 1} and lines[0]["name"] == "floods"
    assert run("watch", "run", *where).exit_code == 1  # nothing new
    put(corpus, "c", "Flood warning", "A flood warning was issued.")
    idx.update([corpus], jobs=1)
    ran = run("watch", "run", *where, "--json")
    lines = [json.loads(line) for line in ran.output.splitlines()]
    assert ran.exit_code == 0
    assert lines[0]["watch"] == "floods" and lines[0]["id"].endswith("#c") and "entered" in lines[0]
    assert lines[-1]["new"] == 1 and lines[-1]["watches"]["floods"]["new"] == 1
    text = run("watch", "run", *where, "--color", "never")
    assert text.exit_code == 1 and text.stdout == ""
    shown = json.loads(run("watch", "show", "floods", *where, "--json").output)
    assert shown["found"] == 1 and shown["runs"] == 3
    failed = run("watch", "run", "floods", "nosuch", *where)
    assert failed.exit_code == 2 and "watch 'nosuch': no such watch" in failed.stderr
    assert run("watch", "show", "nosuch", *where).exit_code == 2
    assert json.loads(run(*where, "watch", "show", "floods", "--json").output)["name"] == "floods"  # options first
    assert run(*where, "watch", "run", "--wait", "1").exit_code == 1
    assert run("watch", "rm", "floods", *where).exit_code == 0
    assert run("watch", "list", *where).exit_code == 1


def test_a_big_file_committed_in_parts_keeps_the_stamps_of_its_unchanged_records(tmp_path):
    """A file of many records is committed a part at a time (its old articles deleted with the
    first part): the records of later parts still keep their stamps when unchanged."""
    from searchlib.indexing.update import update_index
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"id": f"r{n}", "title": f"Flood record {n}", "body": f"Flood number {n} here."} for n in range(12)]
    big = corpus / "big.jsonl"
    big.write_text("".join(json.dumps(r) + "\n" for r in records))
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    idx.watches.add("floods", "flood")
    records[9]["body"] = "Flood number 9, corrected."
    big.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = update_index(idx.path, [corpus], base=tmp_path, jobs=1, batch_articles=2, segment_postings=40)
    assert report.commits > 2  # committed in parts
    assert keys(run_one(idx)) == ["r9"]


def test_a_watch_finds_articles_in_other_languages_as_a_search_does(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    put(corpus, "en", "Street works", "The streets are closed.")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    idx.watches.add("streets", "Straßen")
    (corpus / "de.jsonl").write_text(json.dumps({"id": "de", "lang": "de", "title": "Die Straße",
                                                 "body": "Die Straße ist gesperrt."}) + "\n")
    idx.update([corpus], jobs=1)
    assert [h.id for h in idx.search("Straßen")] == [f"{corpus.name}/de.jsonl#de"]
    assert keys(run_one(idx, "streets")) == ["de"]


def test_copies_of_one_story_arriving_together_are_one_item(tmp_path):
    """Issue 21: a watch's new articles are collapsed by story where copies are detected."""
    import searchlib
    from .conftest import write_records
    body = ("The central bank raised its main interest rate by half a point on Wednesday, the largest "
            "increase in two decades, and said more rises would follow as inflation stayed high. ")
    records = {"wire": {"title": "Bank raises rates", "body": body * 2, "source": "Wire",
                        "date": "2022-05-04T10:00:00Z"},
               "paper": {"title": "Rates up again", "body": body * 2 + "Reporting by our staff.",
                         "source": "Paper", "date": "2022-05-04T12:00:00Z"},
               "other": {"title": "Bank holds rates", "body": "The bank kept its interest rate unchanged "
                         "in March, saying inflation was easing.", "source": "Wire", "date": "2022-03-01"}}
    write_records(tmp_path / "corpus", records)
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([tmp_path / "corpus"], jobs=1)
        arrivals = idx.arrivals("interest rate", after=0)
        assert [a.hit.id.rsplit("#", 1)[-1] for a in arrivals] == ["paper", "other"]
        assert (arrivals.items[0].hit.copies, arrivals.items[0].hit.outlets) == (2, ["Wire"])
        assert len(idx.arrivals("interest rate", after=0, all_copies=True)) == 3
