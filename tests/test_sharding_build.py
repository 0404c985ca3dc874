"""Building a sharded index (searchlib.sharding.building): each article once, in the shard its id
routes to; incremental runs; a run killed between two shards' commits; folders refused untouched.
Shards are looked at as the ordinary indexes they are (searchlib.Index(shard, create=False))."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import searchlib
from searchlib.errors import ArgumentError, NotAnIndexError, PathNotFoundError
from searchlib.sharding.layout import shard_of, shard_paths

from .conftest import write_file, write_records
from .test_stories import BODY, PARAS

SHARDS = 3


def corpus_records(prefix: str, count: int) -> dict:
    return {f"{prefix}{i}": {"title": f"{prefix} item {i}", "body": f"Story {i} of desk {prefix} about rivers {i * 7}.",
                             "date": f"2023-0{1 + i % 9}-1{i % 10}T10:00:00Z", "source": prefix}
            for i in range(count)}


def make_corpus(folder: Path) -> dict[str, dict]:
    """Three JSON Lines files and two text files; id -> record (ids as searchlib gives them,
    relative to `folder`, which holds the index too)."""
    made = {}
    for name, count in (("north", 12), ("south", 9), ("east", 7)):
        records = corpus_records(name, count)
        write_records(folder / "corpus" / name, records)
        made.update({f"corpus/{name}/fixture.jsonl#{key}": rec for key, rec in records.items()})
    for name in ("one", "two"):
        write_file(folder / "corpus" / "notes" / f"{name}.txt", f"Note {name}\n\nA short note called {name} on a river.")
        made[f"corpus/notes/{name}.txt"] = {}
    return made


def contents(index: Path, expected, count: int = SHARDS) -> dict[str, int]:
    """Article id -> the shard holding it, for the `expected` ids, by opening each shard as an
    ordinary index; the shards must hold nothing else (their sizes add up to the ids found) and
    no id twice."""
    found: dict[str, int] = {}
    total = 0
    for number, shard in enumerate(shard_paths(index, count)):
        with searchlib.Index(shard, create=False) as idx:
            total += len(idx)
            for article_id in expected:
                if idx.get(article_id) is not None:
                    assert article_id not in found, f"{article_id} in shards {found[article_id]} and {number}"
                    found[article_id] = number
    assert total == len(found)
    return found


def generations(index: Path, count: int = SHARDS) -> list[int]:
    out = []
    for shard in shard_paths(index, count):
        with searchlib.Index(shard, create=False) as idx:
            out.append(idx.generation())
    return out


@pytest.fixture
def built(tmp_path):
    records = make_corpus(tmp_path)
    report = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], shards=SHARDS, jobs=1)
    return tmp_path, records, report


def test_every_article_once_in_the_shard_its_id_routes_to(built):
    folder, records, report = built
    assert report.ok and report.added == 5 and report.articles == len(records) == 30
    found = contents(folder / "index", records)
    assert found == {article_id: shard_of(article_id, SHARDS) for article_id in records}
    assert len(set(found.values())) == SHARDS  # (the fixture does reach every shard)
    meta = json.loads((folder / "index" / "searchlib.json").read_text())
    assert meta["shards"] == {"count": SHARDS, "routing": "blake2b-8/id"}
    assert sorted(os.listdir(folder / "index")) == ["readers.gate", "readers.lock", "searchlib.json",
                                                   "searchlib.lock", "shard-000", "shard-001", "shard-002"]


@pytest.mark.parametrize("batch", [None, 4])
def test_worker_processes_give_the_same_shards(tmp_path, batch):
    records = make_corpus(tmp_path)
    for i in range(20):  # enough files for the worker processes (PARALLEL_FROM)
        write_file(tmp_path / "corpus" / "many" / f"n{i:02d}.txt", f"Many {i}\n\nNote number {i} on the weather.")
        records[f"corpus/many/n{i:02d}.txt"] = {}
    report = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], shards=SHARDS, jobs=2,
                                                        batch_articles=batch)  # 4: files in parts
    assert report.ok and report.articles == len(records) == 50 and report.added == 25
    assert contents(tmp_path / "index", records) == {i: shard_of(i, SHARDS) for i in records}


def test_reindex_with_nothing_changed_writes_nothing(built):
    folder, records, _ = built
    before = generations(folder / "index")
    report = searchlib.Index(folder / "index").update([folder / "corpus"])
    assert (report.unchanged, report.added, report.updated, report.articles, report.commits) == (5, 0, 0, 0, 0)
    assert generations(folder / "index") == before
    os.utime(folder / "corpus" / "notes" / "one.txt")  # touched, not changed: nothing written either
    report = searchlib.Index(folder / "index").update([folder / "corpus"], shards=SHARDS)
    assert (report.unchanged, report.articles, report.commits) == (5, 0, 0)
    assert generations(folder / "index") == before


def test_changed_and_deleted_files(built):
    folder, records, _ = built
    north = corpus_records("north", 12)
    del north["north3"]
    north["north0"]["body"] = "A corrected story about the harbour."
    north["north99"] = {"title": "north new", "body": "A new story about the harbour wall."}
    write_records(folder / "corpus" / "north", north)
    (folder / "corpus" / "notes" / "two.txt").unlink()
    report = searchlib.Index(folder / "index").update([folder / "corpus"])
    assert (report.updated, report.deleted, report.unchanged, report.added) == (1, 1, 3, 0)
    assert report.articles == 12
    expected = {i for i in records if "north3" not in i and not i.endswith("two.txt")}
    expected.add("corpus/north/fixture.jsonl#north99")
    found = contents(folder / "index", expected)
    assert found == {i: shard_of(i, SHARDS) for i in expected}
    changed = "corpus/north/fixture.jsonl#north0"
    with searchlib.Index(shard_paths(folder / "index", SHARDS)[shard_of(changed, SHARDS)], create=False) as shard:
        assert shard.get(changed).body == "A corrected story about the harbour."


def test_a_file_whose_articles_leave_a_shard(tmp_path):
    # a file's new version has no article in a shard that held one: that shard drops it
    ids = {key: shard_of(f"corpus/f/fixture.jsonl#{key}", 2) for key in (f"k{i}" for i in range(10))}
    keep = [k for k, s in ids.items() if s == 0][:2]
    write_records(tmp_path / "corpus" / "f", {k: {"title": k, "body": f"text {k}"} for k in ids})
    searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], shards=2, jobs=1)
    write_records(tmp_path / "corpus" / "f", {k: {"title": k, "body": f"text {k}"} for k in keep})
    report = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], jobs=1)
    assert report.updated == 1 and report.removed == 10 and report.articles == 2
    assert contents(tmp_path / "index", [f"corpus/f/fixture.jsonl#{k}" for k in ids], 2) == {
        f"corpus/f/fixture.jsonl#{k}": 0 for k in keep}
    again = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], jobs=1)
    assert (again.unchanged, again.commits) == (1, 0)


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from searchlib.sharding import building
    from searchlib.sharding.execution import LocalExecutor, Outcome

    class KilledAfterOneShard(LocalExecutor):
        def map(self, function, tasks, *, timeout=None):
            if function is not building.write_shard:
                return super().map(function, tasks, timeout=timeout)
            out = [Outcome(function(*tasks[0]))]   # one shard commits ...
            os.kill(os.getpid(), signal.SIGKILL)   # ... and the run dies before the next

    index, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    building.update_sharded(index, [corpus], int(sys.argv[3]), base=index.resolve().parent, jobs=1,
                            executor=KilledAfterOneShard())
""")


