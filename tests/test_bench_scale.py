"""scripts/bench_scale.py (issue 18): the generated corpus keeps its seeds' statistics and is the same
for the same seed; the extra query kinds; the summary table's shape and the targets it reports.
All on hand-written articles, in a fraction of a second."""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import bench_scale  # noqa: E402
from queryset import Query  # noqa: E402

import searchlib  # noqa: E402

BODIES = [
    "North Korea fired artillery shells near the border on Monday, officials said. Residents fled.",
    "The central bank raised interest rates by half a point to curb inflation, the governor said.",
    "Floods swept the valley after three days of rain; the river burst its banks near Zorvilleton.",
    "Grain exports rose sharply in March as wheat prices fell on world markets, traders said today.",
]


def _articles() -> list[searchlib.Article]:
    out = []
    for i, body in enumerate(BODIES):
        words = body.split()
        out.append(searchlib.Article(
            title=" ".join(words[:5 + i]), body=" ".join([body] * (i + 1)),
            source=["Reuters", "BBC", None, "Reuters"][i], section=[None, "Business", "Weather", None][i],
            topics=[["korea"], [], [], ["grain", "wheat"]][i],
            date=datetime(2020, 1, 1, tzinfo=timezone.utc)))
    return out


@pytest.fixture(scope="module")
def model():
    return bench_scale.TextModel(_articles())


def test_same_seed_same_corpus_other_seed_other(model):
    a = list(bench_scale.generate(model, 200, seed=5))
    b = list(bench_scale.generate(model, 200, seed=5))
    c = list(bench_scale.generate(model, 200, seed=6))
    assert a == b
    assert a != c
    assert [r["id"] for r in a] == [f"gen-{i}" for i in range(200)]


def test_lengths_words_and_metadata_come_from_the_seeds(model):
    records = list(bench_scale.generate(model, 400, seed=1))
    real_lengths = {len(a.body.split()) for a in _articles()}
    real_title_lengths = {len(a.title.split()) for a in _articles()}
    assert {len(r["body"].split()) for r in records} <= real_lengths
    assert {len(r["title"].split()) for r in records} <= real_title_lengths
    real_tokens = {t for a in _articles() for t in (a.body + " " + a.title).split()}
    tokens = [t for r in records for t in r["body"].split()]
    # every token is a real one; rare words (<= 2 occurrences, 4+ letters) may carry a new suffix
    assert all(t in real_tokens or any(t.startswith(w.rstrip(".,;")) for w in real_tokens) for t in tokens)
    assert sum(t in real_tokens for t in tokens) / len(tokens) > 0.8
    assert {r.get("source") for r in records} == {"Reuters", "BBC", None}
    # a seed without a section takes its first topic
    assert {r.get("section") for r in records} == {"korea", "Business", "Weather", "grain"}
    assert {tuple(r.get("tags", ())) for r in records} == {("korea",), (), ("grain", "wheat")}


def test_dates_span_twenty_years_in_order_later_years_busier(model):
    records = list(bench_scale.generate(model, 3000, seed=2))
    days = [r["date"][:10] for r in records]  # in day order (the time of day is random)
    assert days == sorted(days)
    assert "2006" <= days[0][:4] <= "2007" and "2024" <= days[-1][:4] <= "2025"
    first_half = sum(d < "2016" for d in days)
    # density 1 + t over the span: the first half holds (0.5 + 0.125) / 1.5 = 41.7 %
    assert 0.38 < first_half / len(days) < 0.45


def test_runs_are_short_so_no_article_copies_its_seed(model):
    records = list(bench_scale.generate(model, 300, seed=3))
    seeds = [a.body.split() for a in _articles()]
    shingles = {tuple(s[i:i + 7]) for s in seeds for i in range(len(s) - 6)}
    copied = 0
    total = 0
    for r in records:
        words = r["body"].split()
        grams = [tuple(words[i:i + 7]) for i in range(len(words) - 6)]
        total += len(grams)
        copied += sum(g in shingles for g in grams)
    assert total and copied / total < 0.05


def test_vocabulary_grows_with_new_variants_of_rare_words():
    # every word in one article once: all are rare (<= 2), so half the 4+ letter ones are respelt
    model = bench_scale.TextModel([searchlib.Article(
        title="Unique words only", body=" ".join(f"word{chr(97 + i)}{chr(97 + j)}" for i in range(26) for j in range(4)))])
    text = " ".join(r["body"] for r in bench_scale.generate(model, 50, seed=4))
    known = {f"word{chr(97 + i)}{chr(97 + j)}" for i in range(26) for j in range(4)}
    tokens = text.split()
    new = [t for t in tokens if t not in known]
    assert 0.35 < len(new) / len(tokens) < 0.65
    assert all(t[:6] in known and len(t) == 8 for t in new)


