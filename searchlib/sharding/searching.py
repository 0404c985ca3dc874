"""Searching a sharded index: the query goes to every shard and the hits are merged, each scored
with the statistics of the whole index, so that hits, scores, totals and facets are those of one
unsharded index of the same articles.

Stage: sharding (searching side), over querying. A search runs in phases, each one
`executor.map` over the shards of a module-level function taking and returning plain data:

1. `survey`: each shard's article count, field lengths, language codes and the document
   frequencies of every word the query has or expands to there (wildcards, fuzzy words, each
   language's forms); summed (`statistics.total`). Parsed in the shard's own languages; when
   a shard's differ from the whole index's, the frequencies are asked again in those.
2. `matches`: each shard's best hits (document number, score, date, story) for the query, and
   for its all-words-or-some fallback, scored by a `GlobalSearcher`, with the match counts; the
   merge decides the fallback on the summed counts, as run_search does on one index.
   A typed question's feedback (its best hits' key words, found over all shards at once by
   `feedback_words`) asks the shards' matches again with those words added.
3. `page`: the hits of the page shown, with their snippets, the facet counts of all matches and
   the copies of the page's stories, from the shards that hold them.

What reads words or articles of several shards at once ("did you mean", similar articles, the
feedback's key words, an article, its copies, its history) runs as one task that opens every
shard as one Whoosh reader (`combined`): shards live on storage every worker reads.

Ties (the same score, or the same date when sorted by date) are broken by shard, then by
document number in the shard; an unsharded index breaks them by document number alone, so the
order of tied hits is not the same (the set is). Deleted articles count in BM25F's article
count and frequencies as Whoosh counts them; an index reindexed shard by shard holds other
deletions than an unsharded one would, so scores are equal only while neither holds any
(Whoosh drops them when it merges segments).
"""
from __future__ import annotations

import atexit
import hashlib
import math
import os
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from whoosh import query as wq
from whoosh.reading import MultiReader
from whoosh.searching import Searcher

from ..dates import to_utc_aware
from ..engine.layout import TOC_FILE
from ..engine.schema import DEFAULT_FIELDS, SCHEMA, SNIPPET_FIELD
from ..engine.storage import close_abandoned_files, open_folder, open_searcher
from ..engine.summaries import commit_part, reading
from ..errors import IndexFormatError, QueryError, SearchlibError
from ..querying.facets import (DATE_FACETS, NONE, TOP, UNDATED, check_facets, column_values,
                               count_facets, dated_docs, timeline)
from ..querying.languages import languages_in
from ..querying.query import content_words, is_plain, parse_query
from ..querying.searching import (FALLBACK_BELOW, FEEDBACK_CHARS, FEEDBACK_DOCS, FEEDBACK_MIN_WORDS,
                                  FEEDBACK_TERMS, FEEDBACK_WEIGHT, FRESH_POOL, MAX_EXPANSIONS,
                                  MAX_TOTAL_EXPANSIONS, RANKING, SORTS, SUGGEST_BELOW, DateOrder,
                                  Hit, Results, bounded, date_conjuncts, find, key_words,
                                  matched_words, to_hit, typed)
from ..engine.ranking import top_matches
from ..stories.fields import STORY_FIELD
from ..stories.grouping import extra_copies, story_members
from . import statistics
from .execution import Executor, LocalExecutor
from .statistics import GlobalSearcher, ShardFacts, Totals


@dataclass
class Request:
    """What a search asks (plain data, the same for every shard)."""

    text: str
    since: datetime | None = None   # naive UTC, as run_search takes them
    until: datetime | None = None
    limit: int = 10
    offset: int = 0
    sort: str = "relevance"
    now: datetime | None = None
    fragments: int = 1
    facets: tuple = ()
    fresh: float | None = None
    langs: tuple = ()
    all_copies: bool = False


@dataclass
class Found:
    """One hit of a shard before the merge: where it is, its score and what the merge orders by."""

    docnum: int
    score: float
    date: int | None      # the raw date column value (None: undated)
    story: str | None     # its story id (stored), for collapsing copies


@dataclass
class Matches:
    """A shard's best hits for the query (`first`) and for its any-word fallback (`fallback`,
    None when the shard did not look: it had FALLBACK_BELOW complete matches or more)."""

    first: list[Found]
    total: int
    fallback: list[Found] | None = None
    fallback_total: int = 0
    unknown: list = field(default_factory=list)  # terms of the fallback without index-wide figures


