#!/usr/bin/env python3
"""Tuning evidence for searchlib's default ranking (issue 7): variations of query grouping,
query-syntax handling, BM25F parameters and IDF, field weights, analyzer and proximity, each
measured on CISI, CRAN and MED against SQLite FTS5, without touching searchlib's code or schema.

    python scripts/ranking_experiments.py                     # every section (about 15 minutes)
    python scripts/ranking_experiments.py --sections baseline final
    python scripts/evaluate.py --experiment --sections ...    # the same

Two ways of running a configuration:

- **whoosh**: the real thing. A `MultifieldParser` built like `searchlib.querying.query.make_parser` (same
  plugins; the group, field boosts and the handling of query-syntax characters vary) and a Whoosh
  searcher with a BM25F weighting, on the index built by `searchlib.Index.update`, or, for analyzer
  variants, on an extra temporary index whose schema is a modified copy of searchlib's text fields.
  Group `today` is searchlib's own `run_search` logic with searchlib's own `parse_query`: AND;
  when nothing matches a plain query (`searchlib.querying.query.is_plain`), the `any_word=True` parse.
- **replica**: a vectorised re-implementation of what Whoosh computes for the words of a query
  over the fields (per-field BM25 with Whoosh's quantised field lengths and per-field IDF, field
  boosts multiplied in, ties by document number), used to sweep hundreds of combinations in
  seconds. Section `check` shows it reproduces Whoosh's numbers exactly.

Each table row gives MAP and nDCG@10 per collection, their means over the three collections, and
those means divided by FTS5's. The issue-7 target: on every collection MAP and nDCG@10 >= FTS5's,
and both means >= 1.05 x FTS5's; rows meeting it are marked `*`. The peer is FTS5 as
scripts/evaluate.py runs it (OR of the query's words, repeats kept).

Needs numpy (pulled in by pytrec-eval-terrier) for the replica.

History: these experiments chose the ranking that became searchlib's default in commit d09f500.
"today" in the tables means searchlib's ranking before that commit (AND, else the OR of the
words; Whoosh's IDF, K1 1.2, title x2, porter), while the index the experiments build now uses
the new default schema, so the "whoosh" rows no longer match their old figures exactly. The
default path itself is measured by scripts/evaluate.py.
"""
from __future__ import annotations

import argparse
import copy
import math
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate as ev  # noqa: E402
import ir_metrics  # noqa: E402

import numpy as np  # noqa: E402
from whoosh import index as windex  # noqa: E402
from whoosh import query as wq  # noqa: E402
from whoosh import scoring  # noqa: E402
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter  # noqa: E402
from whoosh.analysis.analyzers import STOP_WORDS  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.lang.porter import stem as porter  # noqa: E402
from whoosh.lang.porter2 import stem as porter2  # noqa: E402
from whoosh.lang.stopwords import stoplists  # noqa: E402
from whoosh.qparser import AndGroup, MultifieldParser, OrGroup  # noqa: E402
from whoosh.support.charset import accent_map  # noqa: E402

import searchlib  # noqa: E402
import searchlib.querying.query as slq  # noqa: E402
from searchlib.engine.analysis import TOKEN_PATTERN  # noqa: E402
from searchlib.engine.schema import SCHEMA as PROD_SCHEMA  # noqa: E402

FIELDS = ("title", "summary", "body")
NAMES = ("cisi", "cran", "med")
INF = float("inf")


def boosts(title: float, summary: float = 1.0, body: float = 1.0) -> tuple:
    return (("title", title), ("summary", summary), ("body", body))


PROD_BOOSTS = boosts(2.0)
TIER = 1000.0  # the hard word-count tiers searchlib had until b344b35 (WORD_TIER)

# --- analyzers (index and query side) -----------------------------------------------------------

STOPLISTS = {
    "whoosh34": frozenset(STOP_WORDS),       # searchlib today: Whoosh's default 34 words
    "none": frozenset(),
    "en127": frozenset(stoplists["en"]),     # whoosh.lang.stopwords.stoplists["en"] (NLTK's 127)
}
STEMMERS = {"porter": porter, "porter2": porter2}
# An analyzer variant = (stop list, stemmer). "prod" is searchlib's chain.
ANALYZERS = {
    "prod": ("whoosh34", "porter"),
    "nostop": ("none", "porter"),
    "en127": ("en127", "porter"),
    "porter2": ("whoosh34", "porter2"),
    "en127+porter2": ("en127", "porter2"),
}


def make_analyzer(stop: str = "whoosh34", stem: str = "porter", extra_stop: str | None = None):
    """searchlib.engine.analysis.text_analyzer with another stop list and/or stemmer."""
    stoplist = STOPLISTS[stop] | (STOPLISTS[extra_stop] if extra_stop else frozenset())
    return (RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)
            | StopFilter(stoplist=stoplist, minsize=2)
            | StemFilter(stemfn=STEMMERS[stem], cachesize=50_000))


