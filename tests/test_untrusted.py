"""Articles are untrusted input: each hostile case is built in tmp_path, and the run completes,
the bound holds (peak memory measured with tracemalloc in this process, or ru_maxrss in a child)
and the output is clean.

The 100 MB single-line file is real; the other big cases are either cheap to build (a gzip bomb
of repeated members, a sparse file) or shrunk by lowering the configurable limit, so the whole
file stays fast.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

import searchlib
from searchlib import Article, Skipped, read_articles
from searchlib.cli import cli
from searchlib.ingest.corpus import find_files
from searchlib.errors import IndexFormatError, ParseError, PathNotFoundError
from searchlib.ingest.limits import DEFAULTS, ENVIRONMENT, Limits, LimitsError, current
from searchlib.ingest.parsers import parse_file
from searchlib.ingest.parsers.html import flatten_deep, make_soup

from .conftest import write_file as write

MB = 2**20
BOUND = 1024 * MB            # the "say under 1 GB"
BODY = "The harbour fire burned through the night, and crews from three towns fought it. " * 12

ROOT_MAY_READ_ANYTHING = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a chmod 000 file anyway; "
    "the simulated test below covers the same path")


@contextmanager
def peak_memory():
    """{'peak': bytes} allocated by Python at most while the block ran (tracemalloc)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    result = {}
    try:
        yield result
    finally:
        result["peak"] = tracemalloc.get_traced_memory()[1]
        if not was_tracing:
            tracemalloc.stop()


def record(title: str, body: str = BODY, **fields) -> str:
    return json.dumps({"title": title, "body": body, **fields}) + "\n"


def reasons(report_or_items) -> dict[str, str]:
    """File name → reason, for the skipped files of an UpdateReport or read_articles() items."""
    skipped = getattr(report_or_items, "skipped", report_or_items)
    return {s.path.name: s.reason for s in skipped if isinstance(s, Skipped)}


