#!/usr/bin/env python3
"""Benchmark (issue 18): how searchlib grows with the archive, beside SQLite FTS5 (and tantivy when
its wheel is installed), on corpora of growing size built in the same run.

    python scripts/bench_scale.py --sizes 30000,300000,1000000 --plot docs/scale.svg
    python scripts/bench_scale.py --sizes 3000 --repeat 1          # a quick look (about 2 minutes)

Options: --corpora DIR (default <repo>/../shared/corpora), --workdir DIR (kept; default a
temporary folder, removed), --repeat N (timed passes over the queries, default 3), --cold-runs N
(default 5), --engines searchlib,fts5,tantivy, --json PATH, --plot FILE (.svg or .png),
--profile-build (cProfile a one-process searchlib build at each size; top lines printed),
--profile-queries KINDS (cProfile searchlib's queries of these kinds, a first search and stats), --model-cache FILE (the
statistics learnt from the real articles, kept between runs: reading them takes a minute),
--alternate ROUNDS (every size built first, then the sizes' warm queries and cold starts in turn,
ROUNDS times: growth ratios that the machine's drift during a long run does not decide).

The corpora. At a size N of at least the real corpora's ~27,800 articles, the corpus is a copy of
every real article file of ../shared/corpora (Reuters SGML, BBC text, the NewsArticles CSV, the
HTML pages; as scripts/bench_reindex.py copies them) plus N minus their count generated articles, written
as JSON Lines files of 1,000 articles each (files of a few thousand articles, so that "1 % of the
files changed" is about 1 % of the articles). Below that size the corpus is N generated articles
only. Generated text is made at run time in the work folder and never kept.

How an article is generated, and why its statistics are those of real news. Every real article's
body and title are cut into tokens (whitespace-separated, punctuation attached), all bodies in one
stream. A generated article takes a random real article as its seed and a length from another
random real article (so body and title lengths follow the real distribution, long tail included).
Its body is a sequence of runs of 1 to 5 consecutive real tokens (mean about 2): 35 % of the runs
start at a random place in the seed's own body, the rest at a random place in the whole stream.
 - Word frequencies: a run starts at a uniformly random token of the stream, so every word is
   drawn in proportion to its real frequency (Zipf's law as the corpora have it).
 - Document frequencies: the seed's share repeats its topic words within one article, as real
   articles do, so a topic word has a real article's term frequency and co-occurs with its topic
   (an AND of two title words of one story still finds articles); runs keep real bigrams and
   short phrases ("north korea"), so phrase queries match as often as they would.
 - Not copies: no run is longer than 5 tokens, so no 5-word shingle of an article is taken whole
   from one place except by chance (a copy would inflate document frequencies, be linked as a
   syndicated copy by searchlib's stories, and compress far better than text).
 - Vocabulary growth: the real corpora have ~28,000 articles and a bounded vocabulary; a real
   archive keeps meeting new names and spellings (Heaps' law). A token whose word occurs at most
   twice in the real corpora (a name, a typo) is, half of the time, replaced by a new variant of
   that word (a suffix of two letters drawn from 26² with a Zipf-like bias), so the vocabulary
   keeps growing with the archive, mostly in rare words, as in real text.
 - Metadata: source and section from the seed (a Reuters seed without a section gets its first
   topic, its desk's category), the seed's topics as tags, a date spread over twenty years
   (2006–2025, articles per year growing twofold over the span, any hour), in date order across
   the files as an archive fills up.

What is measured at each size (each build and each query loop in its own process; peak memory is
the summed RSS of the whole process tree, sampled every 0.05 s, workers included):
 - build from nothing (parsing included): seconds, articles/s, peak RSS, size on disk. searchlib:
   `Index(dir).update([corpus], rebuild=True)` (one worker per core); FTS5: the same articles from
   `searchlib.read_articles` in one table (`porter unicode61`), one transaction; tantivy: the same
   articles, `en_stem` text fields, a 2-thread writer with a 512 MB heap, one commit.
 - warm query latency p50/p95/max per kind: the 335 queries of scripts/bench_queries.txt
   (keyword, or, phrase, date, rare, field) and 30 each of: `facets` (a keyword query counting
   all matches by source and by month), `newest` (a keyword query, --sort newest), `wildcard`
   (a prefix and *), `fuzzy` (a word~). Top 10 with snippets; one untimed pass, then --repeat
   passes; a query's latency is its median over the passes, p50/p95/max over the queries of a
   kind (nearest rank). FTS5 has no fuzzy query (not measured). Peak RSS of the searching process.
 - cold start: the wall time of `search "north korea artillery" --index DIR --color never` in a
   fresh process (the venv's console script), median of --cold-runs after one untimed run.
 - `search stats --index DIR`, wall time of the command, median of 3.
 - reindex (`Index(dir).update([corpus])`) with nothing changed, then after 1 % of the files
   changed (1 % of the generated files, each with one record edited and one appended, and 1 % of
   the real files, edited as bench_reindex.py edits them).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from measuring import ProgressLog, TreePeak, dir_size, log, percentile  # (scripts/ is on the path)
from queryset import KINDS, QUERIES_FILE, Query, load_queries

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
COLD_QUERY = "north korea artillery"
RESULT_MARK = "SCALE-RESULT "
PER_FILE = 1000
SCALE_KINDS = KINDS + ("facets", "newest", "wildcard", "fuzzy")
FIRST_DAY, DAYS = date(2006, 1, 1), 7305  # twenty years: 2006-01-01 .. 2025-12-31
SEED_SHARE, MAX_RUN, MUTATE_SHARE = 0.35, 5, 0.5
_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[A-Za-z]+")


# --- the generator -------------------------------------------------------------------------------


@dataclass
class Seed:
    """What a generated article takes from its real seed: its metadata and where its text is."""
    start: int          # its body's first token in the stream
    end: int
    title: list[int]    # its title's token ids
    source: str | None
    section: str | None
    tags: list[str]


class TextModel:
    """The statistics of the real articles a corpus is generated from (see the module docstring)."""

    def __init__(self, articles):
        import numpy as np
        ids: dict[str, int] = {}
        stream: list[int] = []
        self.seeds: list[Seed] = []
        self.body_lengths: list[int] = []
        self.title_lengths: list[int] = []
        for a in articles:
            body = [ids.setdefault(t, len(ids)) for t in _TOKEN.findall(a.body or "")]
            title = [ids.setdefault(t, len(ids)) for t in _TOKEN.findall(a.title or "")]
            if len(body) < 10 or not title:
                continue
            section = a.section or (a.topics[0] if a.topics else None)
            self.seeds.append(Seed(len(stream), len(stream) + len(body), title, a.source, section,
                                   list(a.topics or a.tags)))
            stream.extend(body)
            self.body_lengths.append(len(body))
            self.title_lengths.append(len(title))
        if not self.seeds:
            raise ValueError("no article with a title and a body of 10 words or more")
        self.vocab = np.array(sorted(ids, key=ids.get), dtype=object)
        self.stream = np.array(stream, dtype=np.int64)
        counts = np.bincount(self.stream, minlength=len(self.vocab))
        # a token is rare when its word (letters, lower case) occurs at most twice in all bodies
        word_of = [(m.group().lower() if (m := _WORD.search(t)) else "") for t in self.vocab]
        word_count: dict[str, int] = {}
        for w, c in zip(word_of, counts.tolist()):
            if w:
                word_count[w] = word_count.get(w, 0) + c
        self.rare = np.array([bool(w) and len(w) >= 4 and word_count[w] <= 2 for w in word_of])

    def article(self, rng, number: int, day: date) -> dict:
        """One generated record (a JSON Lines object)."""
        import numpy as np
        seed = self.seeds[int(rng.integers(len(self.seeds)))]
        length = self.body_lengths[int(rng.integers(len(self.body_lengths)))]
        body = self._runs(rng, length, seed)
        title_length = self.title_lengths[int(rng.integers(len(self.title_lengths)))]
        title_ids = np.array(seed.title, dtype=np.int64)
        title = self._runs(rng, title_length, seed, title_ids)
        text = self._words(rng, body)
        head = self._words(rng, title).rstrip(".,;:")
        moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(
            seconds=int(rng.integers(86400)))
        record = {"id": f"gen-{number}", "title": head[:1].upper() + head[1:], "body": text,
                  "date": moment.isoformat().replace("+00:00", "Z")}
        for name in ("source", "section"):
            if getattr(seed, name):
                record[name] = getattr(seed, name)
        if seed.tags:
            record["tags"] = seed.tags
        return record

    def _runs(self, rng, length: int, seed: Seed, own=None):
        """`length` token ids: runs of 1..MAX_RUN consecutive tokens, SEED_SHARE of them from the
        seed (its title tokens `own` when given, else its body), the rest from the whole stream."""
        import numpy as np
        runs = rng.geometric(0.5, size=length).clip(1, MAX_RUN)
        runs = runs[: int(np.searchsorted(np.cumsum(runs), length)) + 1]
        from_seed = rng.random(len(runs)) < SEED_SHARE
        lo, hi = (seed.start, seed.end) if own is None else (0, len(own))
        starts = np.where(from_seed, rng.integers(lo, hi, size=len(runs)),
                          rng.integers(0, len(self.stream), size=len(runs)))
        offsets = np.arange(runs.sum()) - np.repeat(np.cumsum(runs) - runs, runs)
        positions = np.repeat(starts, runs) + offsets
        anywhere = self.stream[np.minimum(positions, len(self.stream) - 1)]
        if own is None:  # a run of the seed's body may run on into the next article's first words
            return anywhere[:length]
        return np.where(np.repeat(from_seed, runs), own[np.minimum(positions, hi - 1)], anywhere)[:length]

    def _words(self, rng, token_ids) -> str:
        import numpy as np
        words = self.vocab[token_ids]
        rare = np.flatnonzero(self.rare[token_ids])
        if len(rare):
            mutate = rare[rng.random(len(rare)) < MUTATE_SHARE]
            if len(mutate):
                # a Zipf-like suffix: few variants are common, most are rare
                picks = np.minimum(rng.zipf(1.3, size=len(mutate)) - 1, 675)
                words = words.copy()
                for i, k in zip(mutate.tolist(), picks.tolist()):
                    w = words[i]
                    m = _WORD.search(w)
                    suffix = chr(97 + k // 26) + chr(97 + k % 26)
                    words[i] = w[:m.end()] + suffix + w[m.end():]
        return " ".join(words.tolist())


def dates(rng, count: int) -> list[date]:
    """`count` days over twenty years, in order, the later years busier (density 1 + t)."""
    u = rng.random(count)
    t = (-1 + (1 + 3 * u) ** 0.5)  # the inverse of the CDF (t + t²/2) / 1.5 on [0, 1]
    return [FIRST_DAY + timedelta(days=int(x * (DAYS - 1))) for x in sorted(t.tolist())]


def generate(model: TextModel, count: int, seed: int = 18):
    """`count` generated records, in date order; the same for the same model, count and seed."""
    import numpy as np
    rng = np.random.default_rng(seed)
    for number, day in enumerate(dates(rng, count)):
        yield model.article(rng, number, day)


def write_corpus(model: TextModel, folder: Path, count: int, seed: int = 18, per_file: int = PER_FILE) -> int:
    """Write `count` generated records as JSON Lines files of `per_file` records; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    files, out = 0, None
    try:
        for i, record in enumerate(generate(model, count, seed)):
            if i % per_file == 0:
                if out:
                    out.close()
                out = (folder / f"gen-{files:05d}.jsonl").open("w", encoding="utf-8")
                files += 1
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out:
            out.close()
    return files