def query_schema(schema: Schema, analyzer: str, query_stop: str) -> Schema:
    """The schema with the text fields' analyzer given an extra stop list (query side only)."""
    schema = copy.deepcopy(schema)
    for f in FIELDS:
        schema[f].analyzer = make_analyzer(*ANALYZERS[analyzer], extra_stop=query_stop)
    return schema


def variant_schema(analyzer: str) -> Schema:
    """searchlib's text fields (title, summary, body) with another analyzer, plus the id."""
    a = make_analyzer(*ANALYZERS[analyzer])
    return Schema(id=ID(stored=True, unique=True),
                  **{f: TEXT(analyzer=a, stored=False, phrase=True) for f in FIELDS})


# --- configurations -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    label: str = ""
    analyzer: str = "prod"         # index (and query) analyzer, see ANALYZERS
    query_stop: str | None = None  # an extra stop list for the query's words only (no reindex):
    #                                replica: every query word; whoosh: the OR pass only (the AND
    #                                pass keeps every word the index has, so `only` still finds only)
    # and | or | coord<f> (OrGroup.factory(f)) | tiers | and_else_<or|tiers> | and_then_<or|tiers>
    # | today. "tiers": OR, plus `tier` per distinct query word an article has (the hard tiers
    # searchlib had until b344b35 are tier=1000). "and_else_X": the
    # AND hits, or X when there are none. "and_then_X": the AND hits, then X's other hits.
    group: str = "or"
    tier: float = TIER
    boosts: tuple = PROD_BOOSTS
    B: float = 0.75
    K1: float = 1.2
    title_B: float | None = None
    idf: str = "whoosh"            # whoosh | bm25 | rsj, see idf_value
    syntax: str = "natural"        # raw | question | natural | words, see handle_syntax
    qtf: float = 0                 # a word the query repeats n times: 0 counts it once (Whoosh's
    #                                normalize() drops repeats), inf n times (FTS5), k > 0
    #                                (k + 1) n / (k + n) times (BM25's query-term saturation)
    pairs: tuple | None = None     # proximity: (slop, boost) sloppy phrases for adjacent words
    # which queries get the OR pass of an and_else_X / and_then_X group: "always"; "operators": not
    # those with AND/OR/NOT, a +/- prefix or a known field: prefix (under OrGroup, `a NOT b` means
    # `a OR (NOT b)`); "plain": searchlib.querying.query.is_plain (quotes and parentheses also count)
    gate: str = "operators"

    def name(self) -> str:
        if self.label:
            return self.label
        t = dict(self.boosts)["title"]
        s = f"{self.group} B={self.B:g} K1={self.K1:g} title={t:g} idf={self.idf} qtf={self.qtf:g}"
        if "tiers" in self.group:
            s += f" tier={self.tier:g}"
        if self.analyzer != "prod":
            s += f" {self.analyzer}"
        if self.title_B is not None:
            s += f" titleB={self.title_B:g}"
        if self.query_stop:
            s += f" qstop={self.query_stop}"
        if self.syntax != "natural":
            s += f" syntax={self.syntax}"
        if self.pairs:
            s += f" pairs(slop={self.pairs[0]}, boost={self.pairs[1]:g})"
        if self.gate != "operators" and ("_then_" in self.group or "_else_" in self.group):
            s += f" gate={self.gate}"
        return s


TODAY = Config(label="searchlib today", group="today", syntax="raw")


def idf_value(kind: str, df: int, n: int) -> float:
    if kind == "whoosh":  # Whoosh's WeightingModel.idf: common words keep a weight of about 1
        return math.log(n / (df + 1)) + 1
    if kind == "bm25":    # Lucene / Elasticsearch BM25
        return math.log(1 + (n - df + 0.5) / (df + 0.5))
    if kind == "rsj":     # Robertson-Sparck Jones, floored at 1e-6 as SQLite FTS5 does
        return max(math.log((n - df + 0.5) / (df + 0.5)), 1e-6)
    raise ValueError(kind)


def qtf_weight(k: float, n: int) -> float:
    """The weight of a word that occurs n times in the query (see Config.qtf)."""
    if not k:
        return 1.0
    if math.isinf(k):
        return float(n)
    return (k + 1) * n / (k + n)


class IdfBM25F(scoring.BM25F):
    """Whoosh's BM25F with another IDF (Whoosh's own is ln(N / (df + 1)) + 1)."""

    def __init__(self, idf: str = "whoosh", **kwargs):
        super().__init__(**kwargs)
        self.idf_kind = idf

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        return idf_value(self.idf_kind, parent.doc_frequency(fieldname, text), parent.doc_count_all())


