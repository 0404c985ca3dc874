#!/usr/bin/env python3
"""Ranking quality of searchlib's default search path on three classic test collections, side by
side with SQLite FTS5 (the peer), in one run.

    python scripts/evaluate.py                       # CISI, CRAN, MED: searchlib vs FTS5
    python scripts/evaluate.py --collections med     # one collection
    python scripts/evaluate.py --json out.json       # also write every number (and per query)

The tuning grid that chose the default path is `python scripts/ranking_experiments.py`, which
builds on this script (this one never imports it).

For each collection (`../shared/relevance/`, see its SOURCES.md):

1. the documents are indexed through the normal ingestion path, `searchlib.Index(tmp).update(file)`;
2. every judged query is searched exactly as a user would type it (its `.W` text on one line),
   through `Index.search(text, limit=100)`; queries that raise QueryError or return nothing are
   counted (they score 0);
3. the peer is SQLite FTS5 over the same parsed title and body (`tokenize='porter unicode61'`,
   ranked by `bm25()`), queried with the OR of the query's words (repeats kept), each one quoted;
4. MAP, P@10, nDCG@10 and recall@100 (scripts/ir_metrics.py, trec_eval's definitions) are printed
   per collection and as the mean of the three collections.

Relevance: CISI and MED judgments are binary. CRAN grades 1 (complete answer) .. 4 (minimum
interest) become nDCG gains 4, 3, 2, 1 (gain = 5 - grade); its grade -1 entries are judged
non-relevant (gain 0). MAP, P@10 and recall count every document with gain > 0 as relevant.
"""
from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ir_metrics  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "relevance"
LIMIT = 100


@dataclass(frozen=True)
class Collection:
    name: str
    docs: str      # relative to the data folder
    queries: str
    qrels: str
    qrel_columns: tuple[int, int]  # (query column, doc column) in the judgments file
    numbered_queries: bool         # True: the n-th query in the file is query n in the judgments

    def path(self, data: Path, which: str) -> Path:
        return data / getattr(self, which)


COLLECTIONS = {
    "cisi": Collection("cisi", "cisi/CISI.ALL", "cisi/CISI.QRY", "cisi/CISI.REL", (0, 1), False),
    "cran": Collection("cran", "cran/cran.all.1400", "cran/cran.qry", "cran/cranqrel", (0, 1), True),
    "med": Collection("med", "med/MED.ALL", "med/MED.QRY", "med/MED.REL", (0, 2), False),
}


def cran_gain(grade: int) -> int:
    """CRAN relevance grade (1 best .. 4 least; -1 not relevant) → nDCG gain (4 .. 1; 0)."""
    return 5 - grade if 1 <= grade <= 4 else 0


def load_queries(col: Collection, data: Path) -> dict[str, str]:
    """Query id (as in the judgments) → the query's text on one line, as a user would type it."""
    from searchlib.ingest.parsers.smart import records

    out = {}
    for n, (key, fields) in enumerate(records(col.path(data, "queries").read_text(encoding="utf-8")), start=1):
        qid = str(n) if col.numbered_queries else str(int(key))
        out[qid] = " ".join(" ".join(fields.get("W", [])).split())
    return out


def load_qrels(col: Collection, data: Path) -> dict[str, dict[str, int]]:
    """Query id → {document number → gain}; see the module docstring for the gains."""
    qcol, dcol = col.qrel_columns
    out: dict[str, dict[str, int]] = {}
    for line in col.path(data, "qrels").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts:
            continue
        qid, doc = str(int(parts[qcol])), str(int(parts[dcol]))
        gain = cran_gain(int(parts[2])) if col.name == "cran" else 1
        out.setdefault(qid, {})[doc] = gain
    return out


def judged_queries(col: Collection, data: Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """The queries that have at least one relevant document, and all judgments."""
    queries, qrels = load_queries(col, data), load_qrels(col, data)
    judged = {qid: text for qid, text in queries.items() if ir_metrics.relevant(qrels.get(qid, {}))}
    return judged, qrels


def doc_number(article_id: str) -> str:
    """`…/CISI.ALL#17` → `17` (the `.I` number; ids are `<path>#<record key>`)."""
    return str(int(article_id.rsplit("#", 1)[-1]))


# --- searchlib, the default search path ---------------------------------------------------------

def build_searchlib(col: Collection, data: Path, workdir: Path):
    import searchlib

    idx = searchlib.Index(workdir / f"{col.name}-index")
    report = idx.update(col.path(data, "docs"))
    return idx, report


def run_searchlib(idx, queries: dict[str, str], limit: int = LIMIT):
    """Run each query through Index.search; returns (run, errors, empty, seconds)."""
    import searchlib

    run: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    empty: list[str] = []
    started = time.perf_counter()
    for qid, text in queries.items():
        try:
            results = idx.search(text, limit=limit)
        except searchlib.QueryError as exc:
            errors[qid] = str(exc)
            run[qid] = []
            continue
        run[qid] = [doc_number(hit.id) for hit in results.hits]
        if not run[qid]:
            empty.append(qid)
    return run, errors, empty, time.perf_counter() - started


# --- the peer: SQLite FTS5 ----------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def fts5_query(text: str, dedupe: bool = False) -> str:
    """The OR of the query's words, each quoted (so no word is read as FTS5 syntax).

    A word the query repeats is repeated in the OR, and FTS5's bm25() then counts it as often
    (query term frequency); that is 3.5% better MAP than with repeats dropped (`dedupe=True`),
    so it is the stronger peer, and the literal "OR of the query's words"."""
    words = [w.lower() for w in _WORD.findall(text)]
    if dedupe:
        words = list(dict.fromkeys(words))
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def build_fts5(col: Collection, data: Path) -> sqlite3.Connection:
    """An in-memory FTS5 table of the articles exactly as searchlib parses them (title, body)."""
    import searchlib

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    rows = [(int(a.key), a.title, a.body) for a in searchlib.read_articles(col.path(data, "docs"))
            if isinstance(a, searchlib.Article)]
    db.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)", rows)
    db.commit()
    return db


