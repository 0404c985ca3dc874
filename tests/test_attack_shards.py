"""Attacks on sharded indexes (issue 19) as a new user and as an attacker would make them: typo'd
paths, folders that are not indexes, symlinks, shards deleted or corrupted by hand, a second
process indexing at once, kill -9 mid-run, searching while a rebuild runs, and sharded search
against unsharded on queries the helpers' own tests do not have. What holds is a plain test;
what breaks is a strict xfail naming the break, for the lead to fix and flip.

Every index is built by the real `search index --shards N` path (CLI or Index.update)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import searchlib
from searchlib.sharding.layout import shard_paths

from .conftest import write_file
from .test_sharding_search import ARTICLES

# More articles than the sharding helpers' fixture: CJK, mixed scripts, capitals, questions.
EXTRA = [
    ("Asia Desk", "2022-09-04T03:00:00Z", "zh", "香港特首梁振英宣布新政策",
     "香港特首梁振英今天宣布新的房屋政策。東京和北京的官員對此表示關注。"),
    ("Asia Desk", "2022-09-09T03:00:00Z", "ja", "東京で大雨、川が氾濫",
     "東京で大雨が降り、川が氾濫した。トランプ氏も声明を出した。"),
    ("Asia Desk", "2022-10-03T03:00:00Z", "ko", "서울 홍수 경보",
     "서울에 홍수 경보가 내려졌다. 강물이 불어났다."),
    ("Wire Service", "2022-10-06T03:00:00Z", "en", "WHO guidance on masks in flood shelters",
     "The WHO issued guidance on masks in flood shelters along the river."),
    ("Wire Service", "2022-10-08T03:00:00Z", "en", "Tokyo 東京 floods: river 川 rises",
     "Mixed copy: the Tokyo river 川 rose; 東京 officials met the harbour master."),
]


def write_corpus(root: Path) -> Path:
    folder = root / "corpus"
    for n, (source, date, lang, title, body) in enumerate(ARTICLES + EXTRA):
        record = {"id": f"a{n:02d}", "title": title, "body": body, "source": source, "lang": lang}
        if date:
            record["date"] = date
        write_file(folder / f"a{n:02d}.json", json.dumps(record, ensure_ascii=False))
    return folder


def cli(*args, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`search ARGS` as its own process (the console script's code path), in `cwd`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "searchlib.cli", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout)


class Outcome:
    """What a `search` run gave: returncode, stdout, stderr (a traceback in stderr where the
    command raised something other than a clean exit, as the console script would print it)."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def invoke(root: Path, *args, env: dict | None = None) -> Outcome:
    """`search ARGS` in this process (click's CliRunner, cwd `root`), none of searchlib's
    environment variables set but those in `env`."""
    import traceback

    from click.testing import CliRunner

    from searchlib.cli import cli as command
    full = {k: None for k in os.environ if k.startswith("SEARCHLIB_")}
    full.update(env or {})
    args = list(args)
    for i, arg in enumerate(args[:-1]):  # absolute: see test_a_relative_index_path_after_chdir_*
        if arg == "--index":
            args[i + 1] = str(root / args[i + 1])
    here = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(command, [str(a) for a in args], env=full, catch_exceptions=True)
    finally:
        os.chdir(here)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(result.exception))
        return Outcome(1, result.stdout, stderr)
    return Outcome(result.exit_code, result.stdout, stderr)


