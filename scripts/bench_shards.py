#!/usr/bin/env python3
"""What sharding costs a query: the bench queries (scripts/bench_queries.txt) on the real corpora,
searched in one unsharded index and in the same articles split into 1, 2, 4 … shards, on this
machine, in this process (sharding.searching with the LocalExecutor: the shards one after
another; a cluster's time on the wire is measured by scripts/bench_cluster.py).

For each index: the p50 and p95 over the queries of each query's median time across the timed
passes (the passes alternate between the indexes, so a noisy neighbour slows them alike), and a
check that each query's top 10 (every copy listed) are the unsharded index's: `differ` counts the
queries whose scores differ by more than 1e-6 (relative) or whose ids differ beyond ties, `>1e-3`
those beyond 1e-3, `drift` the largest relative score difference. Whoosh records a merged
segment's field lengths from its articles' one-byte lengths, so two indexes of the same articles
whose segments were merged otherwise (sharded or not) have other average field lengths, and their
scores differ in the third or fourth digit. So `as one` also compares each sharded index with
run_search over its own shards' segments read as one index (the same statistics by Whoosh's own
sums): ids in the same order, totals, stories, suggestion, scores within 1e-9; `same set` counts
the queries whose top 10 hold the unsharded top 10's ids (a tie at the 10th place may hold others), `overlap` the mean share of them.

Usage: python scripts/bench_shards.py [--corpora DIR] [--workdir DIR] [--shards 1,2,4]
       [--repeat 3] [--jobs N] [--dated] [--json PATH]
The indexes are built in --workdir (kept, and reused when already there; default a temporary
folder, removed afterwards).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import DEFAULT_CORPORA, corpus_paths  # noqa: E402
from queryset import QUERIES_FILE, load_queries  # noqa: E402


def build_plain(folder: Path, paths: list[Path], jobs: int | None) -> float:
    import searchlib
    started = time.perf_counter()
    with searchlib.Index(folder) as idx:
        idx.update(paths, jobs=jobs)
    return time.perf_counter() - started


def build_sharded(folder: Path, paths: list[Path], count: int, jobs: int | None) -> float:
    """An index of `count` shards in `folder` (ids relative to its parent, as the unsharded
    one's), built by sharding.building."""
    import searchlib
    from searchlib.engine.layout import META_FILE
    from searchlib.sharding.building import update_sharded
    from searchlib.sharding.layout import describe, shard_paths
    started = time.perf_counter()
    folder.mkdir(parents=True)
    shards = shard_paths(folder, count)
    for shard in shards:
        searchlib.Index(shard).close()
    meta = json.loads((shards[0] / META_FILE).read_text(encoding="utf-8"))
    (folder / META_FILE).write_text(json.dumps({**meta, **describe(count)}), encoding="utf-8")
    update_sharded(folder, paths, count, base=folder.parent, jobs=jobs)
    return time.perf_counter() - started


class Plain:
    def __init__(self, folder: Path):
        import searchlib
        self.idx = searchlib.Index(folder, create=False)

    def search(self, q, all_copies: bool = False):
        return self.idx.search(q.text, since=q.since, until=q.until, limit=10, all_copies=all_copies)


class Sharded:
    def __init__(self, folder: Path, count: int):
        from searchlib.sharding.layout import shard_paths
        self.paths = [str(p) for p in shard_paths(folder, count)]

    def as_one(self, q, all_copies: bool = False):
        """run_search on the same shards' segments read as one index (Whoosh's own statistics
        over all of them): what the sharded search must give exactly, ties in the same order."""
        from searchlib.dates import parse_window
        from searchlib.querying.searching import run_search
        from searchlib.sharding.searching import combined
        since, until = parse_window(q.since, q.until)
        return run_search(combined(self.paths), q.text, since=since, until=until, limit=10,
                          all_copies=all_copies)

    def search(self, q, all_copies: bool = False):
        from searchlib.dates import parse_window
        from searchlib.sharding.searching import Request, search
        since, until = parse_window(q.since, q.until)
        return search(self.paths, Request(q.text, since=since, until=until, limit=10, all_copies=all_copies))


def same(one, other, tolerance: float = 1e-6) -> bool:
    """The same top hits: totals, scores at each rank within `tolerance` (relative), and the
    same ids but for those within `tolerance` of another hit's score (tied, or nearly: shards
    break ties otherwise) or of the last one's (the page's edge)."""
    if (one.total, len(one.hits)) != (other.total, len(other.hits)):
        return False
    if any(abs(a.score - b.score) > tolerance * max(abs(a.score), 1.0) for a, b in zip(one.hits, other.hits)):
        return False

    def near(x, y):
        return abs(x - y) <= tolerance * max(abs(x), 1.0)

    scores = [a.score for a in one.hits]
    loose = [any(near(x, y) for j, y in enumerate(scores) if j != i) or near(x, scores[-1])
             for i, x in enumerate(scores)]
    firm_one = {a.id for a, free in zip(one.hits, loose) if not free}
    firm_other = {b.id for b, free in zip(other.hits, loose) if not free}
    return firm_one == firm_other and {a.id for a in one.hits} - {b.id for b in other.hits} <= \
        {a.id for a, free in zip(one.hits, loose) if free}


def drift(one, other) -> float:
    """The largest relative score difference at the same rank."""
    return max((abs(a.score - b.score) / max(abs(a.score), 1e-9) for a, b in zip(one.hits, other.hits)),
               default=0.0)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--shards", default="1,2,4", help="shard counts, comma-separated (default 1,2,4)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (default 3)")
    parser.add_argument("--jobs", type=int, default=2, help="parsing processes for the builds (default 2)")
    parser.add_argument("--queries", type=Path, default=QUERIES_FILE)
    parser.add_argument("--quick", action="store_true", help="a subset of the corpora (bench.py --quick's)")
    parser.add_argument("--dated", action="store_true",
                        help="only the queries with a date filter (what shards split by period would skip)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON (- for stdout)")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.shards.split(",") if n.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_shards_"))
    out = {"corpora": str(args.corpora), "shards": counts, "repeat": args.repeat, "builds": {}, "queries": {}}
    try:
        paths = corpus_paths(args.corpora, args.quick)
        engines = {}
        if not (workdir / "plain").exists():
            out["builds"]["unsharded"] = build_plain(workdir / "plain", paths, args.jobs)
        engines["unsharded"] = Plain(workdir / "plain")
        for count in counts:
            folder = workdir / f"shards{count}"
            if not folder.exists():
                out["builds"][f"{count} shards"] = build_sharded(folder, paths, count, args.jobs)
            engines[f"{count} shards"] = Sharded(folder, count)
        for name, seconds in out["builds"].items():
            print(f"built {name}: {seconds:.1f} s", file=sys.stderr)
        queries = load_queries(args.queries)
        if args.dated:
            queries = [q for q in queries if q.since or q.until]
        reference = {}
        differ = {name: [] for name in engines}
        near = {name: [] for name in engines}
        unlike_one = {name: [] for name in engines}  # differ from their own segments read as one
        overlap = {name: [] for name in engines}  # the share of the top 10's ids in the unsharded top 10
        drifts = {name: 0.0 for name in engines}
        for q in queries:  # a warm-up pass, which also checks the results: every copy listed, as
            # copies of one story often score the same and ties go another way in shards, so a
            # collapsed page may show another copy of the same story
            reference[q] = engines["unsharded"].search(q, all_copies=True)
            for name, engine in engines.items():
                engine.search(q)
                if name == "unsharded":
                    continue
                found = engine.search(q, all_copies=True)
                for copies in (False, True):
                    one, it = engine.as_one(q, copies), found if copies else engine.search(q)
                    if ([h.id for h in one.hits], one.total, one.complete, one.stories, one.suggestion) != \
                            ([h.id for h in it.hits], it.total, it.complete, it.stories, it.suggestion) or \
                            drift(one, it) > 1e-9:
                        unlike_one[name].append(q.text)
                drifts[name] = max(drifts[name], drift(reference[q], found))
                ours = {h.id for h in reference[q].hits}
                overlap[name].append(len(ours & {h.id for h in found.hits}) / len(ours) if ours else 1.0)
                if not same(reference[q], found):
                    differ[name].append(q.text)
                if not same(reference[q], found, tolerance=1e-3):
                    near[name].append(q.text)
        times = {name: {q: [] for q in queries} for name in engines}
        for _ in range(args.repeat):
            for name, engine in engines.items():
                for q in queries:
                    started = time.perf_counter()
                    engine.search(q)
                    times[name][q].append(time.perf_counter() - started)
        print(f"{len(queries)} queries, median of {args.repeat} passes each, in-process (LocalExecutor)")
        print(f"{'index':12} {'p50 ms':>8} {'p95 ms':>8} {'differ':>7} {'>1e-3':>6} {'drift':>9} {'as one':>7} {'same set':>9} {'overlap':>8}")
        for name in engines:
            medians = [statistics.median(values) * 1000 for values in times[name].values()]
            p50, p95 = percentile(medians, 50), percentile(medians, 95)
            by_kind = {}
            for q, values in times[name].items():
                by_kind.setdefault(q.kind, []).append(statistics.median(values) * 1000)
            out["queries"][name] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
                                    "p50_by_kind_ms": {k: round(percentile(v, 50), 2) for k, v in by_kind.items()},
                                    "differ": differ[name], "differ_beyond_1e-3": near[name],
                                    "largest_relative_score_difference": drifts[name],
                                    "differ_from_same_segments_as_one": unlike_one[name],
                                    "top10_overlap": round(sum(overlap[name]) / len(queries), 4) if overlap[name] else 1.0,
                                    "top10_sets_equal": sum(1 for o in overlap[name] if o == 1.0) if overlap[name] else len(queries)}
            print(f"{name:12} {p50:8.1f} {p95:8.1f} {len(differ[name]):7d} {len(near[name]):6d} "
                  f"{drifts[name]:9.2e} {len(unlike_one[name]):7d} {out['queries'][name]['top10_sets_equal']:9d} "
                  f"{out['queries'][name]['top10_overlap']:8.3f}")
        for name, texts in near.items():
            for text in texts[:10]:
                print(f"  {name}: top 10 differ beyond 1e-3 for {text!r}", file=sys.stderr)
        if args.json:
            text = json.dumps(out, indent=2)
            if args.json == "-":
                print(text)
            else:
                Path(args.json).write_text(text + "\n", encoding="utf-8")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