@dataclass
class Page:
    """A shard's part of the page: its hits (rank, Hit), its facet counts, and the live
    articles of the asked stories it holds (id, source, date)."""

    hits: list = field(default_factory=list)
    facets: dict = field(default_factory=dict)
    members: dict = field(default_factory=dict)


# ---------------------------------------------------------------- shards, opened once per process

_OPEN: dict[str, tuple] = {}  # shard path → (generation, searcher); reopened after a commit
_RETIRED: list = []           # the searchers replaced: closed at the next replacement
_COMBINED: dict[tuple, Searcher] = {}
_LOCK = threading.Lock()


def open_shard(path: str):
    """A searcher (ranked by RANKING) on the newest commit of the shard at `path`, kept for the
    next task in this process until a commit makes a newer one."""
    try:
        generation = _version(path)  # (a rebuild, or another folder at a relative path: reopened)
    except OSError as exc:
        raise _damaged(path, exc) from None
    with _LOCK:
        kept = _OPEN.get(path)
        if kept is not None and kept[0] == generation:
            return kept[1]
    try:
        fd = open_folder(Path(path))
    except OSError as exc:
        raise _damaged(path, exc) from None
    failure = None
    try:
        searcher = open_searcher(Path(path), fd, weighting=RANKING)
    except Exception as exc:  # (Whoosh's errors of a folder damaged by hand)
        os.close(fd)
        if isinstance(exc, SearchlibError):
            raise
        failure = exc.__class__.__name__, str(exc)
        close_abandoned_files(exc)
    except BaseException:
        os.close(fd)
        raise
    if failure is not None:
        raise _damaged(path, "%s: %s" % failure)
    with _LOCK:
        for old_searcher, old_fd in _RETIRED:  # replaced one commit ago: no task still uses it
            old_searcher.close()
            os.close(old_fd)
        _RETIRED[:] = [kept[1:]] if kept is not None else []
        _OPEN[path] = (generation, searcher, fd)
    return searcher


def close_shards() -> None:
    """Close the shard searchers this process keeps (also done at exit)."""
    with _LOCK:
        kept = [entry[1:] for entry in _OPEN.values()] + list(_RETIRED)
        _OPEN.clear()
        _RETIRED.clear()
        _COMBINED.clear()
        _PARSED.clear()
    for searcher, fd in kept:
        searcher.close()
        os.close(fd)


atexit.register(close_shards)


_TOC = re.compile(TOC_FILE)  # a Whoosh commit's table of contents


def _damaged(path: str, why) -> IndexFormatError:
    """The error for a shard that cannot be opened (deleted, emptied or garbled by hand)."""
    shard = Path(path)
    if isinstance(why, Exception):
        why = f"{type(why).__name__}: {why}"
    return IndexFormatError(shard.parent, f"its shard {shard.name} cannot be read ({why})")


def generation(paths: list[str]) -> int:
    """The sum of the shards' newest commit numbers: it grows with every commit of any shard."""
    try:
        return sum(_generation(path) for path in paths)
    except OSError as exc:
        raise _damaged(paths[0], exc) from None


def _version(path: str) -> tuple:
    """Which folder is at `path` (device, inode) and its newest commit: what a kept searcher
    must still match."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, _generation(path)


def _generation(path: str) -> int:
    """The number of the shard's newest commit, from its folder's file names (Whoosh's own
    latest_generation, without reading the table of contents)."""
    return max((int(m.group(1)) for m in map(_TOC.fullmatch, os.listdir(path)) if m), default=-1)


def combined(paths: list[str]) -> Searcher:
    """One searcher on all the shards' segments, in shard order (shard i's documents numbered
    after those of shards 0 .. i-1), with the index-wide statistics Whoosh computes itself."""
    searchers = [open_shard(path) for path in paths]
    key = tuple(searchers)  # (the searchers kept for these folders and commits: one key each)
    with _LOCK:
        found = _COMBINED.get(key)
        if found is None:
            _COMBINED.clear()
            leaves = [leaf for s in searchers for leaf, _ in s.reader().leaf_readers()]
            found = _COMBINED[key] = Searcher(MultiReader(leaves), weighting=RANKING, closereader=False)
    return found


def _offsets(paths: list[str]) -> list[int]:
    """Where each shard's document numbers start in `combined`."""
    out, base = [], 0
    for path in paths:
        out.append(base)
        base += open_shard(path).reader().doc_count_all()
    return out


# ---------------------------------------------------------------- the query on one shard