def no_traceback(result) -> None:
    err = result.stderr if hasattr(result, "stderr") else ""
    assert "Traceback" not in err, err[-800:]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(root, unsharded index, 3-shard index) of the same corpus, both built by Index.update."""
    root = tmp_path_factory.mktemp("pair")
    corpus = write_corpus(root)
    with searchlib.Index(root / "plain") as idx:
        idx.update([corpus], jobs=1)
    with searchlib.Index(root / "sharded") as idx:
        idx.update([corpus], jobs=1, shards=3)
    return root


@pytest.fixture
def built(tmp_path):
    """A fresh 3-shard index at tmp_path/idx of tmp_path/corpus, built by the CLI."""
    write_corpus(tmp_path)
    result = invoke(tmp_path, "index", "--shards", "3", "--index", "idx", "-j", "1", "corpus")
    assert result.returncode == 0, result.stderr
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (not following symlinks) -> its bytes; symlinks -> their target."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path.relative_to(folder))] = ("link:" + os.readlink(path)).encode()
        elif path.is_file():
            out[str(path.relative_to(folder))] = path.read_bytes()
    return out


def count(root: Path, index: str = "idx", query: str = "river OR harbour OR 東京") -> Outcome:
    return invoke(root, "--index", index, query, "--count")


# ---------------------------------------------------------------- folders that are not indexes

def test_a_typo_in_the_index_path_is_one_line_and_exit_2(built):
    result = invoke(built, "--index", "idxx", "river")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no index at " in result.stderr and "idxx" in result.stderr
    assert not (built / "idxx").exists()


def test_a_users_folder_is_refused_untouched_by_shards_and_rebuild(built):
    user = built / "mine"
    write_file(user / "notes.txt", "my notes")
    write_file(user / "shard-000" / "thesis.txt", "chapter one")
    before = snapshot(user)
    for args in (["index", "--shards", "2"], ["index", "--rebuild", "--shards", "2"], ["index", "--rebuild"]):
        result = invoke(built, *args, "--index", "mine", "-j", "1", "corpus")
        assert result.returncode == 2, (args, result.stderr)
        no_traceback(result)
        assert "refusing" in result.stderr
    assert snapshot(user) == before


def test_a_users_shard_folder_inside_a_sharded_index_is_never_deleted_by_a_rebuild(built):
    write_file(built / "idx" / "shard-007" / "mine.txt", "keep me")
    write_file(built / "idx" / "shard-001" / "mine.txt", "keep me too")
    before = snapshot(built / "idx")
    for shards in ("2", "3", "8"):
        result = invoke(built, "index", "--rebuild", "--shards", shards, "--index", "idx", "-j", "1", "corpus")
        assert result.returncode == 2 and "refusing" in result.stderr, result.stderr
    assert snapshot(built / "idx") == before


def shard_linked_to_photos(built: Path) -> tuple[Path, Path]:
    """shard-002 of `built`'s index replaced by a symlink to a user's folder of photos (made
    here): (the photos folder, the shard's path)."""
    photos = built / "photos"
    write_file(photos / "p.jpg", b"\xff\xd8 a photo")
    shard = built / "idx" / "shard-002"
    for path in sorted(shard.iterdir()):
        path.unlink()
    shard.rmdir()
    shard.symlink_to(photos, target_is_directory=True)
    return photos, shard


def test_a_symlinked_shard_to_a_users_folder_is_refused_and_its_target_untouched(built):
    photos, shard = shard_linked_to_photos(built)
    before = snapshot(photos)
    rebuild = invoke(built, "index", "--rebuild", "--index", "idx", "-j", "1", "corpus")
    update = invoke(built, "index", "--index", "idx", "-j", "1", "corpus")
    assert rebuild.returncode == 2 and update.returncode == 2, (rebuild.stderr, update.stderr)
    no_traceback(rebuild), no_traceback(update)
    assert snapshot(photos) == before and shard.is_symlink()


def test_searching_with_a_shard_symlinked_to_a_users_folder_is_one_line(built):
    photos, shard = shard_linked_to_photos(built)
    result = count(built)
    no_traceback(result)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert os.listdir(photos) == ["p.jpg"]


def test_a_symlinked_shard_that_is_a_real_shard_still_searches(built):
    """A user who moved a shard to another disk and linked it back: searching works."""
    shard = built / "idx" / "shard-001"
    moved = built / "disk2" / "shard-001"
    moved.parent.mkdir()
    shard.rename(moved)
    shard.symlink_to(moved, target_is_directory=True)
    result = count(built)
    assert result.returncode == 0 and int(result.stdout) > 0, result.stderr


# ---------------------------------------------------------------- shards damaged by hand

def test_a_deleted_shard_says_to_rebuild_when_searching(built):
    import shutil
    shutil.rmtree(built / "idx" / "shard-001")
    for args in (["river"], ["stats"], ["show", "corpus/a00.json#a00"]):
        result = invoke(built, "--index", "idx", *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        assert "--rebuild" in result.stderr, (args, result.stderr)


def test_a_deleted_shard_says_to_rebuild_when_indexing(built):
    import shutil
    shutil.rmtree(built / "idx" / "shard-001")
    result = invoke(built, "index", "--index", "idx", "-j", "1", "corpus")
    assert result.returncode == 2 and "search index --rebuild" in result.stderr
    assert not (built / "idx" / "shard-001").exists()  # not silently recreated half-empty


def test_a_rebuild_restores_a_deleted_shard(built):
    import shutil
    shutil.rmtree(built / "idx" / "shard-001")
    result = invoke(built, "index", "--rebuild", "--index", "idx", "-j", "1", "corpus")
    assert result.returncode == 0, result.stderr
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == len(ARTICLES + EXTRA)


def test_an_emptied_shard_is_one_line_when_searching(built):
    for path in (built / "idx" / "shard-001").iterdir():
        path.unlink()
    result = count(built)
    no_traceback(result)
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def _damage(built: Path, pattern: str, how: str) -> None:
    files = sorted((built / "idx" / "shard-001").glob(pattern))
    assert files
    for path in files:
        path.write_bytes(b"garbage\n" if how == "garbage" else path.read_bytes()[:100])


@pytest.mark.parametrize("pattern, how", [("*.toc", "garbage"), ("*.trm", "truncate"), ("*.pst", "truncate")],
                         ids=["garbled toc", "truncated terms", "truncated postings"])
def test_a_damaged_shard_file_is_one_line(built, pattern, how):
    _damage(built, pattern, how)
    result = count(built)
    no_traceback(result)
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_a_shard_manifest_deleted_by_hand_reindexes_without_doubling(built):
    (built / "idx" / "shard-001" / "files.sqlite").unlink()
    result = invoke(built, "index", "--index", "idx", "-j", "1", "corpus")
    assert result.returncode == 0, result.stderr
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == len(ARTICLES + EXTRA)


@pytest.mark.parametrize("meta", ['garbage', '{"format": "searchlib-index", "schema_version": 7, '
                                              '"shards": {"count": "x"}}',
                                  '{"format": "searchlib-index", "schema_version": 7, '
                                  '"shards": {"count": 0, "routing": "blake2b-8/id"}}'])
def test_a_damaged_top_description_is_one_line(built, meta):
    (built / "idx" / "searchlib.json").write_text(meta)
    before = snapshot(built / "idx")
    for args in (["river"], ["index", "-j", "1", "corpus"], ["stats"]):
        result = invoke(built, "--index", "idx", *args)
        no_traceback(result)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (args, result.stderr)
    assert snapshot(built / "idx") == before


def test_a_shard_count_edited_upwards_says_to_rebuild(built):
    meta = json.loads((built / "idx" / "searchlib.json").read_text())
    meta["shards"]["count"] = 5
    (built / "idx" / "searchlib.json").write_text(json.dumps(meta))
    result = count(built)
    no_traceback(result)
    assert result.returncode == 2 and "--rebuild" in result.stderr, result.stderr


def test_a_shard_count_edited_downwards_is_not_silently_fewer_articles(built):
    """Shards left over past the count the description names: a search must not quietly drop
    the articles of shard-002 (an error, or all the articles)."""
    meta = json.loads((built / "idx" / "searchlib.json").read_text())
    meta["shards"]["count"] = 2
    (built / "idx" / "searchlib.json").write_text(json.dumps(meta))
    result = invoke(built, "--index", "idx", "*", "--count")
    no_traceback(result)
    assert result.returncode == 2 or int(result.stdout) == len(ARTICLES + EXTRA), result.stdout


def test_a_relative_index_path_after_chdir_is_the_new_folders_index(tmp_path, monkeypatch):
    for name, size in (("one", 3), ("two", 5)):
        write_file(tmp_path / name / "corpus" / "f.jsonl", "".join(
            json.dumps({"id": f"{name}{i}", "title": f"river {i}", "body": "river valley"}) + "\n"
            for i in range(size)))
        with searchlib.Index(tmp_path / name / "idx") as idx:
            idx.update([tmp_path / name / "corpus"], jobs=1, shards=2)
    seen = []
    for name in ("one", "two"):
        monkeypatch.chdir(tmp_path / name)
        with searchlib.Index("idx", create=False) as idx:
            seen.append((len(idx), idx.search("river").total))
    assert seen == [(3, 3), (5, 5)]


# ---------------------------------------------------------------- concurrency and crashes

HOLDER = """
import sys, time
from pathlib import Path
import searchlib
from searchlib.index import rebuild_index
marker, mode = Path(sys.argv[1]), sys.argv[2]
def progress(done, total, path):
    if not marker.exists():
        marker.write_text("holding")
        time.sleep(4.0)
if __name__ == "__main__":
    if mode == "rebuild":
        rebuild_index(Path("idx"), [Path("corpus"), Path("corpus2")], progress=progress, jobs=1, shards=2)
    else:
        searchlib.Index("idx").update([Path("corpus"), Path("corpus2")], progress=progress, jobs=1)
"""


def hold_the_lock(root: Path, mode: str) -> subprocess.Popen:
    """A process that runs `search index` (mode 'update') or `--rebuild --shards 2` (mode
    'rebuild') on root/idx and, once it holds the index, pauses 4 s in its progress callback;
    returned once it is paused."""
    (root / "holder.py").write_text(HOLDER)
    marker = root / "holding"
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "holder.py", str(marker), mode], cwd=root, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    return proc


def test_a_second_indexer_at_the_same_time_gets_exit_75(built):
    write_file(built / "corpus2" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": "river harbour " * 20}) + "\n"
        for i in range(100)))
    first = hold_the_lock(built, "update")
    try:
        second = invoke(built, "index", "--index", "idx", "-j", "1", "corpus")
        assert second.returncode == 75, second.stderr
        assert second.stderr.count("\n") == 1
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == len(ARTICLES + EXTRA) + 100