def test_a_run_killed_between_two_shards_commits_is_completed_by_the_next(built, tmp_path):
    folder, records, _ = built
    north = corpus_records("north", 12)
    for rec in north.values():
        rec["body"] += " Updated."
    write_records(folder / "corpus" / "north", north)
    write_file(folder / "corpus" / "notes" / "three.txt", "Note three\n\nA third note on a river.")
    before = generations(folder / "index")
    done = subprocess.run([sys.executable, "-c", KILLER, str(folder / "index"), str(folder / "corpus"), str(SHARDS)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    after_kill = generations(folder / "index")
    committed = [i for i in range(SHARDS) if after_kill[i] != before[i]]
    assert len(committed) == 1  # exactly one shard took the run in
    report = searchlib.Index(folder / "index").update([folder / "corpus"], jobs=1)
    assert report.ok and report.updated == 1 and report.added == 1
    expected = {**records, "corpus/notes/three.txt": {}}
    found = contents(folder / "index", expected)
    assert found == {i: shard_of(i, SHARDS) for i in expected}
    # the shard that had committed was not written again; the others were
    final = generations(folder / "index")
    assert final[committed[0]] == after_kill[committed[0]]
    assert all(final[i] > after_kill[i] for i in range(SHARDS) if i not in committed
               and any(shard_of(a, SHARDS) == i for a in expected if "north" in a or "three" in a))
    written_again = sum(1 for a in expected if ("north" in a or "three" in a) and found[a] not in committed)
    assert report.articles == written_again
    for article_id in (a for a in expected if "north" in a):
        with searchlib.Index(shard_paths(folder / "index", SHARDS)[found[article_id]], create=False) as shard:
            assert shard.get(article_id).body.endswith("Updated.")
    last = searchlib.Index(folder / "index").update([folder / "corpus"])
    assert (last.articles, last.commits, last.unchanged) == (0, 0, 6)


def test_a_typo_leaves_nothing_behind(tmp_path, run):
    make_corpus(tmp_path)
    with pytest.raises(PathNotFoundError):
        searchlib.Index(tmp_path / "index").update([tmp_path / "corpsu"], shards=2)
    assert not (tmp_path / "index").exists()
    result = run("index", "--shards", "2", "--index", "idx", "corpsu")
    assert result.exit_code == 2 and "corpsu: no such file or folder" in result.stderr
    assert not (tmp_path / "idx").exists()
    (tmp_path / "empty").mkdir()
    result = run("index", "--rebuild", "--shards", "2", "--index", "empty", "corpsu")
    assert result.exit_code == 2 and os.listdir(tmp_path / "empty") == []


@pytest.mark.parametrize("value", ["0", "300", "x", "-1", "2.5", ""])
def test_bad_shard_counts_are_one_line_errors(tmp_path, run, value):
    make_corpus(tmp_path)
    result = run("index", "--shards", value, "--index", "idx", "corpus")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"search: error: bad argument shards={value!r}"
                                    if not value.isdigit() else f"search: error: bad argument shards={value}")
    assert "from 1 to 256" in result.stderr and not (tmp_path / "idx").exists()
    with pytest.raises(ArgumentError):
        searchlib.Index(tmp_path / "lib").update([tmp_path / "corpus"], shards=True)
    assert not (tmp_path / "lib").exists()


def test_another_count_without_rebuild_is_refused(built, run):
    folder, records, _ = built
    result = run("index", "--shards", "2", "--index", "index", "corpus")
    assert result.exit_code == 2
    assert "has 3 shards; to change that: search index --rebuild --shards 2 --index index" in result.stderr
    plain = run("index", "--index", "plain", "corpus")
    assert plain.exit_code == 0
    result = run("index", "--shards", "2", "--index", "plain", "corpus")
    assert result.exit_code == 2 and "is not sharded; to change that: search index --rebuild --shards 2" in result.stderr


def test_rebuild_replaces_a_sharded_index(built, run):
    folder, records, _ = built
    (folder / "index" / ".gitignore").write_text("*\n")
    result = run("index", "--rebuild", "--shards", "2", "--index", "index", "corpus")
    assert result.exit_code == 0, result.stderr
    assert contents(folder / "index", records, 2) == {i: shard_of(i, 2) for i in records}
    assert not (folder / "index" / "shard-002").exists()
    assert (folder / "index" / ".gitignore").read_text() == "*\n"
    assert sorted(p.name for p in folder.iterdir()) == ["corpus", "index"]  # no .index.rebuild / .old
    result = run("index", "--rebuild", "--index", "index", "corpus")  # keeps its 2 shards
    assert result.exit_code == 0 and json.loads((folder / "index" / "searchlib.json").read_text())["shards"]["count"] == 2
    result = run("index", "--rebuild", "--shards", "1", "--index", "index", "corpus")
    assert result.exit_code == 0 and contents(folder / "index", records, 1) == {i: 0 for i in records}


def test_a_users_file_in_a_shard_makes_the_rebuild_refuse(built, run):
    folder, records, _ = built
    user = folder / "index" / "shard-001" / "my notes.txt"
    user.write_text("mine")
    result = run("index", "--rebuild", "--index", "index", "corpus")
    assert result.exit_code == 2
    assert "shard-001/ is not (only) a searchlib index shard" in result.stderr
    assert "'my notes.txt'" in result.stderr
    assert user.read_text() == "mine" and contents(folder / "index", records) == {i: shard_of(i, SHARDS) for i in records}
    with pytest.raises(NotAnIndexError):
        searchlib.create(folder / "index", replace=True)
    assert user.read_text() == "mine"
    # updating such an index still works (a stray file beside a whole index is left alone)
    assert run("index", "--index", "index", "corpus").exit_code == 0
    # a folder of the user's own where a shard would be, or a shard holding shards: foreign too
    user.unlink()
    (folder / "index" / "shard-007").mkdir()
    assert run("index", "--rebuild", "--index", "index", "corpus").exit_code == 2
    assert (folder / "index" / "shard-007").is_dir()


def test_a_folder_that_is_not_an_index_is_refused_untouched(tmp_path, run):
    make_corpus(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "letter.txt").write_text("dear")
    for args in (["index", "--shards", "2"], ["index", "--rebuild", "--shards", "2"]):
        result = run(*args, "--index", "mine", "corpus")
        assert result.exit_code == 2 and "not a searchlib index" in result.stderr
        assert os.listdir(tmp_path / "mine") == ["letter.txt"]
    with pytest.raises(NotAnIndexError):
        searchlib.create(tmp_path / "mine", shards=2)
    assert os.listdir(tmp_path / "mine") == ["letter.txt"]


def test_create_makes_an_empty_sharded_index_that_update_fills(tmp_path):
    records = make_corpus(tmp_path)
    idx = searchlib.create(tmp_path / "index", shards=2)
    idx.close()
    assert sorted(p.name for p in (tmp_path / "index").iterdir() if p.is_dir()) == ["shard-000", "shard-001"]
    report = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], jobs=1)
    assert report.articles == len(records)
    assert contents(tmp_path / "index", records, 2) == {i: shard_of(i, 2) for i in records}