def weighting(cfg: Config) -> scoring.WeightingModel:
    extra = {"title_B": cfg.title_B} if cfg.title_B is not None else {}
    if cfg.idf == "whoosh":
        return scoring.BM25F(B=cfg.B, K1=cfg.K1, **extra)
    return IdfBM25F(idf=cfg.idf, B=cfg.B, K1=cfg.K1, **extra)


# --- query-syntax characters in natural-language text -------------------------------------------

# `?` is a one-character wildcard only between two word characters (`wom?n`); anywhere else it is
# punctuation: `titles?` must find titles, CRAN's `?slip? effect` must find slip.
_STRAY_QUESTION_MARK = re.compile(r"(?<!\w)\?+|\?+(?!\w)")
# `+` / `-` are operators only when they start a word and the word follows at once (`-missile`,
# `+"north korea"`, `-(a OR b)`); a dash with a space after it is punctuation: searchlib's
# PlusMinusPlugin turns `schemes - DDC, UDC` into `schemes ... ANDNOT ddc`.
_SPACED_PLUS_MINUS = re.compile(r"(?<![^\s(])[+-]+(?![\w\"(])")
_WORD = re.compile(TOKEN_PATTERN)


def handle_syntax(text: str, how: str) -> str:
    if how == "raw":       # as typed
        return text
    if how == "question":  # stray question marks dropped, all other syntax kept
        return _STRAY_QUESTION_MARK.sub(" ", text)
    if how == "natural":   # stray question marks and spaced +/- dropped, all other syntax kept
        return _SPACED_PLUS_MINUS.sub(" ", _STRAY_QUESTION_MARK.sub(" ", text))
    if how == "words":     # every syntax character dropped: the words only
        return " ".join(m.group(0) for m in _WORD.finditer(text))
    raise ValueError(how)


def is_plain(text: str) -> bool:
    return slq.is_plain(text) if hasattr(slq, "is_plain") else True


_OPERATORS = re.compile(r"\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b|(?<![^\s(])[+\-](?=[\w\"(])|\b(?:%s):"
                        % "|".join(name for name in PROD_SCHEMA.names()))


def gets_or_pass(text: str, gate: str) -> bool:
    """Whether a query of an and_then_X / and_else_X group may get the OR pass (Config.gate)."""
    if len(text.split()) < 2:
        return False
    if gate == "always":
        return True
    if gate == "operators":
        return not _OPERATORS.search(text)
    if gate == "plain":
        return is_plain(text)
    raise ValueError(gate)


# --- one collection, prepared once --------------------------------------------------------------

class Bench:
    """One test collection: queries, judgments, the production index, FTS5's scores, and indexes
    with other analyzers built on demand."""

    def __init__(self, name: str, data: Path, workdir: Path):
        self.name = name
        self.col = ev.COLLECTIONS[name]
        self.data = data
        self.workdir = workdir
        self.queries, self.qrels = ev.judged_queries(self.col, data)
        idx, _ = ev.build_searchlib(self.col, data, workdir)
        self._indexes = {"prod": windex.open_dir(str(idx.path))}
        self._replicas: dict[str, Replica] = {}
        db = ev.build_fts5(self.col, data)
        self.fts5 = ir_metrics.evaluate(ev.run_fts5(db, self.queries)[0], self.qrels)
        self.fts5_dedupe = ir_metrics.evaluate(
            ev.run_fts5(db, self.queries, to_query=lambda t: ev.fts5_query(t, dedupe=True))[0], self.qrels)
        db.close()

    def index(self, analyzer: str):
        if analyzer not in self._indexes:
            folder = self.workdir / f"{self.name}-{analyzer}"
            folder.mkdir()
            ix = windex.create_in(str(folder), variant_schema(analyzer))
            writer = ix.writer()
            for a in searchlib.read_articles(self.col.path(self.data, "docs")):
                if isinstance(a, searchlib.Article):
                    writer.add_document(id=f"{self.col.docs}#{a.key}", title=a.title,
                                        summary=a.summary or "", body=a.body)
            writer.commit()
            self._indexes[analyzer] = windex.open_dir(str(folder))
        return self._indexes[analyzer]

    def schema(self, analyzer: str) -> Schema:
        return PROD_SCHEMA if analyzer == "prod" else variant_schema(analyzer)

    def replica(self, analyzer: str) -> "Replica":
        if analyzer not in self._replicas:
            self._replicas[analyzer] = Replica(self.index(analyzer))
        return self._replicas[analyzer]

    def close(self):
        for r in self._replicas.values():
            r.searcher.close()


