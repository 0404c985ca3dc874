#!/usr/bin/env python3
"""Benchmark (issue 18): the two costs of a rebuild that `indexing.progress` takes as measured,
measured again on this machine, from the BBC texts of ../shared/corpora.

    python scripts/bench_eta_parts.py [--corpora DIR] [--rounds 3]

1. What a file costs beyond its format's work (`progress.PER_FILE`): the same BBC articles as
   one text file each and as one JSON Lines file per topic, each rebuilt in parallel (one writer
   per core): a rebuild of all five topics less a rebuild of one, so that what every rebuild
   costs once cancels out. Printed: both times, their ratio, the ratio the formats' costs alone
   give, and the cost a text file has beyond its format's, in seconds of a worker.
2. The last phase of a small parallel rebuild (`progress.FINAL_FIXED`): the seconds from the
   first progress call with every byte done to the end of the rebuild of all the BBC texts,
   against what `final_seconds` gives without its fixed part.

Medians of --rounds; the JSON Lines copies and the indexes are made in a temporary folder and
removed. Nothing is written under the corpora.
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

import searchlib  # noqa: E402
from searchlib.indexing import progress  # noqa: E402
from measuring import ProgressLog  # noqa: E402


def rebuild(index: Path, paths: list[Path]) -> tuple[float, float]:
    """Seconds of a parallel rebuild of `paths`, and of its last phase (after every byte)."""
    shutil.rmtree(index, ignore_errors=True)
    progress_log = ProgressLog()
    searchlib.Index(index).update(paths, rebuild=True, progress=progress_log)
    seconds = time.perf_counter() - progress_log.started
    full = next((at for at, done, total in progress_log.calls if total and done >= total), seconds)
    return seconds, seconds - full


def files_of(paths: list[Path]) -> list[Path]:
    return [q for p in paths for q in ([p] if p.is_file() else sorted(p.rglob("*"))) if q.is_file()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bbc = args.corpora / "bbc"
    topics = sorted(p for p in bbc.iterdir() if p.is_dir()) if bbc.is_dir() else []
    if len(topics) < 2:
        print(f"no BBC topics under {bbc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="searchlib-eta-") as tmp:
        work = Path(tmp)
        (work / "jsonl").mkdir()
        for topic in topics:
            with open(work / "jsonl" / f"{topic.name}.jsonl", "w", encoding="utf-8") as f:
                for n, a in enumerate(searchlib.read_articles([topic])):
                    f.write(json.dumps({"id": f"{topic.name}-{n}", "title": a.title, "body": a.body}) + "\n")
        cases = {"text, all": topics, "text, one": topics[:1],
                 "jsonl, all": sorted((work / "jsonl").iterdir()),
                 "jsonl, one": [work / "jsonl" / f"{topics[0].name}.jsonl"]}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, paths in cases.items():
                times[name].append(rebuild(work / "index", paths))
        median = {name: statistics.median(s for s, _ in runs) for name, runs in times.items()}
        for name, runs in times.items():
            print(f"{name:11s} " + " ".join(f"{s:.2f}" for s, _ in runs) + f"  median {median[name]:.2f} s")

        def size(paths):
            files = files_of(paths)
            return sum(f.stat().st_size for f in files), len(files)
        (text_bytes, text_files), (one_bytes, one_files) = size(cases["text, all"]), size(cases["text, one"])
        jsonl_bytes, jsonl_one = size(cases["jsonl, all"])[0], size(cases["jsonl, one"])[0]
        text_s = median["text, all"] - median["text, one"]
        jsonl_s = median["jsonl, all"] - median["jsonl, one"]
        per_mb, per_file, _, _ = progress.COSTS["text"]
        text_prior = per_mb * (text_bytes - one_bytes) / 1e6 + per_file * (text_files - one_files)
        jsonl_prior = progress.COSTS["jsonl"][0] * (jsonl_bytes - jsonl_one) / 1e6
        files = text_files - one_files
        print(f"\n1. {files} text files ({(text_bytes - one_bytes) / 1e6:.2f} MB): {text_s:.2f} s; the same "
              f"articles as JSON Lines: {jsonl_s:.2f} s; ratio {text_s / jsonl_s:.2f}, the formats' costs "
              f"alone {text_prior / jsonl_prior:.2f}")
        beyond = (text_s / jsonl_s * jsonl_prior - text_prior) / files
        print(f"   a text file's cost beyond its format's: {beyond * 1e3:.2f} ms (PER_FILE is "
              f"{progress.PER_FILE * 1e3:.2f} ms)")
        last = statistics.median(tail for _, tail in times["text, all"])
        articles = sum(1 for _ in searchlib.read_articles(topics))
        parallel = os.cpu_count() or 1  # (a rebuild's writers: one per core, as update() takes them)
        # without its fixed part (what final_seconds gives for no articles)
        model = progress.final_seconds(articles, parallel) - progress.final_seconds(0, parallel)
        print(f"\n2. last phase of the parallel rebuild of {articles} texts: {last:.2f} s (median); "
              f"final_seconds without its fixed part: {model:.2f} s; the difference {last - model:.2f} s "
              f"(FINAL_FIXED is {progress.FINAL_FIXED:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