def test_copies_link_across_shards(tmp_path):
    # two copies of one story whose ids go to different shards join one story
    keys = [f"copy{i}" for i in range(40)]
    first = keys[0]
    other = next(k for k in keys if shard_of(f"corpus/c/fixture.jsonl#{k}", 2)
                 != shard_of(f"corpus/c/fixture.jsonl#{first}", 2))
    write_records(tmp_path / "corpus" / "a", {first: {"title": "Floods", "body": BODY, "date": "2024-01-09T08:00:00Z"}})
    # (file a's article id is corpus/a/...; route by the real ids)
    ida, idb = f"corpus/a/fixture.jsonl#{first}", None
    for k in keys:
        if shard_of(f"corpus/b/fixture.jsonl#{k}", 2) != shard_of(ida, 2):
            idb = f"corpus/b/fixture.jsonl#{k}"
            write_records(tmp_path / "corpus" / "b", {k: {"title": "Marlow floods", "body": BODY.replace(
                "residents", "people", 1), "date": "2024-01-09T10:00:00Z", "source": "Courier"}})
            break
    other_story = {"x": {"title": "Other", "body": "\n\n".join(reversed(PARAS)) + " Entirely different words "
                         "follow here about a cricket match at the county ground.", "date": "2024-03-01"}}
    write_records(tmp_path / "corpus" / "c", other_story)
    searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], shards=2, jobs=1)
    shards = shard_paths(tmp_path / "index", 2)
    with searchlib.Index(shards[shard_of(ida, 2)], create=False) as one, \
            searchlib.Index(shards[shard_of(idb, 2)], create=False) as two:
        assert one.copies(ida).id == two.copies(idb).id
    # and a copy indexed in a later run, into the other shard, finds the story too
    later = next(f"corpus/d/fixture.jsonl#{k}" for k in keys
                 if shard_of(f"corpus/d/fixture.jsonl#{k}", 2) != shard_of(ida, 2))
    write_records(tmp_path / "corpus" / "d", {later.rsplit("#", 1)[1]: {"title": "Marlow", "body": BODY,
                                                                       "date": "2024-01-10T10:00:00Z"}})
    searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], jobs=1)
    with searchlib.Index(shards[shard_of(ida, 2)], create=False) as one, \
            searchlib.Index(shards[shard_of(later, 2)], create=False) as two:
        assert two.copies(later).id == one.copies(ida).id


