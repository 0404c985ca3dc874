"""Digests: a watch's Atom feed (parsed back and checked) and its plain-text mail."""
from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

import searchlib

A = "{http://www.w3.org/2005/Atom}"
ROOT = Path(__file__).resolve().parents[1]


def put(corpus: Path, name: str, record: dict) -> None:
    (corpus / f"{name}.jsonl").write_text(json.dumps({"id": name, **record}) + "\n", encoding="utf-8")


@pytest.fixture
def watched(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    put(corpus, "a", {"title": "Old flood", "body": "An old flood."})
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    idx.watches.add("floods", "flood")
    return idx, corpus


def parse_feed(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated"):  # RFC 4287 4.1.1: required of a feed
        assert root.findtext(f"{A}{tag}"), tag
    datetime.fromisoformat(root.findtext(f"{A}updated").replace("Z", "+00:00"))
    assert root.find(f"{A}author/{A}name").text == "searchlib"  # (entries may have no author)
    for entry in root.findall(f"{A}entry"):
        for tag in ("id", "title", "updated"):  # 4.1.2: required of an entry
            assert entry.findtext(f"{A}{tag}"), tag
        datetime.fromisoformat(entry.findtext(f"{A}updated").replace("Z", "+00:00"))
        assert entry.find(f"{A}link").get("href")
    return root


def test_the_feed_is_atom_and_is_updated_in_place(watched, tmp_path):
    idx, corpus = watched
    feeds = tmp_path / "feeds"
    put(corpus, "b", {"title": "Flood in Leeds", "body": "Rain and a flood.", "url": "https://news.example/leeds",
                      "source": "Example News", "author": "Ann Lee", "date": "2022-09-06T10:00:00Z"})
    put(corpus, "c", {"title": "Flood \x1b[31mred\x07 <script>", "body": "Hostile \x00\x0b text & a flood."})
    idx.update([corpus], jobs=1)
    idx.watches.run(digest_dir=feeds)
    first = parse_feed(feeds / "floods.atom")
    entries = first.findall(f"{A}entry")
    assert len(entries) == 2
    leeds = next(e for e in entries if e.findtext(f"{A}title") == "Flood in Leeds")
    assert leeds.find(f"{A}link").get("href") == "https://news.example/leeds"
    assert leeds.findtext(f"{A}published") == "2022-09-06T10:00:00Z"
    assert leeds.findtext(f"{A}author/{A}name") == "Ann Lee"
    hostile = next(e for e in entries if e is not leeds)
    assert hostile.findtext(f"{A}title") == "Flood \ufffd[31mred\ufffd <script>"  # escaped, parseable
    assert hostile.find(f"{A}link").get("href").startswith("file:///")
    feed_id = first.findtext(f"{A}id")

    # a second run: the new entry first, the older ones kept; an article re-delivered (its text
    # changed) replaces its own entry
    put(corpus, "b", {"title": "Flood in Leeds", "body": "Rain and a flood; corrected.", "url": "https://news.example/leeds",
                      "date": "2022-09-06T10:00:00Z"})
    put(corpus, "d", {"title": "Flood in York", "body": "Another flood.", "date": "2022-09-08"})
    idx.update([corpus], jobs=1)
    idx.watches.run(digest_dir=feeds)
    second = parse_feed(feeds / "floods.atom")
    titles = [e.findtext(f"{A}title") for e in second.findall(f"{A}entry")]
    assert titles == ["Flood in York", "Flood in Leeds", "Flood \ufffd[31mred\ufffd <script>"]
    ids = [e.findtext(f"{A}id") for e in second.findall(f"{A}entry")]
    assert len(set(ids)) == 3 and second.findtext(f"{A}id") == feed_id
    assert [p.name for p in feeds.iterdir()] == ["floods.atom"]  # no temporary file left

    # nothing new: the file is left as it is
    before = (feeds / "floods.atom").read_bytes()
    idx.watches.run(digest_dir=feeds)
    assert (feeds / "floods.atom").read_bytes() == before


def test_a_file_that_is_not_our_feed_is_never_overwritten(watched, tmp_path):
    idx, corpus = watched
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "floods.atom").write_text("<html>my page</html>")
    put(corpus, "b", {"title": "Flood", "body": "A flood."})
    idx.update([corpus], jobs=1)
    done = idx.watches.run(digest_dir=feeds)
    assert "'floods'" in str(done.errors[0]) and "not a feed searchlib wrote" in str(done.errors[0])
    assert (feeds / "floods.atom").read_text() == "<html>my page</html>"
    assert done.new == 0  # its cursor did not move: the article comes once the feed can be written
    (feeds / "floods.atom").unlink()
    assert idx.watches.run(digest_dir=feeds).new == 1


def test_the_mail_digest_is_piped_to_the_command(watched, tmp_path):
    idx, corpus = watched
    out = tmp_path / "mail.txt"
    command = f"{sys.executable} -c 'import sys; open(sys.argv[1], \"ab\").write(sys.stdin.buffer.read())' {out}"
    assert idx.watches.run(mail_command=command).new == 0
    assert not out.exists()  # nothing new: no mail
    put(corpus, "b", {"title": "Flood\nBcc: victim@example.com", "body": "A flood.", "date": "2022-09-06",
                      "source": "Example News"})
    idx.update([corpus], jobs=1)
    done = idx.watches.run(mail_command=command, mail_to="desk@example.com")
    assert done.outcomes[0].mailed and done.new == 1
    text = out.read_text()
    head, body = text.split("\n\n", 1)
    assert head.splitlines() == ["To: desk@example.com", "Subject: searchlib: 1 new article for floods",
                                 "Content-Type: text/plain; charset=utf-8"]
    assert "1. Flood Bcc: victim@example.com" in body  # an article's newline adds no header
    assert "2022-09-06 · Example News" in body and "search watch rm floods" in body


def test_reindex_script_logs_new_per_watch_and_writes_feeds(watched, tmp_path):
    import subprocess
    idx, corpus = watched
    put(corpus, "b", {"title": "Flood", "body": "A flood."})
    log = tmp_path / "log"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "reindex.py"), str(corpus), "--index", str(idx.path),
                           "--log", str(log), "--jobs", "1", "--watch", "--digest-dir", str(tmp_path / "feeds")])
    assert done.returncode == 0
    line = log.read_text().splitlines()[0]
    assert " status=ok " in line and " new.floods=1 " in line
    parse_feed(tmp_path / "feeds" / "floods.atom")
    put(corpus, "c", {"title": "Flood again", "body": "A second flood."})
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "reindex.py"), str(corpus), "--index", str(idx.path),
                           "--log", str(log), "--jobs", "1", "--watch", "--mail-command", "/nonexistent/mailer"])
    assert done.returncode == 2
    lines = log.read_text().splitlines()
    assert " status=watch-error " in lines[1] and " new.floods=0 " in lines[1]
    assert lines[2] == "  watch 'floods': mail command '/nonexistent/mailer' not found"
    assert [o.new for o in idx.watches.run().outcomes] == [1]  # the failed mail's article comes again