_PARSED: dict = {}  # (shard reader, request, languages) → _parsed's (query, filter), the last few
_PARSED_MOST = 32


def _parsed(searcher, request: Request, languages) -> tuple:
    """The query (wildcards expanded in this shard's words) and the filter (date spans, --lang)
    of run_search, built in the same way; remembered for the next phases of the same search."""
    return _remembered(("query", searcher.reader(), request, languages),
                       lambda: _parse(searcher, request, languages))


def _remembered(what: tuple, make):
    kind, reader, request, languages = what
    key = (kind, tuple(_segment_key(leaf) for leaf, _ in reader.leaf_readers()), request.text,
           request.now, request.since, request.until, tuple(request.langs), tuple(languages))
    with _LOCK:
        if key in _PARSED:
            return _PARSED[key]
    found = make()
    with _LOCK:
        if len(_PARSED) >= _PARSED_MOST:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = found
    return found


_TEXTS: dict = {}  # (text, now, languages, any word) → the parsed query, before any shard's words


def _parsed_text(text: str, now, languages, any_word: bool = False):
    """parse_query's query, parsed once in this process for all the shards it searches (it does
    not depend on a shard: only expanding its wildcards does, which makes a new query)."""
    key = (text, now, tuple(languages), any_word)
    with _LOCK:
        if key in _TEXTS:
            return _TEXTS[key]
    q = parse_query(text, now, any_word=any_word, languages=languages)
    with _LOCK:
        if len(_TEXTS) >= _PARSED_MOST:
            _TEXTS.pop(next(iter(_TEXTS)))
        _TEXTS[key] = q
    return q


def _parse(searcher, request: Request, languages) -> tuple:
    reader = searcher.reader()
    q = _parsed_text(request.text, request.now, languages)
    q, spans = date_conjuncts(q)
    if request.since or request.until:
        spans.append((request.since, request.until))
    allowed = None
    if spans:
        allowed = set.intersection(*(dated_docs(reader, a, b) for a, b in spans)) or {-1}
    if request.langs:
        docs = set(searcher.docs_for_query(wq.Or([wq.Term("lang", code) for code in request.langs])))
        if allowed is not None:
            docs &= allowed
        allowed = docs or {-1}
    return bounded(q, reader, request.text), allowed


def _fallback(reader, request: Request, languages, q):
    """The any-word query of a plain query of several words (None when there is none, or it is
    the query itself: a lone phrase)."""
    text = request.text
    if not (len(text.split()) > 1 and is_plain(text)):
        return None
    any_q = _remembered(("any", reader, request, languages), lambda: bounded(
        _parsed_text(text, request.now, languages, any_word=True), reader, text))
    return None if any_q == q else any_q


def survey(path: str, request: Request, languages: tuple | None = None) -> ShardFacts:
    """Task: a shard's figures and the frequencies there of every word the query may score
    (parsed in `languages`, else in the shard's own, which it reports)."""
    searcher = open_shard(path)
    reader = searcher.reader()
    own = languages_in(reader)
    part = statistics.facts(reader, extra=0 if request.all_copies else extra_copies(reader) + joined(reader))
    part.frequencies = _frequencies(searcher, request, tuple(languages or own))
    part.languages = own
    part.expansions = _expansions(searcher, request, tuple(languages or own))
    return part


def _expansions(searcher, request: Request, languages: tuple) -> list:
    """(typed, words) of each wildcard and fuzzy word of the query, the words of this shard it
    stands for: run_search's limits hold for all the shards' words together (`_check_limits`)."""
    q, _ = date_conjuncts(_parsed_text(request.text, request.now, languages))
    out = []
    for leaf in q.leaves():
        if isinstance(leaf, wq.MultiTerm):
            found = bounded(leaf, searcher.reader(), request.text)
            out.append((typed(leaf), sorted({t.text for t in found.leaves() if isinstance(t, wq.Term)})))
    return out


def _check_limits(text: str, parts: list[ShardFacts]) -> None:
    """searching.bounded's refusals, for the words all the shards hold: a wildcard or fuzzy word
    standing for more than MAX_EXPANSIONS words, or all of them for more than
    MAX_TOTAL_EXPANSIONS (each shard checked its own words already; the same messages)."""
    budget = MAX_TOTAL_EXPANSIONS
    for i, (name, _) in enumerate(parts[0].expansions if parts else []):
        words = set().union(*(set(part.expansions[i][1]) for part in parts))
        count = min(len(words), min(MAX_EXPANSIONS, budget) + 1)
        if count > MAX_EXPANSIONS:
            raise QueryError(text, f"{name} stands for more than {MAX_EXPANSIONS:,} "
                                   f"different words; make it more specific")
        budget -= count
        if budget < 0:
            raise QueryError(text, f"its wildcard and fuzzy words stand for more than "
                                   f"{MAX_TOTAL_EXPANSIONS:,} index words in all; use fewer of "
                                   f"them, or more specific ones")