def test_kill_9_mid_run_then_rerun_each_article_once(built):
    write_file(built / "corpus2" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": f"river harbour number{i} " * 100}) + "\n"
        for i in range(1000)))
    for n in range(4):
        write_file(built / "corpus3" / f"f{n}.jsonl", "".join(
            json.dumps({"id": f"c{n}-{i}", "title": f"small {n} {i}", "body": "valley " * 50}) + "\n"
            for i in range(200)))
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--index", "idx", "-j", "1",
                             "corpus", "corpus2", "corpus3"], cwd=built, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    mid = invoke(built, "--index", "idx", "*", "--count")  # the index opens at its last commit
    no_traceback(mid)
    assert mid.returncode in (0, 1)
    again = invoke(built, "index", "--index", "idx", "-j", "1", "corpus", "corpus2", "corpus3")
    assert again.returncode == 0, again.stderr
    total = len(ARTICLES + EXTRA) + 1000 + 800
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == total
    assert int(invoke(built, "--index", "idx", "*", "--count", "--all-copies").stdout) == total
    last = invoke(built, "index", "--index", "idx", "-j", "1", "--json", "corpus", "corpus2", "corpus3")
    assert json.loads(last.stdout.splitlines()[-1])["articles"] == 0


def test_kill_9_of_a_rebuild_to_more_shards_leaves_the_old_index_searchable(built):
    write_file(built / "corpus2" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": f"river number{i} " * 100}) + "\n"
        for i in range(1000)))
    first = invoke(built, "index", "--index", "idx", "-j", "1", "corpus", "corpus2")
    assert first.returncode == 0
    total = len(ARTICLES + EXTRA) + 1000
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--rebuild", "--shards", "5",
                             "--index", "idx", "-j", "1", "corpus", "corpus2"], cwd=built, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == total
    again = invoke(built, "index", "--rebuild", "--shards", "5", "--index", "idx", "-j", "1", "corpus", "corpus2")
    assert again.returncode == 0, again.stderr
    assert json.loads((built / "idx" / "searchlib.json").read_text())["shards"]["count"] == 5
    assert sorted(p.name for p in (built / "idx").iterdir() if p.name.startswith("shard-")) == \
        [f"shard-00{i}" for i in range(5)]
    assert not any(p.name.startswith(".") and "rebuild" in p.name for p in built.rglob("*")), \
        sorted(str(p) for p in built.rglob("*rebuild*"))
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == total