def test_a_missing_shard_is_an_error_that_says_to_rebuild(built, run):
    folder, records, _ = built
    import shutil
    shutil.rmtree(folder / "index" / "shard-001")
    result = run("index", "--index", "index", "corpus")
    assert result.exit_code == 2
    assert result.stderr == ("search: error: cannot use the index at index/: its shard shard-001/ is missing or "
                             "is not a searchlib index — rebuild it with: search index --rebuild --index index\n")
    assert not (folder / "index" / "shard-001").exists()
    result = run("index", "--rebuild", "--index", "index", "corpus")
    assert result.exit_code == 0, result.stderr
    assert contents(folder / "index", records) == {i: shard_of(i, SHARDS) for i in records}


def test_a_rebuild_keeps_the_entered_stamps_of_unchanged_articles(tmp_path):
    records = make_corpus(tmp_path)
    with searchlib.Index(tmp_path / "plain") as plain:
        plain.update([tmp_path / "corpus"], jobs=1)
        head = plain.head()
    searchlib.Index(tmp_path / "plain").update([tmp_path / "corpus"], rebuild=True, shards=2, jobs=1)  # unsharded -> 2
    heads = []
    for shard in shard_paths(tmp_path / "plain", 2):
        with searchlib.Index(shard, create=False) as idx:
            heads.append(idx.head())
    assert max(heads) == head
    write_file(tmp_path / "corpus" / "notes" / "one.txt", "Note one\n\nA changed note on a river.")
    searchlib.Index(tmp_path / "plain").update([tmp_path / "corpus"], rebuild=True, jobs=1)  # 2 -> 2
    changed = "corpus/notes/one.txt"
    after = []
    for number, shard in enumerate(shard_paths(tmp_path / "plain", 2)):
        with searchlib.Index(shard, create=False) as idx:
            after.append(idx.head())
            if number != shard_of(changed, 2):
                assert idx.head() == heads[number]  # nothing changed there: the same stamps
    assert after[shard_of(changed, 2)] > head
    assert contents(tmp_path / "plain", records, 2) == {i: shard_of(i, 2) for i in records}
    # 2 -> 3 shards: every article's stamp is looked up in all the old shards
    searchlib.Index(tmp_path / "plain").update([tmp_path / "corpus"], rebuild=True, shards=3, jobs=1)
    heads3 = []
    for shard in shard_paths(tmp_path / "plain", 3):
        with searchlib.Index(shard, create=False) as idx:
            heads3.append(idx.head())
    assert max(heads3) == max(after)  # no article got a new stamp


