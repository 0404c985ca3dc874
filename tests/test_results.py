"""Results beyond the hits: several snippets per hit, facets, the timeline, "did you mean" and
the recency boost, through the library and the CLI, with exact expected values on the fixture."""
import json

import pytest
from hypothesis import given, settings, strategies as st
from click.testing import CliRunner

import searchlib
from searchlib import QueryError
from searchlib.querying import snippets
from searchlib.cli import cli
from searchlib.engine.schema import SCHEMA

from .conftest import ids, write_records

ANALYZER = SCHEMA["body"].analyzer
STORM = ("The harbour was quiet in the morning. " * 4 + "Storm warnings went out at noon. "
         + "Boats stayed in port while crews waited. " * 5 + "By night the storm had reached the coast. "
         + "Nobody was hurt. " * 4).strip()


def passages(text, words, count, width=120):
    found = snippets.make_snippets(text, snippets.Terms(frozenset(words)), ANALYZER, count, width)
    return [(p.text, [p.text[s:e] for s, e in p.spans]) for p in found]


def test_snippets_are_whole_sentences_around_the_matches_in_text_order():
    assert passages(STORM, {"storm"}, 1) == [
        ("…Storm warnings went out at noon. Boats stayed in port while crews waited. "
         "Boats stayed in port while crews waited.…", ["Storm"])]
    assert passages(STORM, {"storm"}, 3) == [  # only two places match: two passages
        ("…Storm warnings went out at noon. Boats stayed in port while crews waited. "
         "Boats stayed in port while crews waited.…", ["Storm"]),
        ("…By night the storm had reached the coast. Nobody was hurt. Nobody was hurt. "
         "Nobody was hurt. Nobody was hurt.", ["storm"])]


def test_the_best_passage_is_chosen_first():
    # one passage: the one with both words, though a single-word passage comes earlier
    text = "A storm. " + "Filler words go here now. " * 8 + "The storm hit the coast at dawn. " + "More filler. " * 8
    ((best, marked),) = passages(text, {"storm", "coast"}, 1, width=60)
    assert marked == ["storm", "coast"] and best.startswith("…The storm hit the coast")


def test_passages_never_overlap():
    text = " ".join(f"n{i} storm" for i in range(100))
    found = passages(text, {"storm"}, 5, width=50)
    assert len(found) == 5 and all(marked for _, marked in found)
    spans = []
    for passage, _ in found:
        body = passage.strip("…")
        start = text.find(body)
        assert start >= 0
        spans.append((start, start + len(body)))
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))


@pytest.fixture
def storm_index(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "storm.json").write_text(json.dumps({"title": "Storm day", "body": STORM}), encoding="utf-8")
    idx = searchlib.Index(tmp_path / "ix")
    idx.update(folder)
    return idx


def test_search_returns_as_many_passages_as_asked(storm_index):
    (hit,) = storm_index.search("storm", snippets=2)
    assert [f.text[:20] for f in hit.fragments] == ["…Storm warnings went", "…By night the storm "]
    assert hit.snippet == hit.fragments[0].text  # the best one (ties: the first)
    (one,) = storm_index.search("storm")
    assert len(one.fragments) == 1


# --- facets and timeline --------------------------------------------------------------------

def test_facets_count_all_matches_not_just_the_page(index):
    results = index.search("river", limit=1, facets=["source", "section", "tags", "month", "year"])
    assert (len(results.hits), results.total) == (1, 4)
    assert results.facets == {
        "source": [("North Desk", 3), ("East Desk", 1)],
        "section": [("Weather", 2), ("Culture", 1), ("Science", 1)],
        "tags": [("floods", 1), ("(none)", 3)],  # the articles without a tag, last
        # gamma, at 00:30 on 1 October in UTC+2, is a September article in UTC; only the months
        # that have articles are listed (the timeline, facet "date", lists the empty ones too)
        "month": [("2022-09", 2), ("2023-01", 1), ("undated", 1)],
        "year": [("2022", 2), ("2023", 1), ("undated", 1)],
    }