class Replica:
    """Whoosh's BM25F scoring of the words of a query, vectorised with numpy."""

    def __init__(self, ix):
        self.searcher = ix.searcher()
        self.reader = self.searcher.reader()
        self.n = self.searcher.doc_count_all()
        self.keys = [""] * self.n
        for docnum, stored in self.reader.iter_docs():
            self.keys[docnum] = ev.doc_number(stored["id"])
        self.avgfl = {f: (self.searcher.avg_field_length(f) or 1) for f in FIELDS}
        self.lengths = {f: np.array([self.reader.doc_field_length(d, f, 0) for d in range(self.n)], float)
                        for f in FIELDS}
        self._postings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def postings(self, fieldname: str, text: str):
        key = (fieldname, text)
        if key not in self._postings:
            ids, tfs = [], []
            if key in self.reader:
                m = self.reader.postings(fieldname, text)
                while m.is_active():
                    ids.append(m.id())
                    tfs.append(m.weight())
                    m.next()
            self._postings[key] = (np.array(ids, int), np.array(tfs, float))
        return self._postings[key]

    def rank(self, tokens: list[str], cfg: Config, limit: int = ev.LIMIT) -> list[int]:
        scores = np.zeros(self.n)
        matched = np.zeros(self.n, int)
        counts = Counter(tokens)
        for tok, count in counts.items():
            qw = qtf_weight(cfg.qtf, count)
            hit = np.zeros(self.n, bool)
            for f, boost in cfg.boosts:
                ids, tfs = self.postings(f, tok)
                if not len(ids) or not boost:
                    continue
                b = cfg.title_B if (f == "title" and cfg.title_B is not None) else cfg.B
                idf = idf_value(cfg.idf, len(ids), self.n)
                norm = cfg.K1 * ((1 - b) + b * self.lengths[f][ids] / self.avgfl[f])
                scores[ids] += qw * boost * idf * (tfs * (cfg.K1 + 1)) / (tfs + norm)
                hit[ids] = True
            matched += hit

        def order(docs, tier=0.0):
            s = scores[docs] + tier * matched[docs]
            return docs[np.lexsort((docs, -s))]

        every = np.flatnonzero(matched > 0)
        all_words = np.flatnonzero(matched == len(counts)) if counts else np.array([], int)
        first, _, then = cfg.group.partition("_then_")
        if not then:
            first, _, then = cfg.group.partition("_else_")
        fallback = order(every, cfg.tier if (then or first) == "tiers" else 0.0)
        if cfg.group in ("or", "tiers"):
            return list(fallback[:limit])
        if cfg.group == "and":
            return list(order(all_words)[:limit])
        head = order(all_words)
        if "_else_" in cfg.group:
            return list((head if len(head) else fallback)[:limit])
        if "_then_" in cfg.group:
            rest = fallback[~np.isin(fallback, head)]
            return list(np.concatenate([head, rest])[:limit])
        raise ValueError(f"the replica does not do group {cfg.group!r}")


_TOKENS: dict[tuple, list[str]] = {}


def query_tokens(cfg: Config, text: str) -> list[str]:
    """The query's index terms in order, repeats kept, as the parser analyses its words."""
    key = (cfg.analyzer, cfg.query_stop, text)
    if key not in _TOKENS:
        tokens = [t.text for t in make_analyzer(*ANALYZERS[cfg.analyzer])(handle_syntax(text, "words"))]
        if cfg.query_stop:
            stem = STEMMERS[ANALYZERS[cfg.analyzer][1]]
            stop = {stem(w) for w in STOPLISTS[cfg.query_stop]} | set(STOPLISTS[cfg.query_stop])
            tokens = [t for t in tokens if t not in stop]
        _TOKENS[key] = tokens
    return _TOKENS[key]


def replica_run(bench: Bench, cfg: Config) -> dict[str, list[str]]:
    rep = bench.replica(cfg.analyzer)
    return {qid: [rep.keys[d] for d in rep.rank(query_tokens(cfg, text), cfg)]
            for qid, text in bench.queries.items()}


# --- the real Whoosh path -----------------------------------------------------------------------

def make_parser(schema: Schema, cfg: Config, group) -> MultifieldParser:
    """searchlib.querying.query.make_parser with the schema and field boosts of the configuration."""
    fb = dict(cfg.boosts)
    saved = slq.SCHEMA, slq.DEFAULT_FIELDS
    try:
        slq.SCHEMA, slq.DEFAULT_FIELDS = schema, fb  # make_parser reads these module globals
        try:
            return slq.make_parser(None, group)
        except TypeError:  # an older make_parser without the group argument
            parser = slq.make_parser(None)
            parser.group = group
            return parser
    finally:
        slq.SCHEMA, slq.DEFAULT_FIELDS = saved


def or_group(cfg: Config):
    return OrGroup.factory(float(cfg.group[5:])) if cfg.group.startswith("coord") else OrGroup