def test_write_corpus_files_of_n_records_that_searchlib_reads(model, tmp_path):
    files = bench_scale.write_corpus(model, tmp_path / "gen", 25, seed=7, per_file=10)
    assert files == 3
    names = sorted(p.name for p in (tmp_path / "gen").iterdir())
    assert names == ["gen-00000.jsonl", "gen-00001.jsonl", "gen-00002.jsonl"]
    assert [len(p.read_text().splitlines()) for p in sorted((tmp_path / "gen").iterdir())] == [10, 10, 5]
    read = [a for a in searchlib.read_articles(tmp_path / "gen") if isinstance(a, searchlib.Article)]
    assert len(read) == 25
    first = json.loads((tmp_path / "gen" / "gen-00000.jsonl").read_text().splitlines()[0])
    assert read[0].title == first["title"] and read[0].key == "gen-0"
    assert read[0].date.isoformat().startswith(first["date"][:19])


def test_statistics(model):
    stats = bench_scale.corpus_statistics([{"title": "A b", "body": "x y y", "date": "2010-01-02T00:00:00Z",
                                            "source": "S"}, {"title": "C", "body": "y z"}])
    assert stats == {"articles": 2, "body_median": 2.5, "title_median": 1.5, "vocabulary": 3,
                     "df1_share": 2 / 3, "first_day": "2010-01-02", "last_day": "2010-01-02",
                     "sources": {"S": 1, None: 1}}


def test_scale_queries_add_thirty_of_each_new_kind():
    base = [Query("keyword", f"alpha{i} betaword{i}") for i in range(40)] + [Query("rare", "zyx")]
    queries = bench_scale.scale_queries(base)
    assert queries[:41] == base
    kinds = [q.kind for q in queries[41:]]
    assert {k: kinds.count(k) for k in set(kinds)} == {"facets": 30, "newest": 30, "wildcard": 30, "fuzzy": 30}
    assert all(q.text.endswith("*") and len(q.text) >= 5 for q in queries if q.kind == "wildcard")
    assert all(q.text.endswith("~") and " " not in q.text for q in queries if q.kind == "fuzzy")
    assert bench_scale.scale_queries(base) == queries


def _result(size, build_s, p50, fts_p50, cold, reindex_none=1.0):
    kinds = {k: {"n": 1, "p50_ms": p50, "p95_ms": p50 * 2, "max_ms": p50 * 3}
             for k in bench_scale.SCALE_KINDS + ("all",)}
    fts = {k: {"n": 1, "p50_ms": fts_p50, "p95_ms": fts_p50 * 2, "max_ms": fts_p50 * 3}
           for k in bench_scale.SCALE_KINDS + ("all",) if k != "fuzzy"}
    return {"size": size,
            "build": {"searchlib": {"seconds": build_s, "articles_per_s": size / build_s, "rss_tree_mb": 500,
                                    "size_mb": size / 300},
                      "fts5": {"seconds": build_s / 2, "articles_per_s": 2 * size / build_s, "rss_tree_mb": 90,
                               "size_mb": size / 400}},
            "queries": {"searchlib": {"kinds": kinds, "rss_mb": 300, "errors": [], "hits": [10, 0, 3]},
                        "fts5": {"kinds": fts, "rss_mb": 50, "errors": ["fuzzy x~: no"], "hits": [10, 2, None]}},
            "cold_ms": {"median": cold}, "stats_ms": {"median": 200},
            "reindex_none": {"seconds": reindex_none}, "reindex_1pct": {"seconds": build_s / 20}}


def test_table_has_a_column_per_size_and_engine_and_a_row_per_figure():
    res = {"meta": {"engines": ["searchlib", "fts5"]},
           "sizes": [_result(30000, 20.0, 4.0, 1.0, 100), _result(300000, 250.0, 8.0, 2.0, 120)]}
    rows = bench_scale.table_rows(res)
    assert rows[0] == ["figure", "30,000 searchlib", "30,000 fts5", "300,000 searchlib", "300,000 fts5"]
    assert all(len(r) == 5 for r in rows)
    labels = [r[0] for r in rows]
    assert len(labels) == 1 + 9 + 3 * (len(bench_scale.SCALE_KINDS) + 1) + 4  # header, build, kinds, rest
    assert by_label(rows, "build peak PSS MB") == ["-", "-", "-", "-"]  # (not in these results)
    by = {r[0]: r[1:] for r in rows}
    assert by["build s"] == ["20.0", "10.0", "250.0", "125.0"]
    assert by["articles/s"] == ["1500", "3000", "1200", "2400"]
    assert by["fuzzy p50 ms"] == ["4.00", "-", "8.00", "-"]
    assert by["all max ms"] == ["12.0", "3.00", "24.0", "6.00"]
    assert by["queries without a hit"] == ["1", "0", "1", "0"]
    assert by["queries not run"] == ["0", "1", "0", "1"]
    assert by["cold search ms"] == ["100", "-", "120", "-"]
    text = bench_scale.format_table(rows)
    assert len(text.splitlines()) == len(rows)