def test_list_facets_asked_together_count_as_each_alone(index):
    together = index.search("river", limit=1, facets=["tags", "topics", "places", "source"]).facets
    assert together["tags"] == [("floods", 1), ("(none)", 3)]
    for name in ("tags", "topics", "places", "source"):
        assert together[name] == index.search("river", limit=1, facets=[name]).facets[name]


def test_facets_follow_the_date_filter_and_the_date_bucket_fits_the_span(index):
    results = index.search("river", since="2022-09-30", until="2022-09-30", facets=["date", "source"])
    assert ids(results) == ["gamma"]
    assert results.facets == {"date": [("2022-09-30", 1)], "source": [("North Desk", 1)]}
    days = index.search("flood OR harvest", facets=["date"]).facets["date"]
    assert days[0] == ("2022-09-06", 1) and days[-2:] == [("2022-09-30", 2), ("undated", 1)]
    assert len(days) == 25 + 1  # every day from the 6th to the 30th, then the undated
    assert index.search("river", facets=["date"]).facets["date"][0] == ("2022-09", 2)


def test_an_unknown_facet_is_a_query_error(index):
    with pytest.raises(QueryError, match="cannot count by 'colour'"):
        index.search("river", facets=["colour"])


# --- did you mean, recency ------------------------------------------------------------------

@pytest.mark.parametrize("query, suggestion", [
    ("festivl", "festival"),                 # nothing found: one edit away
    ("flod harvest", "flood harvest"),       # found only partially: flod is unknown
    ("title:flod", None),                    # a field value is left alone
    ('"festivl"', None),                     # so is a quoted phrase
    ("river", None),                         # a known word
    ("xqzzy", None),                         # nothing close
])
def test_did_you_mean(index, query, suggestion):
    assert index.search(query).suggestion == suggestion


def test_fresh_boosts_recent_articles_in_relevance_order(index):
    assert ids(index.search("river")) == ["alpha", "epsilon", "gamma", "delta"]
    fresh = index.search("river", fresh=30)
    # epsilon is the newest match (2023-01-15); alpha is 131 days older: 0.52 of its boost
    assert ids(fresh) == ["epsilon", "alpha", "gamma", "delta"]
    assert fresh.hits[1].score == pytest.approx(index.search("river").hits[0].score
                                                * (0.5 + 0.5 * 2 ** (-(131 - 11.84 / 24) / 30)), rel=1e-3)
    assert ids(index.search("river", fresh=30, sort="oldest")) == ids(index.search("river", sort="oldest"))


# --- the CLI --------------------------------------------------------------------------------