def corpus_statistics(records) -> dict:
    """Figures to compare a generated corpus with the real one: lengths, vocabulary, dates."""
    body, title, vocab, days, sources = [], [], {}, [], {}
    for r in records:
        words = [w.lower() for w in _WORD.findall(r.get("body", ""))]
        body.append(len(r.get("body", "").split()))
        title.append(len(r.get("title", "").split()))
        for w in set(words):
            vocab[w] = vocab.get(w, 0) + 1
        if r.get("date"):
            days.append(r["date"][:10])
        sources[r.get("source")] = sources.get(r.get("source"), 0) + 1
    return {"articles": len(body), "body_median": statistics.median(body) if body else 0,
            "title_median": statistics.median(title) if title else 0, "vocabulary": len(vocab),
            "df1_share": sum(1 for c in vocab.values() if c == 1) / max(1, len(vocab)),
            "first_day": min(days) if days else None, "last_day": max(days) if days else None,
            "sources": sources}


def real_articles(corpora: Path) -> list:
    """The real articles the model learns from (those scripts/bench.py indexes)."""
    import bench
    sys.path.insert(0, str(ROOT))
    import searchlib
    return [a for a in searchlib.read_articles(bench.corpus_paths(corpora, quick=False))
            if isinstance(a, searchlib.Article)]


def copy_real(corpora: Path, dest: Path) -> None:
    from bench_reindex import copy_corpora
    copy_corpora(corpora.parent, dest)


# --- queries -------------------------------------------------------------------------------------


def scale_queries(queries: list[Query], per_kind: int = 30, seed: int = 18) -> list[Query]:
    """The committed queries plus `per_kind` each of facets, newest, wildcard and fuzzy, made from
    the keyword queries' words (deterministic)."""
    rng = random.Random(seed)
    keyword = [q for q in queries if q.kind == "keyword"]
    picked = rng.sample(keyword, min(per_kind, len(keyword)))
    words = sorted({w for q in keyword for w in q.text.split() if len(w) >= 5})
    out = list(queries)
    out += [Query("facets", q.text) for q in picked]
    out += [Query("newest", q.text) for q in rng.sample(keyword, min(per_kind, len(keyword)))]
    out += [Query("wildcard", w[:max(4, len(w) - 3)] + "*") for w in rng.sample(words, min(per_kind, len(words)))]
    out += [Query("fuzzy", w + "~") for w in rng.sample(words, min(per_kind, len(words)))]
    return out


def _day(text: str | None, plus: int = 0) -> datetime | None:
    return datetime.fromisoformat(text) + timedelta(days=plus) if text else None


class SearchlibEngine:
    name = "searchlib"

    def __init__(self, target: str):
        sys.path.insert(0, str(ROOT))
        import searchlib
        self.idx = searchlib.Index(target, create=False)

    def search(self, q: Query) -> int:
        kwargs = {}
        if q.kind == "facets":
            kwargs["facets"] = ["source", "month"]
        if q.kind == "newest":
            kwargs["sort"] = "newest"
        results = self.idx.search(q.text, since=q.since, until=q.until, limit=10, **kwargs)
        return len([(hit.title, hit.snippet) for hit in results])


class FtsEngine:
    """SQLite FTS5 as scripts/bench.py queries it, with a source column for the facets."""
    name = "fts5"
    SQL = ("SELECT id, title, snippet(docs, 1, '**', '**', '…', 32) FROM docs WHERE docs MATCH ? {dates}"
           "ORDER BY {order} LIMIT 10")

    def __init__(self, target: str):
        import sqlite3
        self.db = sqlite3.connect(target)

    def search(self, q: Query) -> int:
        from bench import fts_match
        if q.kind == "fuzzy":
            raise NotImplementedError("FTS5 has no fuzzy query")
        if q.kind == "wildcard":
            match = '{title body} : "%s" *' % q.text.rstrip("*")
        else:
            match = fts_match(q.text)
        order = "date DESC" if q.kind == "newest" else "rank"
        params: tuple = (match,)
        dates = ""
        if q.since or q.until:
            dates = "AND date >= ? AND date < ? "
            params += ((_day(q.since) or datetime.min).isoformat(" "),
                       (_day(q.until, 1) or datetime.max).isoformat(" "))
        rows = self.db.execute(self.SQL.format(dates=dates, order=order), params).fetchall()
        if q.kind == "facets":
            for column in ("source", "substr(date, 1, 7)"):
                self.db.execute(f"SELECT {column}, count(*) FROM docs WHERE docs MATCH ? GROUP BY 1 "
                                "ORDER BY 2 DESC", (match,)).fetchall()
        return len(rows)