def gzip_bomb(path: Path, expanded: int) -> Path:
    """A .gz file that expands to `expanded` bytes of zeros: one 1 MB member, repeated (a gzip file
    may hold many members), so building even a 10 GB bomb is instant and takes no memory."""
    member = gzip.compress(bytes(MB), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for _ in range(expanded // MB):
            out.write(member)
    return path


# --- output safety: an escape-laden article --------------------------------------------------

ESCAPES = {
    "title": "Harbour \x1b[31mfire\x1b[0m \x1b]0;pwned\x07 news\rFAKE \u202eevil\u202c",
    "body": "The harbour fire \x1b[2J burned\r\x1b[1A overnight. \u2066Bidi\u2069 and \x00 NUL. " + BODY,
    "source": "\x1b[5mBlinking Desk",
    "author": "Eve\x1b]8;;http://evil.example\x07 link\x1b]8;;\x07",
}
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")  # not \t, \n
OUR_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def escape_index(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "evil.jsonl", json.dumps(ESCAPES) + "\n")
    write(corpus / "\x1b]0;owned\x07.txt", "")  # a hostile file name (skipped: empty)
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update([corpus])
    assert report.articles == 1
    return tmp_path / "index", corpus


def test_escape_laden_article_reaches_the_terminal_clean(escape_index):
    index_dir, corpus = escape_index
    runner = CliRunner()
    for args in (["harbour", "--color", "never"], ["show", "corpus/evil.jsonl#1"], ["similar", "corpus/evil.jsonl#1"]):
        result = runner.invoke(cli, [*args, "--index", str(index_dir)])
        assert result.exit_code in (0, 1), result.output
        assert not RAW_CONTROL.search(result.output), repr(result.output)
        assert "\x1b" not in result.output and "\r" not in result.output
    shown = runner.invoke(cli, ["harbour", "--color", "never", "--index", str(index_dir)]).output
    assert "\\x1b[31mfire" in shown and "\\u202eevil" in shown  # made visible, not dropped
    coloured = runner.invoke(cli, ["harbour", "--color", "always", "--index", str(index_dir)]).output
    assert "\x1b" in coloured  # our own colours do reach the terminal ...
    assert not RAW_CONTROL.search(OUR_COLOURS.sub("", coloured)), repr(coloured)  # ... and only they
    parsed = runner.invoke(cli, ["parse", str(corpus)])
    assert parsed.exit_code == 1  # the empty file is skipped, and named on stderr, escaped
    assert not RAW_CONTROL.search(parsed.output) and "\\x1b]0;owned\\x07.txt" in parsed.output
    indexed = runner.invoke(cli, ["index", str(corpus), "--index", str(index_dir)])
    assert not RAW_CONTROL.search(indexed.output) and "\\x1b]0;owned\\x07.txt" in indexed.output


def test_json_output_stays_valid_json_with_every_byte_kept(escape_index):
    index_dir, corpus = escape_index
    runner = CliRunner()
    for args in (["harbour", "--json"], ["parse", str(corpus), "--json"], ["index", str(corpus), "--json"]):
        result = runner.invoke(cli, [*args, "--index", str(index_dir)] if args[0] != "parse" else args)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert lines, result.output
        objects = [json.loads(line) for line in lines]  # every line is one valid JSON value
        assert not re.search(r"[\x00-\x1f]", result.stdout.replace("\n", ""))  # C0 controls escaped
        if args[0] == "harbour":
            assert objects[0]["title"].startswith("Harbour \x1b[31mfire")  # the data itself is exact
            assert objects[0]["source"] == ESCAPES["source"]


def test_json_output_carries_no_raw_c1_or_bidi_controls(tmp_path):
    write(tmp_path / "corpus" / "c1.jsonl", record("Harbour \x9b2J \u202eevil\u202c \u2028next"))
    searchlib.Index(tmp_path / "index").update([tmp_path / "corpus"])
    result = CliRunner().invoke(cli, ["harbour", "--json", "--index", str(tmp_path / "index")])
    line, summary = result.stdout.splitlines()  # str.splitlines splits at U+2028 too
    assert json.loads(summary)["total"] == 1
    assert json.loads(line)["title"] == "Harbour \x9b2J \u202eevil\u202c next"  # U+2028: a space
    assert not re.search(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028]", result.stdout)


# --- bounded resources -------------------------------------------------------------------------

def test_gzip_bomb_is_skipped_and_memory_stays_bounded(tmp_path):
    corpus = tmp_path / "corpus"
    bomb = gzip_bomb(corpus / "bomb.jsonl.gz", 10 * 1024 * MB)  # 10 MB on disk, 10 GB expanded
    write(corpus / "fine.jsonl", record("Harbour fire"))
    assert bomb.stat().st_size < 12 * MB
    with peak_memory() as memory:
        report = searchlib.Index(tmp_path / "index").update([corpus])
    assert report.articles == 1
    assert reasons(report) == {"bomb.jsonl.gz": "decompressed size exceeds 64 MB (SEARCHLIB_MAX_FILE_MB); not read"}
    assert memory["peak"] < 3 * DEFAULTS.max_file_bytes  # decompressed only up to the limit


def test_gzip_bomb_limit_is_configurable(tmp_path, monkeypatch):
    bomb = gzip_bomb(tmp_path / "bomb.txt.gz", 8 * MB)
    monkeypatch.setenv("SEARCHLIB_MAX_FILE_MB", "2")
    with peak_memory() as memory, pytest.raises(ParseError, match=r"exceeds 2 MB \(SEARCHLIB_MAX_FILE_MB\)"):
        list(parse_file(bomb))
    assert memory["peak"] < 8 * MB
    small = write(tmp_path / "ok.txt.gz", gzip.compress(("Title\n\n" + BODY).encode()))
    (article,) = parse_file(small)
    assert article.title == "Title"


def test_100_mb_single_line_file_is_skipped_unread_by_default(tmp_path):
    corpus = tmp_path / "corpus"
    big = corpus / "huge.jsonl"
    big.parent.mkdir(parents=True)
    with big.open("w", encoding="ascii") as out:  # one line: {"title": "x", "body": "aaaa…"} of 100 MB
        out.write('{"title": "huge", "body": "')
        for _ in range(100):
            out.write("a" * MB)
        out.write('"}\n')
    write(corpus / "fine.jsonl", record("Harbour fire"))
    assert big.stat().st_size > 100 * MB
    with peak_memory() as memory:
        items = list(read_articles(corpus))
    assert [i.title for i in items if isinstance(i, Article)] == ["Harbour fire"]
    assert reasons(items) == {"huge.jsonl": "file is 100 MB, over the 64 MB limit (SEARCHLIB_MAX_FILE_MB); not read"}
    assert memory["peak"] < 10 * MB  # not read at all

    # With the file limit raised, the file is read and its one line is refused by the record limit.
    limits = Limits(max_file_bytes=256 * MB)
    with peak_memory() as memory:
        items = list(read_articles(corpus, limits=limits))
    assert [i.title for i in items if isinstance(i, Article)] == ["Harbour fire"]
    assert [(i.path.name, i.record, i.reason) for i in items if isinstance(i, Skipped)] == [
        ("huge.jsonl", "line 1", "line of 100 M characters is over the 8 M characters limit "
                                 "(SEARCHLIB_MAX_RECORD_MB); skipped")]
    assert memory["peak"] < 3 * 101 * MB  # the bytes, the text, nothing per character


def test_100_mb_single_line_run_end_to_end_in_a_child_process(tmp_path):
    """The whole `search index` run on the hostile corpus (a 100 MB line in a 100 MB text file read
    under a raised file limit, a bomb, a deep page) in a fresh process: ru_maxrss is the bound."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with (corpus / "line.txt").open("w", encoding="ascii") as out:  # 100 MB, not one line break
        for _ in range(100):
            out.write("word " * (MB // 5) + "word")
    gzip_bomb(corpus / "bomb.txt.gz", 1024 * MB)
    write(corpus / "deep.html", "<html><body>" + "<div>" * 5000 + f"<p>{BODY}</p>" + "</div>" * 5000)
    write(corpus / "fine.jsonl", record("Harbour fire"))
    script = (  # VmHWM: this process's peak RSS (ru_maxrss would include the parent's, from before exec)
        "import json, re, resource, sys, searchlib\n"
        "report = searchlib.Index(sys.argv[1]).update([sys.argv[2]])\n"
        "try:\n"
        "    peak = int(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "except OSError:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'articles': report.articles, 'skipped': [str(s) for s in report.skipped],\n"
        "                  'maxrss_kb': peak}))\n"
    )
    env = {**os.environ, "SEARCHLIB_MAX_FILE_MB": "128", "SEARCHLIB_MAX_RECORD_MB": "0.25"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "index"), str(corpus)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["articles"] == 3  # the truncated text file, the deep page, the fine record
    assert [s.split(": ", 1)[1] for s in result["skipped"]] == [
        "decompressed size exceeds 128 MB (SEARCHLIB_MAX_FILE_MB); not read"]
    assert result["maxrss_kb"] * 1024 < BOUND // 2  # measured: ~240 MB
    assert time.monotonic() - started < 60
    (hit,) = searchlib.Index(tmp_path / "index").search("word").hits
    assert hit.path.name == "line.txt"


def test_multi_gigabyte_file_is_skipped_without_reading_it(tmp_path):
    huge = tmp_path / "dump.jsonl"
    with huge.open("wb") as out:
        out.truncate(5 * 1024 * MB)  # sparse: 5 GB that take no disk
    with peak_memory() as memory:
        started = time.monotonic()
        with pytest.raises(ParseError, match=r"file is 5120 MB, over the 64 MB limit"):
            list(parse_file(huge))
    assert time.monotonic() - started < 1 and memory["peak"] < MB


def test_one_huge_json_string_line_is_skipped_and_the_rest_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHLIB_MAX_RECORD_MB", "1")
    path = write(tmp_path / "feed.jsonl", record("Before") + record("Huge", "x" * (3 * MB)) + record("After"))
    with peak_memory() as memory:
        items = list(parse_file(path))
    assert [i.title for i in items if isinstance(i, Article)] == ["Before", "After"]
    (problem,) = [i for i in items if isinstance(i, ParseError)]
    assert problem.record == "line 2" and "over the 1 M characters limit" in problem.reason
    assert memory["peak"] < 20 * MB  # the huge line was measured, never copied or decoded


def test_big_json_file_is_read_record_by_record(tmp_path):
    records = [{"title": f"Story {i}", "body": BODY} for i in range(300)]
    records[7] = {"title": "Huge", "body": "y" * 200_000}
    path = write(tmp_path / "dump.json", json.dumps({"meta": {"x": [1, {"y": "]"}]}, "articles": records}))
    limits = Limits(max_record_chars=100_000)  # the file is ~500,000 characters
    with peak_memory() as memory:
        items = list(parse_file(path, limits))
    articles = [i for i in items if isinstance(i, Article)]
    assert [a.key for a in articles] == [str(i) for i in range(300) if i != 7]
    assert [(p.record, p.reason.split(" is ")[1]) for p in items if isinstance(p, ParseError)] == [
        ("item 7", "over the 100,000 characters limit (SEARCHLIB_MAX_RECORD_MB); skipped")]
    assert memory["peak"] < 10 * MB
    whole = [a.key for a in parse_file(path) if isinstance(a, Article)]  # under the default limit
    assert whole == [str(i) for i in range(300)]


def test_csv_field_of_hundreds_of_megabytes_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHLIB_MAX_RECORD_MB", "0.5")
    text = ("title,text\nShort,fine\n"
            + 'Long,"' + "z" * 300_000 + "\n" + "z" * 300_000 + '"\n'   # a 600,000-character field
            + "Row," + ",".join(["ab"] * MB) + "\n"                     # a million fields on a line
            + "After,ok\n")
    with peak_memory() as memory:
        items = list(parse_file(write(tmp_path / "big.csv", text)))
    assert [i.title for i in items if isinstance(i, Article)] == ["Short", "After"]
    assert sorted(p.reason.split(" is ")[0] for p in items if isinstance(p, ParseError)) == [
        "a field", "a line of 3 M characters"]
    assert memory["peak"] < 40 * MB  # not a million little strings for the million-field row


def test_deeply_nested_html_page_is_flattened_not_a_recursion_error(tmp_path):
    depth = 5000
    page = write(tmp_path / "deep.html", "<html><head><title>Deep page</title></head><body>"
                 + "<div>" * depth + f"<p>{BODY}</p>" + "</div>" * depth + "</body></html>")
    with peak_memory() as memory:
        started = time.monotonic()
        (article,) = parse_file(page)
    assert article.title == "Deep page" and "harbour fire" in article.body
    assert article.notes == [f"elements nested {depth + 3:,} levels deep: flattened to text below level 256 "
                             "(SEARCHLIB_MAX_HTML_DEPTH)"]
    assert time.monotonic() - started < 5 and memory["peak"] < 100 * MB


def test_html_depth_and_tag_limits_are_configurable(tmp_path, monkeypatch):
    soup = make_soup("<div>" * 40 + "<p>deep <b>text</b></p>" + "</div>" * 40, Path("x.html"))
    assert flatten_deep(soup, 10) == 42 and soup.get_text(" ").split() == ["deep", "text"]
    monkeypatch.setenv("SEARCHLIB_MAX_HTML_DEPTH", "20")
    monkeypatch.setenv("SEARCHLIB_MAX_HTML_TAGS", "100")
    page = write(tmp_path / "wide.html", f"<html><title>Wide</title><body><p>{BODY}</p>" + "<i>x</i>" * 500
                 + "<div>" * 50 + "late</body></html>")
    (article,) = parse_file(page)
    assert "harbour fire" in article.body and "late" not in article.body
    assert article.notes == ["truncated: only the first 100 tags were read (SEARCHLIB_MAX_HTML_TAGS)"]


def test_feed_with_too_many_elements_or_a_huge_item(tmp_path, monkeypatch):
    items = "".join(f"<item><title>Item {i}</title><description>{BODY}</description></item>" for i in range(50))
    feed = write(tmp_path / "f.rss", f"<rss><channel><title>Wire</title>{items}</channel></rss>")
    assert len(list(parse_file(feed))) == 50
    monkeypatch.setenv("SEARCHLIB_MAX_FEED_ELEMENTS", "40")
    with pytest.raises(ParseError, match=r"more than 40 elements \(SEARCHLIB_MAX_FEED_ELEMENTS\)"):
        list(parse_file(feed))
    monkeypatch.delenv("SEARCHLIB_MAX_FEED_ELEMENTS")
    monkeypatch.setenv("SEARCHLIB_MAX_RECORD_MB", "0.1")
    huge = write(tmp_path / "g.rss", "<rss><channel><item><title>Huge</title><description>"
                 + "w " * 100_000 + "</description></item><item><title>Fine</title></item></channel></rss>")
    results = list(parse_file(huge))
    assert [r.title for r in results if isinstance(r, Article)] == ["Fine"]
    assert [r.record for r in results if isinstance(r, ParseError)] == ["item 1"]


def test_text_file_longer_than_a_record_is_truncated_with_a_note(tmp_path):
    text = "Long story\n\n" + BODY * 10
    (article,) = parse_file(write(tmp_path / "long.txt", text), Limits(max_record_chars=2000))
    assert article.title == "Long story" and 1900 < len(article.body) < 2000
    assert article.notes == [f"truncated: only the first 2,000 characters of {len(text):,} characters were "
                             "read (SEARCHLIB_MAX_RECORD_MB)"]


def test_pathological_input_costs_linear_time(tmp_path):
    """Inputs that made a regular expression or a counter scan again from every position."""
    cases = {
        "a.sgm": "<REUTERS " * 200_000,                                  # tags that never close
        "b.txt": "Title\n\n" + "(photo: " * 200_000,                      # captions that never close
        "c.rss": "<rss>" + "<!DOCTYPE " * 200_000,                        # DTDs that never open
        "d.txt": (b"\xff" * (16 * MB)),                                   # 16 MB of stray bytes
    }
    for name, content in cases.items():
        path = write(tmp_path / name, content)
        started = time.monotonic()
        try:
            list(parse_file(path))
        except ParseError:
            pass
        assert time.monotonic() - started < 2, name


def test_fifos_and_devices_are_not_read(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "fine.jsonl", record("Harbour fire"))
    os.mkfifo(corpus / "pipe.txt")  # reading it would wait for a writer forever
    os.symlink("/dev/zero", corpus / "zero.txt")  # outside the corpus: not followed
    files, skipped = find_files([corpus], follow_links=True)
    assert [f.name for f in files] == ["fine.jsonl"]
    assert reasons(skipped) == {"pipe.txt": "not a regular file (a FIFO); not read",
                                "zero.txt": "not a regular file (a character device); not read"}
    with pytest.raises(ParseError, match="not a regular file"):
        list(parse_file(corpus / "pipe.txt"))


# --- the corpus boundary --------------------------------------------------------------------

def test_link_out_of_the_corpus_is_not_followed_and_its_text_not_indexed(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "private"
    write(corpus / "fine.jsonl", record("Harbour fire"))
    secret = write(outside / "secret.txt", "Payroll\n\nThe zanzibar password is swordfish.\n")
    os.symlink(secret, corpus / "leak.txt")
    os.symlink(outside, corpus / "leakdir")
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update([corpus])
    assert report.articles == 1 and idx.search("zanzibar").total == 0
    assert set(reasons(report)) == {"leak.txt", "leakdir"}
    assert all("outside the indexed folders (not followed)" in r for r in reasons(report).values())


def test_link_loops_terminate(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "sub" / "fine.jsonl", record("Harbour fire"))
    os.symlink(corpus, corpus / "sub" / "up")                 # a folder loop
    os.symlink("b.txt", corpus / "a.txt")                      # a → b → a
    os.symlink("a.txt", corpus / "b.txt")
    os.symlink("self.txt", corpus / "self.txt")                # a link to itself
    started = time.monotonic()
    report = searchlib.Index(tmp_path / "index").update([corpus])
    assert time.monotonic() - started < 10
    assert report.articles == 1
    assert reasons(report) == {name: "symbolic link loop (not followed)" for name in ("a.txt", "b.txt", "self.txt")}
    with pytest.raises(PathNotFoundError):
        find_files([tmp_path / "typo"])
    assert reasons(find_files([corpus / "a.txt"])[1]) == {"a.txt": "symbolic link loop (not followed)"}


@ROOT_MAY_READ_ANYTHING
def test_unreadable_files_and_folders_are_reported_not_fatal(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "fine.jsonl", record("Harbour fire"))
    locked_file = write(corpus / "locked.jsonl", record("Locked"))
    locked_dir = corpus / "closed"
    write(locked_dir / "inside.jsonl", record("Inside"))
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        report = searchlib.Index(tmp_path / "index").update([corpus])
    finally:
        locked_dir.chmod(0o755)
        locked_file.chmod(0o644)
    assert report.articles == 1
    assert reasons(report) == {"locked.jsonl": "cannot read: Permission denied",
                               "closed": "cannot read folder: Permission denied"}
    assert report.to_dict()["skipped_files"] == 2


def test_unreadable_files_and_folders_are_reported_not_fatal_simulated(tmp_path, monkeypatch):
    """The same as above for any user (root reads chmod 000 files): the kernel's refusals are
    simulated at os.open and os.scandir, where searchlib meets them."""
    corpus = tmp_path / "corpus"
    write(corpus / "fine.jsonl", record("Harbour fire"))
    locked_file = write(corpus / "locked.jsonl", record("Locked"))
    locked_dir = corpus / "closed"
    write(locked_dir / "inside.jsonl", record("Inside"))
    real_open, real_scandir = os.open, os.scandir

    def refuse(name):
        return PermissionError(13, "Permission denied", os.fspath(name))

    def fake_open(name, *args, **kwargs):
        if os.fspath(name) == str(locked_file):
            raise refuse(name)
        return real_open(name, *args, **kwargs)

    def fake_scandir(name="."):
        if os.fspath(name) == str(locked_dir):
            raise refuse(name)
        return real_scandir(name)

    real_path_open = Path.open

    def fake_path_open(self, *args, **kwargs):  # how the indexer hashes a file
        if self == locked_file:
            raise refuse(self)
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)  # how parse_file opens a file
    monkeypatch.setattr(os, "scandir", fake_scandir)  # how os.walk lists a folder
    monkeypatch.setattr(Path, "open", fake_path_open)
    idx = searchlib.Index(tmp_path / "index")
    report = idx.update([corpus])
    assert report.articles == 1
    assert reasons(report) == {"locked.jsonl": "cannot read: Permission denied",
                               "closed": "cannot read folder: Permission denied"}
    assert report.to_dict()["skipped_files"] == 2
    items = list(read_articles(corpus))
    assert reasons(items) == {"locked.jsonl": "cannot read: Permission denied",
                              "closed": "cannot read folder: Permission denied"}


@pytest.mark.parametrize("umask", [0o077, 0o022], ids=["umask077", "umask022"])
def test_index_folder_and_lock_get_the_users_permissions_only(tmp_path, umask):
    """The index folder is the user's alone (0700) and its files follow the user's umask (never
    wider); the lock file is the user's alone (0600) whatever the umask."""
    write(tmp_path / "corpus" / "fine.jsonl", record("Harbour fire"))
    old = os.umask(umask)
    try:
        idx = searchlib.Index(tmp_path / "index")
        idx.update([tmp_path / "corpus"])
        idx.update([tmp_path / "corpus"], rebuild=True)
    finally:
        os.umask(old)
    index = tmp_path / "index"
    lock = index / "searchlib.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert stat.S_IMODE(index.stat().st_mode) == 0o700
    for path in [index, *index.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & umask == 0, f"{path} is {oct(mode)} under umask {oct(umask)}"
        assert mode & 0o022 == 0, f"{path} is writable by others"


def test_a_planted_lock_link_is_refused(tmp_path):
    idx = searchlib.Index(tmp_path / "index")
    victim = write(tmp_path / "victim.txt", "precious")
    (tmp_path / "index" / "searchlib.lock").unlink(missing_ok=True)
    os.symlink(victim, tmp_path / "index" / "searchlib.lock")
    write(tmp_path / "corpus" / "fine.jsonl", record("Harbour fire"))
    with pytest.raises(IndexFormatError, match="searchlib.lock is a symbolic link"):
        idx.update([tmp_path / "corpus"])
    assert victim.read_text() == "precious"


def test_nothing_is_written_outside_the_index_folder(tmp_path, monkeypatch):
    """After an update, a rebuild (which builds beside the index and swaps it in), a parse and a
    search, nothing outside the index folder has changed and no temporary file is left."""
    corpus = tmp_path / "corpus"
    write(corpus / "fine.jsonl", record("Harbour fire"))
    write(corpus / "broken.json", "{not json")
    write(corpus / "page.html", f"<html><title>Page</title><body><p>{BODY}</p></body></html>")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again

    def snapshot():
        return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")
                if "index" not in p.relative_to(tmp_path).parts[0]}

    before = snapshot()
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus])
    idx.update([corpus], rebuild=True)
    list(read_articles(corpus))
    idx.search("harbour")
    assert snapshot() == before
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "index", "tmp"]


