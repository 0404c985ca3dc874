#!/usr/bin/env python3
"""Ingestion quality on the real corpora in ../shared/corpora: how well each parser reads them.

    python scripts/ingest_quality.py [--corpora DIR] [--worst N]

(a) HTML body extraction: token-level F1 against newspaper3k's expected texts (mean, median,
    worst pages). Some of those "expected texts" are not article text: empty files, and notes
    such as "MISSED LAST PARAGRAPH" written by newspaper3k's authors about their own output. Those
    are scored too, but reported apart; the targets are judged on the usable references.
(b) HTML metadata against mozilla/readability's expected-metadata.json: title exact match
    (whitespace normalised), published date correct to the day (UTC), byline found and matching.
(c) counts: Reuters-21578 records and dates, BBC articles titled with their first line and
    sectioned by folder, NewsArticles.csv rows with dates.
(d) parsing throughput per format (articles per second, parse_file only, no indexing).

Exit status: 0 if every target is met, 1 if one is missed, 2 if there are no corpora.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from searchlib import Article
from searchlib.dates import parse_article_date  # noqa: E402
from searchlib.errors import ParseError  # noqa: E402
from searchlib.ingest.parsers import parse_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"median F1": 0.90, "mean F1": 0.85, "title match": 0.90, "date to the day": 0.90}
_TOKEN = re.compile(r"\w+")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--worst", type=int, default=10, help="how many worst HTML pages to list")
    args = parser.parse_args(argv)
    if not args.corpora.is_dir():
        print(f"no corpora at {args.corpora}", file=sys.stderr)
        return 2
    speed: dict[str, tuple[int, float]] = {}
    missed = html_bodies(args.corpora / "html" / "newspaper3k-tests", args.worst, speed)
    missed += html_metadata(args.corpora / "html" / "readability-test-pages", speed)
    counts(args.corpora, speed)
    print("\n(d) parsing throughput (parse_file: read, decode, parse)")
    for fmt, (articles, seconds) in speed.items():
        print(f"  {fmt:<22} {articles:>6} articles in {seconds:6.2f} s = {articles / seconds:8.0f} articles/s")
    print("\ntargets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return 1 if missed else 0


# --- (a) ---------------------------------------------------------------------------------------

def html_bodies(folder: Path, worst: int, speed: dict) -> list[str]:
    pages = sorted((folder / "html").glob("*.html"))
    scored: list[tuple[float, str, int, int, bool]] = []
    seconds = 0.0
    for page in pages:
        reference = _reference(folder / "text", page.stem)
        if reference is None:
            continue
        started = time.perf_counter()
        articles = _articles(page)
        seconds += time.perf_counter() - started
        body = articles[0].body if articles else ""
        expected = reference.read_text(encoding="utf-8", errors="replace")
        usable = _usable_reference(expected)
        scored.append((f1(body, expected), page.stem, len(_tokens(body)), len(_tokens(expected)), usable))
    speed["html (newspaper3k)"] = (len(scored), seconds)
    usable = [s for s in scored if s[4]]
    print(f"(a) HTML body extraction, token F1 vs html/newspaper3k-tests/text ({len(pages)} pages, "
          f"{len(scored)} with an expected text)")
    print(f"  all {len(scored)} pairs:          {_summary([s[0] for s in scored])}")
    print(f"  {len(usable)} usable references: {_summary([s[0] for s in usable])}  "
          f"(targets: median >= {TARGETS['median F1']}, mean >= {TARGETS['mean F1']})")
    unusable = [s[1] for s in scored if not s[4]]
    print(f"  not article text ({len(unusable)}: empty, or an all-caps note about newspaper3k's output): "
          + ", ".join(unusable))
    print(f"  worst {worst} usable:")
    for score, name, got, want, _ in sorted(usable)[:worst]:
        print(f"    {score:5.3f}  {name:<28} {got:>6} tokens extracted, {want:>6} expected")
    missed = []
    if usable and statistics.median(s[0] for s in usable) < TARGETS["median F1"]:
        missed.append("median F1")
    if usable and statistics.mean(s[0] for s in usable) < TARGETS["mean F1"]:
        missed.append("mean F1")
    return missed


def _reference(folder: Path, stem: str) -> Path | None:
    """The expected text for a page: the same name, or without `_article` (`cnn_article` → `cnn`)."""
    for name in (stem, stem.replace("_article", "")):
        if (folder / f"{name}.txt").exists():
            return folder / f"{name}.txt"
    return None


def _usable_reference(text: str) -> bool:
    """False for an empty reference or a note like "MISSED LAST PARAGRAPH" (mostly upper case)."""
    letters = [c for c in text if c.isalpha()]
    cased = [c for c in letters if c.isupper() or c.islower()]
    shouting = len(cased) > 0.5 * len(letters) and sum(c.isupper() for c in cased) > 0.8 * len(cased)
    return bool(text.strip()) and not shouting


def f1(got: str, expected: str) -> float:
    """Token-level F1 (lower-cased words, as bags) between two texts; 1.0 when both are empty."""
    a, b = Counter(_tokens(got)), Counter(_tokens(expected))
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _summary(scores: list[float]) -> str:
    if not scores:
        return "no pages"
    return f"mean {statistics.mean(scores):.3f}, median {statistics.median(scores):.3f}"


# --- (b) ---------------------------------------------------------------------------------------

def html_metadata(folder: Path, speed: dict) -> list[str]:
    pages = sorted(p for p in folder.iterdir() if (p / "expected-metadata.json").exists())
    rows = {"title": [], "date": [], "byline found": [], "byline matches": [], "site name": [], "lang": []}
    misses: list[str] = []
    seconds = 0.0
    for page in pages:
        expected = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        started = time.perf_counter()
        articles = _articles(page / "source.html")
        seconds += time.perf_counter() - started
        article = articles[0] if articles else Article()
        want_title = " ".join((expected.get("title") or "").split())
        rows["title"].append(article.title == want_title)
        if article.title != want_title:
            misses.append(f"    title  {page.name}: expected {want_title!r}, got {article.title!r}")
        if expected.get("publishedTime"):
            want = parse_article_date(expected["publishedTime"])
            ok = bool(article.date and want and article.date.date() == want.date())
            rows["date"].append(ok)
            if not ok:
                misses.append(f"    date   {page.name}: expected {expected['publishedTime']}, got {article.date}")
        if expected.get("byline"):
            rows["byline found"].append(bool(article.author))
            rows["byline matches"].append(_same_name(article.author, expected["byline"]))
            if not rows["byline matches"][-1]:
                misses.append(f"    byline {page.name}: expected {' '.join(expected['byline'].split())!r}, "
                              f"got {article.author!r}")
        if expected.get("siteName"):
            rows["site name"].append(_same_name(article.source, expected["siteName"]))
        if expected.get("lang"):
            rows["lang"].append((article.lang or "").lower().split("-")[0] == expected["lang"].lower().split("-")[0])
    speed["html (readability)"] = (len(pages), seconds)
    print(f"\n(b) HTML metadata vs html/readability-test-pages/*/expected-metadata.json ({len(pages)} pages)")
    for name, results in rows.items():
        share = sum(results) / len(results) if results else 0.0
        target = {"title": TARGETS["title match"], "date": TARGETS["date to the day"]}.get(name)
        note = f"  (target >= {target:.0%})" if target else ""
        print(f"  {name:<15} {sum(results):>3}/{len(results):<3} = {share:6.1%}{note}")
    print("  differences:")
    print("\n".join(misses) or "    none")
    missed = []
    if rows["title"] and sum(rows["title"]) / len(rows["title"]) < TARGETS["title match"]:
        missed.append("title match")
    if rows["date"] and sum(rows["date"]) / len(rows["date"]) < TARGETS["date to the day"]:
        missed.append("date to the day")
    return missed


def _same_name(got: str | None, expected: str) -> bool:
    """Loose name match: case, spacing and a leading "By" ignored; either may contain the other."""
    def norm(s: str) -> str:
        return re.sub(r"^(by|par|von|por)\s+", "", " ".join(s.lower().split()))
    if not got:
        return False
    a, b = norm(got), norm(expected)
    return bool(a) and (a in b or b in a)


# --- (c) ---------------------------------------------------------------------------------------

def counts(corpora: Path, speed: dict) -> None:
    print("\n(c) counts")
    files = sorted((corpora / "reuters21578").glob("*.sgm"))
    records = sum(f.read_bytes().count(b"<REUTERS ") for f in files)
    articles, problems, seconds = _parse_all(files)
    speed["sgml (Reuters)"] = (len(articles), seconds)
    noted = sum(1 for a in articles if a.notes)
    print(f"  Reuters-21578: {records} records in {len(files)} files -> {len(articles)} articles, "
          f"{sum(1 for a in articles if a.date)} with a date, {sum(1 for a in articles if not a.body)} "
          f"title-only, {sum(1 for a in articles if a.topics)} with topics, {noted} with an encoding note")
    for problem in problems:
        print(f"    reported: {problem}")

    files = sorted((corpora / "bbc").glob("*/*.txt"))
    articles, problems, seconds = _parse_all(files)
    speed["text (BBC)"] = (len(articles), seconds)
    titled = sum(1 for a in articles if a.title == _first_line(a.path))
    sectioned = sum(1 for a in articles if a.section == a.path.parent.name)
    print(f"  BBC: {len(files)} files -> {len(articles)} articles, {titled} titled with their first line, "
          f"{sectioned} with their folder as section, {sum(1 for a in articles if a.notes)} with an "
          f"encoding note")
    for problem in problems:
        print(f"    reported: {problem}")

    path = corpora / "newsarticles_dai2017" / "NewsArticles.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        csv.field_size_limit(50 * 2**20)
        rows = sum(1 for _ in csv.reader(handle)) - 1
    articles, problems, seconds = _parse_all([path])
    speed["csv (NewsArticles)"] = (len(articles), seconds)
    print(f"  NewsArticles.csv: {rows} rows -> {len(articles)} articles, "
          f"{sum(1 for a in articles if a.date)} with a date, {len(set(a.source for a in articles))} sources")
    for problem in problems:
        print(f"    reported: {problem}")


def _first_line(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return " ".join(text.split("\n", 1)[0].split())


def _parse_all(files: list[Path]) -> tuple[list[Article], list[str], float]:
    articles: list[Article] = []
    problems: list[str] = []
    started = time.perf_counter()
    for path in files:
        try:
            for item in parse_file(path):
                if isinstance(item, Article):
                    articles.append(item)
                else:
                    problems.append(str(item))
        except ParseError as error:
            problems.append(str(error))
    return articles, problems, time.perf_counter() - started


def _articles(path: Path) -> list[Article]:
    try:
        return [i for i in parse_file(path) if isinstance(i, Article)]
    except ParseError:
        return []


if __name__ == "__main__":
    sys.exit(main())
