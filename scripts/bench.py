#!/usr/bin/env python3
"""Benchmark (issue 6): searchlib against Whoosh used with its defaults and against SQLite FTS5,
on the real corpora in ../shared/corpora, all in one run.

    python scripts/bench.py                    # full run (~28,000 articles; 10+ minutes)
    python scripts/bench.py --quick            # a subset, well under 2 minutes
    python scripts/bench.py --json out.json    # also write every figure as JSON ('-': stdout)
    python scripts/bench.py --profile          # cProfile of the searchlib build (in one process)
                                               # and of the query loops
    python scripts/bench.py --make-queries     # regenerate scripts/bench_queries.txt (committed)

Options: --corpora DIR (default <repo>/../shared/corpora), --workdir DIR (kept; default a
temporary folder, removed), --jobs N (passed to Index.update when it accepts `jobs`; the build
is then also run with jobs=1 to show scaling), --repeat N (timed passes over the query set),
--cold-runs N, --phases build,queries,cold (with --workdir, later runs can reuse the indexes),
--build-rounds N (the baseline and searchlib built N times each, alternating; medians compared).

What is measured (each build, each cold start in its own child process; the parent imports
neither searchlib nor Whoosh):

1. Build, parsing included. searchlib: `Index(dir).update(paths, rebuild=True)`. Baseline: the
   same articles from `searchlib.read_articles(paths)` written the way the Whoosh docs show it:
   `StemmingAnalyzer` TEXT title/body (stored, for highlights), ID id/path/url, KEYWORD
   topics/places/section, TEXT source, DATETIME date (naive UTC), `ix.writer()` with its
   defaults, `add_document` per article, one `commit()`. Its "write" time is the time spent
   inside add_document + commit; "parse+write" is the whole streaming loop. Peer: the same
   articles in an FTS5 table (`tokenize='porter unicode61'`), one transaction. Peak RSS: the
   child's own ru_maxrss, and the peak of the summed RSS of its process tree (sampled every
   0.1 s, so worker processes of a parallel build count; shared pages are counted once per
   process, so this errs high).
2. Queries: every query of scripts/bench_queries.txt, top 10 with snippets, in one warm process
   holding all three engines. One untimed warm-up pass, then --repeat timed passes with the
   engine order rotated per query; a query's latency is its median over the passes, and
   p50/p95/max are taken over queries (nearest rank). searchlib: `Index.search(text,
   since=..., until=..., limit=10)` (snippets are made inside). Baseline: one searcher kept
   open, `MultifieldParser(["title", "body"])` (AND of words), date ranges as
   `And([q, DateRange("date", since, until+1 day, endexcl=True)])` (what `date:[.. TO ..]`
   produces), `searcher.search(q, limit=10)`, `hit["title"]` and `hit.highlights("body")` per
   hit. FTS5: `MATCH` (unqualified words restricted to {title body}), `ORDER BY rank`
   (bm25, title weight 2), `LIMIT 10`, `snippet()` of the body; dates as a stored column.
3. Cold start: the wall time of a fresh `search "north korea artillery" --index DIR --color
   never` (the venv's console script, stdout piped), median of --cold-runs after one untimed
   run; the split (interpreter start, import, index open, search, render) from a child that
   times those steps itself. The baseline is a child that imports Whoosh, `open_dir`, parses,
   searches, computes highlights and prints them. "open" is open_dir (searchlib: Index(...)
   and its open_dir); opening the segment readers happens in "search" for both.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from measuring import TreePeak, dir_size, log, percentile  # (scripts/ is on the path)
from queryset import KINDS, QUERIES_FILE, Query, load_queries, make_queries, write_queries

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
COLD_QUERY = "north korea artillery"
RESULT_MARK = "BENCH-RESULT "
BASELINE_FIELDS = ["title", "body"]
FTS_COLUMNS = ("title", "body", "topics", "places", "section")

# --- corpora -----------------------------------------------------------------------------------


def corpus_paths(corpora: Path, quick: bool) -> list[Path]:
    """The files and folders to index: the articles only (not the READMEs, category lists or the
    expected-output files that sit beside them)."""
    reuters = sorted((corpora / "reuters21578").glob("reut2-*.sgm"))
    bbc = [corpora / "bbc" / c for c in ("business", "entertainment", "politics", "sport", "tech")]
    csv = corpora / "newsarticles_dai2017" / "NewsArticles.csv"
    n3k = corpora / "html" / "newspaper3k-tests" / "html"
    readability = sorted((corpora / "html" / "readability-test-pages").glob("*/source.html"))
    if quick:  # every format but the CSV, about 3,300 articles
        pages = sorted(n3k.glob("*.html"))[:40]
        return reuters[:3] + bbc[:1] + pages + readability[:10]
    return reuters + bbc + [csv, n3k] + readability


def _day(text: str | None, plus: int = 0) -> datetime | None:
    return datetime.fromisoformat(text) + timedelta(days=plus) if text else None


class SearchlibEngine:
    name = "searchlib"

    def __init__(self, index_dir: str):
        import searchlib
        self.idx = searchlib.Index(index_dir, create=False)

    def search(self, q: Query) -> int:
        results = self.idx.search(q.text, since=q.since, until=q.until, limit=10)
        return len([(hit.title, hit.snippet) for hit in results])


class BaselineEngine:
    """Whoosh used the obvious way: one searcher, MultifieldParser, search(limit=10), highlights."""

    name = "baseline"

    def __init__(self, index_dir: str):
        from whoosh import index
        from whoosh.qparser import MultifieldParser
        self.ix = index.open_dir(index_dir)
        self.searcher = self.ix.searcher()
        self.parser = MultifieldParser(BASELINE_FIELDS, self.ix.schema)

    def search(self, q: Query) -> int:
        from whoosh.query import And, DateRange
        query = self.parser.parse(q.text)
        if q.since or q.until:
            query = And([query, DateRange("date", _day(q.since), _day(q.until, 1), endexcl=True)])
        results = self.searcher.search(query, limit=10)
        return len([(hit["title"], hit.highlights("body")) for hit in results])


def fts_match(text: str) -> str:
    """The query in FTS5 syntax: words and phrases quoted, unqualified ones on {title body}, and
    an explicit AND between adjacent operands (FTS5 rejects `"a" ( ... )`)."""
    out: list[str] = []
    for token in re.findall(r'"[^"]*"|[()]|[^\s()]+', text):
        if token in ("OR", "AND", "NOT", ")"):
            out.append(token)
            continue
        if out and out[-1] not in ("(", "OR", "AND", "NOT"):
            out.append("AND")
        if token == "(":
            out.append(token)
            continue
        column = "{title body}"
        if ":" in token and not token.startswith('"'):
            name, _, token = token.partition(":")
            column = name if name in FTS_COLUMNS else column
        words = token.strip('"').replace('"', " ")
        out.append(f'{column} : "{words}"')
    return " ".join(out)


class FtsEngine:
    name = "fts5"
    SQL = ("SELECT id, title, snippet(docs, 1, '**', '**', '…', 32) FROM docs WHERE docs MATCH ? {dates}"
           "ORDER BY rank LIMIT 10")

    def __init__(self, db: str):
        import sqlite3
        self.db = sqlite3.connect(db)
        self.plain = self.SQL.format(dates="")
        self.ranged = self.SQL.format(dates="AND date >= ? AND date < ? ")
        self.cache: dict[str, str] = {}

    def search(self, q: Query) -> int:
        match = fts_match(q.text)
        if q.since or q.until:
            low = (_day(q.since) or datetime.min).isoformat(" ")
            high = (_day(q.until, 1) or datetime.max).isoformat(" ")
            rows = self.db.execute(self.ranged, (match, low, high)).fetchall()
        else:
            rows = self.db.execute(self.plain, (match,)).fetchall()
        return len(rows)


ENGINES = {"searchlib": SearchlibEngine, "baseline": BaselineEngine, "fts5": FtsEngine}


# --- child phases --------------------------------------------------------------------------------


def _rss() -> dict:
    import resource
    return {"rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def _articles(paths):
    import searchlib
    for item in searchlib.read_articles([Path(p) for p in paths]):
        if isinstance(item, searchlib.Article):
            yield item


def child_build_searchlib(a: dict) -> dict:
    import searchlib
    idx = searchlib.Index(a["index"])
    kwargs = {"rebuild": True}
    if a.get("jobs") is not None:
        kwargs["jobs"] = a["jobs"]
    started = time.perf_counter()
    report = idx.update([Path(p) for p in a["paths"]], **kwargs)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "articles": report.articles, "files": report.files,
            "skipped": len(report.skipped), "commits": report.commits, **_rss()}


def baseline_schema():
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
    return Schema(
        id=ID(stored=True, unique=True), path=ID(stored=True), url=ID(stored=True),
        title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
        body=TEXT(analyzer=StemmingAnalyzer(), stored=True),
        source=TEXT(stored=True), section=KEYWORD(stored=True, lowercase=True),
        topics=KEYWORD(stored=True, commas=True, lowercase=True),
        places=KEYWORD(stored=True, commas=True, lowercase=True),
        date=DATETIME(stored=True),
    )


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def child_build_baseline(a: dict) -> dict:
    from whoosh import index
    os.makedirs(a["index"], exist_ok=True)
    ix = index.create_in(a["index"], baseline_schema())
    writer = ix.writer()
    write = 0.0
    count = 0
    started = time.perf_counter()
    for art in _articles(a["paths"]):
        doc = {"id": art.url or f"{art.path}#{art.key or ''}", "path": str(art.path),
               "title": art.title, "body": art.body}
        for name in ("url", "source", "section"):
            if getattr(art, name):
                doc[name] = getattr(art, name)
        for name in ("topics", "places"):
            if getattr(art, name):
                doc[name] = ",".join(getattr(art, name))
        if art.date:
            doc["date"] = _naive_utc(art.date)
        t = time.perf_counter()
        writer.add_document(**doc)
        write += time.perf_counter() - t
        count += 1
    t = time.perf_counter()
    writer.commit()
    commit = time.perf_counter() - t
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "write_seconds": write + commit, "commit_seconds": commit,
            "articles": count, **_rss()}


def child_build_fts(a: dict) -> dict:
    import sqlite3
    db = sqlite3.connect(a["db"])
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, topics, places, section, "
               "id UNINDEXED, date UNINDEXED, tokenize='porter unicode61')")
    db.execute("INSERT INTO docs(docs, rank) VALUES('rank', 'bm25(2.0, 1.0, 1.0, 1.0, 1.0)')")
    db.commit()
    insert = "INSERT INTO docs(title, body, topics, places, section, id, date) VALUES (?, ?, ?, ?, ?, ?, ?)"
    write = 0.0
    count = 0
    started = time.perf_counter()
    db.execute("BEGIN")
    for art in _articles(a["paths"]):
        date = _naive_utc(art.date)
        row = (art.title, art.body, " ".join(art.topics), " ".join(art.places), art.section or "",
               art.url or f"{art.path}#{art.key or ''}", date.isoformat(" ") if date else None)
        t = time.perf_counter()
        db.execute(insert, row)
        write += time.perf_counter() - t
        count += 1
    t = time.perf_counter()
    db.commit()
    write += time.perf_counter() - t
    seconds = time.perf_counter() - started
    db.close()
    return {"seconds": seconds, "write_seconds": write, "articles": count, **_rss()}


def child_queries(a: dict) -> dict:
    import gc
    queries = [Query(**q) for q in a["queries"]]
    engines = [ENGINES[name](a["targets"][name]) for name in a["engines"]]
    hits = {e.name: [] for e in engines}
    errors = {e.name: [] for e in engines}
    for q in queries:  # warm-up: caches, lazily opened files, stemmer caches
        for e in engines:
            try:
                hits[e.name].append(e.search(q))
            except Exception as exc:  # a query an engine cannot run is reported, not timed
                hits[e.name].append(None)
                errors[e.name].append(f"{q.text}: {type(exc).__name__}: {exc}")
    gc.collect()
    times = {e.name: [[] for _ in queries] for e in engines}
    for rep in range(a["repeat"]):
        for i, q in enumerate(queries):
            shift = (i + rep) % len(engines)
            for e in engines[shift:] + engines[:shift]:
                if hits[e.name][i] is None:
                    continue
                t = time.perf_counter()
                e.search(q)
                times[e.name][i].append(time.perf_counter() - t)
    return {"hits": hits, "errors": errors,
            "latency": {name: [statistics.median(t) if t else None for t in per_query]
                        for name, per_query in times.items()}}


# The cold-start children time their own steps; each runs as a whole process (python -c), and its
# wall time, measured by the parent, is a real cold start too.
SEARCHLIB_COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import searchlib.cli as cli
from searchlib import Index
t1 = time.perf_counter()
idx = Index(sys.argv[1], create=False)
getattr(idx, "_whoosh", None)  # Index opens Whoosh lazily: force it here where it can
t2 = time.perf_counter()
results = idx.search(sys.argv[2], limit=10)
t3 = time.perf_counter()
render = getattr(cli, "_render_results", None)
if render is not None:
    render(results, False, False)
else:
    for hit in results:
        print(hit.title)
        print("  " + hit.snippet)
        print()
sys.stdout.flush()
t4 = time.perf_counter()
print("BENCH-RESULT " + json.dumps({"import": t1 - t0, "open": t2 - t1, "search": t3 - t2, "render": t4 - t3,
                                    "hits": len(results.hits), "total": results.total,
                                    "partial": results.partial}))
"""