class TantivyEngine:
    name = "tantivy"

    def __init__(self, target: str):
        import tantivy
        self.tantivy = tantivy
        self.index = tantivy.Index.open(target)
        self.index.reload()
        self.searcher = self.index.searcher()
        self.schema = self.index.schema
        self.fields = ["title", "body"]

    def search(self, q: Query) -> int:
        t = self.tantivy
        text = q.text
        fuzzy = {}
        if q.kind == "fuzzy":
            text = text.rstrip("~")
            fuzzy = {f: (False, 1, True) for f in self.fields}
        if q.since or q.until:
            low = (_day(q.since) or datetime(1900, 1, 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            high = (_day(q.until, 1) or datetime(2100, 1, 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            text = f"({text}) AND date:[{low} TO {high}}}"
        query = self.index.parse_query(text, self.fields, fuzzy_fields=fuzzy, conjunction_by_default=True)
        if q.kind == "newest":
            result = self.searcher.search(query, 10, order_by_field="date")
        else:
            result = self.searcher.search(query, 10)
        if q.kind == "facets":
            self.searcher.aggregate(query, {
                "source": {"terms": {"field": "source", "size": 10}},
                "month": {"terms": {"field": "month", "size": 100000}}})
        snippets = t.SnippetGenerator.create(self.searcher, query, self.schema, "body")
        shown = []
        for _, address in result.hits:
            doc = self.searcher.doc(address)
            shown.append((doc.get_first("title"), snippets.snippet_from_doc(doc).to_html()))
        return len(shown)


ENGINES = {"searchlib": SearchlibEngine, "fts5": FtsEngine, "tantivy": TantivyEngine}


# --- child processes -----------------------------------------------------------------------------


def _rss_self_mb() -> float:
    """This process's peak RSS since its exec (VmHWM; ru_maxrss would include the parent's at fork)."""
    from measuring import status_kb
    return status_kb(os.getpid(), "VmHWM") / 1024


def _articles(paths):
    sys.path.insert(0, str(ROOT))
    import searchlib
    for item in searchlib.read_articles([Path(p) for p in paths]):
        if isinstance(item, searchlib.Article):
            yield item


def _naive_utc(value):
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def eta_errors(calls: list[tuple[float, int, int]], end: float, low: float = 0.1, high: float = 0.9) -> list[float]:
    """For each progress call between `low` and `high` of the bytes, how far the time left that
    indexing.progress.Estimate gives was from the true one (the run ended at `end` seconds), as a
    share of the true time left."""
    sys.path.insert(0, str(ROOT))
    from searchlib.indexing.progress import Estimate
    clock = [0.0]
    estimate = Estimate(lambda: clock[0])
    errors = []
    for at, done, total in calls:
        clock[0] = at
        speed = estimate.update(done, total)
        if total and low <= done / total <= high and speed.seconds_left is not None and end > at:
            errors.append(abs(speed.seconds_left - (end - at)) / (end - at))
    return errors


def child_build_searchlib(a: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    import searchlib
    progress = ProgressLog()
    started = time.perf_counter()
    report = searchlib.Index(a["index"]).update([Path(p) for p in a["paths"]], rebuild=True, progress=progress)
    seconds = time.perf_counter() - started
    errors = eta_errors(progress.calls, progress.calls[-1][0] if progress.calls else seconds)
    planned = next((total for _, _, total in progress.calls if getattr(total, "files", None)), None)
    return {"seconds": seconds, "articles": report.articles,
            "files": report.files, "skipped": len(report.skipped), "rss_self_mb": _rss_self_mb(),
            "eta_error_max": max(errors) if errors else None,
            "eta_error_median": statistics.median(errors) if errors else None, "progress_calls": len(progress.calls),
            # the calls themselves, to replay the estimate later (eta_errors): (seconds, bytes
            # done), and the plan the estimate took (the first call's: the run's last call
            # passes another), its files, (bytes, format) each, in the order they are read
            "progress_trace": [(at, done) for at, done, _ in progress.calls],
            "progress_plan": list(getattr(planned, "files", ())),
            "progress_parallel": getattr(planned, "parallel", 1)}


def child_update_searchlib(a: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    import searchlib
    started = time.perf_counter()
    report = searchlib.Index(a["index"], create=False).update([Path(p) for p in a["paths"]])
    return {"seconds": time.perf_counter() - started, "articles": report.articles,
            "added": report.added, "updated": report.updated, "deleted": report.deleted,
            "unchanged": report.unchanged, "rss_self_mb": _rss_self_mb()}


def child_profile_build(a: dict) -> dict:
    import cProfile
    import io
    import pstats
    sys.path.insert(0, str(ROOT))
    import searchlib
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    report = searchlib.Index(a["index"]).update([Path(p) for p in a["paths"]], rebuild=True, jobs=1)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(a.get("top", 25))
    return {"seconds": time.perf_counter() - started, "articles": report.articles, "profile": buf.getvalue()}


def child_profile_queries(a: dict) -> dict:
    """cProfile of searchlib's query loop (after one warm-up pass), top lines by cumulative time."""
    import cProfile
    import io
    import pstats
    queries = [Query(**q) for q in a["queries"]]
    engine = SearchlibEngine(a["target"])
    for q in queries:
        engine.search(q)
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    for q in queries:
        engine.search(q)
    prof.disable()
    out = {"seconds": time.perf_counter() - started, "queries": len(queries)}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(a.get("top", 25))
        text = buf.getvalue()
        out[key] = text[text.find("   ncalls"):] if "   ncalls" in text else text
    return out


def child_profile_calls(a: dict) -> dict:
    """cProfile, in a fresh process, of a first search (`COLD_QUERY`: opening included) and then
    of `Index.stats()`: what a cold `search` and `search stats` spend beyond starting Python."""
    import cProfile
    import io
    import pstats
    sys.path.insert(0, str(ROOT))
    import searchlib
    out = {}
    idx = searchlib.Index(a["target"], create=False)
    for name, call in (("cold search", lambda: idx.search(COLD_QUERY, limit=10)), ("stats", idx.stats)):
        prof = cProfile.Profile()
        started = time.perf_counter()
        prof.enable()
        call()
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(a.get("top", 20))
        text = buf.getvalue()
        out[name] = {"seconds": time.perf_counter() - started,
                     "cumulative": text[text.find("   ncalls"):] if "   ncalls" in text else text}
    return out


def child_build_fts(a: dict) -> dict:
    import sqlite3
    db = sqlite3.connect(a["db"])
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, topics, places, section, "
               "id UNINDEXED, date UNINDEXED, source UNINDEXED, tokenize='porter unicode61')")
    db.execute("INSERT INTO docs(docs, rank) VALUES('rank', 'bm25(2.0, 1.0, 1.0, 1.0, 1.0)')")
    db.commit()
    insert = ("INSERT INTO docs(title, body, topics, places, section, id, date, source) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    count = 0
    started = time.perf_counter()
    db.execute("BEGIN")
    for art in _articles(a["paths"]):
        day = _naive_utc(art.date)
        db.execute(insert, (art.title, art.body, " ".join(art.topics), " ".join(art.places),
                            art.section or "", art.url or f"{art.path}#{art.key or ''}",
                            day.isoformat(" ") if day else None, art.source))
        count += 1
    db.commit()
    db.close()
    return {"seconds": time.perf_counter() - started, "articles": count, "rss_self_mb": _rss_self_mb()}


def child_build_tantivy(a: dict) -> dict:
    import tantivy
    builder = tantivy.SchemaBuilder()
    for name in ("title", "body"):
        builder.add_text_field(name, stored=True, tokenizer_name="en_stem")
    for name in ("topics", "places", "section"):
        builder.add_text_field(name, stored=False)
    builder.add_text_field("source", stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("month", fast=True, tokenizer_name="raw")  # (tantivy has no calendar months)
    builder.add_date_field("date", stored=True, indexed=True, fast=True)
    os.makedirs(a["index"], exist_ok=True)
    index = tantivy.Index(builder.build(), path=a["index"])
    writer = index.writer(512_000_000, 2)
    count = 0
    started = time.perf_counter()
    for art in _articles(a["paths"]):
        doc = tantivy.Document(title=art.title or "", body=art.body or "",
                               topics=" ".join(art.topics), places=" ".join(art.places),
                               section=art.section or "", source=art.source or "(none)",
                               id=art.url or f"{art.path}#{art.key or ''}",
                               month=_naive_utc(art.date).strftime("%Y-%m") if art.date else "undated")
        if art.date:
            doc.add_date("date", _naive_utc(art.date))
        writer.add_document(doc)
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return {"seconds": time.perf_counter() - started, "articles": count, "rss_self_mb": _rss_self_mb()}


def child_queries(a: dict) -> dict:
    """One engine's query loop: a warm-up pass, then `repeat` timed passes."""
    import gc
    queries = [Query(**q) for q in a["queries"]]
    engine = ENGINES[a["engine"]](a["target"])
    hits, errors = [], []
    for q in queries:
        try:
            hits.append(engine.search(q))
        except Exception as exc:  # a query an engine cannot run is reported, not timed
            hits.append(None)
            errors.append(f"{q.kind} {q.text}: {type(exc).__name__}: {str(exc)[:120]}")
    gc.collect()
    times: list[list[float]] = [[] for _ in queries]
    for _ in range(a["repeat"]):
        for i, q in enumerate(queries):
            if hits[i] is None:
                continue
            t = time.perf_counter()
            engine.search(q)
            times[i].append(time.perf_counter() - t)
    from measuring import status_kb
    return {"hits": hits, "errors": errors, "rss_self_mb": _rss_self_mb(),
            # (the process's own memory is RssAnon; RSS also counts file pages: since the index is
            # read with pread rather than mapped (storage.py), not the index's pages it has read)
            "anon_mb": status_kb(os.getpid(), "RssAnon") / 1024, "file_mb": status_kb(os.getpid(), "RssFile") / 1024,
            "latency": [statistics.median(t) if t else None for t in times]}


def child_cron(a: dict) -> dict:
    """Months of cron: `runs` incremental updates of one index, each after moving that run's files
    from the staging folder into the corpus (and, every EDIT_EVERY runs, editing one earlier file:
    its articles replaced); per run its seconds, articles written and merged, and the segments
    after it. `policy` "whoosh" swaps in Whoosh's MERGE_SMALL for comparison; `min_budget` sets
    the articles any run may merge (merging.MIN_BUDGET), to measure the policy's trade-off."""
    sys.path.insert(0, str(ROOT))
    import searchlib
    from whoosh.index import open_dir
    if a.get("min_budget"):
        from searchlib.indexing import merging
        merging.MIN_BUDGET = a["min_budget"]
    if a.get("policy") == "whoosh":
        from whoosh.writing import MERGE_SMALL
        from searchlib.indexing import run as run_module
        run_module.merge_policy = lambda allowed, merged: MERGE_SMALL
    live, index = Path(a["live"]), Path(a["index"])
    rng = random.Random(a.get("seed", 18))
    out = []
    for number, names in enumerate(a["plan"]):
        for name in names:
            os.replace(Path(a["staging"]) / name, live / name)
        edited = 0
        if number and number % EDIT_EVERY == 0:
            edited = edit_record(live / rng.choice(sorted(n for run in a["plan"][:number] for n in run)))
        started = time.perf_counter()
        report = searchlib.Index(index).update([live])
        seconds = time.perf_counter() - started
        ix = open_dir(str(index))
        segments = [s.doc_count_all() for s in ix._segments()]
        out.append({"seconds": seconds, "articles": report.articles, "merged": report.merged,
                    "edited": edited, "segments": len(segments), "largest": max(segments, default=0)})
    return {"runs": out, "rss_self_mb": _rss_self_mb()}


CHILDREN = {f.__name__[len("child_"):]: f for f in (
    child_build_searchlib, child_update_searchlib, child_cron, child_profile_build, child_profile_queries,
    child_profile_calls, child_build_fts,
    child_build_tantivy, child_queries)}


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("NO_COLOR", None)
    return env


def run_child(phase: str, args: dict) -> dict:
    """Run a phase in a fresh process; its result, its wall time and its tree's peak RSS."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", phase]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env())
    peak = TreePeak(proc, pss=True)
    out, err = proc.communicate(json.dumps(args))
    if proc.returncode != 0:
        raise RuntimeError(f"child {phase} failed ({proc.returncode}):\n{err[-3000:]}")
    lines = [line for line in out.splitlines() if line.startswith(RESULT_MARK)]
    result = json.loads(lines[-1][len(RESULT_MARK):])
    result["wall"] = time.perf_counter() - started
    result["rss_tree_mb"] = max(peak.mb(), result.get("rss_self_mb", 0))
    result["pss_tree_mb"] = peak.pss_mb()  # (shared pages counted once: see measuring.pss_kb)
    return result


def child_main(phase: str) -> None:
    sys.path.insert(0, str(ROOT))
    result = CHILDREN[phase](json.loads(sys.stdin.read()))
    sys.stdout.flush()
    print(RESULT_MARK + json.dumps(result), flush=True)


def timed_command(cmd: list[str], runs: int, cwd: Path) -> list[float]:
    """Wall seconds of `runs` fresh processes, after one untimed run."""
    env = child_env()
    walls = []
    for i in range(runs + 1):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
        if i:
            walls.append(time.perf_counter() - t)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return walls


# --- one size ------------------------------------------------------------------------------------


def change_files(corpus: Path, rng: random.Random) -> dict:
    """Change 1 % (at least one) of the generated files and of the real files; returns the counts."""
    generated = sorted((corpus / "generated").glob("*.jsonl"))
    real = sorted(p for p in corpus.rglob("*") if p.is_file() and "generated" not in p.relative_to(corpus).parts)
    changed = {"generated": 0, "real": 0}
    for path in rng.sample(generated, max(1, math.ceil(len(generated) / 100))) if generated else []:
        lines = path.read_text(encoding="utf-8").splitlines()
        first = json.loads(lines[0])
        first["body"] += " (Corrected.)"
        extra = dict(first, id=first["id"] + "-update", title="Update: " + first["title"])
        lines[0] = json.dumps(first, ensure_ascii=False)
        path.write_text("\n".join(lines + [json.dumps(extra, ensure_ascii=False)]) + "\n", encoding="utf-8")
        changed["generated"] += 1
    for path in rng.sample(real, max(1, math.ceil(len(real) / 100))) if real else []:
        data = path.read_bytes()
        if path.suffix in (".csv", ".sgm"):
            marker = b"the" if b"the" in data else data[:1]
            path.write_bytes(data.replace(marker, b"The", 1))
        else:
            path.write_bytes(data + b"\n\nEdited.\n")
        changed["real"] += 1
    return changed


def measure_size(args, size: int, model: TextModel | None, work: Path, queries: list[Query]) -> dict:
    """Everything at one size, in order: the corpus and the builds, the warm queries and a cold
    start, then `search stats` and the reindexes."""
    out = build_size(args, size, model, work)
    query_size(args, out, queries)
    finish_size(args, out, queries)
    return out


def build_size(args, size: int, model: TextModel | None, work: Path) -> dict:
    """A size's corpus, and each engine built from it; the folders kept for the later phases."""
    here = work / f"n{size}"
    shutil.rmtree(here, ignore_errors=True)
    corpus = here / "corpus"
    out: dict = {"size": size, "loadavg_start": os.getloadavg()}
    t = time.perf_counter()
    real = size >= args.real_articles
    if real:
        copy_real(args.corpora, corpus / "real")
    count = size - args.real_articles if real else size
    files = write_corpus(model, corpus / "generated", count, seed=args.seed) if count > 0 else 0
    out["generate"] = {"seconds": time.perf_counter() - t, "generated": count, "files": files,
                       "real_included": real, "corpus_mb": dir_size(corpus) / 1e6}
    log(f"[{size}] corpus: {count} generated articles in {files} files"
        f"{' + the real corpora' if real else ''}, {out['generate']['seconds']:.0f} s")
    targets = {"searchlib": here / "searchlib", "fts5": here / "fts.sqlite", "tantivy": here / "tantivy"}
    out["dirs"] = {"here": str(here), "corpus": str(corpus), "targets": {k: str(v) for k, v in targets.items()}}
    out["build"] = {}
    for name in args.engines:
        log(f"[{size}] build: {name} ...")
        phase = {"searchlib": "build_searchlib", "fts5": "build_fts", "tantivy": "build_tantivy"}[name]
        key = "db" if name == "fts5" else "index"
        try:
            r = run_child(phase, {key: str(targets[name]), "paths": [str(corpus)]})
        except RuntimeError as exc:
            log(f"  failed: {exc}")
            out["build"][name] = {"error": str(exc)[-500:]}
            continue
        r["size_mb"] = dir_size(targets[name]) / 1e6
        r["articles_per_s"] = r["articles"] / r["seconds"]
        out["build"][name] = r
        log(f"  {r['articles']} articles in {r['seconds']:.1f} s ({r['articles_per_s']:.0f}/s), "
            f"peak {r['rss_tree_mb']:.0f} MB (PSS {r.get('pss_tree_mb', 0):.0f} MB), {r['size_mb']:.0f} MB on disk")
    return out


def _built(out: dict, name: str) -> bool:
    return "error" not in out["build"].get(name, {"error": 1})


def _console() -> list[str]:
    script = Path(sys.executable).parent / "search"
    return [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from searchlib.cli import main; sys.exit(main())"]


def query_size(args, out: dict, queries: list[Query]) -> None:
    """One round at a size: each engine's warm queries (a fresh process, one untimed pass, then
    `repeat` timed ones) and searchlib's cold start; kept in out["rounds"] for finish_size."""
    size, here, targets = out["size"], Path(out["dirs"]["here"]), out["dirs"]["targets"]
    rounds = out.setdefault("rounds", {"queries": {}, "cold_ms": []})
    number = len(rounds["cold_ms"]) + 1
    for name in args.engines:
        if not _built(out, name):
            continue
        log(f"[{size}] queries: {name}, {len(queries)} queries, 1 + {args.repeat} passes"
            f"{f' (round {number})' if args.alternate else ''} ...")
        r = run_child("queries", {"queries": [asdict(q) for q in queries], "engine": name,
                                  "target": targets[name], "repeat": args.repeat})
        rounds["queries"].setdefault(name, []).append(r)
        a = latency_table(queries, r).get("all", {})
        log(f"  p50 {a.get('p50_ms', 0):.1f} ms, p95 {a.get('p95_ms', 0):.1f} ms, "
            f"{len(r['errors'])} errors, peak {r['rss_tree_mb']:.0f} MB")
    if _built(out, "searchlib"):
        log(f"[{size}] cold start ...")
        walls = timed_command(_console() + [COLD_QUERY, "--index", targets["searchlib"], "--color", "never"],
                              args.cold_runs, here)
        rounds["cold_ms"].append([w * 1e3 for w in walls])
        log(f"  cold {statistics.median(walls) * 1e3:.0f} ms")


def finish_size(args, out: dict, queries: list[Query]) -> None:
    """A size's figures from its query rounds (a query's time: the fastest of its rounds'
    medians, the least disturbed; the cold start: the lowest of the rounds' medians), then
    `search stats`, the reindexes and the profiles; the size's folder removed unless kept."""
    size, here, corpus = out["size"], Path(out["dirs"]["here"]), out["dirs"]["corpus"]
    targets, rounds = out["dirs"]["targets"], out.pop("rounds", {"queries": {}, "cold_ms": []})
    out["queries"] = {}
    for name, runs in rounds["queries"].items():
        latency = _merged_latency([r["latency"] for r in runs])
        first = runs[0]
        out["queries"][name] = {
            "kinds": latency_table(queries, {"latency": latency}), "errors": first["errors"],
            "rss_mb": max(r["rss_tree_mb"] for r in runs), "anon_mb": max(r.get("anon_mb") or 0 for r in runs),
            "file_mb": max(r.get("file_mb") or 0 for r in runs), "per_query": latency, "hits": first["hits"],
            "rounds_p50_ms": [latency_table(queries, r).get("all", {}).get("p50_ms") for r in runs]}
    if rounds["cold_ms"]:  # (the lowest of the rounds' medians)
        out["cold_ms"] = {"median": min(map(statistics.median, rounds["cold_ms"])),
                          "runs": [w for runs in rounds["cold_ms"] for w in runs], "rounds": len(rounds["cold_ms"])}
    if args.profile_queries and "searchlib" in out["queries"]:
        kinds = SCALE_KINDS if args.profile_queries == "all" else args.profile_queries.split(",")
        out["profile_queries"] = {}
        for kind in kinds:
            log(f"[{size}] profile: searchlib's {kind} queries under cProfile ...")
            out["profile_queries"][kind] = run_child("profile_queries", {
                "queries": [asdict(q) for q in queries if q.kind == kind], "target": targets["searchlib"]})
        log(f"[{size}] profile: a first search and stats under cProfile ...")
        out["profile_calls"] = run_child("profile_calls", {"target": targets["searchlib"]})
    if _built(out, "searchlib"):
        index = targets["searchlib"]
        walls = timed_command(_console() + ["--index", index, "stats"], 3, here)
        out["stats_ms"] = {"median": statistics.median(walls) * 1e3, "runs": [w * 1e3 for w in walls]}
        log(f"[{size}] stats {out['stats_ms']['median']:.0f} ms; reindex, nothing changed ...")
        out["reindex_none"] = run_child("update_searchlib", {"index": index, "paths": [corpus]})
        out["changed"] = change_files(Path(corpus), random.Random(args.seed))
        log(f"  {out['reindex_none']['seconds']:.1f} s; [{size}] reindex after changing "
            f"{out['changed']['generated']} generated and {out['changed']['real']} real files ...")
        out["reindex_1pct"] = run_child("update_searchlib", {"index": index, "paths": [corpus]})
        log(f"  {out['reindex_1pct']['seconds']:.1f} s")
        if args.profile_build:
            log(f"[{size}] profile: a one-process build under cProfile ...")
            shutil.rmtree(here / "profiled", ignore_errors=True)
            out["profile_build"] = run_child("profile_build", {"index": str(here / "profiled"), "paths": [corpus]})
            shutil.rmtree(here / "profiled", ignore_errors=True)
    out["loadavg_end"] = os.getloadavg()
    if not args.keep_corpora:
        shutil.rmtree(here, ignore_errors=True)


# --- months of cron ------------------------------------------------------------------------------

CRON_FILES = 3     # files a cron run brings
EDIT_EVERY = 5     # every 5th run also edits one earlier file (its articles replaced)


def edit_record(path: Path) -> int:
    """Edit the first record of a JSON Lines file (as a correction would); returns 1."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["body"] += " (Corrected.)"
    lines[0] = json.dumps(first, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1


def cron_plan(names: list[str], runs: int) -> list[list[str]]:
    """The files each run brings: `names` in order, cut into `runs` nearly equal groups."""
    step = len(names) / runs
    return [names[round(i * step):round((i + 1) * step)] for i in range(runs)]


def _merged_latency(rounds: list[list[float | None]]) -> list[float | None]:
    """Per query, the fastest of its medians over alternating rounds (the least disturbed)."""
    return [min((t for t in ts if t is not None), default=None) for ts in zip(*rounds)]


def measure_cron(args, size: int, model: TextModel, work: Path, queries: list[Query]) -> dict:
    """An index grown by `args.cron` small runs (CRON_FILES files each, generated articles only)
    against a fresh rebuild of the same files: per-run cost and merging, then warm query latency
    of both, in alternating rounds."""
    here = work / f"cron{size}"
    shutil.rmtree(here, ignore_errors=True)
    staging, live = here / "staging", here / "corpus"
    live.mkdir(parents=True)
    per_file = max(1, math.ceil(size / (args.cron * CRON_FILES)))
    files = write_corpus(model, staging, size, seed=args.seed, per_file=per_file)
    plan = cron_plan(sorted(p.name for p in staging.glob("*.jsonl")), args.cron)
    out: dict = {"size": size, "runs": args.cron, "files": files, "per_file": per_file,
                 "policy": args.cron_policy, "min_budget": args.cron_min_budget, "loadavg_start": os.getloadavg()}
    log(f"[cron {size}] {files} files of {per_file} articles, {args.cron} runs of ~{CRON_FILES} files "
        f"(policy: {_policy(out)}) ...")
    grown, rebuilt = here / "grown", here / "rebuilt"
    r = run_child("cron", {"index": str(grown), "live": str(live), "staging": str(staging), "plan": plan,
                           "seed": args.seed, "policy": args.cron_policy, "min_budget": args.cron_min_budget})
    runs = r["runs"]
    out["grown"] = {"runs": runs, "seconds": sum(x["seconds"] for x in runs), "rss_tree_mb": r["rss_tree_mb"],
                    "size_mb": dir_size(grown) / 1e6}
    quiet = [x["seconds"] for x in runs if not x["merged"]]
    base = statistics.median(quiet) if quiet else statistics.median(x["seconds"] for x in runs)
    worst = max(runs, key=lambda x: x["seconds"])
    out["summary"] = {
        "run_median_s": statistics.median(x["seconds"] for x in runs), "unmerged_median_s": base,
        "max_s": worst["seconds"], "max_over_unmerged": worst["seconds"] / base,
        "runs_merging": sum(1 for x in runs if x["merged"]), "merged_articles": sum(x["merged"] for x in runs),
        "max_merged": max(x["merged"] for x in runs), "articles": sum(x["articles"] for x in runs),
        "segments_end": runs[-1]["segments"], "segments_max": max(x["segments"] for x in runs)}
    log(f"  {out['grown']['seconds']:.0f} s in all; a run {base:.2f} s at median without merging, the slowest "
        f"{worst['seconds']:.2f} s ({out['summary']['max_over_unmerged']:.1f}x); "
        f"{out['summary']['runs_merging']} runs merged {out['summary']['merged_articles']} articles "
        f"(at most {out['summary']['max_merged']}); {runs[-1]['segments']} segments at the end")
    log(f"[cron {size}] rebuild of the same files ...")
    b = run_child("build_searchlib", {"index": str(rebuilt), "paths": [str(live)]})
    from whoosh.index import open_dir
    out["rebuilt"] = {"seconds": b["seconds"], "articles": b["articles"], "rss_tree_mb": b["rss_tree_mb"],
                      "size_mb": dir_size(rebuilt) / 1e6, "segments": len(open_dir(str(rebuilt))._segments())}
    log(f"  {b['articles']} articles in {b['seconds']:.1f} s, {out['rebuilt']['segments']} segments")
    rounds: dict[str, list] = {"grown": [], "rebuilt": []}
    for round_ in range(args.cron_rounds):
        for name, target in (("grown", grown), ("rebuilt", rebuilt)):
            log(f"[cron {size}] queries on the {name} index, round {round_ + 1} of {args.cron_rounds} ...")
            q = run_child("queries", {"queries": [asdict(x) for x in queries], "engine": "searchlib",
                                      "target": str(target), "repeat": args.repeat})
            rounds[name].append(q["latency"])
            out[name].setdefault("hits", q["hits"])
    for name in rounds:
        out[name]["kinds"] = latency_table(queries, {"latency": _merged_latency(rounds[name])})
    out["same_hits"] = out["grown"]["hits"] == out["rebuilt"]["hits"]
    out["p50_ratio"] = {k: out["grown"]["kinds"][k]["p50_ms"] / v["p50_ms"]
                        for k, v in out["rebuilt"]["kinds"].items() if k in out["grown"]["kinds"]}
    log(f"  p50 grown / rebuilt: {out['p50_ratio'].get('all', 0):.2f} (all kinds)")
    out["loadavg_end"] = os.getloadavg()
    if not args.keep_corpora:
        shutil.rmtree(here, ignore_errors=True)
    return out


def _policy(c: dict) -> str:
    """The merge policy of a months-of-cron result, with its MIN_BUDGET when the run set one."""
    return c["policy"] + (f", MIN_BUDGET {c['min_budget']:,}" if c.get("min_budget") else "")


def cron_targets(res: dict) -> list[str]:
    """Issue 18's months-of-cron target per size: p50 of the grown index within 1.3x the rebuilt
    one's, and no run more than a few (5) times a run's median without merging."""
    out = []
    for c in res.get("cron", []):
        s, ratio = c["summary"], c["p50_ratio"].get("all", float("nan"))
        out.append(f"{'met' if ratio <= 1.3 else 'MISSED':12}  months of cron at {c['size']:,}: p50 grown <= 1.3x "
                   f"rebuilt: {ratio:.2f}x ({s['segments_end']} segments against {c['rebuilt']['segments']})")
        worst = s["max_over_unmerged"]
        out.append(f"{'met' if worst <= 5 else 'MISSED':12}  months of cron at {c['size']:,}: slowest run <= 5x "
                   f"a run without merging: {worst:.1f}x ({s['max_s']:.2f} s against {s['unmerged_median_s']:.2f} s)")
    return out


def cron_report(res: dict) -> str:
    """The months-of-cron table: per kind, p50 of the grown and the rebuilt index and their ratio."""
    lines = []
    for c in res.get("cron", []):
        s = c["summary"]
        lines.append(f"Months of cron at {c['size']:,} articles: {c['runs']} runs of ~{CRON_FILES} files of "
                     f"{c['per_file']} articles (policy: {_policy(c)}), then a rebuild of the same files")
        lines.append(f"  runs: median {s['run_median_s']:.2f} s (without merging {s['unmerged_median_s']:.2f} s), "
                     f"slowest {s['max_s']:.2f} s = {s['max_over_unmerged']:.1f} x; {s['runs_merging']} runs "
                     f"merged {s['merged_articles']:,} articles (most in one run {s['max_merged']:,}; "
                     f"{s['merged_articles'] / max(1, s['articles']):.2f} x the articles written)")
        lines.append(f"  segments: grown {s['segments_end']} (at most {s['segments_max']}), rebuilt "
                     f"{c['rebuilt']['segments']}; on disk {c['grown']['size_mb']:.0f} / {c['rebuilt']['size_mb']:.0f} MB; "
                     f"same hits: {c['same_hits']}")
        rows = [["kind", "grown p50 ms", "rebuilt p50 ms", "ratio", "grown p95 ms", "rebuilt p95 ms"]]
        for kind, ratio in c["p50_ratio"].items():
            g, b = c["grown"]["kinds"][kind], c["rebuilt"]["kinds"][kind]
            rows.append([kind, _ms(g["p50_ms"]), _ms(b["p50_ms"]), f"{ratio:.2f}", _ms(g["p95_ms"]), _ms(b["p95_ms"])])
        lines.append(format_table(rows))
    return "\n".join(lines)


def latency_table(queries: list[Query], r: dict) -> dict:
    table = {}
    for kind in SCALE_KINDS + ("all",):
        lat = [t for q, t in zip(queries, r["latency"]) if t is not None and kind in ("all", q.kind)]
        if lat:
            table[kind] = {"n": len(lat), "p50_ms": percentile(lat, 0.5) * 1e3,
                           "p95_ms": percentile(lat, 0.95) * 1e3, "max_ms": max(lat) * 1e3}
    return table


# --- the report ----------------------------------------------------------------------------------


def table_rows(res: dict) -> list[list[str]]:
    """The summary table: one row per figure, one column per size and engine."""
    sizes = res["sizes"]
    engines = res["meta"]["engines"]
    head = ["figure"] + [f"{s['size']:,} {e}" for s in sizes for e in engines]

    def cell(s, e, get, fmt):
        try:
            value = get(s, e)
        except (KeyError, TypeError):
            return "-"
        return "-" if value is None else fmt(value) if callable(fmt) else fmt.format(value)

    rows = [head]
    build = [("build s", lambda s, e: s["build"][e]["seconds"], "{:.1f}"),
             ("articles/s", lambda s, e: s["build"][e]["articles_per_s"], "{:.0f}"),
             ("build peak MB", lambda s, e: s["build"][e]["rss_tree_mb"], "{:.0f}"),
             ("build peak PSS MB", lambda s, e: s["build"][e]["pss_tree_mb"], "{:.0f}"),
             ("index MB", lambda s, e: s["build"][e]["size_mb"], "{:.0f}"),
             ("search process MB", lambda s, e: s["queries"][e]["rss_mb"], "{:.0f}"),
             ("search process anon MB", lambda s, e: s["queries"][e]["anon_mb"], "{:.0f}"),
             ("queries without a hit", lambda s, e: sum(h == 0 for h in s["queries"][e]["hits"]), "{}"),
             ("queries not run", lambda s, e: len(s["queries"][e]["errors"]), "{}")]
    for label, get, fmt in build:
        rows.append([label] + [cell(s, e, get, fmt) for s in sizes for e in engines])
    for kind in SCALE_KINDS + ("all",):
        for stat in ("p50", "p95", "max"):
            rows.append([f"{kind} {stat} ms"] + [
                cell(s, e, lambda s, e: s["queries"][e]["kinds"][kind][f"{stat}_ms"], _ms)
                for s in sizes for e in engines])
    only = [("cold search ms", lambda s: s["cold_ms"]["median"], "{:.0f}"),
            ("search stats ms", lambda s: s["stats_ms"]["median"], "{:.0f}"),
            ("reindex unchanged s", lambda s: s["reindex_none"]["seconds"], "{:.2f}"),
            ("reindex 1 % changed s", lambda s: s["reindex_1pct"]["seconds"], "{:.1f}")]
    for label, get, fmt in only:
        rows.append([label] + [cell(s, e, lambda s, e: get(s) if e == "searchlib" else None, fmt)
                               for s in sizes for e in engines])
    return rows


def _ms(value: float) -> str:
    """Three significant figures, without exponents: 0.412, 4.12, 41.2, 412."""
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 \
        else f"{value:.0f}"


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def markdown_table(res: dict) -> str:
    """The README's table: a column per size and engine; latencies as p50 / p95 ms per kind."""
    sizes, engines = res["sizes"], res["meta"]["engines"]
    rows = {r[0]: r[1:] for r in table_rows(res)}
    head = "| | " + " | ".join(f"{s['size']:,} {e}" for s in sizes for e in engines) + " |"
    out = [head, "|---" * (1 + len(sizes) * len(engines)) + "|"]
    for label in ("build s", "articles/s", "build peak MB", "index MB", "search process MB"):
        out.append(f"| {label} | " + " | ".join(rows[label]) + " |")
    for kind in SCALE_KINDS + ("all",):
        cells = [f"{a} / {b}" if a != "-" else "-" for a, b in zip(rows[f"{kind} p50 ms"], rows[f"{kind} p95 ms"])]
        out.append(f"| {kind}, p50 / p95 ms | " + " | ".join(cells) + " |")
    for label in ("cold search ms", "search stats ms", "reindex unchanged s", "reindex 1 % changed s"):
        out.append(f"| {label} | " + " | ".join(rows[label]) + " |")
    return "\n".join(out)


def targets(res: dict) -> list[str]:
    """Issue 18's targets, each met, missed or not measured, from the largest and smallest sizes."""
    sizes = res["sizes"]
    out = []

    def check(label, ok, value):
        out.append(f"{'not measured' if ok is None else 'met' if ok else 'MISSED':12}  {label}: {value}")

    if not sizes:
        return out
    small, big = sizes[0], sizes[-1]
    sb = lambda s: s.get("build", {}).get("searchlib", {})  # noqa: E731
    fb = lambda s: s.get("build", {}).get("fts5", {})  # noqa: E731
    tag = f"{big['size']:,} vs {small['size']:,}"
    if "articles_per_s" in sb(small) and "articles_per_s" in sb(big) and big is not small:
        r = sb(big)["articles_per_s"] / sb(small)["articles_per_s"]
        check(f"build articles/s {tag} >= 0.8x", r >= 0.8, f"{r:.2f}x")
    peaks = [sb(s).get("rss_tree_mb") for s in sizes if "rss_tree_mb" in sb(s)]
    if peaks:
        check("build peak memory <= 1 GB at every size", max(peaks) <= 1024,
              ", ".join(f"{p:.0f} MB" for p in peaks))
    if "size_mb" in sb(big) and "size_mb" in fb(big):
        r = sb(big)["size_mb"] / fb(big)["size_mb"]
        check(f"index size at {big['size']:,} <= 1.3x FTS5", r <= 1.3, f"{r:.2f}x")
    q = big.get("queries", {})
    if "searchlib" in q and "fts5" in q:
        s, f = q["searchlib"]["kinds"]["all"], q["fts5"]["kinds"]["all"]
        for stat in ("p50", "p95"):
            r = s[f"{stat}_ms"] / f[f"{stat}_ms"]
            check(f"warm {stat} at {big['size']:,} <= 3x FTS5", r <= 3, f"{s[stat + '_ms']:.1f} vs "
                  f"{f[stat + '_ms']:.1f} ms, {r:.2f}x")
    qs = small.get("queries", {})
    if "searchlib" in q and "searchlib" in qs and big is not small:
        growth = {k: q["searchlib"]["kinds"][k]["p50_ms"] / qs["searchlib"]["kinds"][k]["p50_ms"]
                  for k in SCALE_KINDS if k in q["searchlib"]["kinds"] and k in qs["searchlib"]["kinds"]}
        worst = max(growth, key=growth.get)
        check(f"no kind's p50 grows > 10x ({tag}, {big['size'] / small['size']:.0f}x the articles)",
              growth[worst] <= 10, ", ".join(f"{k} {g:.1f}x" for k, g in growth.items()))
    if "searchlib" in q:
        for kind in ("facets", "newest"):
            if kind in q["searchlib"]["kinds"]:
                v = q["searchlib"]["kinds"][kind]["p95_ms"]
                check(f"{kind} p95 at {big['size']:,} < 300 ms", v < 300, f"{v:.0f} ms")
        rss = [s["queries"]["searchlib"]["rss_mb"] for s in sizes if "searchlib" in s.get("queries", {})]
        check("searching process < 400 MB", max(rss) < 400, ", ".join(f"{m:.0f} MB" for m in rss))
    if "cold_ms" in big and "cold_ms" in small and big is not small:
        r = big["cold_ms"]["median"] / small["cold_ms"]["median"]
        check(f"cold start {tag} <= 1.5x", r <= 1.5, f"{big['cold_ms']['median']:.0f} vs "
              f"{small['cold_ms']['median']:.0f} ms, {r:.2f}x")
    if "reindex_none" in big:
        v = big["reindex_none"]["seconds"]
        check(f"reindex, nothing changed, at {big['size']:,} <= 5 s", v <= 5, f"{v:.2f} s")
    if "reindex_1pct" in big and "seconds" in sb(big):
        r = big["reindex_1pct"]["seconds"] / sb(big)["seconds"]
        check(f"reindex, 1 % of files changed, at {big['size']:,} <= 10 % of a build", r <= 0.10,
              f"{big['reindex_1pct']['seconds']:.1f} s, {r * 100:.1f} %")
    if "stats_ms" in big:
        v = big["stats_ms"]["median"]
        check(f"search stats at {big['size']:,} < 1 s", v < 1000, f"{v:.0f} ms")
    etas = [(s["size"], sb(s)["eta_error_max"]) for s in sizes if sb(s).get("eta_error_max") is not None]
    if etas:
        check("progress bar's time left within 25 % from a tenth to nine tenths of the bytes",
              max(e for _, e in etas) <= 0.25, ", ".join(f"at {n:,}: at most {e:.0%} off" for n, e in etas))
    else:
        check("progress bar's time left within 25 %", None, "no progress calls recorded")
    check("months of cron (500 small runs vs a rebuild)", None, "measured by --cron RUNS")
    return out


def plot(res: dict, path: Path) -> None:
    """Latency (p50 and p95 of all queries) and build time against archive size, log-log."""
    sizes = res["sizes"]
    engines = res["meta"]["engines"]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        path.write_text(svg_plot(res), encoding="utf-8")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    colours = {"searchlib": "tab:blue", "fts5": "tab:orange", "tantivy": "tab:green"}
    for e in engines:
        xs = [s["size"] for s in sizes if e in s.get("queries", {})]
        for stat, style in (("p50", "-o"), ("p95", "--s")):
            ys = [s["queries"][e]["kinds"]["all"][f"{stat}_ms"] for s in sizes if e in s.get("queries", {})]
            left.plot(xs, ys, style, color=colours.get(e), label=f"{e} {stat}")
        xs = [s["size"] for s in sizes if "seconds" in s.get("build", {}).get(e, {})]
        ys = [s["build"][e]["seconds"] for s in sizes if "seconds" in s.get("build", {}).get(e, {})]
        right.plot(xs, ys, "-o", color=colours.get(e), label=e)
    for ax, title, unit in ((left, "warm query latency, all kinds", "ms"), (right, "full build", "s")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([s["size"] for s in sizes], [f"{s['size']:,}" for s in sizes])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("articles")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def svg_plot(res: dict) -> str:
    """The same curves as a hand-written SVG (where matplotlib is not installed): p50 latency and
    build seconds, log-log."""
    sizes = res["sizes"]
    engines = res["meta"]["engines"]
    colours = {"searchlib": "#1f77b4", "fts5": "#ff7f0e", "tantivy": "#2ca02c"}
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="820" height="320" font-family="sans-serif" font-size="11">']
    panels = [("warm p50 latency, ms", lambda s, e: s["queries"][e]["kinds"]["all"]["p50_ms"]),
              ("full build, s", lambda s, e: s["build"][e]["seconds"])]
    for n, (title, get) in enumerate(panels):
        x0, y0, w, h = 60 + n * 400, 30, 320, 240
        points = {}
        for e in engines:
            for s in sizes:
                try:
                    points.setdefault(e, []).append((s["size"], get(s, e)))
                except (KeyError, TypeError):
                    pass
        values = [v for ps in points.values() for _, v in ps if v > 0]
        xs = [s["size"] for s in sizes]
        if not values:
            continue
        lx, hx = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
        ly, hy = math.log10(min(values)) - 0.2, math.log10(max(values)) + 0.2
        px = lambda x: x0 + (math.log10(x) - lx) / (hx - lx) * w  # noqa: E731
        py = lambda y: y0 + h - (math.log10(y) - ly) / (hy - ly) * h  # noqa: E731
        parts.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#888"/>')
        parts.append(f'<text x="{x0}" y="{y0 - 10}" font-weight="bold">{title} (log-log)</text>')
        for x in xs:
            parts.append(f'<text x="{px(x):.1f}" y="{y0 + h + 15}" text-anchor="middle">{x:,}</text>')
        for k in range(math.floor(ly), math.ceil(hy) + 1):
            if ly <= k <= hy:
                parts.append(f'<text x="{x0 - 5}" y="{py(10 ** k):.1f}" text-anchor="end">{10 ** k:g}</text>')
        for i, (e, ps) in enumerate(points.items()):
            ps = [(x, v) for x, v in ps if v > 0]
            c = colours.get(e, "#000")
            parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                         + " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in ps) + '"/>')
            parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="3" fill="{c}"/>' for x, v in ps)
            parts.append(f'<text x="{x0 + 8}" y="{y0 + 15 + 14 * i}" fill="{c}">{e}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="30000,300000,1000000")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep-corpora", action="store_true", help="keep each size's corpus and indexes")
    parser.add_argument("--engines", default=None, help="default: searchlib,fts5 and tantivy if installed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--plot", type=Path, metavar="FILE")
    parser.add_argument("--markdown", type=Path, metavar="JSON",
                        help="only print the README's table of the results in JSON (written by --json)")
    parser.add_argument("--profile-build", action="store_true", help="cProfile a one-process searchlib build")
    parser.add_argument("--profile-queries", metavar="KINDS", help="cProfile searchlib's queries of these kinds "
                        "(comma-separated, or all)")
    parser.add_argument("--alternate", type=int, default=0, metavar="ROUNDS",
                        help="build every size first, then run the warm queries and cold starts in ROUNDS "
                        "rounds, the sizes in turn (a query's time: the fastest of its rounds), so that a "
                        "machine whose speed drifts during the run moves every size alike")
    parser.add_argument("--cron", type=int, metavar="RUNS",
                        help="measure months of cron instead: at each size, an index grown by RUNS small runs "
                        "against a rebuild of the same files")
    parser.add_argument("--cron-policy", choices=("searchlib", "whoosh"), default="searchlib",
                        help="the merge policy of the cron runs (whoosh: Whoosh's MERGE_SMALL, for comparison)")
    parser.add_argument("--cron-min-budget", type=int, metavar="ARTICLES",
                        help="the articles any cron run may merge (searchlib.indexing.merging.MIN_BUDGET; "
                        "default: the policy's own), to measure its trade-off")
    parser.add_argument("--cron-rounds", type=int, default=2, help="alternating query rounds per index")
    parser.add_argument("--model-cache", type=Path, metavar="FILE",
                        help="keep the model learnt from the real articles here (a pickle), and reuse it")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(json.loads(args.markdown.read_text(encoding="utf-8"))))
        return 0
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if not args.corpora.is_dir():
        log(f"no corpora at {args.corpora}")
        return 2
    if args.engines is None:
        import importlib.util
        args.engines = ["searchlib", "fts5"] + (["tantivy"] if importlib.util.find_spec("tantivy") else [])
    else:
        args.engines = [e for e in args.engines.split(",") if e]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="searchlib-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    queries = scale_queries(load_queries(QUERIES_FILE))
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "?"
    res: dict = {"meta": {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git": git,
                          "engines": args.engines, "repeat": args.repeat, "cold_runs": args.cold_runs,
                          "cpus": os.cpu_count(), "queries": len(queries), "seed": args.seed,
                          "command": "python scripts/bench_scale.py " + " ".join(argv or sys.argv[1:])},
                 "sizes": []}
    started = time.perf_counter()
    try:
        log("model: reading the real articles ...")
        t = time.perf_counter()
        if args.model_cache and args.model_cache.exists():
            with args.model_cache.open("rb") as f:
                args.real_articles, model = pickle.load(f)
        else:
            articles = real_articles(args.corpora)
            args.real_articles = len(articles)
            model = TextModel(articles)
            del articles
            if args.model_cache:
                with args.model_cache.open("wb") as f:
                    pickle.dump((args.real_articles, model), f, protocol=5)
        res["meta"]["model"] = {"seconds": time.perf_counter() - t, "seeds": len(model.seeds),
                                "tokens": int(len(model.stream)), "forms": int(len(model.vocab))}
        log(f"  {len(model.seeds)} seed articles, {len(model.stream):,} tokens, {time.perf_counter() - t:.0f} s")
        if args.alternate and not args.cron:  # every size built, then their query rounds in turn
            res["meta"]["alternate"] = args.alternate
            for size in sizes:
                res["sizes"].append(build_size(args, size, model, work))
            for _ in range(args.alternate):
                for out in res["sizes"]:
                    query_size(args, out, queries)
            for out in res["sizes"]:
                finish_size(args, out, queries)
                if args.json:
                    Path(args.json).write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
        else:
            for size in sizes:
                if args.cron:
                    res.setdefault("cron", []).append(measure_cron(args, size, model, work, queries))
                else:
                    res["sizes"].append(measure_size(args, size, model, work, queries))
                if args.json:
                    Path(args.json).write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    finally:
        if args.workdir is None and not args.keep_corpora:
            shutil.rmtree(work, ignore_errors=True)
    res["meta"]["seconds"] = time.perf_counter() - started
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    if args.cron:
        print(cron_report(res))
        print("\nTargets (issue 18)")
        for line in cron_targets(res):
            print("  " + line)
        print(f"\n(run took {res['meta']['seconds']:.0f} s; {res['meta']['command']})")
        return 0
    print(format_table(table_rows(res)))
    print("\nTargets (issue 18)")
    for line in targets(res):
        print("  " + line)
    for s in res["sizes"]:
        for e, q in s.get("queries", {}).items():
            if q["errors"]:
                print(f"\n{s['size']:,} {e}: {len(q['errors'])} queries not run, e.g. {q['errors'][0]}")
        for kind, prof in s.get("profile_queries", {}).items():
            print(f"\nProfile of searchlib's {prof['queries']} {kind} queries at {s['size']:,} articles "
                  f"({prof['seconds'] * 1e3:.0f} ms under cProfile), by cumulative time:\n{prof['cumulative']}"
                  f"\nby own time:\n{prof['tottime']}")
        for name, prof in s.get("profile_calls", {}).items():
            if isinstance(prof, dict) and "cumulative" in prof:
                print(f"\nProfile of {name} at {s['size']:,} articles ({prof['seconds'] * 1e3:.0f} ms under "
                      f"cProfile):\n{prof['cumulative']}")
        if "profile_build" in s:
            print(f"\nProfile of a one-process build of {s['size']:,} articles:\n{s['profile_build']['profile']}")
    if args.plot:
        plot(res, args.plot)
        log(f"plot written to {args.plot}")
    print(f"\n(run took {res['meta']['seconds']:.0f} s; {res['meta']['command']})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "_child":
        child_main(sys.argv[2])
    else:
        sys.exit(main())