# --- the limits themselves -----------------------------------------------------------------

def test_limits_are_in_one_place_with_documented_defaults(monkeypatch):
    for variable, _ in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    assert current() == DEFAULTS == Limits(
        max_file_bytes=64 * MB, max_record_chars=8 * MB, max_html_tags=50_000, max_html_depth=256,
        max_feed_elements=1_000_000)
    monkeypatch.setenv("SEARCHLIB_MAX_FILE_MB", "1.5")
    monkeypatch.setenv("SEARCHLIB_MAX_HTML_DEPTH", " 64 ")
    assert current() == Limits(max_file_bytes=int(1.5 * MB), max_html_depth=64)
    explicit = Limits(max_file_bytes=10)
    assert current(explicit) is explicit  # explicit, then environment, then default
    for bad in ("lots", "0", "-1", "nan", "inf"):
        monkeypatch.setenv("SEARCHLIB_MAX_FILE_MB", bad)
        with pytest.raises(LimitsError, match="SEARCHLIB_MAX_FILE_MB must be a positive number"):
            current()
    monkeypatch.setenv("SEARCHLIB_MAX_FILE_MB", "lots")
    with pytest.raises(LimitsError):  # before any file is listed or read
        find_files([Path(__file__).parent])
    with pytest.raises(LimitsError):
        Limits(max_html_tags=0)
    assert issubclass(LimitsError, searchlib.SearchlibError)