BASELINE_COLD = r"""
import json, sys, time
t0 = time.perf_counter()
from whoosh import index
from whoosh.qparser import MultifieldParser
t1 = time.perf_counter()
ix = index.open_dir(sys.argv[1])
t2 = time.perf_counter()
with ix.searcher() as searcher:
    q = MultifieldParser(["title", "body"], ix.schema).parse(sys.argv[2])
    results = searcher.search(q, limit=10)
    shown = [(hit["title"], hit.highlights("body")) for hit in results]
    total = len(results)
t3 = time.perf_counter()
for title, snippet in shown:
    print(title)
    print("  " + snippet)
    print()
print(f"{total} matching articles", file=sys.stderr)
sys.stdout.flush()
t4 = time.perf_counter()
print("BENCH-RESULT " + json.dumps({"import": t1 - t0, "open": t2 - t1, "search": t3 - t2,
                                    "render": t4 - t3, "hits": len(shown), "total": total}))
"""


def child_profile_build(a: dict) -> dict:
    import cProfile
    import searchlib
    idx = searchlib.Index(a["index"])
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    # jobs=1: in one process, so the profile holds all the work (with workers, only the parent's)
    report = idx.update([Path(p) for p in a["paths"]], rebuild=True, jobs=1)
    prof.disable()
    seconds = time.perf_counter() - started
    prof.dump_stats(a["out"])
    return {"seconds": seconds, "articles": report.articles, "stats": _top(a["out"], a["top"])}


