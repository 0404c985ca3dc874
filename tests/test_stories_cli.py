"""Stories on the terminal: collapsed hits, --all-copies, `search copies` (text and --json)."""
from __future__ import annotations

import json

from .conftest import write_records
from .test_stories import PARAS, RECORDS


def _index(run, tmp_path):
    write_records(tmp_path / "corpus", RECORDS)
    assert run("index", "corpus", "--jobs", "1").exit_code == 0


def test_hits_collapse_with_other_outlets_line(run, tmp_path):
    _index(run, tmp_path)
    result = run("+Tamsin +Marlow", "--color", "never", "--marks", "none")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "River Tamsin floods Marlow again"
    assert lines[2] == "+4 other outlets (Evening News, The Courier, Daily Post, …)"
    assert result.stdout.count("other outlet") == 1  # the late copy is a story of its own
    assert "6 matching articles in 2 stories" in result.stderr


def test_all_copies_lists_every_article(run, tmp_path):
    _index(run, tmp_path)
    result = run("+Tamsin +Marlow", "--all-copies", "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 7 and lines[-1]["total"] == 6 and "stories" not in lines[-1]
    assert sorted(hit["copies"] for hit in lines[:-1]) == [1, 5, 5, 5, 5, 5]


def test_json_summary_says_pages_count_stories(run, tmp_path):
    _index(run, tmp_path)
    lines = [json.loads(line) for line in run("+Tamsin +Marlow", "--json").stdout.splitlines()]
    assert lines[-1]["total"] == 6 and lines[-1]["stories"] == 2 and lines[-1]["pages"] == "stories"
    assert lines[0]["copies"] == 5 and lines[0]["outlets"][0] == "Evening News"
    assert lines[1]["copies"] == 1 and lines[1]["outlets"] == []


def test_copies_command_text_and_json(run, tmp_path):
    _index(run, tmp_path)
    first = json.loads(run("+Tamsin +Marlow", "--json").stdout.splitlines()[0])
    text = run("copies", first["id"])
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0] == f"story {first['story']}: 5 articles"
    assert "(first published)" in text.stdout and "headline: Hundreds flee as Marlow floods" in text.stdout
    assert "cut 2 paragraphs: " + PARAS[4][:20] in text.stdout
    lines = [json.loads(line) for line in run("copies", first["id"], "--json").stdout.splitlines()]
    assert lines[-1] == {"story": first["story"], "copies": 5}
    assert [line["first"] for line in lines[:-1]] == [True, False, False, False, False]
    assert lines[3]["source"] == "Daily Post" and lines[3]["changes"]["cut"] == PARAS[4:]


def test_copies_of_unknown_id_is_an_error(run, tmp_path):
    _index(run, tmp_path)
    result = run("copies", "no/such#id")
    assert result.exit_code == 2 and "no/such#id" in result.stderr and "Traceback" not in result.stderr


def test_copies_of_a_story_of_one(run, tmp_path):
    _index(run, tmp_path)
    late = next(json.loads(line)["id"] for line in run("+Tamsin +Marlow", "--json", "--all-copies").stdout.splitlines()
                if json.loads(line).get("id", "").endswith("#late"))
    lines = run("copies", late).stdout.splitlines()
    assert lines[0].endswith(": 1 article (no copies in other outlets)")
    assert lines[3] == f"  {late}  (first published)"