def test_an_oversized_file_is_not_hashed_on_every_run(tmp_path, monkeypatch):
    from searchlib.indexing import run as indexing  # (where a file is hashed)
    corpus = tmp_path / "corpus"
    write(corpus / "fine.jsonl", record("Harbour fire"))
    big = corpus / "big.jsonl"
    with big.open("wb") as f:
        f.truncate(65 * MB)  # sparse: over the 64 MB default
    hashed = []
    real = indexing.digest_file
    monkeypatch.setattr(indexing, "digest_file", lambda path: hashed.append(path.name) or real(path))
    idx = searchlib.Index(tmp_path / "index")
    for _ in range(2):
        report = idx.update([corpus])
        assert reasons(report) == {"big.jsonl": "file is 65 MB, over the 64 MB limit (SEARCHLIB_MAX_FILE_MB); not read"}
    assert hashed == ["fine.jsonl"]


def test_lone_surrogates_in_json_become_replacement_characters(tmp_path):
    """`\\ud800` in a JSON string is no character and cannot be written as UTF-8: it is replaced
    by U+FFFD when the article is read, so the hit can be shown (it was a UnicodeEncodeError)."""
    corpus = tmp_path / "corpus"
    write(corpus / "a.jsonl", '{"title": "Harbour \\ud800 fire", "body": "The harbour \\udc00x burned.", '
                             '"author": "A \\ud83d", "tags": ["x\\udfff"]}\n')
    built = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(tmp_path / "index")])
    assert built.exit_code == 0, built.output
    result = CliRunner().invoke(cli, ["harbour", "--color", "never", "--index", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    assert "**Harbour** \ufffd fire" in result.output and "\ufffdx burned" in result.output
    article = next(iter(searchlib.read_articles([corpus])))
    assert (article.author, article.tags) == ("A \ufffd", ["x\ufffd"])


def test_a_file_name_that_is_not_utf8_is_skipped_and_named(tmp_path):
    """A name with bytes that are no UTF-8 (decoded by Python as lone surrogates) cannot be an id
    or a path in the index: the file is skipped with the reason, the rest indexed (it was a
    UnicodeEncodeError that stopped the run)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Harbour fire\n\nThe harbour burned.\n", encoding="utf-8")
    with open(os.path.join(os.fsencode(corpus), b"bad\xff.txt"), "wb") as stream:
        stream.write(b"Harbour news\n\nMore harbour.\n")
    result = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(tmp_path / "index")])
    assert result.exit_code == 1, result.output
    assert "bad\\xff.txt: its name is not valid UTF-8" in result.output  # the byte, escaped
    found = CliRunner().invoke(cli, ["harbour", "--index", str(tmp_path / "index"), "--json"])
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert found.exit_code == 0 and [hit["title"] for hit in hits if "title" in hit] == ["Harbour fire"]
