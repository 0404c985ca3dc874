"""Issue 15's terminal promises, each tried by breaking it: options before a command, queries that
look like options or commands, a search that must not touch the folder it is pointed at, the JSON
summary, --count, --marks none, and output fit for a terminal and for UTF-8."""
import json
import os
import stat

import pytest


from .conftest import write_file, write_records


@pytest.fixture
def indexed(run, tmp_path):
    write_records(tmp_path / "corpus")
    assert run("index", "--index", "idx").exit_code == 0
    return tmp_path


def snapshot(folder):
    """Every path under `folder` with its mode and size: what a read-only command must not change."""
    return {str(p.relative_to(folder)): (p.stat().st_mode, p.stat().st_size if p.is_file() else 0)
            for p in [folder, *folder.rglob("*")]}


def test_options_before_the_command(run, indexed):
    result = run("--index", "idx", "stats")
    assert result.exit_code == 0
    assert result.stdout.startswith("index     idx/")
    info = json.loads(run("--index", "idx", "--json", "stats").stdout)
    assert info["articles"] == 5
    assert run("--index=idx", "show", "corpus/fixture.jsonl#gamma").stdout.startswith("title:")


def test_a_query_starting_with_a_dash_and_a_query_that_is_a_command_name(run, indexed):
    result = run("--index", "idx", "--json", "--", "-flood river")  # river, without flood
    rows = [json.loads(line) for line in result.stdout.splitlines()][:-1]
    assert result.exit_code == 0
    assert sorted(r["id"][-5:] for r in rows) == ["gamma", "silon"]
    named = run("query", "stats", "--index", "idx")  # the word "stats", not the command
    assert (named.exit_code, named.stdout) == (1, "")
    assert "0 matching articles" in named.stderr


def test_help_lists_the_search_options(run):
    result = run("--help")
    assert result.exit_code == 0
    for option in ("--since", "--until", "--limit", "--facet", "--json", "--count", "--marks"):
        assert option in result.stdout
    assert "Usage: search QUERY [OPTIONS] | COMMAND [ARGS]..." in result.stdout or \
        "QUERY [OPTIONS] | COMMAND" in result.stdout


@pytest.mark.parametrize("command", [["korea"], ["stats"], ["show", "x"], ["similar", "x"]])
def test_read_only_commands_leave_a_folder_that_is_not_an_index_alone(run, tmp_path, command):
    shared = tmp_path / "shared"
    write_file(shared / "thesis.txt", "My thesis.")
    shared.chmod(0o1777)
    before = snapshot(shared)
    result = run(*command, "--index", "shared")
    assert result.exit_code == 2
    assert result.stderr.startswith("search: error: ") and result.stderr.count("\n") == 1
    assert snapshot(shared) == before
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


@pytest.mark.parametrize("command", [["korea"], ["stats"], ["show", "x"], ["similar", "x"]])
def test_read_only_commands_create_no_index_where_none_is(run, tmp_path, command):
    write_records(tmp_path / "corpus")  # a corpus the demo could be built from
    result = run(*command, "--index", "typo")
    assert result.exit_code == 2 and "no index at typo/" in result.stderr
    assert not (tmp_path / "typo").exists()
    os.environ["SEARCHLIB_INDEX"] = "typo2"  # an index named by the environment is not the demo either
    try:
        assert run(*command).exit_code == 2
    finally:
        del os.environ["SEARCHLIB_INDEX"]
    assert not (tmp_path / "typo2").exists()


def test_the_first_run_demo_builds_the_default_index_in_an_empty_folder(run, tmp_path):
    write_records(tmp_path / "corpus")
    write_file(tmp_path / "index" / ".gitignore", "*\n")  # as in the repository
    result = run("flood")
    assert result.exit_code == 0 and "building it from corpus/ first" in result.stderr
    assert (tmp_path / "index" / "searchlib.json").exists()
    assert (tmp_path / "index" / ".gitignore").read_text() == "*\n"


def test_json_ends_with_one_summary_object(run, indexed):
    result = run("--index", "idx", "flood", "--json", "--limit", "2", "--facet", "section")
    *hits, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2]
    assert summary == {"total": 3, "complete": 3, "partial": False, "shown": 2, "page": 1, "limit": 2,
                       "facets": {"section": {"Weather": 2, "Politics": 1}}}
    page2 = [json.loads(line) for line in run("--index", "idx", "flood", "--json", "--limit", "2",
                                              "--page", "2").stdout.splitlines()]
    assert page2[-1] == {"total": 3, "complete": 3, "partial": False, "shown": 1, "page": 2, "limit": 2}
    assert page2[0]["id"] not in {h["id"] for h in hits}
    nothing = run("--index", "idx", "zebra", "--json")
    assert nothing.exit_code == 1
    assert [json.loads(line) for line in nothing.stdout.splitlines()] == [
        {"total": 0, "complete": 0, "partial": False, "shown": 0, "page": 1, "limit": 10}]


def test_json_summary_carries_the_suggestion(run, indexed):
    result = run("--index", "idx", "festivle", "--json")
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["suggestion"] == "festival"