def test_searching_while_a_rebuild_swaps_shard_counts_never_fails(built):
    write_file(built / "corpus2" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": f"river number{i} " * 50}) + "\n"
        for i in range(1500)))
    assert invoke(built, "index", "--index", "idx", "-j", "1", "corpus", "corpus2").returncode == 0
    total = len(ARTICLES + EXTRA) + 1500
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--rebuild", "--shards", "2",
                             "--index", "idx", "-j", "1", "corpus", "corpus2"], cwd=built, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    with searchlib.Index(built / "idx", create=False) as idx:  # one long-lived reader, as `serve` has
        while proc.poll() is None:
            seen.append(idx.search("*", limit=1).total)
            time.sleep(0.05)
        seen.append(idx.search("*", limit=1).total)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert len(seen) > 1 and set(seen) == {total}
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == total


# ---------------------------------------------------------------- sharded search equals unsharded

def _lines(root: Path, index: str, *args) -> tuple[int, list[dict], dict]:
    from click.testing import CliRunner

    from searchlib.cli import cli as command
    result = CliRunner().invoke(command, ["--index", str(root / index), *args, "--json"],
                                catch_exceptions=False)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines[:-1], lines[-1] if lines else {}


def _without_paging(args) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("--page", "--limit"):
            skip = True
        else:
            out.append(a)
    return out