def test_a_killed_rebuilds_sharded_leftover_is_removed_and_a_users_is_not(built, run):
    folder, records, _ = built
    leftover = folder / ".index.rebuild"
    searchlib.create(leftover, shards=2).close()
    searchlib.Index(leftover).update([folder / "corpus" / "north"], jobs=1)  # half built, as a killed run leaves it
    assert run("index", "--rebuild", "--index", "index", "corpus").exit_code == 0
    assert not leftover.exists() and contents(folder / "index", records) == {i: shard_of(i, SHARDS) for i in records}
    searchlib.create(leftover, shards=2).close()
    (leftover / "shard-000" / "keep.txt").write_text("mine")
    result = run("index", "--rebuild", "--index", "index", "corpus")
    assert result.exit_code == 2 and "is in the way of the rebuild and is not searchlib's" in result.stderr
    assert (leftover / "shard-000" / "keep.txt").read_text() == "mine"


class PicklingExecutor:
    """Runs each task as a cluster would: the function and its arguments, and what it returns,
    through pickle (so nothing but plain data may cross), here in this process."""

    def __init__(self):
        self.calls: list[str] = []

    def map(self, function, tasks, *, timeout=None):
        import pickle
        from searchlib.sharding.execution import Outcome
        self.calls.append(function.__name__)
        out = []
        for task in tasks:
            sent_function, sent_task = pickle.loads(pickle.dumps((function, tuple(task))))
            out.append(Outcome(pickle.loads(pickle.dumps(sent_function(*sent_task)))))
        return out


