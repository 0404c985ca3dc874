"""The `search` command through click's CliRunner: exit codes, output, JSON, messages."""
import json
import shutil
from pathlib import Path

import pytest


from .conftest import write_records

ROOT = Path(__file__).resolve().parents[1]


def json_hits(result) -> list[dict]:
    """The hits of a `--json` listing (every line but the final summary object, checked here)."""
    *rows, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"total", "complete", "partial", "shown", "page", "limit"} <= set(summary)
    assert summary["shown"] == len(rows)
    return rows


@pytest.fixture
def indexed(run, tmp_path):
    write_records(tmp_path / "corpus")
    result = run("index")
    assert result.exit_code == 0, result.output
    return tmp_path


def test_search_prints_marked_hits_and_exits_0(run, indexed):
    result = run("flood", "--limit", "1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] in ("Alpha river **flood**", "Delta **flood** warning issued")
    assert "\x1b[" not in result.stdout
    assert "3 matching articles (showing 1–1)" in result.stderr


def test_no_hits_exits_1(run, indexed):
    result = run("zebra")
    assert (result.exit_code, result.stdout) == (1, "")
    assert "0 matching articles" in result.stderr


def test_json_lines(run, indexed):
    result = run("flood", "--json")
    rows = json_hits(result)
    assert len(rows) == 3
    assert {"id", "title", "date", "source", "url", "path", "score", "snippet"} <= set(rows[0])
    beta = next(r for r in rows if r["id"] == "corpus/fixture.jsonl#beta")
    assert beta["date"] == "2022-09-30T23:30:00Z" and beta["source"] == "South Desk"
    assert [beta["snippet"][s:e] for s, e in beta["highlights"]] == ["Flood"]


def test_colour_only_when_asked_or_on_a_terminal(run, indexed):
    coloured = run("title:river", "--color", "always")
    assert "\x1b[31m\x1b[1mriver\x1b[0m" in coloured.stdout
    assert "**" not in coloured.stdout
    assert "\x1b[" not in run("title:river", "--color", "never").stdout


def test_date_options_and_query(run, indexed):
    result = run("river", "--since", "Sept 2022", "--until", "2022-09-30", "--json")
    assert sorted(row["id"][-5:] for row in json_hits(result)) == ["alpha", "gamma"]
    assert len(json_hits(run("date:[2022-09-30 TO 2022-12-31]", "--json"))) == 2


@pytest.mark.parametrize("args, message", [
    (["date:bogus"], "search: error: bad query 'date:bogus': cannot understand the date 'bogus'"),
    (["river", "--since", "whenever"], "search: error: cannot understand the date 'whenever'"),
    (["", ], "search: error: bad query '': the query is empty"),
])
def test_bad_input_is_one_line_and_exit_2(run, indexed, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_missing_index_without_corpus_is_exit_2(run):
    result = run("anything")
    assert result.exit_code == 2
    assert result.stderr == "search: error: no index at index/ — build one with: search index PATH --index index\n"


def test_first_search_builds_the_index_from_the_corpus(run, tmp_path):
    write_records(tmp_path / "corpus")
    result = run("harvest")
    assert result.exit_code == 0
    assert "no index at index/ yet: building it from corpus/ first" in result.stderr
    assert result.stdout.startswith("Gamma **harvest** festival")
    assert (tmp_path / "index" / "searchlib.json").exists()


def test_index_option_and_environment_variable(run, tmp_path, monkeypatch):
    write_records(tmp_path / "news")
    assert run("index", "news", "--index", "elsewhere").exit_code == 0
    assert run("harvest", "--index", "elsewhere").exit_code == 0
    monkeypatch.setenv("SEARCHLIB_INDEX", "elsewhere")
    assert run("harvest").exit_code == 0
    assert run("harvest", "--index", "nowhere").exit_code == 2  # the option beats the variable


def test_index_reports_skipped_files_and_exits_1(run, tmp_path):
    write_records(tmp_path / "corpus")
    (tmp_path / "corpus" / "bad.txt").write_bytes(b"\x00\x00")
    result = run("index")
    assert result.exit_code == 1
    summary, seconds = result.stdout.rsplit(" in ", 1)
    assert summary == "index/: 1 added, 0 updated, 0 deleted, 0 unchanged, 1 skipped, 0 ignored files; 5 articles written"
    assert seconds.endswith(" s.\n")
    assert f"search: skipped {tmp_path / 'corpus' / 'bad.txt'}: binary file" in result.stderr
    assert result.stderr.splitlines()[1:] == [  # the undated record is indexed, with a warning
        "search: warning: 1 article has no date (corpus/fixture.jsonl [delta])"]
    report = json.loads(run("index", "--json").stdout)  # the bad file is retried, the good one not re-read
    assert (report["unchanged"], report["articles"], report["skipped_files"]) == (1, 0, 1)
    assert report["warnings"] == []  # warnings are about the files read in this run


def test_index_missing_path_is_exit_2(run, tmp_path):
    result = run("index", "nope")
    assert (result.exit_code, result.stderr) == (2, "search: error: nope: no such file or folder\n")


def test_rebuild(run, indexed):
    (indexed / "corpus" / "fixture.jsonl").unlink()
    (indexed / "corpus" / "one.txt").write_text("Only one\n\nBody.", encoding="utf-8")
    assert run("index").exit_code == 0
    report = json.loads(run("index", "--rebuild", "--json").stdout)
    assert (report["added"], report["removed"], report["articles"]) == (1, 0, 1)
    assert run("flood").exit_code == 1 and run("only").exit_code == 0


def test_parse_command(run, tmp_path):
    (tmp_path / "a.txt").write_text("Headline\n\nBody text.", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(b"\x00")
    result = run("parse", "a.txt", "b.bin", "--json")
    assert result.exit_code == 1
    article, final = [json.loads(line) for line in result.stdout.splitlines()]
    assert (article["title"], article["body"], article["format"]) == ("Headline", "Body text.", "text")
    # the skipped items end the output, in the shape of `search index --json`
    assert final == {"articles": 1, "skipped": [{"path": str(tmp_path / "b.bin"), "record": None,
                                                 "reason": "binary file (contains NUL bytes)"}]}
    assert result.stderr == f"search: skipped {tmp_path / 'b.bin'}: binary file (contains NUL bytes)\n"
    clean = run("parse", "a.txt", "--json")  # nothing skipped: the summary says so
    rows = [json.loads(line) for line in clean.stdout.splitlines()]
    assert clean.exit_code == 0 and rows[0]["title"] == "Headline"
    assert rows[1:] == [{"articles": 1, "skipped": []}]


def test_parse_json_lists_skipped_records_of_a_file(run, tmp_path):
    (tmp_path / "feed.jsonl").write_text('{"title": "Kept", "date": "2022-09-06"}\n{not json\n', encoding="utf-8")
    result = run("parse", "feed.jsonl", "--json")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("title") for r in rows[:-1]] == ["Kept"]
    assert [(s["path"], s["record"]) for s in rows[-1]["skipped"]] == [(str(tmp_path / "feed.jsonl"), "line 2")]


def test_index_reports_warnings_grouped_without_failing(run, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a", "b", "c", "d"):
        (corpus / f"{name}.txt").write_text(f"Story {name}\n\nBody of story {name}.", encoding="utf-8")
    (corpus / "e.txt").write_bytes("Caf\u00e9 story\n\nCr\u00e8me.".encode("cp1252"))
    (corpus / "f.html").write_text("<html><head><title>Cut page</title></head><body><p>Story that stops",
                                   encoding="utf-8")
    result = run("index")
    assert result.exit_code == 0  # warnings are not skips
    assert result.stdout.startswith("index/: 6 added, 0 updated, 0 deleted, 0 unchanged, 0 skipped, 0 ignored files; "
                                    "6 articles written in ")
    assert result.stderr.splitlines() == [
        "search: warning: 6 articles have no date (corpus/a.txt, corpus/b.txt, corpus/c.txt, …; all in --json)",
        "search: warning: 1 article: encoding: not valid UTF-8 and no charset declared: decoded as "
        "Windows-1252 (a guess) (corpus/e.txt)",
        "search: warning: 1 article: truncated page: it opens <html> or <body> but ends without closing "
        "either (a truncated file?) (corpus/f.html)",
    ]
    report = json.loads(run("index", "--rebuild", "--json").stdout)
    assert report["skipped"] == [] and report["articles"] == 6
    where = lambda name: str(corpus / name)  # noqa: E731
    assert sorted((w["path"], w["record"], w["reason"]) for w in report["warnings"]) == sorted(
        [(where(f"{n}.txt"), None, "no date") for n in "abcde"] + [
            (where("e.txt"), None, "encoding: not valid UTF-8 and no charset declared: decoded as Windows-1252 "
                                   "(a guess)"),
            (where("f.html"), None, "truncated page: it opens <html> or <body> but ends without closing either "
                                    "(a truncated file?)"),
            (where("f.html"), None, "no date")])


def test_index_warnings_name_records_and_say_when_reasons_vary(run, tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "desk.jsonl").write_text(
        '{"id": "one", "title": "Dated", "date": "2022-09-06"}\n{"id": "two", "title": "Undated"}\n',
        encoding="utf-8")
    utf8 = "\n\nIn UTF-8 text: café, crème brûlée.".encode("utf-8")
    (tmp_path / "corpus" / "x.txt").write_bytes(b"Stray \xfc byte" + utf8)
    (tmp_path / "corpus" / "y.txt").write_bytes(b"Two \xfc stray \xfc bytes" + utf8)
    result = run("index")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "search: warning: 3 articles have no date (corpus/desk.jsonl [two], corpus/x.txt, corpus/y.txt)",
        "search: warning: 2 articles: encoding (reasons vary) (corpus/x.txt, corpus/y.txt)",
    ]
    report = json.loads(run("index", "--rebuild", "--json").stdout)
    assert [(w["record"], w["reason"]) for w in report["warnings"] if w["path"].endswith("y.txt")] == [
        (None, "encoding: 2 bytes not valid UTF-8: read as Windows-1252 (a guess)"), (None, "no date")]


def test_terminal_output_never_carries_article_control_characters(run, tmp_path):
    write_records(tmp_path / "corpus", {"evil": {"title": "Evil \x1b[2J\x1b]0;pwned\x07 title\r",
                                                 "body": "flood \u202egnp.exe\x1b[31m red"}})
    result = run("flood")
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[2J" in result.stdout and "\\u202e" in result.stdout
    assert json_hits(run("flood", "--json"))[0]["title"].startswith("Evil \x1b[2J")


def test_help_shows_examples(run):
    for args in (["--help"], ["query", "--help"]):
        result = run(*args)
        assert result.exit_code == 0
        assert 'search "north korea artillery"' in result.stdout
    assert 'search "north korea artillery"' not in run("index", "--help").stdout  # not repeated


def test_bundled_corpus_demo(run, tmp_path):
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    result = run("north korea artillery")
    assert result.exit_code == 0
    first = result.stdout.split("\n\n")[0].splitlines()
    assert first[0] == "US intelligence reveals Russian planning to buy weapons from **North** **Korea**"
    assert first[1] == "2022-09-06T11:50:00Z · section: Ukraine war · corpus/000_0d288e05aca5b171.txt"
    assert "rockets and **artillery** shells from **North** **Korea**" in first[2]
    assert "building it from corpus/ first" in result.stderr


def test_show_similar_stats_commands(run, indexed):
    shown = run("show", "corpus/fixture.jsonl#gamma", "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["title"] == "Gamma harvest festival"
    assert run("show", "corpus/fixture.jsonl#gamma").stdout.startswith("title:    Gamma harvest festival\n")
    missing = run("show", "nope")
    assert (missing.exit_code, missing.stderr) == (
        2, "search: error: no article with id 'nope' in the index (ids are shown by search --json)\n")
    similar = run("similar", "corpus/fixture.jsonl#alpha", "--json", "--limit", "1")
    assert [row["id"] for row in json_hits(similar)] == ["corpus/fixture.jsonl#delta"]
    info = json.loads(run("stats", "--json").stdout)
    assert (info["articles"], info["sources"]["North Desk"]) == (5, 3)
    assert run("stats").stdout.splitlines()[2] == "dates     2022-09-06 to 2023-01-15"


def test_sort_page_and_partial_note(run, indexed):
    result = run("river", "--sort", "newest", "--limit", "2", "--page", "2", "--json")
    assert [row["id"][-5:] for row in json_hits(result)] == ["alpha", "delta"]
    assert "4 matching articles (showing 3–4)" in result.stderr
    partial = run("flood harvest")
    assert partial.exit_code == 0
    assert partial.stderr.startswith("no article has all the words; showing the best partial matches")