def child_profile_queries(a: dict) -> dict:
    import cProfile
    queries = [Query(**q) for q in a["queries"]]
    engine = ENGINES[a["engine"]](a["target"])
    for q in queries:
        try:
            engine.search(q)
        except Exception:
            pass
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    for _ in range(a["repeat"]):
        for q in queries:
            try:
                engine.search(q)
            except Exception:
                pass
    prof.disable()
    seconds = time.perf_counter() - started
    prof.dump_stats(a["out"])
    return {"seconds": seconds, "queries": len(queries) * a["repeat"], "stats": _top(a["out"], a["top"])}


def _top(path: str, n: int) -> dict:
    import io
    import pstats
    out = {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        stats = pstats.Stats(path, stream=buf)
        stats.strip_dirs().sort_stats(key).print_stats(n)
        text = buf.getvalue()
        start = text.find("   ncalls")
        out[key] = text[start:].rstrip() if start != -1 else text.rstrip()
    return out


CHILDREN = {f.__name__[len("child_"):]: f for f in (
    child_build_searchlib, child_build_baseline, child_build_fts, child_queries,
    child_profile_build, child_profile_queries)}


# --- the parent ----------------------------------------------------------------------------------


PYCACHE: Path | None = None  # set by main(): compiled modules for the children go here


def child_env() -> dict:
    """The children's environment: this checkout first on the path, and bytecode caching on (in
    a cache folder of the run's own), as an installed package has it. With PYTHONDONTWRITEBYTECODE
    set and no __pycache__ in the checkout, every process would recompile searchlib from source
    (~0.4 s), which is not what a user's cold start costs."""
    env = dict(os.environ)
    if PYCACHE is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("NO_COLOR", None)
    return env


def run_child(phase: str, args: dict, *, sample: bool = False, cwd: Path | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", phase]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env(), cwd=cwd)
    peak = TreePeak(proc) if sample else None
    out, err = proc.communicate(json.dumps(args))
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"child {phase} failed ({proc.returncode}):\n{err[-4000:]}")
    lines = [line for line in out.splitlines() if line.startswith(RESULT_MARK)]
    result = json.loads(lines[-1][len(RESULT_MARK):])
    result["wall"] = wall
    if peak is not None:
        result["rss_tree_mb"] = peak.mb()
    return result


def child_main(phase: str) -> None:
    sys.path.insert(0, str(ROOT))
    args = json.loads(sys.stdin.read())
    result = CHILDREN[phase](args)
    sys.stdout.flush()
    print(RESULT_MARK + json.dumps(result), flush=True)


def searchlib_update_takes_jobs() -> bool:
    code = ("import inspect, searchlib; "
            "print('jobs' in inspect.signature(searchlib.Index.update).parameters)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env())
    return out.stdout.strip() == "True"


def phase_build(args, work: Path, paths: list[Path], jobs_supported: bool) -> dict:
    plain = [str(p) for p in paths]
    builds: dict = {}
    log("build: baseline (Whoosh defaults) ...")
    base_dir = work / "baseline"
    shutil.rmtree(base_dir, ignore_errors=True)
    r = run_child("build_baseline", {"index": str(base_dir), "paths": plain}, sample=True)
    r["size_mb"] = dir_size(base_dir) / 1e6
    builds["baseline"] = r
    log(f"  {r['articles']} articles in {r['seconds']:.1f} s (write {r['write_seconds']:.1f} s)")

    log("build: FTS5 ...")
    db = work / "fts.sqlite"
    db.unlink(missing_ok=True)
    r = run_child("build_fts", {"db": str(db), "paths": plain}, sample=True)
    r["size_mb"] = dir_size(db) / 1e6
    builds["fts5"] = r
    log(f"  {r['articles']} articles in {r['seconds']:.1f} s (write {r['write_seconds']:.1f} s)")

    runs = [None]
    if jobs_supported:
        n = args.jobs or os.cpu_count() or 1
        runs = [n] + ([1] if n > 1 else [])
    for jobs in runs:
        label = "searchlib" if jobs is None or jobs == runs[0] else f"searchlib jobs={jobs}"
        target = work / ("searchlib" if label == "searchlib" else f"searchlib_jobs{jobs}")
        shutil.rmtree(target, ignore_errors=True)
        log(f"build: {label}{f' (jobs={jobs})' if jobs and label == 'searchlib' else ''} ...")
        r = run_child("build_searchlib", {"index": str(target), "paths": plain, "jobs": jobs}, sample=True)
        r["size_mb"] = dir_size(target) / 1e6
        r["jobs"] = jobs
        builds[label] = r
        log(f"  {r['articles']} articles in {r['seconds']:.1f} s")
        if label != "searchlib":
            shutil.rmtree(target, ignore_errors=True)
    _more_rounds(args, work, plain, builds, runs[0])
    return builds


def _more_rounds(args, work: Path, plain: list[str], builds: dict, jobs) -> None:
    """--build-rounds N: N-1 more builds of the baseline and of searchlib, in alternating order,
    so that a slow spell of a shared machine hits both; their `seconds` become the medians of
    all rounds (the first round's figures stay as `first_seconds`), and `paired_ratios` are each
    round's baseline time / searchlib time (in the searchlib entry)."""
    if args.build_rounds <= 1:
        return
    base, ours = builds["baseline"], builds["searchlib"]
    base["rounds_seconds"], ours["rounds_seconds"] = [base["seconds"]], [ours["seconds"]]
    for round_ in range(2, args.build_rounds + 1):
        order = ["searchlib", "baseline"] if round_ % 2 == 0 else ["baseline", "searchlib"]
        for name in order:
            target = work / f"round_{name}"
            shutil.rmtree(target, ignore_errors=True)
            log(f"build: {name}, round {round_} of {args.build_rounds} ...")
            if name == "baseline":
                r = run_child("build_baseline", {"index": str(target), "paths": plain})
            else:
                r = run_child("build_searchlib", {"index": str(target), "paths": plain, "jobs": jobs})
            builds[name]["rounds_seconds"].append(r["seconds"])
            log(f"  {r['seconds']:.1f} s")
            shutil.rmtree(target, ignore_errors=True)
    for r in (base, ours):
        r["first_seconds"] = r["seconds"]
        r["seconds"] = statistics.median(r["rounds_seconds"])
    ours["paired_ratios"] = [b / o for b, o in zip(base["rounds_seconds"], ours["rounds_seconds"])]


def phase_queries(args, work: Path, queries: list[Query]) -> dict:
    log(f"queries: {len(queries)} queries x 3 engines, 1 warm-up + {args.repeat} timed passes ...")
    targets = {"searchlib": str(work / "searchlib"), "baseline": str(work / "baseline"),
               "fts5": str(work / "fts.sqlite")}
    r = run_child("queries", {"queries": [asdict(q) for q in queries], "targets": targets,
                              "engines": list(ENGINES), "repeat": args.repeat}, sample=True)
    table: dict = {}
    for name in ENGINES:
        table[name] = {}
        for kind in KINDS + ("all",):
            lat = [t for q, t in zip(queries, r["latency"][name]) if t is not None and kind in ("all", q.kind)]
            hits = [h for q, h in zip(queries, r["hits"][name]) if h is not None and kind in ("all", q.kind)]
            if not lat:
                continue
            table[name][kind] = {
                "n": len(lat), "p50_ms": percentile(lat, 0.5) * 1e3, "p95_ms": percentile(lat, 0.95) * 1e3,
                "max_ms": max(lat) * 1e3, "mean_ms": statistics.fmean(lat) * 1e3,
                "empty": sum(h == 0 for h in hits), "mean_hits": statistics.fmean(hits) if hits else 0}
    return {"table": table, "errors": r["errors"], "rss_mb": r["rss_tree_mb"],
            "per_query": {name: r["latency"][name] for name in ENGINES}}


def _timed_children(cmds: dict[str, list[str]], runs: int, cwd: Path) -> dict[str, dict]:
    """Wall times of `runs` fresh processes per command (after one untimed run each: page cache,
    bytecode cache), interleaved so that a noisy moment hits every command alike; each child's own
    step timings (its RESULT_MARK line) and its last stdout."""
    env = child_env()
    out = {name: {"walls": [], "splits": [], "stdout": ""} for name in cmds}
    for cmd in cmds.values():
        subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    names = list(cmds)
    for run in range(runs):
        for name in names[run % len(names):] + names[:run % len(names)]:
            t = time.perf_counter()
            proc = subprocess.run(cmds[name], capture_output=True, text=True, env=env, cwd=cwd)
            out[name]["walls"].append(time.perf_counter() - t)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{name} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
            lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_MARK)]
            if lines:
                out[name]["splits"].append(json.loads(lines[-1][len(RESULT_MARK):]))
            out[name]["stdout"] = proc.stdout
    return out