def by_label(rows, label):
    return {r[0]: r[1:] for r in rows}[label]


def test_eta_errors_compare_the_estimate_with_the_true_time_left():
    # 100 bytes a second after a start-up of 5 s; the run ends 2 s after the last bytes (a commit)
    calls = [(0.0, 0, 1000)] + [(5.0 + i, 100 * i, 1000) for i in range(1, 11)]
    errors = bench_scale.eta_errors(calls, end=17.0)
    # at 20 % .. 90 %: estimated (1000 - d) / 100, true 17 - t
    expected = [abs((1000 - 100 * i) / 100 - (12 - i)) / (12 - i) for i in range(2, 10)]
    assert errors == pytest.approx(expected)
    assert max(errors) == pytest.approx(2 / 3)


def test_cron_targets():
    c = {"size": 30000, "p50_ratio": {"all": 1.25}, "rebuilt": {"segments": 2},
         "summary": {"segments_end": 5, "max_over_unmerged": 6.0, "max_s": 3.0, "unmerged_median_s": 0.5}}
    lines = bench_scale.cron_targets({"cron": [c]})
    assert lines[0].startswith("met") and "1.25x (5 segments against 2)" in lines[0]
    assert lines[1].startswith("MISSED") and "6.0x" in lines[1]


def test_cron_min_budget_sets_the_policys_floor_and_is_reported(tmp_path, monkeypatch):
    from searchlib.indexing import merging
    monkeypatch.setattr(merging, "MIN_BUDGET", merging.MIN_BUDGET)  # (restored after the test)
    (tmp_path / "live").mkdir()
    out = bench_scale.child_cron({"live": str(tmp_path / "live"), "index": str(tmp_path / "index"),
                                  "staging": str(tmp_path), "plan": [], "min_budget": 1234})
    assert out["runs"] == [] and merging.MIN_BUDGET == 1234
    assert merging.budget(10) == 1234
    assert bench_scale._policy({"policy": "searchlib", "min_budget": 2000}) == "searchlib, MIN_BUDGET 2,000"
    assert bench_scale._policy({"policy": "searchlib", "min_budget": None}) == "searchlib"
    assert bench_scale._policy({"policy": "whoosh"}) == "whoosh"


def test_query_rounds_give_each_query_its_fastest_round_and_the_lowest_cold_median(tmp_path):
    from types import SimpleNamespace
    queries = [Query(kind="keyword", text="grain"), Query(kind="keyword", text="flood"), Query(kind="rare", text="zorvilleton")]
    round1 = {"latency": [0.003, 0.001, None], "errors": [], "hits": [1, 2, 0], "rss_tree_mb": 50}
    round2 = {"latency": [0.002, 0.004, None], "errors": [], "hits": [1, 2, 0], "rss_tree_mb": 70}
    out = {"size": 10, "dirs": {"here": str(tmp_path), "corpus": str(tmp_path), "targets": {}},
           "build": {"fts5": {"seconds": 1}},
           "rounds": {"queries": {"fts5": [round1, round2]}, "cold_ms": [[300.0, 200.0, 250.0], [180.0, 400.0, 190.0]]}}
    args = SimpleNamespace(profile_queries=None, profile_build=False, keep_corpora=True, engines=["fts5"])
    bench_scale.finish_size(args, out, queries)
    fts = out["queries"]["fts5"]
    assert fts["per_query"] == [0.002, 0.001, None]
    assert fts["kinds"]["keyword"]["n"] == 2 and fts["kinds"]["keyword"]["max_ms"] == pytest.approx(2.0)
    assert fts["rss_mb"] == 70 and fts["hits"] == [1, 2, 0]
    assert fts["rounds_p50_ms"] == [pytest.approx(1.0), pytest.approx(2.0)]  # (each round's own p50)
    assert out["cold_ms"]["median"] == 190.0 and out["cold_ms"]["rounds"] == 2 and len(out["cold_ms"]["runs"]) == 6
    assert "rounds" not in out and "stats_ms" not in out  # (searchlib not built: no stats, no reindex)


