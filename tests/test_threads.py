"""Threads (issue 20): `Index.thread` and `search thread`, the articles that follow one story over
time (follow-ups and reactions within the window, not the seed's copies), oldest first."""
from __future__ import annotations

import json

import pytest

import searchlib
from searchlib.stories import threads

from .conftest import index_of, write_records

DAM = ("Engineers at the Quarrington dam found cracks in the spillway on Friday, and the county "
       "ordered the reservoir lowered while inspectors led by Maren Halloway examine the concrete. "
       "Residents of Lower Quarrington were told to prepare for an evacuation if the cracks widen "
       "over the weekend, the county's emergency office said in a statement.")
FILLER = ["The city council approved a budget for new bus lanes on the high street after a long debate.",
          "A bakery on the harbour front won a regional prize for its sourdough and rye loaves.",
          "The football club signed a young goalkeeper from the second division on a three-year deal.",
          "Rail passengers faced delays after a signal fault near the central station in the morning.",
          "The museum opened an exhibition of early photographs of the town's fishing fleet.",
          "Farmers reported a strong apple harvest despite a dry summer in the southern valleys.",
          "A new library branch will open in the eastern suburbs next spring, the mayor said.",
          "Tickets for the summer music festival sold out within an hour of going on sale."]

RECORDS = {
    "seed": {"title": "Cracks found in Quarrington dam", "body": DAM, "date": "2024-03-01T09:00:00Z",
             "source": "Valley Times"},
    "seedcopy": {"title": "Quarrington dam cracks: reservoir lowered", "body": DAM + " Copyright Wire.",
                 "date": "2024-03-01T11:00:00Z", "source": "Daily Post"},
    "followup": {"title": "Halloway: Quarrington spillway cracks are widening",
                 "body": "Inspectors led by Maren Halloway said on Monday that the cracks in the Quarrington "
                         "spillway had widened, and the reservoir will be lowered further. An evacuation of "
                         "Lower Quarrington is not yet needed.",
                 "date": "2024-03-04T10:00:00Z", "source": "Evening News"},
    "reaction": {"title": "Lower Quarrington residents angry over dam",
                 "body": "Residents of Lower Quarrington packed a meeting to ask why cracks in the dam's "
                         "spillway were not found earlier. The county said inspectors and Maren Halloway "
                         "would report on the reservoir within a week, and that no evacuation was planned.",
                 "date": "2024-03-10T18:00:00Z", "source": "The Courier"},
    "early": {"title": "Quarrington reservoir to be inspected",
              "body": "The county said inspectors will examine the Quarrington dam and its spillway next "
                      "month, led by its engineer Maren Halloway, after a dry winter lowered the reservoir.",
              "date": "2024-02-20T08:00:00Z", "source": "Valley Times"},
    "late": {"title": "Quarrington dam repaired",
             "body": "Repairs to the cracks in the Quarrington spillway are finished, Maren Halloway said, "
                     "and the reservoir will be refilled; Lower Quarrington's evacuation plan is lifted.",
             "date": "2024-06-01T08:00:00Z", "source": "Evening News"},
    "undated": {"title": "Quarrington dam history",
                "body": "The Quarrington dam and its spillway were built in 1921; inspectors and Maren "
                        "Halloway keep its records, and Lower Quarrington grew up below the reservoir.",
                "source": "Archive"},
    "passing": {"title": "Weekend weather", "body": "Rain is expected across the county and at Quarrington "
                "over the weekend, with sunshine returning on Monday.",
                "date": "2024-03-02T07:00:00Z", "source": "Daily Post"},
}
RECORDS["solo"] = {"title": "Chess grandmaster retires",
                   "body": "Grandmaster Ilse Voronova retired from competitive chess at 71, ending a "
                           "career of six national titles and one memorable draw against a computer.",
                   "date": "2024-03-05T09:00:00Z", "source": "Herald"}
RECORDS["reactioncopy"] = {**RECORDS["reaction"], "title": "Anger in Lower Quarrington",
                           "source": "Morning Star", "date": "2024-03-10T20:00:00Z"}
# a long enough body for the reaction to have copies (stories need 20 shingles)
RECORDS["reaction"]["body"] += " " + FILLER[0]
RECORDS["reactioncopy"]["body"] = RECORDS["reaction"]["body"]
for number in range(40):  # (the town's other news: common words are common, rare ones rare)
    RECORDS[f"filler{number}"] = {"title": f"Town news {number}",
                                  "body": " ".join(FILLER[(number + k * 3) % len(FILLER)] for k in range(3)),
                                  "date": f"2024-03-{number % 28 + 1:02d}T12:00:00Z", "source": "Herald"}


def _id(key: str) -> str:
    return f"corpus/fixture.jsonl#{key}"


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    with index_of(tmp_path_factory.mktemp("threads"), RECORDS) as index:
        yield index


def test_follow_ups_oldest_first_without_the_seeds_copies(idx):
    thread = idx.thread(_id("seed"))
    assert [f.id for f in thread.articles] == [_id("early"), _id("followup"), _id("reaction")]
    assert [f.date.isoformat() for f in thread.articles] == [
        "2024-02-20T08:00:00+00:00", "2024-03-04T10:00:00+00:00", "2024-03-10T18:00:00+00:00"]
    assert thread.title == "Cracks found in Quarrington dam" and thread.window_days == threads.WINDOW_DAYS