def _same(root: Path, *args, names: tuple[str, str] = ("plain", "sharded")) -> None:
    code_a, hits_a, summary_a = _lines(root, names[0], *args)
    code_b, hits_b, summary_b = _lines(root, names[1], *args)
    assert code_a in (0, 1) and "total" in summary_a, (code_a, summary_a)  # an answer, not an error
    assert (code_b, summary_b) == (code_a, summary_a)
    assert len(hits_b) == len(hits_a)
    assert [round(h["score"], 6) for h in hits_b] == pytest.approx([round(h["score"], 6) for h in hits_a], abs=1e-6)
    # tied hits may come in another order: as sets per score; at a page's edge, among the ids the
    # unsharded index ranks with that score (shards break ties in another order)
    def key(h):
        return round(h["score"], 5) if "--sort" not in args else h.get("date")
    groups: dict = {}
    for a, b in zip(hits_a, hits_b):
        groups.setdefault(key(a), ([], []))
        groups[key(a)][0].append(a["id"]), groups[key(a)][1].append(b["id"])
    edge = {key(hits_a[0]), key(hits_a[-1])} if hits_a else set()
    for value, (ours, theirs) in groups.items():
        if value in edge:
            everything = _lines(root, names[0], *_without_paging(args), "--limit", "1000")[1]
            assert set(theirs) <= {h["id"] for h in everything if key(h) == value}, value
        else:
            assert sorted(theirs) == sorted(ours), value
    by_id = {h["id"]: h for h in hits_a}
    for hit in hits_b:
        if hit["id"] not in by_id:
            continue
        other = dict(by_id[hit["id"]])
        mine = dict(hit)
        for key in ("score", "rank"):
            mine.pop(key, None), other.pop(key, None)
        assert mine == other