def _importtime(module: str) -> list[tuple[str, float]]:
    """The heaviest imports under `module`, cumulative ms, from python -X importtime."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, env=child_env())
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 5:  # the module, its imports, and theirs
            rows.append((m.group(4), int(m.group(2)) / 1e3))
    return sorted(rows, key=lambda r: -r[1])[:12]


def _split(splits: list[dict]) -> dict:
    return {k: statistics.median(s[k] for s in splits) * 1e3 for k in ("import", "open", "search", "render")}


def phase_cold(args, work: Path) -> dict:
    runs = args.cold_runs
    log(f"cold start: {runs} runs each, interleaved ...")
    index, base = str(work / "searchlib"), str(work / "baseline")
    script = Path(sys.executable).parent / "search"
    console = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from searchlib.cli import main; sys.exit(main())"]
    r = _timed_children({
        "interpreter": [sys.executable, "-c", "pass"],
        "console": console + [COLD_QUERY, "--index", index, "--color", "never"],
        "searchlib": [sys.executable, "-c", SEARCHLIB_COLD, index, COLD_QUERY],
        "baseline": [sys.executable, "-c", BASELINE_COLD, base, COLD_QUERY],
    }, runs, work)

    def ms(name):
        return statistics.median(r[name]["walls"]) * 1e3

    s, b = r["searchlib"]["splits"][-1], r["baseline"]["splits"][-1]
    return {
        "interpreter_ms": ms("interpreter"),
        "searchlib": {"command": " ".join(console) + f" {COLD_QUERY!r} --index DIR --color never",
                      "wall_ms": ms("console"), "walls_ms": [w * 1e3 for w in r["console"]["walls"]],
                      "stdout_lines": len(r["console"]["stdout"].splitlines()),
                      "split_ms": _split(r["searchlib"]["splits"]), "split_wall_ms": ms("searchlib"),
                      "hits": s["hits"], "total": s["total"], "partial": s["partial"]},
        "baseline": {"wall_ms": ms("baseline"), "walls_ms": [w * 1e3 for w in r["baseline"]["walls"]],
                     "split_ms": _split(r["baseline"]["splits"]), "split_wall_ms": ms("baseline"),
                     "hits": b["hits"], "total": b["total"]},
        "importtime_ms": {"searchlib.cli": _importtime("searchlib.cli"),
                          "whoosh.index, whoosh.qparser": _importtime("whoosh.index, whoosh.qparser")},
    }


def phase_profile(args, work: Path, paths: list[Path], queries: list[Query]) -> dict:
    out = {}
    target = work / "profile_index"
    shutil.rmtree(target, ignore_errors=True)
    log(f"profile: searchlib build of {len(paths)} paths under cProfile ...")
    out["build"] = run_child("profile_build", {"index": str(target), "paths": [str(p) for p in paths],
                                               "out": str(work / "build.prof"), "top": args.top})
    index = work / "searchlib" if (work / "searchlib").exists() else target
    for engine, where in (("searchlib", index), ("baseline", work / "baseline")):
        if not where.exists():
            continue
        log(f"profile: {engine} query loop on {where} under cProfile ...")
        out[f"queries_{engine}"] = run_child("profile_queries", {
            "queries": [asdict(q) for q in queries], "engine": engine, "target": str(where),
            "repeat": 1, "out": str(work / f"queries_{engine}.prof"), "top": args.top})
        out[f"queries_{engine}"]["index"] = str(where)
    shutil.rmtree(target, ignore_errors=True)
    return out


# --- the report ----------------------------------------------------------------------------------


def _ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def print_report(res: dict) -> None:
    p = print
    meta = res["meta"]
    p(f"searchlib benchmark  {meta['started']}  {'QUICK subset' if meta['quick'] else 'full corpora'}")
    p(f"  corpora {meta['corpora']}  ({meta['paths']} paths)   code {meta['root']} @ {meta['git']}")
    p(f"  python {meta['python']}  whoosh {meta.get('whoosh', '?')}  sqlite {meta['sqlite']}  "
      f"cpus {meta['cpus']}  jobs supported: {meta['jobs_supported']}")
    p(f"  load average (1/5/15 min) at start {'/'.join(f'{x:.1f}' for x in meta['loadavg_start'])}, at end "
      f"{'/'.join(f'{x:.1f}' for x in meta.get('loadavg_end', ()))}: other work shares these cores")
    builds = res.get("builds")
    if builds:
        p("\n1. Full index build (parsing included; each build in its own process)")
        p(f"  {'':24} {'articles':>8} {'wall s':>8} {'art/s':>8} {'write s':>8} {'size MB':>8} "
          f"{'RSS MB':>7} {'tree MB':>8}")
        for name, b in builds.items():
            p(f"  {name:24} {b['articles']:8d} {b['seconds']:8.1f} {b['articles'] / b['seconds']:8.0f} "
              f"{format(b['write_seconds'], '8.1f') if 'write_seconds' in b else '       -'} {b['size_mb']:8.1f} {b['rss_self_mb']:7.0f} "
              f"{b['rss_tree_mb']:8.0f}")
        s, base = builds["searchlib"], builds["baseline"]
        p(f"  searchlib / baseline wall (parse+write): {_ratio(s['seconds'], base['seconds'])}  "
          f"(baseline is {base['seconds'] / s['seconds']:.2f}x the time of searchlib)")
        p(f"  searchlib / baseline write alone:        {_ratio(s['seconds'], base['write_seconds'])}")
        p(f"  searchlib / FTS5 (parse+write):          {_ratio(s['seconds'], builds['fts5']['seconds'])}")
        if "rounds_seconds" in s:
            p(f"  {len(s['rounds_seconds'])} rounds, alternating (wall s above: medians; write s, size, "
              f"RSS: the first round): baseline {', '.join(f'{x:.1f}' for x in base['rounds_seconds'])}; "
              f"searchlib {', '.join(f'{x:.1f}' for x in s['rounds_seconds'])}; baseline / searchlib "
              f"per round {', '.join(f'{x:.2f}x' for x in s['paired_ratios'])}")
        for name, b in builds.items():
            if name.startswith("searchlib jobs="):
                p(f"  scaling: {name} {b['seconds']:.1f} s vs searchlib (jobs={s.get('jobs')}) "
                  f"{s['seconds']:.1f} s: {b['seconds'] / s['seconds']:.2f}x")
        if not meta["jobs_supported"]:
            p("  (Index.update takes no `jobs` argument: one single-process build, no scaling figure)")
    q = res.get("queries")
    if q:
        t = q["table"]
        p(f"\n2. Queries: top 10 with snippets, warm, in-process; ms; a query's time is its median over "
          f"{meta['repeat']} passes")
        p(f"  {'kind':8} {'n':>4}  {'searchlib p50/p95/max':>24}  {'baseline p50/p95/max':>24}  "
          f"{'fts5 p50/p95/max':>20}  {'ratio p50':>9} {'ratio p95':>9}")
        for kind in KINDS + ("all",):
            if kind not in t["searchlib"]:
                continue
            s, b, f = t["searchlib"][kind], t["baseline"][kind], t["fts5"][kind]
            p(f"  {kind:8} {s['n']:4d}  {s['p50_ms']:7.2f} {s['p95_ms']:7.2f} {s['max_ms']:8.1f}  "
              f"{b['p50_ms']:7.2f} {b['p95_ms']:7.2f} {b['max_ms']:8.1f}  "
              f"{f['p50_ms']:5.2f} {f['p95_ms']:6.2f} {f['max_ms']:7.1f}  "
              f"{_ratio(s['p50_ms'], b['p50_ms']):>9} {_ratio(s['p95_ms'], b['p95_ms']):>9}")
        p("  ratio = searchlib / baseline (lower is better).  Result counts (queries with no hit; "
          "mean hits shown):")
        for name in ENGINES:
            a = t[name]["all"]
            errs = q["errors"][name]
            p(f"    {name:9} empty {a['empty']:3d}/{a['n']}  mean hits {a['mean_hits']:.1f}  errors {len(errs)}"
              + (f"  e.g. {errs[0][:100]}" if errs else ""))
    c = res.get("cold")
    if c:
        s, b = c["searchlib"], c["baseline"]
        p(f"\n3. Cold start: `search \"{COLD_QUERY}\"` in a fresh process; median of {meta['cold_runs']} runs, ms")
        p(f"  interpreter alone (python -c pass): {c['interpreter_ms']:.0f}; split = median of each step "
          f"as timed inside the child (import/open/search/render exclude interpreter start)")
        p(f"  {'':10} {'wall':>7} {'import':>7} {'open':>7} {'search':>7} {'render':>7}  hits/total")
        ss, bs = s["split_ms"], b["split_ms"]
        p(f"  {'searchlib':10} {s['wall_ms']:7.0f} {ss['import']:7.1f} {ss['open']:7.1f} {ss['search']:7.1f} "
          f"{ss['render']:7.1f}  {s['hits']}/{s['total']}{' (partial)' if s.get('partial') else ''}")
        p(f"  {'baseline':10} {b['wall_ms']:7.0f} {bs['import']:7.1f} {bs['open']:7.1f} {bs['search']:7.1f} "
          f"{bs['render']:7.1f}  {b['hits']}/{b['total']}")
        p(f"  searchlib / baseline wall: {_ratio(s['wall_ms'], b['wall_ms'])}   (searchlib's wall is the console "
          f"script's; its split is from a child timing the same steps, wall {s['split_wall_ms']:.0f} ms)")
        for name, rows in c["importtime_ms"].items():
            p(f"  python -X importtime, cumulative ms, import {name}: " + ", ".join(f"{m} {ms:.0f}" for m, ms in rows[:8]))
    if builds or q or c:
        p("\nTargets (issue 6)")
        for line in targets(res):
            p("  " + line)
    prof = res.get("profile")
    if prof:
        for name, r in prof.items():
            what = f"{r.get('articles', r.get('queries'))} {'articles' if 'articles' in r else 'queries'}"
            p(f"\nProfile: {name} ({what}, {r['seconds']:.1f} s under cProfile)")
            for key in ("cumulative", "tottime"):
                p(f"  -- top {meta['top']} by {key}")
                p(r["stats"][key])


def targets(res: dict) -> list[str]:
    out = []

    def check(label, value, limit, ok):
        out.append(f"{'PASS' if ok else 'FAIL'}  {label}: {value} (target {limit})")

    builds = res.get("builds")
    if builds:
        s, b = builds["searchlib"], builds["baseline"]
        check("build speed, baseline time / searchlib time", f"{b['seconds'] / s['seconds']:.2f}x", ">= 4x",
              b["seconds"] / s["seconds"] >= 4)
        peak = max(s["rss_self_mb"], s["rss_tree_mb"])
        check("build peak RSS", f"{peak:.0f} MB", "<= 600 MB", peak <= 600)
        scaled = [v for k, v in builds.items() if k.startswith("searchlib jobs=")]
        if scaled:
            check("build scales with --jobs", f"{scaled[0]['seconds'] / s['seconds']:.2f}x faster with "
                  f"jobs={s['jobs']}", "> 1x", scaled[0]["seconds"] / s["seconds"] > 1.2)
        else:
            out.append("n/a   build scaling: Index.update has no `jobs` argument")
    q = res.get("queries")
    if q:
        t = q["table"]
        s, b = t["searchlib"]["all"], t["baseline"]["all"]
        check("queries p50, searchlib / baseline", _ratio(s["p50_ms"], b["p50_ms"]), "<= 0.5x",
              s["p50_ms"] <= 0.5 * b["p50_ms"])
        check("queries p95, searchlib / baseline", _ratio(s["p95_ms"], b["p95_ms"]), "<= 0.3x",
              s["p95_ms"] <= 0.3 * b["p95_ms"])
        if "date" in t["searchlib"]:
            s, b = t["searchlib"]["date"], t["baseline"]["date"]
            check("date-range p95, searchlib / baseline", _ratio(s["p95_ms"], b["p95_ms"]), "<= 0.2x",
                  s["p95_ms"] <= 0.2 * b["p95_ms"])
    c = res.get("cold")
    if c:
        s, b = c["searchlib"]["wall_ms"], c["baseline"]["wall_ms"]
        check("cold start, searchlib / baseline", _ratio(s, b), "<= 0.5x", s <= 0.5 * b)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--quick", action="store_true", help="a subset of every format (< 2 minutes)")
    parser.add_argument("--workdir", type=Path, help="where the indexes go (kept); default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--jobs", type=int, help="jobs for searchlib's build, when Index.update takes `jobs` "
                                                 "(default: all cores; jobs=1 is also run for scaling)")
    parser.add_argument("--build-rounds", type=int, default=1,
                        help="build the baseline and searchlib N times each, alternating, and compare medians")
    parser.add_argument("--repeat", type=int, help="timed passes over the query set (default 3; --quick 1)")
    parser.add_argument("--cold-runs", type=int, help="runs per cold-start measurement (default 7; --quick 5)")
    parser.add_argument("--phases", default="build,queries,cold",
                        help="comma-separated subset of build,queries,cold (default: all)")
    parser.add_argument("--queries", type=Path, default=QUERIES_FILE)
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON (- for stdout)")
    parser.add_argument("--profile", action="store_true",
                        help="instead: cProfile the searchlib build and the searchlib/baseline query loops")
    parser.add_argument("--top", type=int, default=15, help="profile lines to print (default 15)")
    parser.add_argument("--make-queries", action="store_true", help=f"regenerate {QUERIES_FILE.name}")
    args = parser.parse_args(argv)
    if args.make_queries:
        queries = make_queries(corpus_paths(args.corpora, quick=False))
        write_queries(queries, args.queries)
        log(f"wrote {len(queries)} queries to {args.queries}")
        return 0
    if not args.corpora.is_dir():
        log(f"no corpora at {args.corpora}")
        return 2
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.cold_runs is None:
        args.cold_runs = 5 if args.quick else 7
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    paths = corpus_paths(args.corpora, args.quick)
    queries = load_queries(args.queries)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="searchlib-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    global PYCACHE
    PYCACHE = work / "pycache"
    keep = args.keep or args.workdir is not None
    jobs_supported = searchlib_update_takes_jobs()
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "?"
    versions = subprocess.run([sys.executable, "-c", "import whoosh, sqlite3; "
                               "print(whoosh.versionstring(), sqlite3.sqlite_version)"],
                              capture_output=True, text=True, env=child_env()).stdout.split()
    res: dict = {"meta": {
        "started": datetime.now().astimezone().isoformat(timespec="seconds"), "quick": args.quick,
        "corpora": str(args.corpora), "paths": len(paths), "root": str(ROOT), "git": git,
        "python": sys.version.split()[0], "whoosh": versions[0] if versions else "?",
        "sqlite": versions[1] if len(versions) > 1 else "?", "cpus": os.cpu_count(),
        "jobs_supported": jobs_supported, "repeat": args.repeat, "cold_runs": args.cold_runs,
        "queries": len(queries), "top": args.top, "workdir": str(work),
        "loadavg_start": os.getloadavg()}}
    started = time.perf_counter()
    try:
        if args.profile:
            res["profile"] = phase_profile(args, work, paths, queries)
        else:
            if "build" in phases:
                res["builds"] = phase_build(args, work, paths, jobs_supported)
            elif not (work / "searchlib").exists():
                raise SystemExit(f"no indexes in {work}: run the build phase first")
            if "queries" in phases:
                res["queries"] = phase_queries(args, work, queries)
            if "cold" in phases:
                res["cold"] = phase_cold(args, work)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    res["meta"]["seconds"] = time.perf_counter() - started
    res["meta"]["loadavg_end"] = os.getloadavg()
    if args.json:
        text = json.dumps(res, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.json != "-":
        print_report(res)
        print(f"\n(run took {res['meta']['seconds']:.0f} s; workdir {work}{'' if keep else ', removed'})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "_child":
        child_main(sys.argv[2])
    else:
        sys.exit(main())