def test_markdown_table_for_the_readme():
    res = {"meta": {"engines": ["searchlib", "fts5"]},
           "sizes": [_result(30000, 20.0, 4.0, 1.0, 100), _result(300000, 250.0, 8.0, 2.0, 120)]}
    lines = bench_scale.markdown_table(res).splitlines()
    assert lines[0] == "| | 30,000 searchlib | 30,000 fts5 | 300,000 searchlib | 300,000 fts5 |"
    assert lines[1] == "|---|---|---|---|---|"
    assert "| fuzzy, p50 / p95 ms | 4.00 / 8.00 | - | 8.00 / 16.0 | - |" in lines
    assert "| build s | 20.0 | 10.0 | 250.0 | 125.0 |" in lines
    assert len(lines) == 2 + 5 + len(bench_scale.SCALE_KINDS) + 1 + 4
    assert all(line.count("|") == 6 for line in lines)


def test_targets_say_met_missed_and_not_measured():
    res = {"meta": {"engines": ["searchlib", "fts5"]},
           "sizes": [_result(30000, 20.0, 4.0, 1.0, 100), _result(300000, 250.0, 8.0, 2.0, 160, 6.0)]}
    lines = bench_scale.targets(res)
    status = {line.split("  ", 1)[1].split(":")[0].strip(): line.split()[0] for line in lines}
    assert status["build articles/s 300,000 vs 30,000 >= 0.8x"] == "met"        # 1200 / 1500 = 0.80
    assert status["warm p50 at 300,000 <= 3x FTS5"] == "MISSED"                  # 4x
    assert status["cold start 300,000 vs 30,000 <= 1.5x"] == "MISSED"            # 1.6x
    assert status["reindex, nothing changed, at 300,000 <= 5 s"] == "MISSED"
    assert status["index size at 300,000 <= 1.3x FTS5"] == "MISSED"              # 1.33x
    assert status["months of cron (500 small runs vs a rebuild)"] == "not"


def test_svg_plot_draws_a_line_per_engine():
    res = {"meta": {"engines": ["searchlib", "fts5"]},
           "sizes": [_result(30000, 20.0, 4.0, 1.0, 100), _result(300000, 250.0, 8.0, 2.0, 120)]}
    svg = bench_scale.svg_plot(res)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<polyline") == 4  # two panels, two engines
    assert "300,000" in svg


# --- fuzzy words on an index of several segments (a cost the benchmark found) ----------------------

FUZZY_RECORDS = {
    "a": {"title": "Artillery fire near the border", "body": "Artilery shells landed; the artillary was old."},
    "b": {"title": "Markets steady", "body": "Traders said the markets were steady and the marker held."},
    "c": {"title": "Artillary drill", "body": "An artillerist described the drill. Artiller units moved."},
    "d": {"title": "Harvest", "body": "The market for grain was steady; marketing costs rose."},
}


def _fuzzy_hits(idx, text):
    results = idx.search(text, limit=20, all_copies=True)
    return results.total, sorted(hit.id for hit in results)


def test_fuzzy_words_on_several_segments_find_what_one_segment_finds(tmp_path):
    for name, record in FUZZY_RECORDS.items():
        (tmp_path / "corpus").mkdir(exist_ok=True)
        (tmp_path / "corpus" / f"{name}.json").write_text(json.dumps({"id": name, **record}))
    several = searchlib.Index(tmp_path / "several")
    for name in FUZZY_RECORDS:  # one update (one commit, one segment) per file
        several.update([tmp_path / "corpus" / f"{n}.json" for n in FUZZY_RECORDS if n <= name], jobs=1)
    one = searchlib.Index(tmp_path / "one")
    one.update([tmp_path / "corpus"], rebuild=True, jobs=1)
    with several._whoosh.searcher() as s:  # (the point of the test: several segments)
        assert len(list(s.reader().leaf_readers())) >= 2
    for text in ("artillery~", "artilery~1", "artilery~2", "markt~", "marker~2", "title:artillary~"):
        assert _fuzzy_hits(several, text) == _fuzzy_hits(one, text), text
    # a fuzzy word is compared with the index terms (stems), as Elasticsearch's fuzzy match
    # compares the analysed word: artilery -> artileri is one edit from a's artilleri (and a has
    # it too); c's artillary -> artillari is two, its artiller -> artil three
    assert _fuzzy_hits(several, "artilery~")[0] == 1
    assert _fuzzy_hits(several, "artilery~2")[0] == 2
    assert _fuzzy_hits(several, "markt~")[0] == 2      # b and d (market, markets)