QUERIES = [
    ("香港",), ("梁振英",), ("東京",), ("東京 river",), ('"Tokyo 東京"',), ("川",), ("홍수",), ("トランプ氏",),
    ("WHO guidance on masks",), ("what did the council decide?",), ("RIVER OR HARBOUR",),
    ("*",), ("*", "--sort", "newest"), ("*", "--sort", "oldest", "--page", "3", "--limit", "7"),
    ("date:[2022-09-05 TO 2022-10-05]",), ("date:{2022-09-05 TO 2022-10-05}",), ("date:<2022-09-07",),
    ("river", "--since", "2022-09-10", "--until", "2022-10-01"),
    ("river OR harbour", "--facet", "source", "--facet", "month", "--sort", "newest"),
    ("river OR harbour", "--facet", "lang", "--facet", "year", "--page", "2", "--limit", "5"),
    ("river OR harbour OR 東京", "--limit", "4", "--page", "9"),
    ("river OR harbour", "--limit", "3", "--page", "50"),
    ("harbour budget", "--all-copies"), ("harbour budget",), ("council", "--all-copies", "--sort", "newest"),
    ("river", "--fresh"), ("flod",), ("hochwasser OR inondation", "--lang", "de,fr"),
    ("title:東京",), ("source:\"asia desk\"",), ("lang:ja",), ("artill* OR 香*",),
    ("東京 OR 서울", "--lang", "ja,ko"), ("similar", "corpus/a00.json#a00"), ("similar", "corpus/a41.json#a41"),
    ("similar", "corpus/a44.json#a44", "--limit", "3"),
]


@pytest.mark.parametrize("args", QUERIES, ids=[" ".join(q) for q in QUERIES])
def test_sharded_search_equals_unsharded(pair, args):
    _same(pair, *args)


def test_every_page_of_a_deep_listing_together_is_every_match_once(pair):
    seen = []
    for page in range(1, 30):
        code, hits, summary = _lines(pair, "sharded", "*", "--sort", "newest", "--limit", "3",
                                     "--page", str(page), "--all-copies")
        seen += [h["id"] for h in hits]
        if not hits:
            break
    assert len(seen) == len(set(seen)) == len(ARTICLES + EXTRA)


# ---------------------------------------------------------------- the progress line

def _progress_run(tmp_path: Path, *shards: str) -> tuple[int, str, str]:
    """A build of over 1 MiB with stderr a terminal (a pty) and stdout a pipe: (exit code,
    stdout, what the terminal got)."""
    import pty
    write_file(tmp_path / "corpus" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "date": "2022-01-01",
                    "body": f"river harbour number{i} " * 120}) + "\n" for i in range(500)))
    assert (tmp_path / "corpus" / "big.jsonl").stat().st_size > 1 << 20
    main, secondary = pty.openpty()
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", *shards, "--index", "idx",
                             "-j", "1", "corpus"], cwd=tmp_path, env=full, stdout=subprocess.PIPE,
                            stderr=secondary, text=True)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out, _ = proc.communicate(timeout=120)
    os.close(main)
    return proc.returncode, out, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("shards", [(), ("--shards", "2")], ids=["unsharded", "sharded"])
def test_progress_is_on_the_terminal_stderr_only_never_stdout(tmp_path, shards):
    code, out, terminal = _progress_run(tmp_path, *shards)
    assert code == 0
    assert out.count("\n") == 1 and "\r" not in out and out.startswith("idx/: 1 added"), out
    assert terminal.startswith("\rIndexing") and "100%" in terminal, terminal


