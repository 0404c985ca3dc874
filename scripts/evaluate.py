#!/usr/bin/env python3
"""Ranking quality of searchlib's default search path on six classic test collections, side by
side with SQLite FTS5 (the peer), in one run, and the same queries typed in capitals.

    python scripts/evaluate.py                       # all six: searchlib vs FTS5, and in CAPITALS
    python scripts/evaluate.py --collections med     # one collection
    python scripts/evaluate.py --cases typed         # only the queries as written (no case runs)
    python scripts/evaluate.py --json out.json       # also write every number (and per query)

The tuning grid that chose the default path is `python scripts/ranking_experiments.py`, which
builds on this script (this one never imports it).

For each collection (`../shared/relevance/`, see its SOURCES.md: CISI, CRAN, MED, ADI in the SMART
format; NPL and LISA in formats of their own, both written in capitals):

1. the documents are indexed through the normal ingestion path, `searchlib.Index(tmp).update(file)`:
   the SMART files as they are; NPL's and LISA's records are first written to a JSON Lines file in
   the temporary folder (`{"id", "title", "body"}`), which searchlib reads as any JSON Lines file;
2. every judged query is searched exactly as a user would type it (its text on one line), through
   `Index.search(text, limit=100)`; queries that raise QueryError or return nothing are counted
   (they score 0). Each query is run three ways (`--cases`): as written (`typed`), in lower case
   (`lower`) and in capitals (`upper`), so a query in capitals can be compared with the same query
   in lower case (NPL's and LISA's are written in capitals);
3. the peer is SQLite FTS5 over the same parsed title and body (`tokenize='porter unicode61'`,
   ranked by `bm25()`), queried with the OR of the query's words (repeats kept), each one quoted
   (FTS5 folds case itself, so one run stands for every case);
4. MAP, P@10, nDCG@10 and recall@100 (scripts/ir_metrics.py, trec_eval's definitions) are printed
   per collection and as the mean of the collections, then searchlib against FTS5 and the capitals
   run against the lower-case run, per collection.

Relevance: CISI, MED, ADI, NPL and LISA judgments are binary. CRAN grades 1 (complete answer) .. 4
(minimum interest) become nDCG gains 4, 3, 2, 1 (gain = 5 - grade); its grade -1 entries are
judged non-relevant (gain 0). MAP, P@10 and recall count every document with gain > 0 as relevant.
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
    docs: str      # relative to the data folder (LISA: a glob, its files concatenated in name order)
    queries: str
    qrels: str
    qrel_columns: tuple[int, int] = (0, 1)  # SMART judgments: (query column, doc column)
    numbered_queries: bool = False  # True: the n-th query in the file is query n in the judgments
    format: str = "smart"           # "smart", "npl" or "lisa": how the three files are written

    def path(self, data: Path, which: str) -> Path:
        return data / getattr(self, which)

    def doc_paths(self, data: Path) -> list[Path]:
        return sorted(data.glob(self.docs)) if any(c in self.docs for c in "*?[") else [data / self.docs]


COLLECTIONS = {
    "cisi": Collection("cisi", "cisi/CISI.ALL", "cisi/CISI.QRY", "cisi/CISI.REL"),
    "cran": Collection("cran", "cran/cran.all.1400", "cran/cran.qry", "cran/cranqrel", numbered_queries=True),
    "med": Collection("med", "med/MED.ALL", "med/MED.QRY", "med/MED.REL", (0, 2)),
    "npl": Collection("npl", "npl/doc-text", "npl/query-text", "npl/rlv-ass", format="npl"),
    "lisa": Collection("lisa", "lisa/LISA[0-9].[0-9][0-9][0-9]", "lisa/LISA.QUE", "lisa/LISA.REL",
                       format="lisa"),
    "adi": Collection("adi", "adi/ADI.ALL", "adi/ADI.QRY", "adi/ADI.REL"),
}
CASES = ("typed", "lower", "upper")  # each query as written, in lower case, in capitals


def cran_gain(grade: int) -> int:
    """CRAN relevance grade (1 best .. 4 least; -1 not relevant) → nDCG gain (4 .. 1; 0)."""
    return 5 - grade if 1 <= grade <= 4 else 0


def one_line(text: str) -> str:
    return " ".join(text.split())


def npl_records(text: str) -> list[tuple[str, str]]:
    """NPL's documents, queries and judgments: (number, the lines after it) per record, a record
    being its number on a line, then its lines, ended by a line holding only `/`."""
    out: list[tuple[str, str]] = []
    key, lines = None, []
    for line in text.splitlines():
        if key is None:
            if line.strip():
                key, lines = str(int(line.strip())), []
        elif line.strip() == "/":
            out.append((key, "\n".join(lines)))
            key = None
        else:
            lines.append(line)
    if key is not None:  # a last record without its `/`
        out.append((key, "\n".join(lines)))
    return out


_LISA_DOC = re.compile(r"^Document\s+(\d+)\s*$", re.M)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")  # (half of LISA's blank lines hold spaces)


def lisa_documents(text: str) -> list[tuple[str, str, str]]:
    """LISA's documents: (number, title, abstract); a record is `Document n`, its title (up to the
    first blank line, which may hold spaces), its abstract, and a line of `*`."""
    out = []
    starts = list(_LISA_DOC.finditer(text))
    for m, after in zip(starts, [*starts[1:], None]):
        record = text[m.end():after.start() if after else len(text)]
        record = re.sub(r"^\*+\s*$", "", record, flags=re.M).strip("\n")
        title, body = (_BLANK_LINE.split(record, maxsplit=1) + [""])[:2]
        out.append((str(int(m.group(1))), one_line(title), one_line(body)))
    return out


def lisa_queries(text: str) -> list[tuple[str, str]]:
    """LISA's queries: numbered paragraphs, each ending in `#`."""
    out = []
    for chunk in text.split("#"):
        lines = chunk.strip().splitlines()
        if lines and lines[0].strip().isdigit():
            out.append((str(int(lines[0])), one_line(" ".join(lines[1:]))))
    return out