def weight_repeats(q: wq.Query, k: float) -> wq.Query:
    """Normalise an unnormalised parse; a term the query holds n times gets its boost multiplied
    by qtf_weight(k, n) (normalize() would keep one copy and forget the rest)."""
    counts = Counter((t.fieldname, t.text) for t in q.leaves() if isinstance(t, wq.Term))
    q = copy.deepcopy(q).normalize()
    if k:
        for leaf in q.leaves():
            if isinstance(leaf, wq.Term):
                leaf.boost *= qtf_weight(k, counts[(leaf.fieldname, leaf.text)])
    return q


def tiered(q: wq.Query, cfg: Config) -> wq.Query:
    """An OR of the query's word clauses, each adding `tier` to an article's score when it matches
    (searchlib's partial-match fallback until b344b35, with tier=1000); repeats weighted by qtf."""
    clauses = [c.normalize() for c in (q.subqueries if isinstance(q, wq.Or) else [q])]
    counts = Counter(c for c in clauses if c is not wq.NullQuery)
    clauses = []
    for c, n in counts.items():
        c = copy.deepcopy(c)
        for leaf in c.leaves():
            if isinstance(leaf, wq.Term):
                leaf.boost *= qtf_weight(cfg.qtf, n)
        clauses.append(c)
    return wq.Or([wq.Or([wq.ConstantScoreQuery(c, cfg.tier), c]) if cfg.tier else c for c in clauses])


def proximity(q: wq.Query, cfg: Config) -> wq.Query:
    """The query ORed with a sloppy phrase for every pair of adjacent query words, per field."""
    slop, boost = cfg.pairs
    words = list(dict.fromkeys(leaf.text for leaf in q.leaves()
                               if isinstance(leaf, wq.Term) and leaf.fieldname == "body"))
    extra = [wq.Phrase(f, [a, b], slop=slop, boost=boost * w)
             for a, b in zip(words, words[1:]) for f, w in cfg.boosts if f != "summary"]
    return wq.Or([q] + extra) if extra else q


def whoosh_run(bench: Bench, cfg: Config):
    """Every query through a real Whoosh parser and searcher: (run, errors, empty)."""
    ix = bench.index(cfg.analyzer)
    schema = bench.schema(cfg.analyzer)
    and_parser = make_parser(schema, cfg, AndGroup)
    or_schema = query_schema(schema, cfg.analyzer, cfg.query_stop) if cfg.query_stop else schema
    or_parser = make_parser(or_schema, cfg, or_group(cfg))
    keys = bench.replica(cfg.analyzer).keys
    group = cfg.group
    first, _, then = group.partition("_then_")
    if not then:
        first, _, then = group.partition("_else_")
    run, errors, empty = {}, 0, 0
    with ix.searcher(weighting=weighting(cfg)) as s:

        def search(q):
            if cfg.pairs:
                q = proximity(q, cfg)
            return [d for _, d in s.search(q, limit=ev.LIMIT).top_n]

        def fallback(text, kind):
            q = or_parser.parse(text, normalize=False)
            return search(tiered(q, cfg) if kind == "tiers" else weight_repeats(q, cfg.qtf))

        for qid, typed in bench.queries.items():
            text = handle_syntax(typed, cfg.syntax)
            try:
                if group == "today":  # searchlib.querying.searching.run_search, with searchlib's own parsing
                    docs = search(slq.parse_query(text))
                    if not docs and is_plain(text) and len(text.split()) > 1:
                        docs = search(slq.parse_query(text, any_word=True))
                elif group == "and":
                    docs = search(weight_repeats(and_parser.parse(text, normalize=False), cfg.qtf))
                elif group in ("tiers", "or") or group.startswith("coord"):
                    docs = fallback(text, group)
                else:
                    docs = search(weight_repeats(and_parser.parse(text, normalize=False), cfg.qtf))
                    if not gets_or_pass(text, cfg.gate):
                        pass
                    elif "_else_" in group and not docs:
                        docs = fallback(text, then)
                    elif "_then_" in group and len(docs) < ev.LIMIT:
                        seen = set(docs)
                        docs += [d for d in fallback(text, then) if d not in seen]
            except Exception:  # searchlib reports these as QueryError
                errors += 1
                docs = []
            if not docs:
                empty += 1
            run[qid] = [keys[d] for d in docs[:ev.LIMIT]]
    return run, errors, empty


# --- measuring and printing ---------------------------------------------------------------------

KEY_METRICS = ("map", "ndcg@10")


