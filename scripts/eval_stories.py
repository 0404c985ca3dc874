#!/usr/bin/env python3
"""Evaluate syndicated-copy detection (issue 20, searchlib.stories) on the real corpora.

    python scripts/eval_stories.py              # labelled set, sweep, real corpora, threads, cost
    python scripts/eval_stories.py --parts thread --thread-seeds 200 --seed 20   # follow-ups only
    python scripts/eval_stories.py --parts labelled,sweep   # some parts only
    python scripts/eval_stories.py --originals 300 --seed 20 --workdir /tmp/stories

Parts:

1. labelled: a set built at run time from ../shared/corpora: ORIGINALS real articles (Reuters,
   BBC, News Articles; at least 50 words), each with 1-3 copies made with the edits outlets make
   (another headline, a dateline/credit line, paragraphs cut at the end, boilerplate added,
   typos, a sentence reworded; another outlet, 0-36 hours later), plus hard negatives: every
   Reuters article of the DAYS days with the most commodity reports (same topic, same day, often
   the same template). All are indexed through searchlib (JSON Lines, `Index.update`, one
   process: the incremental path), and the stories read back. Pair precision and recall: a pair
   of articles in one story is right when both come from one original; a pair of two real
   articles (or of copies of two real articles) counts as right only when the real texts are
   near-verbatim (Jaccard of 5-word shingles >= 0.9) or carry the same headline (Reuters sent
   a story again, often longer, under its headline): a wire story sent twice; else as a false
   copy. The precision counting every such pair as false is printed too.
2. sweep: the same set in memory, for shingle sizes, LSH bands x rows, and copy thresholds:
   pair precision / recall / candidates checked, and how many verified pairs of real Reuters
   articles lie how many days apart (what a wider window would add).
3. real: all the corpora as they are, indexed: how many stories have more than one article, and
   20 sampled (printed for judging).
4. thread: `search thread` (follow-ups) against `search similar` as it is, on Reuters-21578
   (indexed as it is): THREAD_SEEDS seeds drawn at random (--seed) from the dated articles with
   a TOPICS label; an article of a seed's top 10 is right when it shares a TOPICS label with the
   seed and is dated within the window of the seed's date (the same rule for both). Precision is
   the mean over the seeds given anything (thread may give nothing; similar always gives 10),
   also over the articles that carry a label (Reuters left many unlabelled: those count as wrong
   above), for windows of 3-30 days and a few thresholds; then similar's best 50 kept to the
   window; a sample of thread's wrong articles is printed.
5. cost: bench.py --quick's corpora (with --full, its full ones) and bench_queries.txt's queries, with and without stories
   (without: the linking hook and the collapse switched off in this process), indexing
   throughput (median of ROUNDS builds each, alternating; and this process's CPU time, the whole
   build with --jobs 1) and query p50 (median per query of
   REPEAT passes, nearest-rank p50 over queries).
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

from measuring import log, percentile  # (scripts/ is on the path)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPORA = ROOT.parent / "shared" / "corpora"
COMMODITIES = {"grain", "wheat", "corn", "crude", "gold", "coffee", "sugar", "cocoa", "soybean",
               "oilseed", "livestock", "veg-oil", "copper", "cotton", "barley", "rice", "nat-gas"}
OUTLETS = ["Valley Times", "The Courier", "Daily Post", "Evening News", "Morning Star", "Herald",
           "Gazette", "Tribune", "Observer", "Chronicle"]
BOILERPLATE = ["Sign up for our daily newsletter to get the top stories in your inbox.",
               "Copyright {outlet}. All rights reserved. This material may not be republished.",
               "Related: more stories from our business desk",
               "Follow us on social media for the latest updates."]
MIN_WORDS = 50


# --- the labelled set ----------------------------------------------------------------------------

def real_articles() -> list:
    import searchlib
    paths = sorted((CORPORA / "reuters21578").glob("reut2-*.sgm")) + [CORPORA / "bbc",
                                                                      CORPORA / "newsarticles_dai2017"]
    out = []
    for path in paths:
        for item in searchlib.read_articles(path):
            if isinstance(item, searchlib.Article) and item.body:
                out.append(item)
    return out


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def typos(text: str, rng: random.Random, share: float = 0.02) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * share))):
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def reword(text: str, rng: random.Random) -> str:
    """One sentence with two of its words replaced."""
    sentences = re.split(r"(?<=[.!?])\s+", text)
    i = rng.randrange(len(sentences))
    words = sentences[i].split()
    for _ in range(min(2, len(words))):
        words[rng.randrange(len(words))] = rng.choice(["reportedly", "officials", "on Monday", "sharply"])
    sentences[i] = " ".join(words)
    return " ".join(sentences)


EDITS = ("headline", "credit", "cut", "boilerplate", "typos", "reword")


def make_copy(article, rng: random.Random, outlet: str) -> tuple[dict, list[str]]:
    edits = rng.sample(EDITS, rng.randint(1, 3))
    title, paras = article.title, paragraphs(article.body)
    if "headline" in edits:
        words = title.split()
        title = "UPDATE: " + " ".join(words[: max(2, len(words) // 2)]) + " - " + outlet
    if "cut" in edits and len(paras) > 2:
        keep = max(1, int(len(paras) * rng.uniform(0.5, 0.8)))
        # keep at least half the words
        while keep < len(paras) and sum(len(p.split()) for p in paras[:keep]) < 0.5 * len(article.body.split()):
            keep += 1
        paras = paras[:keep]
    if "typos" in edits:
        paras = [typos(p, rng) for p in paras]
    if "reword" in edits:
        i = rng.randrange(len(paras))
        paras[i] = reword(paras[i], rng)
    if "credit" in edits:
        paras[0] = f"LONDON ({outlet}) - " + paras[0]
        paras.append(f"Reporting by {rng.choice(['A. Smith', 'J. Doe', 'K. Tanaka'])}; editing by {rng.choice(['B. Jones', 'M. Rossi'])}")
    if "boilerplate" in edits:
        paras += [b.format(outlet=outlet) for b in rng.sample(BOILERPLATE, 2)]
    date = (article.date or None)
    if date is not None:
        date = date + timedelta(hours=rng.uniform(0, 36))
    return {"title": title, "body": "\n\n".join(paras), "source": outlet,
            "date": date.isoformat() if date else None}, edits


def labelled_set(articles: list, originals: int, days: int, rng: random.Random):
    """Records (key -> dict), the group of each key (an original's copies share it; a hard
    negative is a group of its own), and the edits made per copy."""
    by_day: dict = defaultdict(list)
    for a in articles:
        if a.source == "Reuters" and a.date and set(a.topics) & COMMODITIES:
            by_day[a.date.date()].append(a)
    busiest = sorted(by_day, key=lambda d: -len(by_day[d]))[:days]
    negatives = [a for d in busiest for a in by_day[d]]
    pool = [a for a in articles if len(a.body.split()) >= MIN_WORDS]
    chosen = rng.sample(pool, originals)
    records, group, edits_of = {}, {}, {}
    seen = set()
    for n, a in enumerate(chosen):
        key = f"o{n}"
        seen.add(id(a))
        records[key] = {"title": a.title, "body": a.body, "source": a.source or "Reuters",
                        "date": a.date.isoformat() if a.date else None}
        group[key] = key
        for c, outlet in enumerate(rng.sample(OUTLETS, rng.randint(1, 3))):
            record, edits = make_copy(a, rng, outlet)
            records[f"o{n}c{c}"] = record
            group[f"o{n}c{c}"] = key
            edits_of[f"o{n}c{c}"] = edits
    for n, a in enumerate(x for x in negatives if id(x) not in seen):
        key = f"n{n}"
        records[key] = {"title": a.title, "body": a.body, "source": a.source,
                        "date": a.date.isoformat() if a.date else None}
        group[key] = key
    return records, group, edits_of, busiest


def write_jsonl(folder: Path, records: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "set.jsonl", "w", encoding="utf-8") as f:
        for key, rec in records.items():
            f.write(json.dumps({"id": key, **{k: v for k, v in rec.items() if v is not None}}) + "\n")


def stories_in(index_dir: Path) -> dict[str, list[str]]:
    """story id -> the record keys (ids' part after #) in it, read from the index."""
    from whoosh import index as whoosh_index
    ix = whoosh_index.open_dir(str(index_dir))
    stories: dict[str, list[str]] = defaultdict(list)
    with ix.searcher() as s:
        for fields in s.all_stored_fields():
            stories[fields.get("story", "")].append(fields["id"])
    return stories


def shingle_jaccard(a: str, b: str) -> float:
    from searchlib.stories.signatures import shingle_hashes, similarity
    return similarity(shingle_hashes(a), shingle_hashes(b))[0]


def pair_scores(pairs_found, group, records, verbatim: float = 0.9):
    """(tp, fp, fp if every real-real pair counted false, positives) over the found pairs."""
    tp = fp = strict_fp = 0
    for a, b in pairs_found:
        real_a, real_b = group[a], group[b]  # the real articles behind them (a copy's original)
        if real_a == real_b:
            tp += 1
        elif (shingle_jaccard(records[real_a]["body"], records[real_b]["body"]) >= verbatim
                or _headline(records[real_a]["title"]) == _headline(records[real_b]["title"])):
            tp += 1  # a real wire story sent twice (the same text, or the same headline that day)
            strict_fp += 1
        else:
            fp += 1
            strict_fp += 1
    return tp, fp, strict_fp


def _headline(title: str) -> str:
    return " ".join(re.findall(r"\w+", (title or "").lower()))


def positives(group) -> set:
    members = defaultdict(list)
    for key, g in group.items():
        members[g].append(key)
    return {tuple(sorted(p)) for keys in members.values() for p in itertools.combinations(keys, 2)}


def part_labelled(args, articles, work: Path) -> tuple:
    import searchlib
    rng = random.Random(args.seed)
    records, group, edits_of, days = labelled_set(articles, args.originals, args.days, rng)
    write_jsonl(work / "labelled" / "corpus", records)
    started = time.perf_counter()
    with searchlib.Index(work / "labelled" / "index") as idx:
        report = idx.update([work / "labelled" / "corpus"], jobs=1)
    seconds = time.perf_counter() - started
    stories = stories_in(work / "labelled" / "index")
    key = lambda i: i.rsplit("#", 1)[-1]
    found = {tuple(sorted((key(a), key(b)))) for ids in stories.values() for a, b in itertools.combinations(ids, 2)}
    pos = positives(group)
    tp, fp, strict_fp = pair_scores(found, group, records)
    found_pos = found & pos
    print(f"\n== labelled set (seed {args.seed}) ==")
    print(f"{args.originals} originals (>= {MIN_WORDS} words) with {len(edits_of)} copies; "
          f"{sum(k.startswith('n') for k in records)} hard negatives: every Reuters commodity "
          f"report of the {len(days)} busiest days ({', '.join(str(d) for d in sorted(days)[:3])}, ...)")
    print(f"indexed {report.articles} articles in {seconds:.1f} s (jobs=1)")
    print(f"pairs found {len(found)}, labelled positive pairs {len(pos)}")
    precision = tp / len(found) if found else 1.0
    print(f"pair precision {precision:.4f} ({tp} right, {fp} false; counting every pair of two "
          f"different real articles as false: {1 - strict_fp / len(found) if found else 1:.4f})")
    print(f"pair recall    {len(found_pos) / len(pos):.4f} ({len(found_pos)} of {len(pos)})")
    missed_by_edit = Counter()
    copies_by_edit = Counter()
    for k, edits in edits_of.items():
        o = group[k]
        for e in edits:
            copies_by_edit[e] += 1
            if tuple(sorted((o, k))) not in found:
                missed_by_edit[e] += 1
    print("original-copy pairs missed, by edit made: " + ", ".join(
        f"{e} {missed_by_edit[e]}/{copies_by_edit[e]}" for e in EDITS))
    from searchlib.stories.signatures import band_keys, shingle_hashes, similarity
    for k in [k for k in edits_of if tuple(sorted((group[k], k))) not in found][:args.show_missed]:
        ha, hb = shingle_hashes(records[group[k]]["body"]), shingle_hashes(records[k]["body"])
        shared_bands = len(set(band_keys(ha)) & set(band_keys(hb)))
        j, c = similarity(ha, hb)
        print(f"  missed {group[k]}-{k}: {'+'.join(edits_of[k])}; shingles {len(ha)}/{len(hb)}, "
              f"bands shared {shared_bands}, Jaccard {j:.2f}, contained {c:.2f}")
    across = sorted((a, b) for a, b in found if group[a] != group[b])
    for a, b in across:
        j = shingle_jaccard(records[a]["body"], records[b]["body"])
        right = pair_scores([(a, b)], group, records)[0]
        print(f"  {'re-sent' if right else 'FALSE'} (Jaccard {j:.2f}): {a} {records[a]['date'][:16]} "
              f"{records[a]['title'][:45]!r} | {b} {records[b]['date'][:16]} {records[b]['title'][:45]!r}")
    return records, group


# --- the sweep -------------------------------------------------------------------------------

def part_sweep(records, group) -> None:
    import numpy as np
    from searchlib.stories import signatures as sig
    from searchlib.stories.linking import within_window
    from datetime import datetime
    keys = list(records)
    dates = {k: datetime.fromisoformat(records[k]["date"]) if records[k].get("date") else None for k in keys}
    pos = positives(group)
    print("\n== sweep (the labelled set in memory; exact check after LSH candidates) ==")
    print("shingle  bands x rows  jaccard/contained  min shingles  candidates  precision (strict)  recall")
    configs = [(5, 24, 3, 0.5, 0.8, 20)]
    configs += [(size, 24, 3, 0.5, 0.8, 20) for size in (3, 4, 6, 7)]
    configs += [(5, bands, rows, 0.5, 0.8, 20) for bands, rows in ((16, 4), (32, 3), (40, 2), (64, 2))]
    configs += [(5, 24, 3, j, c, 20) for j, c in ((0.4, 0.7), (0.4, 0.6), (0.3, 0.7), (0.6, 0.9))]
    configs += [(4, 40, 2, j, c, 20) for j, c in ((0.5, 0.8), (0.4, 0.7), (0.4, 0.6))]
    configs += [(5, 40, 2, j, c, m) for j, c in ((0.4, 0.7), (0.4, 0.6)) for m in (20, 40)]
    configs += [(3, 40, 2, j, c, 20) for j, c in ((0.5, 0.8), (0.4, 0.7))]
    configs += [(5, bands, 2, 0.4, 0.6, 20) for bands in (12, 16, 20, 24, 32)]
    hashes_of = {}
    for size, bands, rows, jac, con, least in configs:
        if size not in hashes_of:
            hashes_of[size] = {k: sig.shingle_hashes(records[k]["body"], size) for k in keys}
        hashes = hashes_of[size]
        buckets = defaultdict(list)
        for k in keys:
            if len(hashes[k]) >= least:
                for b in sig.band_keys(hashes[k], bands, rows):
                    buckets[b].append(k)
        cands = {tuple(sorted(p)) for ks in buckets.values() for p in itertools.combinations(ks, 2)}
        found = set()
        for a, b in cands:
            if not within_window(dates[a], dates[b]):
                continue
            j, c = sig.similarity(hashes[a], hashes[b])
            if j >= jac or c >= con:
                found.add((a, b))
        tp, fp, strict_fp = pair_scores(found, group, records)
        n = len(found) or 1
        print(f"{size:7}  {bands:5} x {rows:<4}  {jac:.1f}/{con:.1f}  min {least:3}  {len(cands):10}  "
              f"{tp / n:.4f} ({1 - strict_fp / n:.4f})  {len(found & pos) / len(pos):.4f}")
    # the window: verified pairs of real articles (no copies made) by days apart, window ignored
    hashes = {k: sig.shingle_hashes(records[k]["body"]) for k in keys if k.startswith("n")}
    buckets = defaultdict(list)
    for k, h in hashes.items():
        for b in sig.band_keys(h):
            buckets[b].append(k)
    apart = Counter()
    for a, b in {tuple(sorted(p)) for ks in buckets.values() for p in itertools.combinations(ks, 2)}:
        j, c = sig.similarity(hashes[a], hashes[b])
        if (j >= 0.5 or c >= 0.8) and dates[a] and dates[b]:
            apart[abs((dates[a] - dates[b]).days)] += 1
    print("verified pairs of hard negatives (real Reuters reports) by days apart, window ignored: "
          + ", ".join(f"{d} d: {n}" for d, n in sorted(apart.items())))


# --- the real corpora --------------------------------------------------------------------------

def part_real(args, work: Path, rng: random.Random) -> None:
    import searchlib
    paths = [*sorted((CORPORA / "reuters21578").glob("reut2-*.sgm")), CORPORA / "bbc",
             CORPORA / "newsarticles_dai2017", CORPORA / "html"]
    started = time.perf_counter()
    with searchlib.Index(work / "real") as idx:
        report = idx.update(paths)
    log(f"real corpora indexed: {report.articles} articles in {time.perf_counter() - started:.0f} s")
    stories = stories_in(work / "real")
    multi = {s: ids for s, ids in stories.items() if len(ids) > 1}
    sizes = Counter(len(ids) for ids in multi.values())
    print("\n== real corpora as they are ==")
    print(f"{report.articles} articles, {len(stories)} stories; {len(multi)} stories have more than one "
          f"article ({sum(len(i) for i in multi.values())} articles); sizes: "
          + ", ".join(f"{n}: {c}" for n, c in sorted(sizes.items())))
    with searchlib.Index(work / "real", create=False) as idx:
        for story_id in rng.sample(sorted(multi), min(20, len(multi))):
            story = idx.copies(multi[story_id][0])
            print(f"\nstory {story.id} ({len(story.copies)} articles)")
            for copy in story.copies[:4]:
                article = idx.get(copy.id)
                body = " ".join(article.body.split())
                ch = copy.changes
                what = ("first" if copy.first else
                        "same text" if ch.none else
                        f"headline {'changed' if ch.headline else 'same'}, +{len(ch.added)} -{len(ch.cut)} ~{len(ch.edited)} paragraphs")
                print(f"  {copy.date.isoformat() if copy.date else 'undated'} {copy.source or '-'} {copy.id}")
                print(f"    {copy.title[:90]!r} [{what}]")
                print(f"    {body[:160]!r}")


# --- threads (follow-ups) ----------------------------------------------------------------------

def _reuters_index(work: Path) -> Path:
    import searchlib
    folder = work / "reuters"
    if not (folder / "searchlib.json").exists():
        started = time.perf_counter()
        with searchlib.Index(folder) as idx:
            report = idx.update(sorted((CORPORA / "reuters21578").glob("reut2-*.sgm")))
        log(f"Reuters-21578 indexed: {report.articles} articles in {time.perf_counter() - started:.0f} s")
    return folder


def _labels(folder: Path) -> dict:
    """id -> (date, set of TOPICS labels) of every indexed article."""
    from whoosh import index as whoosh_index
    ix = whoosh_index.open_dir(str(folder))
    with ix.searcher() as s:
        return {f["id"]: (f.get("date"), {t for t in (f.get("topics") or "").split(",") if t})
                for f in s.all_stored_fields()}


def _right(labels: dict, seed: str, other: str, window: float) -> bool:
    seed_date, seed_topics = labels[seed]
    date, topics = labels[other]
    return (bool(seed_topics & topics) and seed_date is not None and date is not None
            and abs(date - seed_date) <= timedelta(days=window))


def _precision(found: dict, labels: dict, window: float, labelled_only: bool = False) -> tuple:
    """(mean precision over the seeds with any result, seeds with any, micro precision, shown);
    `labelled_only`: the articles with no TOPICS label (Reuters left most unlabelled) left out."""
    per_seed, right, shown = [], 0, 0
    for seed, ids in found.items():
        ids = [i for i in ids if labels[i][1]] if labelled_only else ids
        if not ids:
            continue
        good = sum(_right(labels, seed, other, window) for other in ids)
        per_seed.append(good / len(ids))
        right, shown = right + good, shown + len(ids)
    mean = statistics.mean(per_seed) if per_seed else 0.0
    return mean, len(per_seed), right / shown if shown else 0.0, shown


def part_thread(args, work: Path) -> None:
    """`search thread` against `search similar` on Reuters-21578 (see --help of --parts)."""
    import searchlib
    import searchlib.stories.threads as threads
    folder = _reuters_index(work)
    labels = _labels(folder)
    rng = random.Random(args.seed)
    labelled = sorted(i for i, (date, topics) in labels.items() if topics and date is not None)
    seeds = rng.sample(labelled, min(args.thread_seeds, len(labelled)))
    window = threads.WINDOW_DAYS
    print(f"\n== threads (Reuters-21578: {len(labels)} articles, {len(labelled)} dated with a TOPICS label; "
          f"{len(seeds)} seeds drawn from them, seed {args.seed}) ==")
    print("an article of the top 10 is right when it shares a TOPICS label with the seed and is within "
          "the window of its date; precision is the mean over the seeds given any result (and over all "
          "articles shown)")
    with searchlib.Index(folder, create=False) as idx:
        similar = {seed: [h.id for h in idx.similar(seed, limit=10).hits] for seed in seeds}
        timings = []
        default = (threads.MIN_SHARED, threads.MIN_SCORE)
        variants = [(w, *default) for w in (3, 7, 14, 30)]
        variants += [(window, shared, score) for shared, score in ((3, 0.2), (3, 0.3), (4, 0.25))]
        chosen = None
        for days, shared, score in variants:
            threads.MIN_SHARED, threads.MIN_SCORE = shared, score
            found = {}
            for seed in seeds:
                started = time.perf_counter()
                found[seed] = [a.id for a in idx.thread(seed, limit=10, window_days=days).articles]
                timings.append(time.perf_counter() - started)
            mean, given, micro, shown = _precision(found, labels, days)
            s_mean, _, s_micro, _ = _precision(similar, labels, days)
            l_mean, _, _, l_shown = _precision(found, labels, days, labelled_only=True)
            print(f"window {days:>2} d, shared >= {shared}, score >= {score:.2f}: thread P@10 {mean:.3f} "
                  f"({given}/{len(seeds)} seeds given any; micro {micro:.3f} over {shown} articles; "
                  f"{l_mean:.3f} over the {l_shown} with a label) | similar P@10 {s_mean:.3f} (micro {s_micro:.3f})")
            if (days, shared, score) == (window, *default):
                chosen = found
        threads.MIN_SHARED, threads.MIN_SCORE = default
        # similar as it is today but kept to the window (its best 50 filtered), the same seeds
        windowed = {}
        for seed in seeds:
            seed_date = labels[seed][0]
            windowed[seed] = [h.id for h in idx.similar(seed, limit=50).hits
                              if labels[h.id][0] is not None
                              and abs(labels[h.id][0] - seed_date) <= timedelta(days=window)][:10]
        w_mean, w_given, w_micro, _ = _precision(windowed, labels, window)
        wl_mean = _precision(windowed, labels, window, labelled_only=True)[0]
        sl_mean = _precision(similar, labels, window, labelled_only=True)[0]
        print(f"similar's best 50 kept to the {window}-day window, top 10: P@10 {w_mean:.3f} "
              f"({w_given} seeds given any; micro {w_micro:.3f}; {wl_mean:.3f} over the articles with a "
              f"label); similar as it is over the articles with a label: {sl_mean:.3f}")
        # the same, only on the seeds thread gave something for
        given = [seed for seed in seeds if chosen[seed]]
        t_mean = _precision({s: chosen[s] for s in given}, labels, window)[0]
        s_mean = _precision({s: similar[s] for s in given}, labels, window)[0]
        w_mean = _precision({s: windowed[s] for s in given}, labels, window)[0]
        print(f"on the {len(given)} seeds thread gave any for: thread {t_mean:.3f}, similar {s_mean:.3f}, "
              f"similar kept to the window {w_mean:.3f}; empty threads: {len(seeds) - len(given)}")
        print(f"thread time per seed: p50 {percentile(timings, 0.5) * 1000:.1f} ms, "
              f"p95 {percentile(timings, 0.95) * 1000:.1f} ms (all variants)")
        wrong = [(seed, other) for seed in given for other in chosen[seed] if not _right(labels, seed, other, window)]
        labelled = [(seed, other) for seed, other in wrong if labels[other][1]]
        print(f"\n{len(wrong)} wrong articles in the chosen threads, {len(wrong) - len(labelled)} of them with "
              f"no TOPICS label; {min(args.show_failures, len(labelled))} of those with another label:")
        for seed, other in rng.sample(labelled, min(args.show_failures, len(labelled))):
            one, two = idx.get(seed), idx.get(other)
            shared = next((a.shared for a in idx.thread(seed, limit=10).articles if a.id == other), [])
            print(f"  seed  {labels[seed][0]:%Y-%m-%d} {sorted(labels[seed][1])} {one.title[:70]!r}")
            print(f"  wrong {labels[other][0]:%Y-%m-%d} {sorted(labels[other][1])} {two.title[:70]!r}; "
                  f"shares: {', '.join(shared[:8])}")


# --- cost ------------------------------------------------------------------------------------

class _NoStories:
    """Switches searchlib's stories hooks off in this process (indexing and the collapse)."""

    def __enter__(self):
        import searchlib.indexing.run as run
        import searchlib.querying.searching as searching
        self.saved = (run.STORY_FIELD, searching.extra_copies, searching.annotate)
        run.STORY_FIELD = "(no stories)"
        searching.extra_copies = lambda reader: 0
        searching.annotate = lambda searcher, hits, docnums: None
        return self

    def __exit__(self, *exc):
        import searchlib.indexing.run as run
        import searchlib.querying.searching as searching
        run.STORY_FIELD, searching.extra_copies, searching.annotate = self.saved


def part_cost(args, work: Path) -> None:
    import contextlib
    import searchlib
    from bench import corpus_paths
    from queryset import load_queries
    paths = corpus_paths(CORPORA, quick=not args.full)
    queries = load_queries()
    builds = {"with": [], "without": []}
    cpus = {"with": [], "without": []}  # this process's CPU time (the whole build with --jobs 1)
    for round_ in range(args.rounds):
        for mode in ("without", "with") if round_ % 2 else ("with", "without"):
            folder = work / f"cost-{mode}-{round_}"
            with _NoStories() if mode == "without" else contextlib.nullcontext():
                started, cpu = time.perf_counter(), time.process_time()
                with searchlib.Index(folder) as idx:
                    report = idx.update(paths, jobs=args.jobs)
                builds[mode].append(report.articles / (time.perf_counter() - started))
                cpus[mode].append(time.process_time() - cpu)
            log(f"build {mode} stories, round {round_ + 1}: {builds[mode][-1]:.0f} articles/s, "
                f"{cpus[mode][-1]:.2f} s CPU in this process")
    latencies = {"with": defaultdict(list), "without": defaultdict(list)}
    with searchlib.Index(work / "cost-with-0", create=False) as idx_with, \
            searchlib.Index(work / "cost-without-0", create=False) as idx_without:
        for pass_ in range(args.repeat + 1):
            for q in queries:
                for mode in ("with", "without") if pass_ % 2 else ("without", "with"):
                    idx = idx_with if mode == "with" else idx_without
                    with _NoStories() if mode == "without" else contextlib.nullcontext():
                        started = time.perf_counter()
                        results = idx.search(q.text, since=q.since, until=q.until, limit=10,
                                             all_copies=mode == "without")
                        [(h.title, h.snippet) for h in results]
                        if pass_:  # the first pass warms up
                            latencies[mode][q.text + str(q.since)].append(time.perf_counter() - started)
    p50 = {mode: percentile([statistics.median(v) for v in lat.values()], 0.5) * 1000 for mode, lat in latencies.items()}
    p95 = {mode: percentile([statistics.median(v) for v in lat.values()], 0.95) * 1000 for mode, lat in latencies.items()}
    tput = {mode: statistics.median(v) for mode, v in builds.items()}
    print(f"\n== cost (bench.py {'' if args.full else '--quick'}'s corpora, bench_queries.txt) ==")
    print(f"indexing: {tput['with']:.0f} articles/s with stories, {tput['without']:.0f} without "
          f"({(tput['with'] / tput['without'] - 1) * 100:+.1f} %), medians of {args.rounds} builds each, jobs={args.jobs}")
    cpu = {mode: statistics.median(v) for mode, v in cpus.items()}
    print(f"indexing CPU time of this process (all of it with --jobs 1; the writer's with more): "
          f"{cpu['with']:.2f} s with stories, {cpu['without']:.2f} s without "
          f"({(cpu['with'] / cpu['without'] - 1) * 100:+.1f} %), medians")
    print(f"query p50: {p50['with']:.2f} ms with, {p50['without']:.2f} ms without "
          f"({(p50['with'] / p50['without'] - 1) * 100:+.1f} %); p95 {p95['with']:.2f} / {p95['without']:.2f} ms; "
          f"{len(latencies['with'])} queries, medians of {args.repeat} passes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="labelled,sweep,real,thread,cost")
    parser.add_argument("--originals", type=int, default=300)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--full", action="store_true",
                        help="cost: bench.py's full corpora (27,819 articles), not its --quick ones")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--show-missed", type=int, default=0, help="print this many missed pairs")
    parser.add_argument("--thread-seeds", type=int, default=200, help="seeds drawn for the thread part")
    parser.add_argument("--show-failures", type=int, default=8, help="wrong thread articles printed")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="eval_stories."))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if parts & {"labelled", "sweep"}:
            articles = real_articles()
            log(f"{len(articles)} real articles with a body read")
            records, group = part_labelled(args, articles, work)
            if "sweep" in parts:
                part_sweep(records, group)
        if "real" in parts:
            part_real(args, work, random.Random(args.seed))
        if "thread" in parts:
            part_thread(args, work)
        if "cost" in parts:
            part_cost(args, work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