_JOINED: dict = {}  # the segments' ids and deletion counts → joined()
JOINED = "joined"  # the summaries' part of a shard's commit that holds joined()'s count


def joined(reader) -> int:
    """The stories whose articles here joined them from another shard: those of no article
    here that started a story (a story's id is made from its first article's id). With
    grouping.extra_copies of each shard, the number of copies a collapsed page may pass over in
    the whole index (exact unless a story's first article was deleted). Read from the summaries
    the shard keeps of its commit (sharding.building), else counted (`count_joined`)."""
    if STORY_FIELD not in reader.schema:
        return 0
    key = tuple(_segment_key(leaf) for leaf, _ in reader.leaf_readers())
    if key not in _JOINED:
        with reading(reader) as store:
            found = commit_part(store, reader, JOINED, count_joined).get("count")
        if not isinstance(found, int) or isinstance(found, bool) or not 0 <= found <= reader.doc_count_all():
            found = count_joined(reader)["count"]  # (a part that is not a count: counted again)
        if len(_JOINED) >= 64:
            _JOINED.clear()
        _JOINED[key] = found
    return _JOINED[key]


def count_joined(reader, store=None) -> dict:
    """joined()'s count, by a pass over every article's story and every id: {"count": n}
    (compute(reader, store) for the summaries' commit_part)."""
    stories: set = set()
    if STORY_FIELD in reader.schema:
        for leaf, _ in reader.leaf_readers():
            if not leaf.has_column(STORY_FIELD):
                continue
            values = leaf.column_reader(STORY_FIELD)
            stories.update(values[n] for n in leaf.all_doc_ids())
        stories.discard("")
        stories.difference_update(story_id_of(word) for word in reader.lexicon("id"))
    return {"count": len(stories)}


def story_id_of(article_id: bytes) -> str:
    """The id of the story an article (its id, UTF-8) starts: stories.linking.new_story_id,
    computed here without importing the linking module (and numpy with it) into a search."""
    return "s" + hashlib.blake2b(article_id, digest_size=8).hexdigest()


def _segment_key(leaf):
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return ("empty", leaf.doc_count_all()) if segment is None else (segment.segment_id(), segment.deleted_count())


def frequencies(path: str, request: Request, languages: tuple) -> dict:
    """Task: the frequencies of `survey`, the query parsed in the whole index's languages."""
    return _frequencies(open_shard(path), request, languages)


def _frequencies(searcher, request: Request, languages: tuple) -> dict:
    """The query's words (not its any-word fallback's: the same words, or fewer, and built only
    when needed; a word it has that the query lacks is asked for then, see `matches`)."""
    q, _ = _parsed(searcher, request, languages)
    return statistics.frequencies(searcher.reader(), statistics.query_terms(q))


def term_frequencies(path: str, terms: list) -> dict:
    """Task: the shard's document frequencies of these (field, text) terms."""
    return statistics.frequencies(open_shard(path).reader(), terms)


def matches(path: str, request: Request, languages: tuple, totals: Totals, limits: tuple[int, int],
            feedback: list | None = None, partial: bool | None = None) -> Matches:
    """Task: a shard's best `limits[0]` hits for the query and (when it has fewer than
    FALLBACK_BELOW complete matches, or `partial` says the whole index has) its best
    `limits[1]` for the any-word fallback, scored with the index-wide `totals`; with
    `feedback` [(word, weight)], each query ANDMAYBE those key words (run_search's
    _with_feedback)."""
    base = open_shard(path)
    searcher = GlobalSearcher(base.reader(), totals, RANKING)
    try:
        reader = searcher.reader()
        q, allowed = _parsed(searcher, request, languages)
        extra = _feedback_query(feedback) if feedback else None
        sortedby = DateOrder(newest=request.sort == "newest") if request.sort != "relevance" else None
        memo: dict = {}
        first = find(searcher, wq.AndMaybe(q, extra) if extra else q, limit=limits[0],
                     filter=allowed, sortedby=sortedby, memo=memo)
        out = Matches(first=_found(reader, first, sortedby is None), total=len(first))
        if partial or (partial is None and len(first) < FALLBACK_BELOW):
            any_q = _fallback(reader, request, languages, q)
            unknown = [] if any_q is None else [
                term for term in statistics.query_terms(any_q)
                if statistics.frequencies(reader, [term]).keys() - totals.frequencies.keys()]
            if unknown:  # (the caller gathers their index-wide frequencies and asks again)
                out.unknown = sorted(unknown)
            elif any_q is not None:
                more = find(searcher, wq.AndMaybe(any_q, extra) if extra else any_q, limit=limits[1],
                            filter=allowed, sortedby=sortedby, memo=memo)
                out.fallback = _found(reader, more, sortedby is None)
                out.fallback_total = len(more)
        return out
    finally:
        searcher.close()