def measure(benches: list[Bench], cfg: Config, engine: str = "replica") -> dict:
    out = {"config": cfg, "engine": engine}
    started = time.perf_counter()
    for b in benches:
        if engine == "replica":
            run, errors, empty = replica_run(b, cfg), None, None
        else:
            run, errors, empty = whoosh_run(b, cfg)
        out[b.name] = ir_metrics.evaluate(run, b.qrels)
        out[b.name]["errors"], out[b.name]["empty"] = errors, empty
    out["seconds"] = time.perf_counter() - started
    for m in ir_metrics.METRICS:
        out[m] = ir_metrics.mean(out[b.name][m] for b in benches)
        out[m + "/fts5"] = out[m] / ir_metrics.mean(b.fts5[m] for b in benches)
    out["meets"] = meets(benches, out)
    return out


def meets(benches: list[Bench], r: dict) -> bool:
    each = all(r[b.name][m] >= b.fts5[m] for b in benches for m in KEY_METRICS)
    return each and all(r[m + "/fts5"] >= 1.05 for m in KEY_METRICS)


def quality(r: dict) -> float:
    """What the sweeps maximise: the two means relative to FTS5, added."""
    return r["map/fts5"] + r["ndcg@10/fts5"]


def header(benches: list[Bench], title: str) -> str:
    cols = " ".join(f"{b.name + ' MAP':>8} {b.name + ' nDCG':>9}" for b in benches)
    return (f"\n## {title}\n{'configuration':<64} {cols} {'MAP':>6} {'nDCG@10':>7} "
            f"{'MAP/fts':>7} {'nDCG/fts':>8}")


def row(benches: list[Bench], r: dict, label: str | None = None) -> str:
    cols = " ".join(f"{r[b.name]['map']:>8.4f} {r[b.name]['ndcg@10']:>9.4f}" for b in benches)
    extra = ""
    if r.get("engine") == "whoosh":
        extra = "  empty " + "/".join(str(r[b.name]["empty"]) for b in benches)
        if any(r[b.name]["errors"] for b in benches):
            extra += " errors " + "/".join(str(r[b.name]["errors"]) for b in benches)
    return (f"{(label or r['config'].name())[:63]:<64} {cols} {r['map']:>6.4f} {r['ndcg@10']:>7.4f} "
            f"{r['map/fts5']:>7.3f} {r['ndcg@10/fts5']:>8.3f}{' *' if r['meets'] else '  '}{extra}")


def fts5_row(benches: list[Bench], attr: str, label: str) -> str:
    fake = {b.name: getattr(b, attr) for b in benches}
    for m in KEY_METRICS:
        fake[m] = ir_metrics.mean(getattr(b, attr)[m] for b in benches)
        fake[m + "/fts5"] = fake[m] / ir_metrics.mean(b.fts5[m] for b in benches)
    fake["meets"] = False
    return row(benches, fake, label)


def table(benches, title, configs, engine="replica", sort=False, top=None, peer=True):
    results = []
    print(header(benches, f"{title} [{engine}]"))
    if peer:
        print(fts5_row(benches, "fts5", "SQLite FTS5 (the peer)"))
    for c in configs:
        results.append(measure(benches, c, engine))
        if not sort:
            print(row(benches, results[-1]))
            sys.stdout.flush()
    if sort:
        results.sort(key=lambda r: -quality(r))
        for r in results[:top]:
            print(row(benches, r))
    sys.stdout.flush()
    return results


def best(results: list[dict]) -> Config:
    return max(results, key=lambda r: (r["meets"], quality(r)))["config"]


# --- the sections -------------------------------------------------------------------------------
# Each section starts from the best configuration found so far (state["best"]), so the sections
# run in order are a coordinate search; each prints every alternative it tried.

START = Config(group="or")  # today's BM25F and analyzer, words ORed


def section_baseline(benches, state):
    print(header(benches, "Baselines"))
    print(fts5_row(benches, "fts5", "SQLite FTS5: OR of the query's words, repeats kept (peer)"))
    print(fts5_row(benches, "fts5_dedupe", "SQLite FTS5: OR of the distinct words"))
    print(row(benches, measure(benches, TODAY, "whoosh")))


def section_check(benches, state):
    print(header(benches, "Replica check: each configuration by the replica, then by Whoosh"))
    for c in (Config(syntax="words", B=0.3, K1=2.0, boosts=boosts(1.0)),
              Config(syntax="words", idf="rsj", K1=2.0, qtf=8.0, group="and_then_or"),
              Config(syntax="words", analyzer="en127+porter2", idf="bm25", qtf=INF, group="tiers",
                     tier=1.0, boosts=boosts(0.5))):
        print(row(benches, measure(benches, c, "replica")))
        print(row(benches, measure(benches, c, "whoosh")))


def section_syntax(benches, state):
    configs = [replace(c, syntax=s, label=f"{c.label}, syntax={s}")
               for c in (replace(TODAY, label="today's grouping"), replace(START, label="OR"))
               for s in ("raw", "question", "natural", "words")]
    table(benches, "Query-syntax characters in natural-language questions (today's BM25F)",
          configs, "whoosh")


