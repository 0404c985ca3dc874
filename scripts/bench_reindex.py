#!/usr/bin/env python3
"""Benchmark: what incremental reindexing costs, as ratios to a full build measured in the same run.

Copies the real corpora from ../shared/corpora (Reuters SGML, BBC text, the NewsArticles CSV, the
HTML test pages) into a temporary folder, then runs each phase in a fresh process, whose peak
memory is sampled over the whole process tree (parse workers included):

  half       build an index of every other file from nothing (memory as the corpus grows)
  full       build the index from nothing
  nochange   reindex with nothing changed                 (target: <= 2 s and <= 5 % of full)
  change1    reindex after rewriting 1 % of the files      (target: <= 10 % of full)

    python scripts/bench_reindex.py [--repeat 5] [--shared ../shared]

Prints one line per run and a summary of medians (and the slowest run) and ratios.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measuring import TreePeak  # (scripts/ is on the path of a script run from it)

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import searchlib
started = time.perf_counter()
report = searchlib.Index({index!r}).update({paths!r})
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(seconds=seconds, rss_mb=rss, added=report.added, updated=report.updated,
                      deleted=report.deleted, unchanged=report.unchanged, articles=report.articles,
                      skipped=len(report.skipped), commits=report.commits)))
"""


def copy_corpora(shared: Path, dest: Path) -> None:
    corpora = shared / "corpora"
    (dest / "reuters").mkdir(parents=True)
    for sgm in sorted((corpora / "reuters21578").glob("*.sgm")):
        shutil.copy2(sgm, dest / "reuters" / sgm.name)
    for category in sorted(p for p in (corpora / "bbc").iterdir() if p.is_dir()):
        shutil.copytree(category, dest / "bbc" / category.name)
    (dest / "csv").mkdir()
    shutil.copy2(corpora / "newsarticles_dai2017" / "NewsArticles.csv", dest / "csv")
    shutil.copytree(corpora / "html" / "newspaper3k-tests" / "html", dest / "html" / "newspaper3k")
    for page in sorted((corpora / "html" / "readability-test-pages").glob("*/source.html")):
        target = dest / "html" / "readability" / f"{page.parent.name}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(page, target)


def run_phase(name: str, index: Path, paths: list[Path]) -> dict:
    code = CHILD.format(root=str(ROOT), index=str(index), paths=[str(p) for p in paths])
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        peak = TreePeak(proc)
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{err}")
    result = json.loads(out.strip().splitlines()[-1])
    result["rss_mb"] = max(result["rss_mb"], peak.mb())  # the tree's peak (sampled), at least the main's
    print(f"{name:9} {result['seconds']:8.2f} s  peak RSS {result['rss_mb']:6.0f} MB  "
          f"added={result['added']} updated={result['updated']} deleted={result['deleted']} "
          f"unchanged={result['unchanged']} articles={result['articles']} skipped={result['skipped']} "
          f"commits={result['commits']}", flush=True)
    return result


def half_corpus(corpus: Path) -> list[Path]:
    """Every other file of each format's folder, and at least one (the CSV is a single file, and
    the largest batch: without it a half build would be lighter for that reason alone)."""
    half = []
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        half.extend(files[::2] or files[:1])
    return half


def touch_one_percent(corpus: Path, rng: random.Random, round_: int) -> int:
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    chosen = rng.sample(files, max(1, len(files) // 100))
    for path in chosen:
        data = path.read_bytes()
        if path.suffix == ".csv" or path.suffix == ".sgm":
            # multi-article files: change one article's text in place, keep the structure valid
            marker = b"the" if b"the" in data else data[:1]
            path.write_bytes(data.replace(marker, b"The", 1))
        else:
            path.write_bytes(data + f"\n\nEdited in round {round_}.\n".encode())
    return len(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each incremental phase")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    if not (args.shared / "corpora").is_dir():
        raise SystemExit(f"no corpora at {args.shared}/corpora")
    with tempfile.TemporaryDirectory(prefix="searchlib-bench-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        copy_corpora(args.shared, corpus)
        files = sum(1 for p in corpus.rglob("*") if p.is_file())
        print(f"corpus: {files} files copied from {args.shared}/corpora", flush=True)
        half = run_phase("half", Path(tmp) / "index-half", half_corpus(corpus))
        shutil.rmtree(Path(tmp) / "index-half")
        full = run_phase("full", index, [corpus])
        rng = random.Random(42)
        nochange, change1 = [], []
        for round_ in range(args.repeat):
            nochange.append(run_phase("nochange", index, [corpus]))
            touched = touch_one_percent(corpus, rng, round_)
            print(f"          (rewrote {touched} files)")
            change1.append(run_phase("change1", index, [corpus]))
        med_nochange = statistics.median(r["seconds"] for r in nochange)
        med_change1 = statistics.median(r["seconds"] for r in change1)
        slowest = max(change1, key=lambda r: r["seconds"])
        print()
        print(f"half build        {half['seconds']:.2f} s, {half['articles']} articles, peak RSS "
              f"{half['rss_mb']:.0f} MB (full: {full['rss_mb']:.0f} MB, "
              f"{full['rss_mb'] / half['rss_mb']:.2f} x for {full['articles'] / half['articles']:.2f} x the articles)")
        print(f"full build        {full['seconds']:.2f} s, {full['articles']} articles, "
              f"{full['articles'] / full['seconds']:.0f} articles/s, peak RSS {full['rss_mb']:.0f} MB")
        print(f"no change         median {med_nochange:.2f} s = {100 * med_nochange / full['seconds']:.1f} % "
              f"of full (target <= 2 s and <= 5 %), peak RSS "
              f"{statistics.median(r['rss_mb'] for r in nochange):.0f} MB")
        print(f"1 % of files      median {med_change1:.2f} s = {100 * med_change1 / full['seconds']:.1f} % "
              f"of full (target <= 10 %), peak RSS {statistics.median(r['rss_mb'] for r in change1):.0f} MB; "
              f"slowest {slowest['seconds']:.2f} s = {100 * slowest['seconds'] / full['seconds']:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