def run_fts5(db: sqlite3.Connection, queries: dict[str, str], limit: int = LIMIT,
             to_query: Callable[[str], str] = fts5_query):
    run: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    empty: list[str] = []
    started = time.perf_counter()
    for qid, text in queries.items():
        match = to_query(text)
        try:
            rows = db.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs), rowid LIMIT ?",
                              (match, limit)).fetchall() if match else []
        except sqlite3.Error as exc:
            errors[qid] = str(exc)
            rows = []
        run[qid] = [str(r[0]) for r in rows]
        if not rows and qid not in errors:
            empty.append(qid)
    return run, errors, empty, time.perf_counter() - started


# --- reporting ----------------------------------------------------------------------------------

METRIC_NAMES = {"map": "MAP", "p@10": "P@10", "ndcg@10": "nDCG@10", "recall@100": "R@100"}


def format_table(rows: list[dict]) -> str:
    head = f"{'collection':<10} {'system':<10} {'queries':>7} {'errors':>6} {'empty':>5} " + \
        " ".join(f"{METRIC_NAMES[m]:>8}" for m in ir_metrics.METRICS) + f" {'seconds':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['collection']:<10} {r['system']:<10} {r['queries']:>7} {r.get('errors', ''):>6} "
            f"{r.get('empty', ''):>5} " + " ".join(f"{r[m]:>8.4f}" for m in ir_metrics.METRICS)
            + (f" {r['seconds']:>7.1f}" if 'seconds' in r else ""))
    return "\n".join(lines)


def mean_rows(rows: list[dict], systems: list[str]) -> list[dict]:
    out = []
    for system in systems:
        mine = [r for r in rows if r["system"] == system]
        out.append({"collection": "mean", "system": system, "queries": sum(r["queries"] for r in mine),
                    "errors": sum(r["errors"] for r in mine), "empty": sum(r["empty"] for r in mine),
                    **{m: ir_metrics.mean(r[m] for r in mine) for m in ir_metrics.METRICS}})
    return out


def evaluate(names: list[str], data: Path, limit: int = LIMIT, log=print) -> dict:
    rows, details = [], {}
    with tempfile.TemporaryDirectory(prefix="searchlib-eval-") as tmp:
        for name in names:
            col = COLLECTIONS[name]
            queries, qrels = judged_queries(col, data)
            started = time.perf_counter()
            idx, report = build_searchlib(col, data, Path(tmp))
            log(f"{name}: indexed {report.articles} articles ({len(report.skipped)} skipped) "
                f"in {time.perf_counter() - started:.1f}s; {len(queries)} judged queries", file=sys.stderr)
            for system in ("searchlib", "fts5"):
                if system == "searchlib":
                    run, errors, empty, seconds = run_searchlib(idx, queries, limit)
                else:
                    db = build_fts5(col, data)
                    run, errors, empty, seconds = run_fts5(db, queries, limit)
                    db.close()
                scores = ir_metrics.evaluate(run, qrels)
                rows.append({"collection": name, "system": system, "queries": len(queries),
                             "errors": len(errors), "empty": len(empty), "seconds": seconds,
                             **{m: scores[m] for m in ir_metrics.METRICS}})
                details[f"{name}/{system}"] = {
                    "errors": errors, "empty": empty,
                    "per_query": ir_metrics.per_query_metrics(run, qrels), "run": run}
    return {"rows": rows + mean_rows(rows, ["searchlib", "fts5"]), "details": details}


def comparison(rows: list[dict]) -> str:
    """searchlib relative to FTS5 on MAP and nDCG@10, per collection and on the mean."""
    by = {(r["collection"], r["system"]): r for r in rows}
    lines = []
    for coll in dict.fromkeys(r["collection"] for r in rows):
        a, b = by.get((coll, "searchlib")), by.get((coll, "fts5"))
        if a and b:
            parts = [f"{METRIC_NAMES[m]} {100 * (a[m] / b[m] - 1):+.1f}%" if b[m] else f"{METRIC_NAMES[m]} n/a"
                     for m in ("map", "ndcg@10")]
            lines.append(f"searchlib vs fts5, {coll:<5}: " + ", ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help=f"test collections folder (default {DATA})")
    ap.add_argument("--collections", nargs="+", choices=list(COLLECTIONS), default=list(COLLECTIONS))
    ap.add_argument("--limit", type=int, default=LIMIT, help="hits retrieved per query (default 100)")
    ap.add_argument("--json", type=Path, help="also write all numbers, per query, to this file")
    ap.add_argument("--show-failures", action="store_true",
                    help="list the queries that raised QueryError or returned nothing")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"evaluate: no test collections at {args.data} (use --data)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = evaluate(args.collections, args.data, args.limit)
    print(format_table(result["rows"]))
    print()
    print(comparison(result["rows"]))
    if args.show_failures:
        for key, d in result["details"].items():
            for qid, err in d["errors"].items():
                print(f"{key} query {qid}: QueryError: {err}")
            if d["empty"]:
                print(f"{key}: no hits for queries {' '.join(d['empty'])}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"\n{time.perf_counter() - started:.0f}s in all", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