def test_count_prints_the_total_only(run, indexed):
    result = run("--index", "idx", "river", "--count", "--limit", "1")
    assert (result.exit_code, result.stdout) == (0, "4\n")
    assert run("--index", "idx", "zebra", "-c").stdout == "0\n"
    assert run("--index", "idx", "zebra", "-c").exit_code == 1


def test_marks_none_gives_plain_text(run, indexed):
    stars = run("--index", "idx", "flood", "--limit", "1")
    plain = run("--index", "idx", "flood", "--limit", "1", "--marks", "none")
    assert "**" in stars.stdout and "**" not in plain.stdout
    assert plain.stdout.replace("flood", "") != plain.stdout  # the words are still there
    assert plain.stdout == stars.stdout.replace("**", "")


def test_text_output_dates_titles_and_labels(run, tmp_path):
    write_file(tmp_path / "c" / "a.jsonl", json.dumps(
        {"id": "a", "title": "", "body": "The ferry ran late.", "date": "2022-09-06T11:50:00.123456Z",
         "source": "Harbour News", "section": "Transport"}) + "\n")
    assert run("index", "c", "--index", "idx").exit_code == 0
    lines = run("--index", "idx", "ferry").stdout.splitlines()
    assert lines[0] == "(untitled)"
    assert lines[1] == "2022-09-06T11:50:00Z · source: Harbour News · section: Transport · c/a.jsonl#a"


def test_the_partial_matches_are_set_off_in_text(run, indexed):
    result = run("--index", "idx", "flood harvest")
    assert result.exit_code == 0
    blocks = result.stdout.split("\n\n")
    assert blocks[0] == "-- partial matches: not all the words --"


def test_json_and_text_output_stay_utf8_with_undecodable_file_names(run, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Harbour\n\nThe ferry ran.", encoding="utf-8")
    bad = os.fsencode(corpus) + b"/caf\xe9\n\x1b[2J.txt"
    with open(bad, "wb") as f:
        f.write(b"Headline\n\nBody.")
    result = run("index", "c", "--index", "idx", "--json")
    raw = result.stdout_bytes.decode("utf-8")  # valid UTF-8, or this raises
    report = json.loads(raw)
    (skipped,) = report["skipped"]
    assert skipped["path"].endswith("caf\udce9\n\x1b[2J.txt")
    text = run("index", "c", "--index", "idx2")
    text.stderr_bytes.decode("utf-8")
    assert "caf\\xe9\\x0a\\x1b[2J.txt" in text.stderr


def test_other_file_types_are_ignored_not_skipped_and_exclude_leaves_out_more(run, tmp_path):
    corpus = tmp_path / "corpus"
    write_records(corpus)
    write_file(corpus / "README.md", "# About this archive\n")
    write_file(corpus / "LICENSE", "Permission is hereby granted, free of charge, ...\n")
    write_file(corpus / "drafts" / "x.txt", "Draft\n\nNot for the index.")
    result = run("index", "--exclude", "drafts/", "--list-ignored")
    assert result.exit_code == 0, result.output  # ignored files do not make a run fail (cron)
    assert "0 skipped, 2 ignored files; 5 articles written" in result.stdout
    assert sorted(line.rsplit("/", 1)[-1] for line in result.stderr.splitlines()
                  if line.startswith("search: ignored ")) == ["LICENSE", "README.md"]
    report = json.loads(run("index", "--rebuild", "--json", "--exclude", "drafts/").stdout)
    assert (report["ignored"], report["skipped_files"], report["files"]) == (2, 0, 1)
    assert run("draft").exit_code == 1  # the excluded folder was not indexed
    parsed = run("parse", "corpus", "--json", "--exclude", "*.jsonl")
    assert [json.loads(line) for line in parsed.stdout.splitlines()][-1]["articles"] == 1
    bad = run("index", "--exclude", "!")
    assert bad.exit_code == 2 and bad.stderr.startswith("search: error: bad exclude pattern '!'")


def test_a_newline_in_a_file_name_cannot_forge_a_hit(run, tmp_path):
    corpus = tmp_path / "c8"
    name = "b\n\nFake headline\n2099-01-01 · source: Reuters.txt"
    write_file(corpus / name, "H\n\nwalrus\n")
    assert run("index", "c8", "--index", "ix8").exit_code == 0
    out = run("--index", "ix8", "walrus", "--color", "never").stdout
    assert "\nFake headline\n" not in out
    assert out.splitlines()[1].endswith("c8/b\\x0a\\x0aFake headline\\x0a2099-01-01 · source: Reuters.txt")
    parsed = run("parse", str(corpus / name)).stdout.splitlines()
    assert not any(line.startswith("Fake headline") for line in parsed)


def test_index_given_before_parse_is_accepted(run, tmp_path):
    write_file(tmp_path / "a.txt", "Headline\n\nBody.")
    result = run("--index", "idx", "parse", "a.txt")
    assert result.exit_code == 0 and result.stdout.startswith("title:    Headline")
    assert not (tmp_path / "idx").exists()
