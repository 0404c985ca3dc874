#!/usr/bin/env python3
"""Benchmark of the web page (issue 22): a results page's latency against the library's
`Index.search` for the same queries, on scripts/bench.py's corpora and query set.

    python scripts/bench_web.py                      # build the real corpora's index, then measure
    python scripts/bench_web.py --index DIR          # measure an index built before (kept)
    python scripts/bench_web.py --quick              # bench.py's subset of the corpora
    python scripts/bench_web.py --every 3 --repeat 5 # every 3rd query, 5 timed passes

The page is served by `search serve --port 0` in its own process (uvicorn, as a user runs it);
this process fetches each query's results page (`/?q=…&since=…&until=…`, HTML) and its JSON twin
(`/search.json?…`) over one keep-alive HTTP connection, and runs `Index.search` itself with the
arguments the page passes (limit 10, one snippet, the page's facets and the timeline), and once
more without facets, for scale. One untimed pass warms everything, then --repeat timed passes,
the order of the four rotated per query; a query's latency is its median over the passes, and
p50/p95 are taken over the queries (nearest rank). Target: page p50 <= 1.5 x library p50 + 5 ms
(the library with the same arguments). Exit status 1 if the target is missed.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import DEFAULT_CORPORA, corpus_paths  # noqa: E402
from measuring import log, percentile  # noqa: E402
from queryset import load_queries  # noqa: E402

LISTENING = re.compile(r"serving the index at http://([^/]+):(\d+)/")


def build(index_dir: Path, corpora: Path, quick: bool) -> None:
    paths = [str(p) for p in corpus_paths(corpora, quick)]
    log(f"building {index_dir} from {len(paths)} paths of {corpora} ...")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "searchlib.cli", "index", *paths, "--index", str(index_dir)],
                   check=False, stdout=subprocess.DEVNULL)
    log(f"built in {time.perf_counter() - started:.1f} s")


def start_server(index_dir: Path) -> tuple[subprocess.Popen, str, int]:
    server = subprocess.Popen([sys.executable, "-m", "searchlib.cli", "serve", "--index", str(index_dir),
                               "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    found = LISTENING.search(line)
    if not found:
        server.kill()
        raise SystemExit(f"search serve did not start: {line.strip()}")
    return server, found[1], int(found[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="an index built before (default: build one)")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--quick", action="store_true", help="bench.py's subset of the corpora")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--every", type=int, default=1, help="take every Nth query of the set")
    args = parser.parse_args(argv)

    import searchlib
    from searchlib.web.app import State

    work = None
    index_dir = args.index
    if index_dir is None or not searchlib.exists(index_dir):
        work = Path(tempfile.mkdtemp(prefix="bench-web-"))
        index_dir = index_dir or work / "index"
        build(index_dir, args.corpora, args.quick)
    queries = load_queries()[::args.every]
    server, host, port = start_server(index_dir)
    try:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        idx = searchlib.Index(index_dir, create=False)

        def fetch(path: str) -> None:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status} {body[:200]!r}")

        def runners(q):
            state = State(q=q.text, since=q.since or "", until=q.until or "")
            return {
                "page": lambda: fetch(state.url("/")),
                "json": lambda: fetch(state.url("/search.json")),
                "library": lambda: idx.search(q.text, since=q.since, until=q.until, limit=10,
                                              facets=state.asked),
                "library, no facets": lambda: idx.search(q.text, since=q.since, until=q.until, limit=10),
            }

        plans = [runners(q) for q in queries]
        names = list(plans[0])
        log(f"warming up on {len(queries)} queries ...")
        for plan in plans:
            for run in plan.values():
                run()
        times = {name: [[] for _ in plans] for name in names}
        for rep in range(args.repeat):
            log(f"pass {rep + 1} of {args.repeat} ...")
            for i, plan in enumerate(plans):
                shift = (i + rep) % len(names)
                for name in names[shift:] + names[:shift]:
                    started = time.perf_counter()
                    plan[name]()
                    times[name][i].append(time.perf_counter() - started)
        conn.close()
        idx.close()
    finally:
        server.terminate()
        server.wait(10)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    medians = {name: [statistics.median(t) * 1000 for t in per_query] for name, per_query in times.items()}
    kinds = sorted({q.kind for q in queries})
    print(f"\nweb page vs library, {len(queries)} queries of scripts/bench_queries.txt, "
          f"median of {args.repeat} passes each; ms over queries (nearest rank); {os.cpu_count()} cores")
    print(f"{'':22}{'p50':>8}{'p95':>8}   " + "  ".join(f"{k:>9}" for k in kinds) + "   (p50 by kind)")
    for name in names:
        by_kind = [percentile([m for m, q in zip(medians[name], queries) if q.kind == kind], 0.5)
                   for kind in kinds]
        print(f"{name:22}{percentile(medians[name], 0.5):8.1f}{percentile(medians[name], 0.95):8.1f}   "
              + "  ".join(f"{v:9.1f}" for v in by_kind))
    page, library = percentile(medians["page"], 0.5), percentile(medians["library"], 0.5)
    bound = 1.5 * library + 5
    verdict = "met" if page <= bound else "MISSED"
    print(f"\ntarget: page p50 {page:.1f} ms <= 1.5 x library p50 {library:.1f} ms + 5 ms = {bound:.1f} ms: {verdict}")
    return 0 if page <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