def section_grouping(benches, state):
    labels = {
        "today": "today: AND, else OR of the words if plain",
        "and": "AND", "or": "OR", "coord0.9": "OrGroup.factory(0.9)", "coord0.5": "OrGroup.factory(0.5)",
        "tiers": "OR in word-count tiers (WORD_TIER=1000)",
        "and_else_tiers": "AND, else tiers (any query)",
        "and_else_or": "AND, else OR", "and_then_or": "AND hits first, then OR hits",
        "and_then_tiers": "AND hits first, then tiers"}
    table(benches, "How the query groups words (today's BM25F: B=0.75 K1=1.2 title x2, syntax=natural)",
          [replace(START, group=g, label=label) for g, label in labels.items()], "whoosh")


def section_bm25(benches, state):
    b0 = state.get("best", START)
    grid = [replace(b0, idf=idf, qtf=qtf, B=B, K1=K1)
            for idf in ("whoosh", "bm25", "rsj") for qtf in (0, 2.0, 8.0, INF)
            for B in (0.5, 0.75, 0.9, 1.0) for K1 in (0.9, 1.2, 1.6, 2.0, 2.5, 3.0)]
    res = table(benches, f"BM25: IDF x query-term repeats x B x K1 ({len(grid)}), best 10", grid,
                sort=True, top=10)
    for attr, values in (("idf", ("whoosh", "bm25", "rsj")), ("qtf", (0, 2.0, 8.0, INF)),
                         ("B", (0.5, 0.75, 0.9, 1.0)), ("K1", (0.9, 1.2, 1.6, 2.0, 2.5, 3.0))):
        print(f"best with each {attr}:")
        for v in values:
            print(row(benches, max((r for r in res if getattr(r["config"], attr) == v), key=quality)))
    state["best"] = best(res)


def section_fields(benches, state):
    b0 = state.get("best", START)
    configs = [replace(b0, boosts=boosts(t)) for t in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)]
    res = table(benches, "Field weights: title boost (summary 1, body 1)", configs)
    b1 = best(res)
    res += table(benches, "The title field's own B", [replace(b1, title_B=tb) for tb in (0.3, 0.5, 1.0)],
                 peer=False)
    state["best"] = best(res)


def section_analyzer(benches, state):
    b0 = state.get("best", START)
    configs = [replace(b0, analyzer=a) for a in ANALYZERS]
    configs += [replace(b0, query_stop="en127"), replace(b0, analyzer="porter2", query_stop="en127")]
    res = table(benches, "Analyzer: stop list and stemmer (temporary indexes; qstop = query side only)",
                configs)
    a0 = best(res)
    grid = [replace(a0, B=B, K1=K1, qtf=q, boosts=boosts(t)) for B in (0.6, 0.75, 0.9) for K1 in (1.6, 2.0, 2.5, 3.0)
            for q in (4.0, 8.0, INF) for t in (0.5, 0.75, 1.0)]
    res += table(benches, f"B x K1 x qtf x title again with analyzer {a0.analyzer}, best 10", grid,
                 sort=True, top=10)
    state["best"] = best(res)


def section_tiers(benches, state):
    b0 = state.get("best", START)
    configs = [replace(b0, group=g, tier=t) for g in ("tiers", "and_then_tiers")
               for t in (0.0, 0.5, 1.0, 2.0, 4.0, TIER)]
    configs += [replace(b0, group=g) for g in ("and_then_or", "and_else_or", "and_else_tiers", "or")]
    table(benches, "Grouping again with the tuned BM25: soft and hard word-count tiers (WORD_TIER)", configs)


def section_proximity(benches, state):
    b0 = state.get("best", START)
    table(benches, "Proximity: sloppy phrases for adjacent query-word pairs, per field",
          [b0] + [replace(b0, pairs=p) for p in ((1, 0.25), (1, 0.5), (5, 0.5))], "whoosh")


# The recommendation, from the sections above: the coordinate search ends at title 0.5-0.75 and
# K1 2.5-3 (title 0.5 is what every leave-one-collection-out fold picks); the 127-word stop list is
# applied to the OR pass only (same numbers as in the index, and `only`, `who`, `more` can still be
# searched for on their own), with Porter2 in the index.
RECOMMENDED = Config(label="", group="and_then_or", analyzer="porter2", query_stop="en127", idf="rsj",
                     qtf=8.0, B=0.75, K1=3.0, boosts=boosts(0.5), tier=0.0, syntax="natural")


