"""scripts/ir_metrics.py: the formulas on tiny made-up rankings, computed by hand, and (when
pytrec-eval-terrier is installed) the same numbers as trec_eval on random runs."""
from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import ir_metrics as m  # noqa: E402

# d1 and d3 are retrieved relevant documents, d6 a relevant one never retrieved: R = 3.
RANKING = ["d1", "d2", "d3", "d4", "d5"]
BINARY = {"d1": 1, "d3": 1, "d6": 1, "d9": 0}


def test_average_precision_by_hand():
    # precision at the ranks of the relevant hits: 1/1 at rank 1, 2/3 at rank 3; divided by R = 3
    assert m.average_precision(RANKING, BINARY) == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert m.average_precision(RANKING, BINARY) == pytest.approx(0.555556, abs=1e-6)
    assert m.average_precision(["d6", "d1", "d3"], BINARY) == pytest.approx(1.0)
    assert m.average_precision(["x", "d6"], BINARY) == pytest.approx((1 / 2) / 3)
    assert m.average_precision([], BINARY) == 0.0


def test_precision_divides_by_k_not_by_what_was_retrieved():
    assert m.precision_at(RANKING, BINARY, 10) == pytest.approx(2 / 10)
    assert m.precision_at(RANKING, BINARY, 2) == pytest.approx(1 / 2)
    assert m.precision_at(RANKING, BINARY, 1) == pytest.approx(1.0)


def test_recall_divides_by_all_relevant():
    assert m.recall_at(RANKING, BINARY, 100) == pytest.approx(2 / 3)
    assert m.recall_at(RANKING, BINARY, 2) == pytest.approx(1 / 3)
    assert m.recall_at(RANKING, {"d1": 0}, 100) == 0.0


def test_ndcg_binary_by_hand():
    dcg = 1 / math.log2(2) + 1 / math.log2(4)  # d1 at rank 1, d3 at rank 3
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)  # three relevant documents
    assert m.ndcg_at(RANKING, BINARY, 10) == pytest.approx(dcg / ideal)
    assert m.ndcg_at(RANKING, BINARY, 10) == pytest.approx(0.703918, abs=1e-6)
    # cut at 2: only d1 counts; the ideal has two relevant documents in two slots
    assert m.ndcg_at(RANKING, BINARY, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_graded_uses_linear_gain_and_ideal_over_all_judgments():
    qrels = {"a": 1, "b": 3, "c": 0, "z": 2}
    ranking = ["a", "b", "c", "d"]
    dcg = 1 / 1 + 3 / math.log2(3)
    ideal = 3 / 1 + 2 / math.log2(3) + 1 / math.log2(4)
    assert m.ndcg_at(ranking, qrels, 10) == pytest.approx(dcg / ideal)
    assert m.ndcg_at(ranking, qrels, 10) == pytest.approx(0.607492, abs=1e-6)
    assert m.ndcg_at(["b", "z", "a"], qrels, 10) == pytest.approx(1.0)
    # a negative judgment gains nothing and costs nothing
    assert m.ndcg_at(["n", "b"], {"n": -1, "b": 1}, 10) == pytest.approx(1 / math.log2(3))


def test_graded_judgments_are_binary_for_map_precision_recall():
    qrels = {"a": 4, "b": 1, "c": 0, "n": -1}
    assert m.relevant(qrels) == {"a", "b"}
    assert m.average_precision(["n", "a", "c", "b"], qrels) == pytest.approx((1 / 2 + 2 / 4) / 2)


def test_repeated_documents_count_once():
    assert m.precision_at(["d1", "d1", "d3"], BINARY, 2) == pytest.approx(1.0)
    assert m.average_precision(["d1", "d1", "d3"], BINARY) == pytest.approx((1 + 1) / 3)


def test_evaluate_means_over_judged_queries_and_zero_for_missing_runs():
    qrels = {"q1": BINARY, "q2": {"x": 1}, "q3": {"y": 0}}  # q3 has no relevant doc: not evaluated
    run = {"q1": RANKING, "q9": ["x"]}  # q2 missing from the run: scores 0; q9 not judged
    result = m.evaluate(run, qrels)
    assert result["queries"] == 2
    assert result["map"] == pytest.approx((5 / 9 + 0) / 2)
    assert result["p@10"] == pytest.approx((0.2 + 0) / 2)
    assert result["recall@100"] == pytest.approx((2 / 3 + 0) / 2)
    assert m.evaluate({}, {})["map"] == 0.0


def _random_case(seed: int):
    rng = random.Random(seed)
    docs = [f"doc{i:03d}" for i in range(150)]
    qrels, run = {}, {}
    for q in range(25):
        qid = f"q{q}"
        judged = rng.sample(docs, rng.randint(1, 40))
        qrels[qid] = {d: rng.choice([0, 1, 1, 2, 3, 4]) for d in judged}
        if not any(qrels[qid].values()):
            qrels[qid][judged[0]] = 1
        ranked = rng.sample(docs, rng.randint(1, 100))
        # distinct, decreasing scores: trec_eval breaks ties by doc id, so avoid ties altogether
        run[qid] = {d: float(len(ranked) - i) for i, d in enumerate(ranked)}
    return qrels, run


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_trec_eval(seed):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, run = _random_case(seed)
    measures = {"map", "P_10", "ndcg_cut_10", "recall_100"}
    theirs = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    for qid, scores in run.items():
        ranking = sorted(scores, key=scores.get, reverse=True)
        ours = m.query_metrics(ranking, qrels[qid])
        assert ours["map"] == pytest.approx(theirs[qid]["map"], abs=1e-9)
        assert ours["p@10"] == pytest.approx(theirs[qid]["P_10"], abs=1e-9)
        assert ours["ndcg@10"] == pytest.approx(theirs[qid]["ndcg_cut_10"], abs=1e-9)
        assert ours["recall@100"] == pytest.approx(theirs[qid]["recall_100"], abs=1e-9)


# --- scripts/evaluate.py: how judgments and queries are read (no collection files needed) -------

import evaluate as ev  # noqa: E402


def test_cran_grades_become_gains_and_minus_one_is_not_relevant():
    assert [ev.cran_gain(g) for g in (1, 2, 3, 4, -1, 5)] == [4, 3, 2, 1, 0, 0]


def test_fts5_query_quotes_every_word_and_keeps_repeats():
    assert ev.fts5_query('What is "NEAR" AND titles? titles') == \
        '"what" OR "is" OR "near" OR "and" OR "titles" OR "titles"'
    assert ev.fts5_query("titles? titles", dedupe=True) == '"titles"'
    import sqlite3
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    db.execute("INSERT INTO t(rowid, body) VALUES (1, 'descriptive titles of articles')")
    query = ev.fts5_query('(titles)? NOT "articles" - col:umn * ^')  # FTS5 syntax, all quoted away
    assert db.execute("SELECT rowid FROM t WHERE t MATCH ?", (query,)).fetchall() == [(1,)]


def test_doc_number_is_the_record_key():
    assert ev.doc_number("../shared/relevance/cisi/CISI.ALL#017") == "17"