def _feedback_query(terms: list) -> wq.Query | None:
    """run_search's feedback query from its key words: each in every default field, the best
    at FEEDBACK_WEIGHT times a typed word."""
    top = max((weight for _, weight in terms), default=0.0)
    if top <= 0:
        return None
    return wq.Or([wq.Term(name, word, boost=FEEDBACK_WEIGHT * weight / top * boost)
                  for word, weight in terms for name, boost in DEFAULT_FIELDS.items()])


def _found(reader, hits, scored: bool) -> list[Found]:
    docnums = [hit.docnum for hit in hits]
    missing = reader.schema["date"].default
    dates = column_values(reader, "date", docnums, translate=False)
    stories = column_values(reader, STORY_FIELD, docnums) if STORY_FIELD in reader.schema else [None] * len(docnums)
    return [Found(docnum=hit.docnum,
                  score=float(hit.score) if scored and isinstance(hit.score, (int, float)) else 0.0,
                  date=None if raw is None or raw == missing else raw, story=story or None)
            for hit, raw, story in zip(hits, dates, stories)]


def feedback_words(paths: list[str], best: list[tuple[int, int]]) -> tuple[list, dict]:
    """Task: run_search's feedback key words of the best hits (shard, docnum), found over all
    shards at once, and the index-wide frequency of each in every default field."""
    searcher = combined(paths)
    offsets = _offsets(paths)
    text = " ".join(" ".join((fields.get("title") or "", (fields.get(SNIPPET_FIELD) or "")[:FEEDBACK_CHARS]))
                    for fields in (searcher.stored_fields(offsets[shard] + docnum) for shard, docnum in best))
    words = key_words(searcher, text, FEEDBACK_TERMS)
    reader = searcher.reader()
    return words, statistics.frequencies(reader, [(name, word) for word, _ in words for name in DEFAULT_FIELDS])


class _Stored:
    """A hit as to_hit reads it: its stored fields and score."""

    def __init__(self, searcher, docnum: int, score: float):
        self.searcher, self.docnum, self.score = searcher, docnum, score

    def fields(self) -> dict:
        return self.searcher.stored_fields(self.docnum)


def page(path: str, request: Request, languages: tuple, partial: bool,
         items: list[tuple[int, int, float, bool]], stories: list[str]) -> Page:
    """Task: the shard's hits of the page (docnum, rank, score, complete) with their snippets
    (the matched words of the query, or of its fallback when `partial`), the facet counts of
    all its matches (every value, and dates by day), and its live articles of `stories`."""
    searcher = open_shard(path)
    reader = searcher.reader()
    q, allowed = _parsed(searcher, request, languages)
    if partial:
        q = _fallback(reader, request, languages, q) or q
    out = Page()
    if items:
        words = matched_words(q, reader)
        out.hits = [(rank, to_hit(_Stored(searcher, docnum, score), rank, words, request.fragments,
                                  score, complete=complete))
                    for docnum, rank, score, complete in items]
    if request.facets:
        # the matches as ranking counts them (Whoosh's own matcher for `-a b` keeps an article
        # with both words when the first with `a` comes before the first with `b`)
        docs = sorted(docnum for docnum, _ in top_matches(searcher, q, None, allowed)[0])
        names = [name for name in request.facets if name not in DATE_FACETS]
        out.facets = count_facets(reader, docs, names, top=10**9) if names else {}
        if any(name in DATE_FACETS for name in request.facets):
            out.facets["day"] = count_facets(reader, docs, ["day"])["day"]
    for story, docnums in story_members(reader, list(stories)).items():
        members = []
        for docnum in docnums:
            fields = reader.stored_fields(docnum)
            members.append((fields.get("id", ""), fields.get("source"), fields.get("date")))
        out.members[story] = members
    return out


