"""Attacks on `search thread ID`, `search copies ID` and `search history ID` (issue 20), on an
unsharded index and on a 3-shard index of the same articles: unknown ids, ids with odd
characters, the --json shape (one object per line, a summary object last), exit codes (0 found,
1 none, 2 error), and the sharded answers equal to the unsharded ones. What holds is a plain
test; what breaks is a strict xfail naming the break."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import searchlib

from .conftest import write_records
from .test_stories import PARAS, RECORDS, story

FOLLOW_UPS = story(
    # the days after: the same rare names (Tamsin, Marlow), new text: follow-ups, not copies
    review={"title": "Ostrander bridge: Velkova orders cable tests", "date": "2024-01-12T08:00:00Z",
            "body": "Engineer Dana Velkova ordered tests of the corroded suspension cables of the Ostrander "
                    "bridge on Friday; lorries stay barred from the span over the Tamsin until the tests end."},
    insurers={"title": "Ostrander hauliers angry at Velkova's bridge ban", "date": "2024-01-15T08:00:00Z",
              "source": "Daily Post",
              "body": "Hauliers said the ban on lorries crossing the Ostrander bridge, ordered after Dana "
                      "Velkova found corroded suspension cables, adds an hour to every trip."},
    unrelated={"title": "Harbour budget approved", "date": "2024-01-11T08:00:00Z", "source": "Coast News",
               "body": "The harbour board approved its budget for dredging the channel and new lights."},
)
SEED = {"title": "Corroded cables close Ostrander bridge to lorries", "date": "2024-01-10T08:00:00Z",
        "source": "Valley Times",
        "body": "Inspectors led by engineer Dana Velkova found corroded suspension cables on the Ostrander "
                "bridge over the Tamsin, and the county barred lorries from the span until repairs begin."}
FILLER = {f"filler{n}": {"title": title, "body": body, "date": f"2024-01-{11 + n}T08:00:00Z", "source": "Filler"}
          for n, (title, body) in enumerate([
              ("Bus lanes approved", "The city approved a budget for new bus lanes on the high street."),
              ("Bakery wins prize", "A bakery on the harbour front won a regional prize for its rye loaves."),
              ("Goalkeeper signed", "The football club signed a young goalkeeper on a three-year deal."),
              ("Signal fault delays trains", "Rail passengers faced delays after a signal fault this morning."),
              ("Photographs exhibited", "The museum opened an exhibition of early photographs of the fleet."),
              ("Apple harvest strong", "Farmers reported a strong apple harvest despite a dry summer."),
              ("Library branch to open", "A new library branch will open in the eastern suburbs next spring."),
              ("Festival sold out", "Tickets for the summer music festival sold out within an hour.")])}
SOLO = {"title": "Grandmaster Voronova retires", "date": "2024-01-13T08:00:00Z", "source": "Chess Weekly",
        "body": "Grandmaster Ilse Voronova retired from competitive chess at 71 after six national titles."}
CORRECTED = PARAS[0].replace("four hundred", "five hundred")



def build(root: Path, shards: int | None) -> Path:
    corpus = root / "corpus"
    records = {**RECORDS, **FOLLOW_UPS, "seed": {"source": "Wire", **SEED}, **FILLER, "solo": SOLO}
    write_records(corpus, records)
    with searchlib.Index(root / "idx") as idx:
        idx.update([corpus], jobs=1, **({"shards": shards} if shards else {}))
    # a correction: the original article republished with a changed first paragraph
    records["original"] = {**records["original"], "body": "\n\n".join([CORRECTED] + PARAS[1:])}
    write_records(corpus, records)
    with searchlib.Index(root / "idx") as idx:
        report = idx.update([corpus], jobs=1)
        assert report.updated == 1
    return root


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("threads_plain"), None)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("threads_sharded"), 3)


@pytest.fixture(params=["plain", "sharded"])
def root(request) -> Path:
    return request.getfixturevalue(request.param)


class Outcome:
    def __init__(self, code: int, stdout: str, stderr: str, exception):
        self.code, self.stdout, self.stderr, self.exception = code, stdout, stderr, exception


def invoke(root: Path, *args) -> Outcome:
    """`search ARGS --index ROOT/idx` in this process (CliRunner), none of searchlib's
    environment variables set; an exception other than a clean exit is kept, not raised."""
    from click.testing import CliRunner

    from searchlib.cli import cli
    env = {k: None for k in os.environ if k.startswith("SEARCHLIB_")}
    result = CliRunner().invoke(cli, ["--index", str(root / "idx"), *args], env=env, catch_exceptions=True)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr, exception)


def the_id(key: str) -> str:
    return f"corpus/fixture.jsonl#{key}"


def one_line_error(result: Outcome) -> None:
    assert result.exception is None, repr(result.exception)
    assert result.code == 2 and result.stdout == "", (result.code, result.stdout)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("search: error: "), result.stderr
    assert "\x1b" not in result.stderr and "\x00" not in result.stderr and "\u202e" not in result.stderr


ODD_IDS = ["nope", "", " ", "corpus/fixture.jsonl", "corpus/fixture.jsonl#", "#original",
           "corpus/fixture.jsonl#ORIGINAL", "corpus/fixture.jsonl#original ", "*", "corpus/*", "corpus/fixture.jsonl#*",
           "x\n\x1b[31mred\x1b[0m", "a\x00b", "\u202eevil", "../../../etc/passwd", "x" * 20000,
           "corpus/fixture.jsonl#original OR corpus/fixture.jsonl#cut", "id:original", "\ud800"]


@pytest.mark.parametrize("command", ["thread", "copies", "history", "show"])
@pytest.mark.parametrize("article_id", ODD_IDS, ids=[repr(i[:30]) for i in ODD_IDS])
def test_an_unknown_or_odd_id_is_one_line_and_exit_2(root, command, article_id):
    for json_flag in ((), ("--json",)):
        one_line_error(invoke(root, command, article_id, *json_flag))


def lines_of(result: Outcome) -> list[dict]:
    assert result.exception is None, repr(result.exception)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out and all(isinstance(item, dict) for item in out)
    return out


def test_thread_json_ends_with_its_summary_and_exit_0(root):
    result = invoke(root, "thread", the_id("seed"), "--json")
    out = lines_of(result)
    summary, items = out[-1], out[:-1]
    assert result.code == 0
    assert summary["id"] == the_id("seed") and summary["articles"] == len(items) >= 2
    ids = [item["id"] for item in items]
    assert the_id("review") in ids and the_id("insurers") in ids
    assert the_id("unrelated") not in ids
    # not its copies
    assert not {the_id(k) for k in ("seed", "original") + tuple(FILLER)} & set(ids)
    dates = [item["date"] for item in items]
    assert dates == sorted(dates)  # oldest first


def test_thread_of_an_article_nothing_follows_is_exit_1_with_a_summary(root):
    result = invoke(root, "thread", the_id("solo"), "--json")
    out = lines_of(result)
    assert result.code == 1 and len(out) == 1 and out[-1]["articles"] == 0
    text = invoke(root, "thread", the_id("solo"))
    assert text.code == 1 and text.exception is None


@pytest.mark.parametrize("limit", ["0", "-1", "x", "1e3"])
def test_a_bad_thread_limit_is_exit_2(root, limit):
    result = invoke(root, "thread", the_id("original"), "--limit", limit)
    assert result.code == 2 and result.exception is None and result.stdout == ""


def test_thread_limit_1_is_one_story(root):
    out = lines_of(invoke(root, "thread", the_id("seed"), "--json", "--limit", "1"))
    assert len(out) == 2 and out[-1]["articles"] == 1


def test_copies_json_ends_with_its_summary(root):
    result = invoke(root, "copies", the_id("typo"), "--json")
    out = lines_of(result)
    summary, items = out[-1], out[:-1]
    assert result.code == 0
    assert summary["copies"] == len(items) == 5
    assert sorted(item["id"] for item in items) == sorted(the_id(k) for k in ("original", "headline", "credit",
                                                                                "cut", "typo"))
    assert [item["first"] for item in items] == [True, False, False, False, False]


def test_copies_of_an_article_with_no_copies_is_exit_1(root):
    result = invoke(root, "copies", the_id("unrelated"), "--json")
    assert lines_of(result)[-1]["copies"] == 1
    assert result.code == 1


def test_history_json_ends_with_its_summary(root):
    result = invoke(root, "history", the_id("original"), "--json")
    out = lines_of(result)
    summary, versions = out[-1], out[:-1]
    assert result.code == 0
    assert summary == {"id": the_id("original"), "versions": 2}
    assert [v["current"] for v in versions] == [False, True]
    changed = json.dumps(versions[1]["diff"])
    assert "four" in changed and "five" in changed


def test_history_text_marks_the_correction(root):
    result = invoke(root, "history", the_id("original"), "--color", "never")
    assert result.code == 0 and result.exception is None
    assert "[-four-]{+five+}" in result.stdout.replace(" ", "") or \
        ("[-four" in result.stdout and "{+five" in result.stdout), result.stdout


@pytest.mark.parametrize("command,key", [("thread", "seed"), ("thread", "review"),
                                         ("copies", "credit"),
                                         ("copies", "other"), ("history", "original"), ("history", "cut"),
                                         ("show", "original")])
def test_sharded_answers_equal_unsharded(plain, sharded, command, key):
    one = invoke(plain, command, the_id(key), "--json")
    other = invoke(sharded, command, the_id(key), "--json")
    assert (other.code, other.exception) == (one.code, one.exception)
    a, b = lines_of(one), lines_of(other)
    if command == "history":  # the times each version was seen differ between the two builds
        for item in a + b:
            item.pop("seen", None)
    if command == "thread":  # story ids are opaque and made per build
        for item in a + b:
            item.pop("story", None)
    if command == "copies":
        a[-1].pop("story"), b[-1].pop("story")
    if command == "show":
        for item in a + b:
            item.pop("story", None), item.pop("entered", None), item.pop("path", None)
    assert b == a


# ---------------------------------------------------------------- the library's Index.thread

@pytest.mark.parametrize("key", ["seed", "review", "insurers", "original", "unrelated", "solo"])
def test_index_thread_sharded_equals_unsharded(plain, sharded, key):
    with searchlib.Index(plain / "idx", create=False) as one, searchlib.Index(sharded / "idx", create=False) as other:
        a, b = one.thread(the_id(key)), other.thread(the_id(key))
    assert [f.to_dict() | {"story": None} for f in b.articles] == [f.to_dict() | {"story": None} for f in a.articles]
    assert b.to_dict() | {"story": None} == a.to_dict() | {"story": None}


def test_index_thread_follows_and_leaves_out_copies(plain):
    with searchlib.Index(plain / "idx", create=False) as idx:
        found = idx.thread(the_id("seed"))
    ids = [f.id for f in found.articles]
    assert the_id("review") in ids and the_id("insurers") in ids and the_id("unrelated") not in ids
    assert the_id("seed") not in ids and not {the_id(k) for k in FILLER} & set(ids)


@pytest.mark.parametrize("article_id", ["nope", "", "*", "corpus/fixture.jsonl#*", "a\x00b", "x" * 20000])
def test_index_thread_of_an_unknown_id_raises_article_not_found(root, article_id):
    from searchlib.errors import SearchlibError
    with searchlib.Index(root / "idx", create=False) as idx:
        with pytest.raises(SearchlibError):
            idx.thread(article_id)


@pytest.mark.parametrize("window", [-1, float("nan"), float("inf"), "7", True, 40_000])
def test_index_thread_bad_window_is_an_argument_error(plain, window):
    from searchlib.errors import ArgumentError
    with searchlib.Index(plain / "idx", create=False) as idx:
        with pytest.raises(ArgumentError):
            idx.thread(the_id("original"), window_days=window)