def test_a_followers_copies_count_once(idx):
    reaction = next(f for f in idx.thread(_id("seed")).articles if f.id == _id("reaction"))
    assert reaction.copies == 2
    assert idx.copies(_id("reaction")).copies[1].id == _id("reactioncopy")  # (they are copies)


def test_shared_words_as_the_seed_writes_them(idx):
    follow = next(f for f in idx.thread(_id("seed")).articles if f.id == _id("followup"))
    assert "Halloway" in follow.shared and "Quarrington" in follow.shared and "spillway" in follow.shared
    assert "the" not in follow.shared and 0.25 <= follow.score <= 1.0


def test_outside_the_window_and_undated_are_left_out(idx):
    ids = [f.id for f in idx.thread(_id("seed")).articles]
    assert _id("late") not in ids and _id("undated") not in ids and _id("passing") not in ids
    wide = [f.id for f in idx.thread(_id("seed"), window_days=120).articles]
    assert _id("late") in wide and _id("undated") not in wide


def test_limit_keeps_the_best_then_orders_by_date(idx):
    best = max(idx.thread(_id("seed")).articles, key=lambda f: f.score)
    assert [f.id for f in idx.thread(_id("seed"), limit=1).articles] == [best.id]


def test_an_undated_seed_looks_at_any_date(idx):
    ids = [f.id for f in idx.thread(_id("undated")).articles]
    assert _id("late") in ids and _id("early") in ids


def test_no_follow_ups_is_an_empty_thread(idx):
    assert idx.thread(_id("solo")).articles == []


def test_unknown_id_and_bad_arguments(idx):
    with pytest.raises(searchlib.ArticleNotFoundError):
        idx.thread("no/such#id")
    with pytest.raises(searchlib.ArgumentError):
        idx.thread(_id("seed"), window_days=-1)
    with pytest.raises(searchlib.QueryError):  # (as for similar)
        idx.thread(_id("seed"), limit=-1)


def test_key_terms_leave_out_words_of_the_seed_alone(idx):
    # a word in no other article cannot link the seed to anything: never looked up
    terms = idx.thread(_id("seedcopy")).terms
    assert "Quarrington" in terms and "Copyright" not in terms and "Wire" not in terms


def test_a_window_past_the_calendar_is_no_error(tmp_path):
    records = {"old": {"title": "Roman census", "body": DAM, "date": "0005-03-01T00:00:00Z"},
               "older": {"title": "Roman census again", "body": RECORDS["followup"]["body"],
                         "date": "0005-03-04T00:00:00Z"}}
    with index_of(tmp_path / "two", records) as index:  # (every word in both: nothing to tell)
        assert index.thread(_id("old"), window_days=36_500).articles == []
    records.update({key: value for key, value in RECORDS.items() if key.startswith("filler")})
    with index_of(tmp_path / "more", records) as index:
        assert [f.id for f in index.thread(_id("old"), window_days=36_500).articles] == [_id("older")]


def _cli_index(run, tmp_path):
    write_records(tmp_path / "corpus", RECORDS)
    assert run("index", "corpus", "--jobs", "1").exit_code == 0


def test_thread_command_text(run, tmp_path):
    _cli_index(run, tmp_path)
    result = run("thread", _id("seed"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"thread of {_id('seed')}: 3 articles within 14 days"
    dated = [line for line in lines if line[:4] == "2024"]
    assert [line[:10] for line in dated] == ["2024-02-20", "2024-03-01", "2024-03-04", "2024-03-10"]
    assert "this article" in dated[1] and "+1 other outlet (Morning Star)" in result.stdout
    assert "shares: " in result.stdout


def test_thread_command_json(run, tmp_path):
    _cli_index(run, tmp_path)
    lines = [json.loads(line) for line in run("thread", _id("seed"), "--json").stdout.splitlines()]
    assert [line["id"] for line in lines[:-1]] == [_id("early"), _id("followup"), _id("reaction")]
    assert lines[-1]["id"] == _id("seed") and lines[-1]["articles"] == 3 and lines[-1]["window_days"] == 14
    assert lines[2]["copies"] == 2 and lines[0]["date"] == "2024-02-20T08:00:00Z"


def test_thread_command_empty_and_unknown(run, tmp_path):
    _cli_index(run, tmp_path)
    empty = run("thread", _id("solo"), "--json")
    assert empty.exit_code == 1
    assert json.loads(empty.stdout.splitlines()[-1])["articles"] == 0
    missing = run("thread", "no/such#id")
    assert missing.exit_code == 2 and "no/such#id" in missing.stderr and "Traceback" not in missing.stderr


def test_a_sharded_index_gives_the_same_thread(tmp_path, idx):
    write_records(tmp_path / "corpus", RECORDS)
    with searchlib.Index(tmp_path / "index") as sharded:
        sharded.update([tmp_path / "corpus"], jobs=1, shards=2)
        ours, theirs = sharded.thread(_id("seed")), idx.thread(_id("seed"))
        assert [(f.id, f.copies, f.shared) for f in ours.articles] == [
            (f.id, f.copies, f.shared) for f in theirs.articles]