# --- stats from the columns (the benchmark's `search stats` grew with the archive's text) -----------


def _stats_from_stored_fields(idx):
    """What `search stats` counted before it read columns: every stored article, bodies included."""
    from collections import Counter
    sources, sections, formats, files, dates = Counter(), Counter(), Counter(), set(), []
    with idx._whoosh.searcher() as s:
        for fields in s.all_stored_fields():
            sources[fields.get("source") or "(none)"] += 1
            sections[fields.get("section") or "(none)"] += 1
            formats[fields.get("format") or "(unknown)"] += 1
            files.add(fields.get("path"))
            if isinstance(fields.get("date"), datetime):
                dates.append(fields["date"])
    return (sources.most_common(10), sections.most_common(10), formats.most_common(), len(files),
            min(dates).replace(tzinfo=timezone.utc), max(dates).replace(tzinfo=timezone.utc), len(dates))


def test_stats_count_live_articles_on_several_segments_as_the_stored_fields_do(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"id": f"r{i}", "title": f"Story {i}", "body": f"Body {i} of words.",
                "source": ["Valley Times", "North Desk", "", "Wire"][i % 4],
                "section": ["Weather", "Politics", "", "Weather", "Sport"][i % 5],
                **({"date": f"20{10 + i % 12}-0{1 + i % 9}-1{i % 10}T0{i % 10}:00:00Z"} if i % 7 else {})}
               for i in range(60)]
    for n in range(4):
        (corpus / f"f{n}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[n * 15:(n + 1) * 15]))
    (corpus / "page.txt").write_text("Title: A text page\nSource: Wire\n\nA text article with no date.\n")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus / "f0.jsonl", corpus / "f1.jsonl"], jobs=1)
    idx.update([corpus], jobs=1)                       # a second segment
    (corpus / "f1.jsonl").write_text(json.dumps(records[20]) + "\n")  # 15 articles become 1 (deletions)
    (corpus / "f3.jsonl").unlink()                                     # a file gone
    idx.update([corpus], jobs=1)
    with idx._whoosh.searcher() as s:
        reader = s.reader()
        assert len(list(reader.leaf_readers())) >= 2 and reader.has_deletions()
    stats = idx.stats()
    sources, sections, formats, files, first, last, dated = _stats_from_stored_fields(idx)
    assert stats.articles == 15 + 1 + 15 + 1
    assert (stats.sources, stats.sections, stats.formats, stats.files) == (sources, sections, formats, files)
    assert files == 4
    assert (stats.first_date, stats.last_date, stats.articles - stats.undated) == (first, last, dated)
    assert dict(stats.sources)["Wire"] == 3 + 4 + 1 and dict(stats.formats) == {"jsonl": 31, "text": 1}


def test_cron_plan_cuts_the_files_into_runs_in_order():
    names = [f"f{i:02d}" for i in range(10)]
    plan = bench_scale.cron_plan(names, 4)
    assert plan == [["f00", "f01"], ["f02", "f03", "f04"], ["f05", "f06", "f07"], ["f08", "f09"]]
    assert [n for run in bench_scale.cron_plan(names, 10) for n in run] == names
    assert bench_scale._merged_latency([[0.3, None, 0.2], [0.1, None, 0.4]]) == [0.1, None, 0.2]


def test_a_build_keeps_its_progress_calls_to_replay_the_time_left(model, tmp_path):
    """The build's result holds its progress calls and plan, from which eta_errors gives back
    the errors it reported (so a bad estimate can be replayed after the run)."""
    bench_scale.write_corpus(model, tmp_path / "gen", 60, seed=3, per_file=3)  # (20 files: in parallel)
    result = bench_scale.child_build_searchlib({"index": str(tmp_path / "ix"), "paths": [str(tmp_path / "gen")]})
    trace, plan = result["progress_trace"], result["progress_plan"]
    assert result["articles"] == 60 and len(trace) == result["progress_calls"] >= 20
    assert len(plan) == 20 and all(kind == "jsonl" for _, kind in plan)
    # the plan the estimate took: the workers' (the run's last call passes one of one process)
    assert result["progress_parallel"] == (os.cpu_count() or 1)
    from searchlib.indexing.progress import Total
    total = Total(plan, parallel=result["progress_parallel"])
    calls = [(at, done, total) for at, done in trace]
    errors = bench_scale.eta_errors(calls, trace[-1][0])
    assert errors and max(errors) == result["eta_error_max"]
    assert json.loads(json.dumps(result))["progress_trace"] == [list(call) for call in trace]