def test_a_sharded_builds_progress_line_is_one_line_with_the_articles(tmp_path):
    code, out, terminal = _progress_run(tmp_path, "--shards", "2")
    assert code == 0
    assert terminal.count("\n") == 1 and "500 articles" in terminal, terminal


def test_no_progress_line_when_stderr_is_not_a_terminal(tmp_path):
    write_file(tmp_path / "corpus" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": f"river harbour number{i} " * 120}) + "\n"
        for i in range(500)))
    result = invoke(tmp_path, "index", "--shards", "2", "--index", "idx", "-j", "1", "corpus")
    assert result.returncode == 0
    assert "\r" not in result.stderr and "\r" not in result.stdout
    assert result.stdout.count("\n") == 1


# ---------------------------------------------------------------- months of cron on a sharded index

def _cron_file(folder: Path, run: int, size: int = 15) -> None:
    write_file(folder / f"day{run:03d}.jsonl", "".join(
        json.dumps({"id": f"d{run}-{i}", "title": f"day {run} item {i}", "date": f"2023-{1 + run % 12:02d}-1{i % 10}",
                    "body": f"river harbour report {run} {i} word{run * 31 + i} valley"}) + "\n"
        for i in range(size)))


def test_months_of_cron_on_shards_search_as_a_rebuild(tmp_path):
    """40 tiny runs (one new file each) into 3 shards, merges and all: the same answers as one
    unsharded build of the same files."""
    corpus = tmp_path / "corpus"
    with searchlib.Index(tmp_path / "cron") as idx:
        for run in range(40):
            _cron_file(corpus, run)
            idx.update([corpus], jobs=1, **({"shards": 3} if run == 0 else {}))
    with searchlib.Index(tmp_path / "once") as idx:
        idx.update([corpus], jobs=1)
    segments = [len(list(shard.glob("*.trm"))) for shard in shard_paths(tmp_path / "cron", 3)]
    assert max(segments) <= 8, segments  # merged, not one segment per run
    for args in (("river",), ("word100 OR word200 OR word1000",), ("report", "--sort", "newest", "--limit", "50"),
                 ("*", "--facet", "month", "--limit", "3")):
        _same(tmp_path, *args, names=("once", "cron"))


def test_kill_9_during_cron_runs_on_shards_loses_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    with searchlib.Index(tmp_path / "idx") as idx:
        for run in range(12):
            _cron_file(corpus, run)
            idx.update([corpus], jobs=1, **({"shards": 2} if run == 0 else {}))
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    for run, delay in zip(range(12, 18), (0.3, 0.6, 0.9, 1.2, 1.5, 1.8)):
        _cron_file(corpus, run, size=300)  # a bigger day: its commit merges the small segments
        proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--index", "idx", "-j", "1",
                                 "corpus"], cwd=tmp_path, env=full, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        mid = invoke(tmp_path, "--index", "idx", "*", "--count")
        no_traceback(mid)
        assert mid.returncode == 0
    final = invoke(tmp_path, "index", "--index", "idx", "-j", "1", "corpus")
    assert final.returncode == 0, final.stderr
    expected = 12 * 15 + 6 * 300
    assert int(invoke(tmp_path, "--index", "idx", "*", "--count", "--all-copies").stdout) == expected
    with searchlib.Index(tmp_path / "idx", create=False) as idx:
        assert len(idx) == expected
        hits = idx.search("*", limit=expected, all_copies=True).hits
        assert len({h.id for h in hits}) == expected
    again = invoke(tmp_path, "index", "--index", "idx", "-j", "1", "--json", "corpus")
    assert json.loads(again.stdout.splitlines()[-1])["articles"] == 0