def lisa_qrels(text: str) -> dict[str, dict[str, int]]:
    """LISA's judgments: `Query n`, a count line, then document numbers ended by -1."""
    out: dict[str, dict[str, int]] = {}
    for m in re.finditer(r"Query\s+(\d+)\s*\n[^\n]*\n(.*?)-1", text, re.S):
        out[str(int(m.group(1)))] = {str(int(d)): 1 for d in m.group(2).split()}
    return out


def load_queries(col: Collection, data: Path) -> dict[str, str]:
    """Query id (as in the judgments) → the query's text on one line, as a user would type it."""
    text = col.path(data, "queries").read_text(encoding="utf-8")
    if col.format == "npl":
        return {key: one_line(body) for key, body in npl_records(text)}
    if col.format == "lisa":
        return dict(lisa_queries(text))
    from searchlib.ingest.parsers.smart import records

    out = {}
    for n, (key, fields) in enumerate(records(text), start=1):
        qid = str(n) if col.numbered_queries else str(int(key))
        out[qid] = one_line(" ".join(fields.get("W", [])))
    return out


def load_qrels(col: Collection, data: Path) -> dict[str, dict[str, int]]:
    """Query id → {document number → gain}; see the module docstring for the gains."""
    text = col.path(data, "qrels").read_text(encoding="utf-8")
    if col.format == "npl":
        return {key: {str(int(d)): 1 for d in docs.split()} for key, docs in npl_records(text)}
    if col.format == "lisa":
        return lisa_qrels(text)
    qcol, dcol = col.qrel_columns
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
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


def in_case(queries: dict[str, str], case: str) -> dict[str, str]:
    """The queries as written (`typed`), in lower case or in capitals (`upper`)."""
    if case == "typed":
        return dict(queries)
    return {qid: text.lower() if case == "lower" else text.upper() for qid, text in queries.items()}


def docs_file(col: Collection, data: Path, workdir: Path) -> Path:
    """The file searchlib and FTS5 read the documents from: a SMART file as it is; NPL's and LISA's
    records written to `workdir` as JSON Lines (id, title, body), a format searchlib reads."""
    if col.format == "smart":
        return col.path(data, "docs")
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in col.doc_paths(data))
    if col.format == "npl":
        rows = [(key, "", one_line(body)) for key, body in npl_records(text)]
    else:
        rows = lisa_documents(text)
    out = workdir / f"{col.name}.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for key, title, body in rows:
            f.write(json.dumps({"id": key, "title": title, "body": body}) + "\n")
    return out


def doc_number(article_id: str) -> str:
    """`…/CISI.ALL#17` → `17` (the record's number; ids are `<path>#<record key>`)."""
    return str(int(article_id.rsplit("#", 1)[-1]))


# --- searchlib, the default search path ---------------------------------------------------------

def build_searchlib(col: Collection, data: Path, workdir: Path, source: Path | None = None):
    """An index of the collection's documents in `workdir` (from `source`, else `docs_file`)."""
    import searchlib

    idx = searchlib.Index(workdir / f"{col.name}-index")
    report = idx.update(source or docs_file(col, data, workdir))
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