def test_an_executor_that_is_not_local_gets_plain_data_and_the_same_shards(tmp_path):
    from searchlib.sharding.building import update_sharded
    records = make_corpus(tmp_path)
    searchlib.create(tmp_path / "index", shards=SHARDS).close()
    executor = PicklingExecutor()
    report = update_sharded(tmp_path / "index", [tmp_path / "corpus"], SHARDS, base=tmp_path, executor=executor)
    assert report.ok and report.added == 5 and report.articles == len(records)
    assert executor.calls == ["read_shard", "parse_batch", "write_shard"]
    assert contents(tmp_path / "index", records) == {i: shard_of(i, SHARDS) for i in records}
    (tmp_path / "corpus" / "notes" / "one.txt").unlink()
    report = update_sharded(tmp_path / "index", [tmp_path / "corpus"], SHARDS, base=tmp_path, executor=executor)
    assert (report.deleted, report.removed, report.unchanged) == (1, 1, 4)
    assert executor.calls[3:] == ["read_shard", "write_shard"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_shard_locked_by_another_writer_is_exit_75_and_the_next_run_completes(built, run, jobs):
    from searchlib.indexing.update import RunLock
    folder, records, _ = built
    north = corpus_records("north", 12)
    for rec in north.values():
        rec["body"] += " Again."
    write_records(folder / "corpus" / "north", north)
    before = generations(folder / "index")
    with RunLock(folder / "index" / "shard-001", 0):  # (in worker processes with --jobs 2: pickled back)
        result = run("index", "--jobs", jobs, "--index", "index", "corpus")
    assert result.exit_code == 75
    assert "another reindex is running on" in result.stderr and "shard-001" in result.stderr
    committed = [i for i, (a, b) in enumerate(zip(before, generations(folder / "index"))) if a != b]
    assert 0 in committed and 1 not in committed  # (shard 2: written or not, by the order tasks ran)
    result = run("index", "--json", "--jobs", jobs, "--index", "index", "corpus")
    assert result.exit_code == 0
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["updated"] == 1 and summary["articles"] == sum(
        1 for i in records if "north" in i and shard_of(i, SHARDS) not in committed)
    found = contents(folder / "index", records)
    for article_id in (i for i in records if "north" in i):
        with searchlib.Index(shard_paths(folder / "index", SHARDS)[found[article_id]], create=False) as shard:
            assert shard.get(article_id).body.endswith("Again.")


KILL_AFTER_PARTS = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from searchlib.sharding import building
    from searchlib.sharding.execution import LocalExecutor

    class KilledAfterRounds(LocalExecutor):
        rounds = 0
        def map(self, function, tasks, *, timeout=None):
            out = super().map(function, tasks, timeout=timeout)
            if function is building.write_shard:
                KilledAfterRounds.rounds += 1
                if KilledAfterRounds.rounds == int(sys.argv[4]):  # every shard committed that many parts
                    os.kill(os.getpid(), signal.SIGKILL)
            return out

    index, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    building.update_sharded(index, [corpus], int(sys.argv[3]), base=index.resolve().parent, jobs=1,
                            batch_articles=4, executor=KilledAfterRounds())
""")


def test_a_file_of_many_articles_is_written_in_parts(tmp_path):
    records = make_corpus(tmp_path)
    report = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], shards=SHARDS, jobs=1,
                                                        batch_articles=4)
    assert report.ok and (report.added, report.articles) == (5, len(records))
    assert report.commits > 8  # (north alone: 12 articles in 3 parts, each a commit per shard it reaches)
    assert contents(tmp_path / "index", records) == {i: shard_of(i, SHARDS) for i in records}
    again = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], batch_articles=4)
    assert (again.unchanged, again.articles, again.commits) == (5, 0, 0)
    north = corpus_records("north", 12)
    del north["north5"]
    write_records(tmp_path / "corpus" / "north", north)  # 11 articles: parts of 4, 4 and 3
    report = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], batch_articles=4)
    assert (report.updated, report.articles, report.removed) == (1, 11, 12)
    expected = {i: r for i, r in records.items() if not i.endswith("#north5")}
    assert contents(tmp_path / "index", records) == {i: shard_of(i, SHARDS) for i in expected}


def test_a_run_killed_between_two_parts_of_a_file_is_completed_by_the_next(tmp_path):
    records = {f"corpus/big/fixture.jsonl#{k}": r for k, r in corpus_records("big", 10).items()}
    write_records(tmp_path / "corpus" / "big", corpus_records("big", 10))
    searchlib.create(tmp_path / "index", shards=2).close()
    done = subprocess.run([sys.executable, "-c", KILL_AFTER_PARTS, str(tmp_path / "index"),
                           str(tmp_path / "corpus"), "2", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    found = contents(tmp_path / "index", records, 2)
    assert len(found) == 4  # the first part is in; the file is recorded nowhere yet
    report = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], jobs=1, batch_articles=4)
    assert report.ok and report.added == 1 and report.articles == 10 and report.removed == 4
    assert contents(tmp_path / "index", records, 2) == {i: shard_of(i, 2) for i in records}
    again = searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"], batch_articles=4)
    assert (again.unchanged, again.articles, again.commits) == (1, 0, 0)


def test_one_run_at_a_time_on_the_whole_sharded_index(built, run):
    from searchlib.indexing.update import RunLock
    folder, records, _ = built
    assert searchlib.exists(folder / "index")
    with RunLock(folder / "index", 0):
        result = run("index", "--index", "index", "corpus")
    assert result.exit_code == 75 and "another reindex is running on index/" in result.stderr


def test_a_run_that_only_deletes_with_the_progress_bar(built, run):
    folder, records, _ = built
    (folder / "corpus" / "notes" / "one.txt").unlink()
    result = run("index", "--json", "--index", "index", "corpus")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["deleted"], summary["removed"], summary["unchanged"]) == (1, 1, 4)
    expected = {i for i in records if not i.endswith("one.txt")}
    assert contents(folder / "index", records) == {i: shard_of(i, SHARDS) for i in expected}


def test_a_shards_entry_this_code_cannot_read_is_refused_untouched(built, run):
    folder, records, _ = built
    meta_path = folder / "index" / "searchlib.json"
    meta = json.loads(meta_path.read_text())
    meta["shards"]["count"] = 0
    meta_path.write_text(json.dumps(meta))
    for args in (["index"], ["index", "--rebuild"]):
        result = run(*args, "--index", "index", "corpus")
        assert result.exit_code == 2
        assert "index/searchlib.json is not one searchlib reads: its 'shards' entry is not a shard count" in result.stderr
    assert sorted(p.name for p in (folder / "index").iterdir() if p.is_dir()) == ["shard-000", "shard-001", "shard-002"]
    assert contents(folder / "index", records) == {i: shard_of(i, SHARDS) for i in records}