@pytest.mark.parametrize("name", [
    "notes.txt",
    "MAIN_notes.bak",  # (Whoosh's clean-up of files not in a commit took it; engine.storage keeps it)
])
def test_updates_and_merges_never_touch_a_users_files_in_a_sharded_index(tmp_path, name):
    corpus = tmp_path / "corpus"
    _cron_file(corpus, 0)
    with searchlib.Index(tmp_path / "idx") as idx:
        idx.update([corpus], jobs=1, shards=2)
    mine = {tmp_path / "idx" / "shard-001" / name: b"my notes",
            tmp_path / "idx" / "README": b"what this folder is"}
    for path, data in mine.items():
        path.write_bytes(data)
        path.chmod(0o640)
    with searchlib.Index(tmp_path / "idx") as idx:
        for run in range(1, 25):
            _cron_file(corpus, run)
            idx.update([corpus], jobs=1)
        assert len(idx) == 25 * 15
    for path, data in mine.items():
        assert path.read_bytes() == data and (path.stat().st_mode & 0o777) == 0o640, path


def test_a_second_rebuild_to_another_shard_count_at_the_same_time_gets_exit_75(built):
    write_file(built / "corpus2" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": "river harbour " * 20}) + "\n"
        for i in range(100)))
    first = hold_the_lock(built, "rebuild")
    try:
        for args in (["--rebuild", "--shards", "4"], ["--rebuild"], []):
            second = invoke(built, "index", *args, "--index", "idx", "-j", "1", "corpus")
            assert second.returncode == 75 and second.stderr.count("\n") == 1, (args, second.stderr)
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads((built / "idx" / "searchlib.json").read_text())["shards"]["count"] == 2
    assert sorted(p.name for p in (built / "idx").iterdir() if p.name.startswith("shard-")) == ["shard-000", "shard-001"]
    assert int(invoke(built, "--index", "idx", "*", "--count").stdout) == len(ARTICLES + EXTRA) + 100
    assert not list(built.glob(".*rebuild*"))


def test_a_reader_open_during_an_update_of_the_shards_never_fails_and_never_goes_back(built):
    write_file(built / "corpus2" / "big.jsonl", "".join(
        json.dumps({"id": f"b{i}", "title": f"bulk {i}", "body": f"river number{i} " * 30}) + "\n"
        for i in range(1500)))
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--index", "idx", "-j", "1",
                             "corpus", "corpus2"], cwd=built, env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    with searchlib.Index(built / "idx", create=False) as idx:
        while proc.poll() is None:
            seen.append(idx.search("*", limit=1, all_copies=True).total)
            time.sleep(0.05)
        out, err = proc.communicate()
        seen.append(idx.search("*", limit=1, all_copies=True).total)
    assert proc.returncode == 0, err
    assert seen == sorted(seen) and seen[0] >= len(ARTICLES + EXTRA)
    assert seen[-1] == len(ARTICLES + EXTRA) + 1500


def test_kill_9_of_a_parallel_sharded_build_then_rerun_each_article_once(tmp_path):
    """--jobs 2 with 3 shards (the shards of a batch written side by side by worker processes):
    the parent killed; its workers do not hold the index, and the next run has every article once."""
    for f in range(30):
        write_file(tmp_path / "corpus" / f"f{f}.jsonl", "".join(
            json.dumps({"id": f"b{f}-{i}", "title": f"bulk {i}", "date": "2022-01-01",
                        "body": f"river number{i} word{f} " * 40}) + "\n" for i in range(60)))
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHLIB_")}
    proc = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "index", "--shards", "3", "--index", "idx",
                             "-j", "2", "corpus"], cwd=tmp_path, env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = invoke(tmp_path, "index", "--index", "idx", "-j", "2", "--wait", "30", "corpus")
    assert again.returncode == 0, again.stderr
    with searchlib.Index(tmp_path / "idx", create=False) as idx:
        assert len(idx) == 30 * 60
        assert len({h.id for h in idx.search("*", limit=2000, all_copies=True).hits}) == 30 * 60