def suggestion(paths: list[str], text: str) -> str | None:
    """Task: "did you mean", over all shards' words at once."""
    from ..querying.spelling import suggest
    return suggest(combined(paths).reader(), text)


def on_all(paths: list[str], function, *args):
    """Task: `function(searcher, *args)` with one searcher on all shards (`combined`);
    `function` a module-level function returning plain data (an article's fields, its
    story, similar articles)."""
    return function(combined(paths), *args)


# ---------------------------------------------------------------- the merge

def _values(outcomes) -> list:
    """The tasks' values; a shard that gave none (a cluster's lost worker) is an error here
    (partial results are the cluster's to report)."""
    out = []
    for outcome in outcomes:
        if not outcome.ok:
            raise ShardFailedError(outcome.error)
        out.append(outcome.value)
    return out


class ShardFailedError(SearchlibError):
    """A shard gave no answer (its worker was lost, or it did not answer in time)."""

    def __init__(self, reason: str | None):
        super().__init__(f"a shard of the index did not answer ({reason}); try again")


def _one(executor: Executor, function, *args):
    return _values(executor.map(function, [args]))[0]


_LANGUAGES: dict[tuple, tuple] = {}  # shard paths → the languages of the whole index last seen


def search(paths: list[str], request: Request, executor: Executor | None = None) -> Results:
    """run_search over the shards at `paths` (in shard order): the same hits, scores, totals,
    facets and suggestion as one index of the same articles (ties in another order)."""
    executor = executor or LocalExecutor()
    if request.sort not in SORTS:
        raise QueryError(request.text, f"unknown sort {request.sort!r}; use one of {', '.join(SORTS)}")
    request = replace(request, facets=check_facets(request.facets))
    paths = [str(path) for path in paths]
    guess = _LANGUAGES.get(tuple(paths))  # the whole index's languages at the last search
    parts = _values(executor.map(survey, [(path, request, guess) for path in paths]))
    _check_limits(request.text, parts)
    languages = statistics.languages(parts)
    parsed_in = [guess or tuple(part.languages) for part in parts]
    _LANGUAGES[tuple(paths)] = languages
    if any(tuple(own) != languages for own in parsed_in):  # (their frequencies: of other forms)
        for part, freqs in zip(parts, _values(executor.map(frequencies, [(p, request, languages) for p in paths]))):
            part.frequencies = freqs
    totals = statistics.total(parts)
    text = request.text

    wanted = max(1, request.offset + request.limit)
    extra_total = sum(part.extra for part in parts)
    if not request.all_copies:
        wanted += extra_total
    limit = wanted
    if request.sort == "relevance" and request.fresh:
        limit = max(FRESH_POOL, wanted)
    feedback = request.sort == "relevance" and len(content_words(text)) >= FEEDBACK_MIN_WORDS and is_plain(text)
    limits = (max(limit, FALLBACK_BELOW), max(limit, FEEDBACK_DOCS if feedback else 0) + FALLBACK_BELOW)
    shards = _matches(executor, paths, request, languages, totals, limits)
    groups, total, complete, partial, any_ranked = _merge(shards, request, limit)

    if feedback:
        best = [(h[0], h[1].docnum) for group in groups for h in group][:FEEDBACK_DOCS]
        if len(best) < FEEDBACK_DOCS and partial:
            seen = {(h[0], h[1].docnum) for h in groups[0]}
            more = [(s, f.docnum) for s, f in any_ranked[:FEEDBACK_DOCS + len(seen)] if (s, f.docnum) not in seen]
            best = ([(h[0], h[1].docnum) for h in groups[0]] + more)[:FEEDBACK_DOCS]
        words, freqs = _one(executor, feedback_words, paths, best)
        if _feedback_query(words) is not None:
            totals.frequencies.update(freqs)
            shards = _matches(executor, paths, request, languages, totals, limits, words, partial)
            again, *_ = _merge(shards, request, limit, partial)
            groups = again

    scores = {(s, f.docnum): f.score for group in groups for s, f in group}
    if request.fresh and request.sort == "relevance":
        groups = [_freshen(group[:FRESH_POOL], request.fresh, scores) + group[FRESH_POOL:] for group in groups]
    ranked = [(s, f, i == 0) for i, group in enumerate(groups) for s, f in group]
    stories = None
    if not request.all_copies:
        ranked, stories = _collapse(ranked, total, extra_total)
    shown = ranked[request.offset:request.offset + request.limit]
    story_ids = sorted({f.story for _, f, _ in shown if f.story})
    tasks = []
    for number, path in enumerate(paths):
        items = [(f.docnum, rank, scores[(s, f.docnum)], is_complete)
                 for rank, (s, f, is_complete) in enumerate(shown, start=request.offset + 1) if s == number]
        tasks.append((path, request, languages, partial, items, story_ids))
    pages = _values(executor.map(page, tasks))
    hits = sorted((pair for part in pages for pair in part.hits), key=lambda pair: pair[0])
    hits = [hit for _, hit in hits]
    _annotate(hits, pages)
    counts = _facets(request.facets, [part.facets for part in pages]) if request.facets else {}
    suggested = _one(executor, suggestion, paths, text) if complete < SUGGEST_BELOW else None
    return Results(query=text, total=total, hits=hits, since=to_utc_aware(request.since),
                   until=to_utc_aware(request.until), sort=request.sort, offset=request.offset,
                   partial=partial, complete=complete, facets=counts, suggestion=suggested,
                   stories=stories, grouped=not request.all_copies)