def build_fts5(col: Collection, data: Path, source: Path | None = None) -> sqlite3.Connection:
    """An in-memory FTS5 table of the articles exactly as searchlib parses them (title, body),
    from `source` (else `docs_file`, written to a temporary folder when it must be)."""
    import searchlib

    if source is None:
        with tempfile.TemporaryDirectory(prefix="searchlib-eval-") as tmp:
            return build_fts5(col, data, docs_file(col, data, Path(tmp)))
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    rows = [(int(a.key), a.title, a.body) for a in searchlib.read_articles(source)
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


SYSTEMS = {"typed": "searchlib", "lower": "lower", "upper": "CAPITALS"}  # case → system name


def mean_rows(rows: list[dict], systems: list[str]) -> list[dict]:
    out = []
    for system in systems:
        mine = [r for r in rows if r["system"] == system]
        if not mine:
            continue
        out.append({"collection": "mean", "system": system, "queries": sum(r["queries"] for r in mine),
                    "errors": sum(r["errors"] for r in mine), "empty": sum(r["empty"] for r in mine),
                    **{m: ir_metrics.mean(r[m] for r in mine) for m in ir_metrics.METRICS}})
    return out


def evaluate(names: list[str], data: Path, limit: int = LIMIT, log=print, cases=CASES) -> dict:
    rows, details = [], {}
    with tempfile.TemporaryDirectory(prefix="searchlib-eval-") as tmp:
        for name in names:
            col = COLLECTIONS[name]
            queries, qrels = judged_queries(col, data)
            started = time.perf_counter()
            source = docs_file(col, data, Path(tmp))
            idx, report = build_searchlib(col, data, Path(tmp), source)
            log(f"{name}: indexed {report.articles} articles ({len(report.skipped)} skipped) "
                f"in {time.perf_counter() - started:.1f}s; {len(queries)} judged queries", file=sys.stderr)
            runs = []
            for case in cases:
                runs.append((SYSTEMS[case], *run_searchlib(idx, in_case(queries, case), limit)))
            idx.close()
            db = build_fts5(col, data, source)
            runs.append(("fts5", *run_fts5(db, queries, limit)))
            db.close()
            for system, run, errors, empty, seconds in runs:
                scores = ir_metrics.evaluate(run, qrels)
                rows.append({"collection": name, "system": system, "queries": len(queries),
                             "errors": len(errors), "empty": len(empty), "seconds": seconds,
                             **{m: scores[m] for m in ir_metrics.METRICS}})
                details[f"{name}/{system}"] = {
                    "errors": errors, "empty": empty,
                    "per_query": ir_metrics.per_query_metrics(run, qrels), "run": run}
    systems = [SYSTEMS[c] for c in cases] + ["fts5"]
    return {"rows": rows + mean_rows(rows, systems), "details": details}


def relative(a: float, b: float) -> str:
    return f"{100 * (a / b - 1):+.1f}%" if b else "n/a"


def comparison(rows: list[dict]) -> str:
    """searchlib relative to FTS5 on MAP and nDCG@10, and the capitals run relative to the
    lower-case run, per collection and on the mean."""
    by = {(r["collection"], r["system"]): r for r in rows}
    lines = []
    for coll in dict.fromkeys(r["collection"] for r in rows):
        for mine, theirs, label in (("searchlib", "fts5", "searchlib vs fts5"),
                                    ("CAPITALS", "lower", "CAPITALS vs lower")):
            a, b = by.get((coll, mine)), by.get((coll, theirs))
            if a and b:
                parts = [f"{METRIC_NAMES[m]} {relative(a[m], b[m])}" for m in ("map", "ndcg@10")]
                lines.append(f"{label}, {coll:<5}: " + ", ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help=f"test collections folder (default {DATA})")
    ap.add_argument("--collections", nargs="+", choices=list(COLLECTIONS), default=list(COLLECTIONS))
    ap.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES),
                    help="run the queries as written, in lower case, in capitals (default: all three)")
    ap.add_argument("--limit", type=int, default=LIMIT, help="hits retrieved per query (default 100)")
    ap.add_argument("--json", type=Path, help="also write all numbers, per query, to this file")
    ap.add_argument("--show-failures", action="store_true",
                    help="list the queries that raised QueryError or returned nothing")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"evaluate: no test collections at {args.data} (use --data)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = evaluate(args.collections, args.data, args.limit, cases=args.cases)
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
