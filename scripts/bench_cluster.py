#!/usr/bin/env python3
"""What a Dask cluster costs and gives on this machine: a LocalCluster of 2 worker processes (one
thread each) against this process, on the real corpora, for 1, 2, 4 and 8 shards.

For each shard count:
- build time: the same articles built as a sharded index here (`Index.update(shards=N)`, the
  parsing in a pool of --jobs processes, the shards written one after another) and on the
  cluster (`Index(cluster=client)`: parsing and writing as the workers' tasks);
- query time: the bench queries (scripts/bench_queries.txt) on the cluster-built index, searched
  here (sharding.searching with the LocalExecutor) and on the cluster, alternating pass by pass;
  each query's median over the passes, then p50 / p95 over the queries, and the time the
  cluster adds (p50 of each query's difference); each query's top 10 on the cluster checked
  against the local search of the same index (ids and total).

Usage: python scripts/bench_cluster.py [--corpora DIR] [--shards 1,2,4,8] [--repeat 3]
       [--jobs 2] [--quick] [--workdir DIR] [--json PATH]
The machine's other load slows both sides alike only roughly: run it when the machine is quiet,
and read the figures with the load printed beside them.
"""
from __future__ import annotations

import argparse
import json
import os
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


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def build(folder: Path, paths: list[Path], count: int, jobs: int, client=None) -> tuple[float, int]:
    """Seconds to build an index of `count` shards of `paths` in `folder`, and its articles."""
    import searchlib
    started = time.perf_counter()
    with searchlib.Index(folder, cluster=client) as idx:
        report = idx.update(paths, shards=count, jobs=jobs)
    return time.perf_counter() - started, report.articles


def search(idx, q):
    return idx.search(q.text, since=q.since, until=q.until, limit=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--shards", default="1,2,4,8", help="shard counts (default 1,2,4,8)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the queries (default 3)")
    parser.add_argument("--jobs", type=int, default=2, help="parsing processes of the local builds (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="the LocalCluster's worker processes (default 2)")
    parser.add_argument("--queries", type=Path, default=QUERIES_FILE)
    parser.add_argument("--quick", action="store_true", help="bench.py --quick's subset of the corpora")
    parser.add_argument("--workdir", type=Path, help="where the indexes go (kept); default: a temporary folder")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON (- for stdout)")
    parser.add_argument("--reuse", action="store_true",
                        help="query the cluster-built indexes already in --workdir, without building")
    args = parser.parse_args(argv)

    import distributed
    import searchlib

    counts = [int(n) for n in args.shards.split(",") if n.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_cluster_"))
    paths = corpus_paths(args.corpora, args.quick)
    queries = load_queries(args.queries)
    out = {"corpora": str(args.corpora), "quick": args.quick, "workers": args.workers,
           "jobs": args.jobs, "repeat": args.repeat, "queries": len(queries), "shards": {}}
    started = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(args.workers)
    out["cluster_start_s"] = round(time.perf_counter() - started, 2)
    print(f"LocalCluster of {args.workers} workers started in {out['cluster_start_s']} s; "
          f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    try:
        for count in counts:
            here, there = workdir / f"local{count}", workdir / f"cluster{count}"
            if args.reuse and there.exists():
                local_s = cluster_s = None
                cluster_n = len(searchlib.Index(there, create=False))
            else:
                for folder in (here, there):
                    if folder.exists():
                        shutil.rmtree(folder)
                local_s, local_n = build(here, paths, count, args.jobs)
                cluster_s, cluster_n = build(there, paths, count, args.jobs, client)
                shutil.rmtree(here)  # (the queries use the cluster-built index, both ways)
                print(f"{count} shards: built here {local_s:.1f} s ({local_n} articles), on the "
                      f"cluster {cluster_s:.1f} s ({cluster_n}); load {os.getloadavg()[0]:.1f}",
                      file=sys.stderr)
            local = searchlib.Index(there, create=False)
            remote = searchlib.Index(there, create=False, cluster=client)
            differ = []
            for q in queries:  # warm-up pass (searchers opened on both sides), and the check
                a, b = search(local, q), search(remote, q)
                if ([h.id for h in a], a.total) != ([h.id for h in b], b.total) or b.shards["failed"]:
                    differ.append(q.text)
            times = {"local": {q: [] for q in queries}, "cluster": {q: [] for q in queries}}
            for _ in range(args.repeat):
                for name, idx in (("local", local), ("cluster", remote)):
                    for q in queries:
                        t0 = time.perf_counter()
                        search(idx, q)
                        times[name][q].append(time.perf_counter() - t0)
            medians = {name: {q: statistics.median(v) * 1000 for q, v in per.items()}
                       for name, per in times.items()}
            added = [medians["cluster"][q] - medians["local"][q] for q in queries]
            row = {"build_local_s": local_s and round(local_s, 2),
                   "build_cluster_s": cluster_s and round(cluster_s, 2),
                   "build_speedup": local_s and round(local_s / cluster_s, 2), "articles": cluster_n,
                   "local_p50_ms": round(percentile(list(medians["local"].values()), 50), 2),
                   "local_p95_ms": round(percentile(list(medians["local"].values()), 95), 2),
                   "cluster_p50_ms": round(percentile(list(medians["cluster"].values()), 50), 2),
                   "cluster_p95_ms": round(percentile(list(medians["cluster"].values()), 95), 2),
                   "added_p50_ms": round(percentile(added, 50), 2),
                   "added_p95_ms": round(percentile(added, 95), 2),
                   "differ": differ, "load": round(os.getloadavg()[0], 2)}
            out["shards"][count] = row
            local.close()
            remote.close()
            print(f"{count} shards: queries here p50 {row['local_p50_ms']} / p95 {row['local_p95_ms']} ms, "
                  f"on the cluster p50 {row['cluster_p50_ms']} / p95 {row['cluster_p95_ms']} ms, "
                  f"added p50 {row['added_p50_ms']} ms; {len(differ)} differ", file=sys.stderr)
    finally:
        client.close()
        cluster.close()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"{len(queries)} queries, median of {args.repeat} passes each; a LocalCluster of "
          f"{args.workers} workers x 1 thread on this machine ({os.cpu_count()} cores)")
    print(f"{'shards':>6} {'build here s':>12} {'on cluster s':>12} {'speed-up':>8} "
          f"{'p50 here':>9} {'p95 here':>9} {'p50 clus':>9} {'p95 clus':>9} {'added p50':>9} {'differ':>6}")
    for count, row in out["shards"].items():
        built = [f"{row[k]:>{w}.{d}f}" if row[k] is not None else f"{'-':>{w}}"
                 for k, w, d in (("build_local_s", 12, 1), ("build_cluster_s", 12, 1), ("build_speedup", 8, 2))]
        print(f"{count:>6} {' '.join(built)} {row['local_p50_ms']:>9.1f} {row['local_p95_ms']:>9.1f} "
              f"{row['cluster_p50_ms']:>9.1f} {row['cluster_p95_ms']:>9.1f} {row['added_p50_ms']:>9.1f} "
              f"{len(row['differ']):>6}")
    if args.json:
        text = json.dumps(out, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
