"""Ranking-quality metrics for evaluating search against relevance judgments (qrels).

The definitions follow trec_eval (and pytrec_eval, its Python binding), so numbers are comparable
with published results:

- a *ranking* is a list of document ids, best first, already cut to the depth that was retrieved;
- *qrels* for one query map document id → gain (an int or float); a document is relevant when its
  gain is > 0 (binary relevance for AP, P@k and recall@k), and its gain is used as-is for nDCG
  (linear gain, as trec_eval's `ndcg_cut`, not 2**gain - 1);
- R, the number of relevant documents, counts every judged relevant document, retrieved or not;
- a query with no relevant document is not evaluated (it would make every metric 0 or undefined);
- a judged query missing from the run, or with an empty ranking, scores 0 on every metric.

The functions take plain Python values and have no dependency beyond the standard library.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

Ranking = Sequence[str]
Qrels = Mapping[str, float]  # doc id -> gain for one query

METRICS = ("map", "p@10", "ndcg@10", "recall@100")


def _dedupe(ranking: Iterable[str]) -> list[str]:
    """The ranking with repeated document ids dropped (a document counts once, at its best rank)."""
    seen: set[str] = set()
    out = []
    for doc in ranking:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
    return out


def relevant(qrels: Qrels) -> set[str]:
    return {doc for doc, gain in qrels.items() if gain > 0}


def average_precision(ranking: Ranking, qrels: Qrels) -> float:
    """Sum over the relevant retrieved documents of precision at their rank, divided by R."""
    rel = relevant(qrels)
    if not rel:
        return 0.0
    hits, total = 0, 0.0
    for rank, doc in enumerate(_dedupe(ranking), start=1):
        if doc in rel:
            hits += 1
            total += hits / rank
    return total / len(rel)


def precision_at(ranking: Ranking, qrels: Qrels, k: int = 10) -> float:
    """Relevant documents among the first k, divided by k (not by how many were retrieved)."""
    rel = relevant(qrels)
    return sum(1 for doc in _dedupe(ranking)[:k] if doc in rel) / k


def recall_at(ranking: Ranking, qrels: Qrels, k: int = 100) -> float:
    """Relevant documents among the first k, divided by R."""
    rel = relevant(qrels)
    if not rel:
        return 0.0
    return sum(1 for doc in _dedupe(ranking)[:k] if doc in rel) / len(rel)


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain: gain at rank i (from 1) divided by log2(i + 1)."""
    return sum(g / math.log2(i + 1) for i, g in enumerate(gains, start=1))


def ndcg_at(ranking: Ranking, qrels: Qrels, k: int = 10) -> float:
    """DCG of the first k documents divided by the DCG of the ideal ordering of all judged gains."""
    ideal = dcg(sorted((g for g in qrels.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    gains = [max(qrels.get(doc, 0), 0) for doc in _dedupe(ranking)[:k]]
    return dcg(gains) / ideal


def query_metrics(ranking: Ranking, qrels: Qrels) -> dict[str, float]:
    """Every metric in METRICS for one query."""
    return {
        "map": average_precision(ranking, qrels),
        "p@10": precision_at(ranking, qrels, 10),
        "ndcg@10": ndcg_at(ranking, qrels, 10),
        "recall@100": recall_at(ranking, qrels, 100),
    }


def evaluate(run: Mapping[str, Ranking], qrels: Mapping[str, Qrels]) -> dict[str, float]:
    """The mean of each metric over the queries in `qrels` that have a relevant document.

    Queries in `run` but not in `qrels` are ignored; judged queries missing from `run` score 0.
    The result also holds `queries`, the number of queries averaged over.
    """
    per_query = per_query_metrics(run, qrels)
    n = len(per_query)
    out = {m: (sum(q[m] for q in per_query.values()) / n if n else 0.0) for m in METRICS}
    out["queries"] = n
    return out


def per_query_metrics(run: Mapping[str, Ranking], qrels: Mapping[str, Qrels]) -> dict[str, dict[str, float]]:
    return {qid: query_metrics(run.get(qid, ()), judged)
            for qid, judged in qrels.items() if relevant(judged)}


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