@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("SEARCHLIB_INDEX", "SEARCHLIB_CORPUS", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    write_records(tmp_path / "corpus")
    runner = CliRunner()
    assert runner.invoke(cli, ["index"]).exit_code == 0
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_cli_prints_facets_and_a_timeline_under_the_hits(run):
    result = run("river", "--limit", "1", "--facet", "source", "--timeline")
    assert result.exit_code == 0
    out = result.stdout.split("\n\n", 1)[1]  # after the one hit
    assert out.splitlines() == [
        "source:",
        "  North Desk  3",
        "  East Desk   1",
        "",
        "2022-09 " + "█" * 40 + " 2",
        "2022-10  0",
        "2022-11  0",
        "2022-12  0",
        "2023-01 " + "█" * 20 + " 1",
        "undated " + "█" * 20 + " 1",
    ]


def test_cli_json_ends_with_the_facets_and_the_suggestion(run):
    result = run("river", "--json", "--facet", "section", "--timeline")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 5 and rows[-1] == {
        "total": 4, "complete": 4, "partial": False, "shown": 4, "page": 1, "limit": 10, "facets": {
            "section": {"Weather": 2, "Culture": 1, "Science": 1},
            "date": {"2022-09": 2, "2022-10": 0, "2022-11": 0, "2022-12": 0, "2023-01": 1, "undated": 1}}}
    assert "fragments" in rows[0]
    typo = run("festivl", "--json")
    assert (typo.exit_code, typo.stdout) == (
        1, '{"total": 0, "complete": 0, "partial": false, "shown": 0, "page": 1, "limit": 10, '
           '"suggestion": "festival"}\n')
    assert "did you mean: festival" in typo.stderr


def test_cli_snippets_and_fresh(run):
    plain = run("river", "--limit", "1").stdout.splitlines()
    assert plain[0] == "Alpha **river** flood"
    fresh = run("river", "--limit", "1", "--fresh", "--snippets", "2").stdout.splitlines()
    assert fresh[0] == "Epsilon valley **river** survey"
    assert fresh[2] == "  Surveyors mapped the valley; the **river** itself was not measured."


@pytest.mark.parametrize("command", [[], ["query"], ["index"], ["parse"], ["show"], ["similar"], ["stats"]])
def test_every_command_has_examples_in_its_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output
    if command in ([], ["query"]):
        assert "search korea --facet source --facet month" in result.output
    else:  # its own examples, not the whole block again
        assert f"search {command[0]} " in result.output.split("Examples:")[1]
        assert "search korea --facet source --facet month" not in result.output


def test_facets_and_date_order_across_segments_with_and_without_dates(tmp_path):
    # The first commit holds only undated articles, so its segment has no date column; Whoosh's
    # own MultiColumnReader then misplaces every document (and Every("date") was slow to sort).
    folder = tmp_path / "c"
    write_records(folder / "a", {"u1": {"title": "Storm one", "body": "storm"},
                                 "u2": {"title": "Storm two", "body": "storm"}})
    write_records(folder / "b", {"d1": {"title": "Storm three", "body": "storm", "date": "2021-03-01",
                                        "source": "Wire"},
                                 "d2": {"title": "Storm four", "body": "storm", "date": "2021-05-01"}})
    idx = searchlib.Index(tmp_path / "ix")
    idx.update(folder / "a")
    idx.update(folder)
    from whoosh import index as whoosh_index
    with whoosh_index.open_dir(str(tmp_path / "ix")).reader() as reader:
        assert [leaf.has_column("date") for leaf, _ in reader.leaf_readers()] == [False, True]
    results = idx.search("storm", facets=["month", "source"], sort="newest")
    assert ids(results) == ["d2", "d1", "u1", "u2"]
    assert ids(idx.search("storm", sort="oldest")) == ["d1", "d2", "u1", "u2"]
    assert results.facets == {"month": [("2021-03", 1), ("2021-05", 1), ("undated", 2)],
                              "source": [("Wire", 1), ("(none)", 3)]}


def test_the_fast_word_matcher_marks_what_full_analysis_marks():
    from searchlib.querying.snippets import Terms, find_matches
    text = ("Dying and lying, tying skies: the news of généreux generously early flooding. "
            "Floods flooded; ÉLAN élan Élan sky skiing idly ugly only singly Andes atlas bias. ") * 3
    every = {t.text for t in ANALYZER(text)}
    for word in every:
        full = [(t.startchar, t.endchar) for t in ANALYZER(text, chars=True, mode="index") if t.text == word]
        assert find_matches(text, Terms(frozenset({word})), ANALYZER) == full, word


def _every_token_matches(text, words, analyzer):
    """Reference for snippets._word_matches: analyse every token on its own."""
    from searchlib.engine.analysis import TOKEN
    return [m.span() for m in TOKEN.finditer(text)
            if any(t.text in words for t in analyzer(m.group(), mode="index"))]


_PIECES = ["U.S.", "u.s", "dying", "die", "Shells", "shelling", "a.b", "x..y", "3.5", "café", "Café",
           "_under", "korea's", "Korea", "-", ".", "..", " ", "\n", ", ", "tie", "lying", "2022", "ab.cd.ef"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30), st.lists(st.sampled_from(
    ["shell", "korea", "u.", "die", "dy", "lie", "tie", "cafe", "3.5", "ab.cd.ef", "2022", "x", "_under"]),
    min_size=1, max_size=4))
def test_word_matches_finds_what_analysing_every_token_finds(pieces, words):
    from searchlib.engine import analysis
    from searchlib.querying.snippets import _word_matches
    for text in ("".join(pieces), " ".join(pieces)):
        assert _word_matches(text, frozenset(words), analysis.TEXT) == \
            _every_token_matches(text, frozenset(words), analysis.TEXT), text