def section_final(benches, state):
    final = RECOMMENDED
    if state.get("best"):
        print(f"\n(the coordinate search ended at: {state['best'].name()})")
    rows = [("searchlib today", TODAY), ("RECOMMENDED", final),
            ("  with OR only (no AND pass)", replace(final, group="or")),
            ("  with the OR pass for every query (gate=always)", replace(final, gate="always")),
            ("  without the OR pass for quotes, parentheses (gate=plain)", replace(final, gate="plain")),
            ("  with the query as typed (syntax=raw)", replace(final, syntax="raw")),
            ("  with only stray ? removed (syntax=question)", replace(final, syntax="question")),
            ("  with AND, else OR (OR only when AND finds nothing)", replace(final, group="and_else_or")),
            ("  with word-count tiers 0.5 in the OR pass", replace(final, group="and_then_tiers", tier=0.5)),
            ("  with word-count tiers 1 in the OR pass", replace(final, group="and_then_tiers", tier=1.0)),
            ("  with word-count tiers 1000 in the OR pass", replace(final, group="and_then_tiers", tier=TIER))]
    print(f"\nRECOMMENDED = {final.name()}")
    print(header(benches, "The recommendation through real Whoosh, and its query-handling alternatives [whoosh]"))
    print(fts5_row(benches, "fts5", "SQLite FTS5 (the peer)"))
    for label, c in rows:
        print(row(benches, measure(benches, c, "whoosh"), label))
        sys.stdout.flush()

    print(header(benches, "Ablation: the recommendation with one choice undone [replica]"))
    print(fts5_row(benches, "fts5", "SQLite FTS5 (the peer)"))
    print(row(benches, measure(benches, final), "recommended: " + final.name()))
    undo = {
        "IDF: Whoosh's ln(N/(df+1))+1 (today)": dict(idf="whoosh"),
        "IDF: Lucene's ln(1+(N-df+.5)/(df+.5))": dict(idf="bm25"),
        "query repeats counted once (today)": dict(qtf=0),
        "query repeats counted linearly (as FTS5)": dict(qtf=INF),
        "K1=1.2 (today)": dict(K1=1.2),
        "K1=2.5": dict(K1=2.5),
        "B=0.5": dict(B=0.5),
        "B=0.9": dict(B=0.9),
        "title x2 (today)": dict(boosts=PROD_BOOSTS),
        "title x1": dict(boosts=boosts(1.0)),
        "no 127-word query stop list (34 words, today)": dict(query_stop=None),
        "127 stop words in the index too": dict(analyzer="en127+porter2", query_stop=None),
        "no stop words at all": dict(analyzer="nostop", query_stop=None),
        "stemmer: porter (today)": dict(analyzer="prod"),
    }
    for label, change in undo.items():
        print(row(benches, measure(benches, replace(final, **change)), "  " + label))

    print("\nLeave one collection out: B, K1, query repeats and title boost chosen on the other two"
          " collections, then scored on the held-out one [replica]")
    grid = [replace(final, B=B, K1=K1, qtf=q, boosts=boosts(t)) for B in (0.5, 0.75, 0.9, 1.0)
            for K1 in (1.2, 1.6, 2.0, 2.5, 3.0) for q in (0, 4.0, 8.0, INF) for t in (0.5, 0.75, 1.0, 2.0)]
    per = {c: {b.name: ir_metrics.evaluate(replica_run(b, c), b.qrels) for b in benches} for c in grid}
    for held in benches:
        others = [b for b in benches if b is not held]
        chosen = max(grid, key=lambda c: sum(per[c][b.name][m] / b.fts5[m] for b in others for m in KEY_METRICS))
        got = per[chosen][held.name]
        print(f"  {held.name} held out: chose B={chosen.B:g} K1={chosen.K1:g} qtf={chosen.qtf:g} "
              f"title={dict(chosen.boosts)['title']:g} -> MAP {got['map']:.4f} (FTS5 {held.fts5['map']:.4f}), "
              f"nDCG@10 {got['ndcg@10']:.4f} (FTS5 {held.fts5['ndcg@10']:.4f})")


SECTIONS = {
    "baseline": section_baseline, "check": section_check, "syntax": section_syntax,
    "grouping": section_grouping, "bm25": section_bm25, "fields": section_fields,
    "analyzer": section_analyzer, "tiers": section_tiers, "proximity": section_proximity,
    "final": section_final,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ev.DATA)
    ap.add_argument("--collections", nargs="+", choices=NAMES, default=list(NAMES))
    ap.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    args = ap.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="searchlib-exp-") as tmp:
        benches = [Bench(n, args.data, Path(tmp)) for n in args.collections]
        print(f"prepared {', '.join(b.name for b in benches)} in {time.perf_counter() - started:.0f}s",
              file=sys.stderr)
        state: dict = {}
        try:
            for name in args.sections:
                t = time.perf_counter()
                SECTIONS[name](benches, state)
                print(f"[{name}: {time.perf_counter() - t:.0f}s]", file=sys.stderr)
        finally:
            for b in benches:
                b.close()
    print(f"\n{time.perf_counter() - started:.0f}s in all", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