def _matches(executor: Executor, paths: list[str], request: Request, languages: tuple, totals: Totals,
             *args) -> list[Matches]:
    """The shards' `matches`, asked again (once) with the index-wide frequencies of the words of
    the any-word fallback that the query itself did not have, when some shard needed them."""
    shards = _values(executor.map(matches, [(p, request, languages, totals, *args) for p in paths]))
    unknown = sorted({term for part in shards for term in part.unknown})
    if unknown:
        for freqs in _values(executor.map(term_frequencies, [(p, unknown) for p in paths])):
            for key, df in freqs.items():
                totals.frequencies[key] = totals.frequencies.get(key, 0) + df
        shards = _values(executor.map(matches, [(p, request, languages, totals, *args) for p in paths]))
    return shards


def _order(request: Request):
    """The merge's sort key of (shard, Found): score, or date as DateOrder sorts, then where."""
    if request.sort == "relevance":
        return lambda pair: (-pair[1].score, pair[0], pair[1].docnum)
    newest = request.sort == "newest"
    return lambda pair: ((1, 0) if pair[1].date is None else (0, -pair[1].date if newest else pair[1].date),
                         pair[0], pair[1].docnum)


def _merge(shards: list[Matches], request: Request, limit: int, partial: bool | None = None):
    """The groups of hits of run_search (complete matches, then partial ones when the whole
    index has fewer than FALLBACK_BELOW complete matches), merged from the shards' best, each
    cut where run_search's would be; the totals; and the fallback's whole ranking."""
    key = _order(request)
    first = sorted(((s, f) for s, part in enumerate(shards) for f in part.first), key=key)
    total = complete = sum(part.total for part in shards)
    first = first[:max(limit, FALLBACK_BELOW)]
    groups = [first]
    any_ranked: list = []
    looked = all(part.fallback is not None for part in shards)
    if (partial or (partial is None and total < FALLBACK_BELOW)) and looked:
        any_ranked = sorted(((s, f) for s, part in enumerate(shards) for f in part.fallback), key=key)
        any_total = sum(part.fallback_total for part in shards)
        if partial or any_total > total:
            if partial is None:
                partial, total = True, any_total
            seen = {(s, f.docnum) for s, f in first}
            groups.append([(s, f) for s, f in any_ranked[:limit + len(seen)] if (s, f.docnum) not in seen])
    return groups, total, complete, bool(partial), any_ranked


def _freshen(group: list, half_life: float, scores: dict) -> list:
    """run_search's recency boost over one group's pool (see searching._freshen): ages counted
    back from the pool's newest article."""
    field = SCHEMA["date"]
    dates = [field.from_column_value(f.date) if f.date is not None else None for _, f in group]
    newest = max((d for d in dates if d), default=None)
    for (s, f), date in zip(group, dates):
        age = (newest - date).total_seconds() / 86400 if date else math.inf
        scores[(s, f.docnum)] = f.score * (0.5 + 0.5 * 2 ** (-age / half_life))
    return sorted(group, key=lambda pair: -scores[(pair[0], pair[1].docnum)])


def _collapse(ranked: list, total: int, extra: int) -> tuple[list, int | None]:
    """grouping.collapse over the merged hits: the first of each story (by its story id,
    which copies in any shard share)."""
    if not extra and not any(f.story for _, f, _ in ranked):
        return ranked, total
    seen: set = set()
    kept = []
    for item in ranked:
        story = item[1].story
        if story:
            if story in seen:
                continue
            seen.add(story)
        kept.append(item)
    if not extra:
        return kept, total
    if len(ranked) >= total:
        return kept, total - (len(ranked) - len(kept))
    return kept, None


def _annotate(hits: list[Hit], pages: list[Page]) -> None:
    """grouping.annotate over the shards' members of the page's stories."""
    members: dict[str, list] = {}
    for part in pages:
        for story, found in part.members.items():
            members.setdefault(story, []).extend(found)
    for hit in hits:
        found = members.get(hit.story or "")
        if not found or len(found) < 2:
            continue
        others = sorted((m for m in found if m[0] != hit.id),
                        key=lambda m: (m[2] is None, m[2] or datetime.min, m[0]))
        outlets: list[str] = []
        for _, source, _ in others:
            if source and source not in outlets and source != hit.source:
                outlets.append(source)
        hit.copies, hit.outlets = len(found), outlets


def _facets(names: tuple, parts: list[dict]) -> dict:
    """The shards' facet counts summed: the TOP values then (none), as count_facets lists
    them; date facets from the day counts."""
    out: dict = {}
    for name in names:
        if name in DATE_FACETS:
            days: dict[datetime, int] = {}
            undated = 0
            for part in parts:
                for label, count in part.get("day", []):
                    if label == UNDATED:
                        undated += count
                    else:
                        day = datetime.strptime(label, "%Y-%m-%d")
                        days[day] = days.get(day, 0) + count
            out[name] = timeline(days, undated, name)
            continue
        counts: dict[str, int] = {}
        for part in parts:
            for value, count in part.get(name, []):
                counts[value] = counts.get(value, 0) + count
        none = counts.pop(NONE, 0)
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0].lower(), item[0]))[:TOP]
        out[name] = top + ([(NONE, none)] if none else [])
    return out


# ---------------------------------------------------------------- what Index reads from shards

def count(paths: list[str], executor: Executor | None = None) -> int:
    """The live articles of all shards (len(Index))."""
    return sum(_values((executor or LocalExecutor()).map(_live, [(str(p),) for p in paths])))


def _live(path: str) -> int:
    return open_shard(path).doc_count()


def similar(paths: list[str], article_id: str, *, limit: int = 10, executor: Executor | None = None) -> Results:
    """run_similar over all shards (one task reading them as one index: its statistics are the
    whole index's, so are its scores)."""
    return _one(executor or LocalExecutor(), on_all, [str(p) for p in paths], _similar, article_id, limit)


def _similar(searcher, article_id: str, limit: int) -> Results:
    from ..querying.searching import run_similar
    return run_similar(searcher, article_id, limit=limit)


def document(paths: list[str], article_id: str, executor: Executor | None = None) -> dict | None:
    """The stored fields of the article with this id (None: no such article)."""
    return _one(executor or LocalExecutor(), on_all, [str(p) for p in paths], _document, article_id)


def _document(searcher, article_id: str) -> dict | None:
    fields = searcher.document(id=article_id)
    return dict(fields) if fields is not None else None


def read(paths: list[str], function, *args, executor: Executor | None = None):
    """`function(searcher, *args)` on all shards read as one index, as one task: an article's
    copies (story_of), its match marks (mark_article), its thread; `function` module-level."""
    return _one(executor or LocalExecutor(), on_all, [str(p) for p in paths], function, *args)


def history(paths: list[str], article_id: str, executor: Executor | None = None):
    """stories.revisions.history of an article: its earlier versions are in the manifest of
    the shard its id routes to."""
    from ..indexing.manifest import FILE_NAME
    from ..stories.revisions import history as versions
    from .layout import shard_of
    paths = [str(p) for p in paths]
    manifest = Path(paths[shard_of(article_id, len(paths))]) / FILE_NAME
    return _one(executor or LocalExecutor(), on_all, paths, versions, manifest, article_id)


def stats(paths: list[str], top: Path, executor: Executor | None = None):
    """querying.stats.compute_stats over all shards; the size is that of every shard's files
    and the top folder's."""
    paths = [str(p) for p in paths]
    return _one(executor or LocalExecutor(), on_all, paths, _stats, str(top), paths)


def _stats(searcher, top: str, paths: list[str]):
    from ..querying.stats import compute_stats
    found = compute_stats(searcher, Path(top))
    for folder in paths:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        found.size_bytes += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue
    return found
