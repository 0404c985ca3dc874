"""Searching: run a parsed query against the index and return plain `Hit`s inside a `Results`.

Stage: querying. Hits are converted to dataclasses (with their snippets) before the Whoosh
searcher closes, so no Whoosh object ever leaves this module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
import copy
import itertools
import math

from whoosh import query as wq
from whoosh import scoring
from whoosh.fields import TEXT
from whoosh.searching import Searcher

from . import snippets
from ..dates import isoformat, to_utc_aware
from ..errors import ArticleNotFoundError, QueryError
from .facets import article_dates, by_date, check_facets, count_facets, dated_docs
from .datequery import DateSpanQuery
from .languages import languages_in
from .query import content_words, is_plain, parse_query
from ..engine.ranking import held as ranking_held
from ..engine.ranking import mark_absent, matching_docs, top_matches
from ..engine.postings import doc_frequency, has_term
from ..stories.grouping import StoryTally, annotate, collapse, extra_copies
from ..engine.analysis import QUESTION_STOP_WORDS
from ..engine.schema import DEFAULT_FIELDS, SCHEMA, SNIPPET_FIELD


@dataclass
class Hit:
    """One search result. `snippet` is the best passage of the body, `highlights` the (start, end)
    spans of the matches in it; `fragments` holds all the passages asked for, in text order.
    `complete` is False for a partial match (it lacks some of a plain query's words), True
    otherwise (every hit of a query with operators is complete)."""

    id: str
    title: str
    date: datetime | None
    source: str | None
    url: str | None
    path: Path | None
    score: float
    snippet: str
    highlights: list[tuple[int, int]] = field(default_factory=list)
    title_highlights: list[tuple[int, int]] = field(default_factory=list)
    section: str | None = None
    author: str | None = None
    rank: int = 0
    fragments: list[snippets.Snippet] = field(default_factory=list)
    complete: bool = True
    lang: str | None = None  # the article's language code (`en`, `de`), None when unknown
    # its story (searchlib.stories): the story's id, its articles (this one included), and the
    # other copies' outlets, the first published first
    story: str | None = None
    copies: int = 1
    outlets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "complete": self.complete,
            "id": self.id,
            "title": self.title,
            "date": isoformat(self.date),
            "source": self.source,
            "section": self.section,
            "author": self.author,
            "lang": self.lang,
            "story": self.story,
            "copies": self.copies,
            "outlets": list(self.outlets),
            "url": self.url,
            "path": str(self.path) if self.path else None,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "title_highlights": [list(span) for span in self.title_highlights],
            "fragments": [{"text": f.text, "highlights": [list(span) for span in f.spans]}
                          for f in self.fragments],
        }


@dataclass
class Results:
    """One page of hits (`offset` hits skipped, at most `limit` shown) and the total match count.

    When fewer than FALLBACK_BELOW articles have all the words of a plain query of several words,
    its partial matches (articles with only some of the words) count as matches too and follow
    the complete ones, in every sort order; `partial` says they did. `total` counts all the
    matches, `complete` those with all the words (every match of a query with operators), so
    `total - complete` are partial. The rule does not depend on the page: `total`, `complete`,
    `partial` and `facets` are the same numbers for any `limit` and `offset`, and page n + 1
    continues page n. `facets` maps each facet asked for to (value, count) pairs over all
    matches; `suggestion` is the query respelt with words the index knows, when it found little
    ("did you mean").
    """

    query: str
    total: int
    hits: list[Hit]
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "relevance"
    offset: int = 0
    partial: bool = False
    complete: int | None = None
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestion: str | None = None
    # `grouped`: copies collapsed to one hit per story (searchlib.stories), so pages count
    # stories, while `total`, `complete` and `facets` count articles; `stories`: the stories
    # among the matches, None when not counted (every copy listed, or more matches than ranked)
    stories: int | None = None
    grouped: bool = False
    # `shards`: a sharded index searched on a cluster, {"total": N, "ok": K, "failed": F}; when
    # F > 0 the results are those of the K shards that answered (partial); None otherwise
    shards: dict | None = None

    def __iter__(self):
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __bool__(self) -> bool:
        return self.total > 0

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "sort": self.sort,
            "partial": self.partial,
            "complete": self.complete,
            "stories": self.stories,
            "grouped": self.grouped,
            "suggestion": self.suggestion,
            "facets": {name: dict(pairs) for name, pairs in self.facets.items()},
            "since": isoformat(self.since),
            "until": isoformat(self.until),
            "hits": [hit.to_dict() for hit in self.hits],
        } | ({"shards": dict(self.shards)} if self.shards is not None else {})


SORTS = ("relevance", "newest", "oldest")


class _BM25F(scoring.BM25F):
    """BM25F with the Robertson-Sparck Jones IDF, floored as SQLite FTS5 does: a word in half the
    articles or more weighs (almost) nothing. Whoosh's ln(N/(df+1))+1 keeps it near 1."""

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        if type(parent) is Searcher:  # the segments' records read directly (a sharded search's
            df = doc_frequency(parent.reader(), fieldname, text)  # searcher counts all shards)
        else:
            df = parent.doc_frequency(fieldname, text)
        n = parent.doc_count_all()
        return max(math.log((n - df + 0.5) / (df + 0.5)), 1e-6)


RANKING = _BM25F(B=0.6, K1=1.0)
# Pseudo-relevance feedback for typed questions (see _with_feedback): a plain query of at least
# FEEDBACK_MIN_WORDS content words is ranked again with the FEEDBACK_TERMS key words of its best
# FEEDBACK_DOCS hits (the first FEEDBACK_CHARS of each body, and its title), the best key word
# weighing FEEDBACK_WEIGHT times a typed word. Chosen on the six test collections of
# scripts/evaluate.py (README, "Ranking quality").
FEEDBACK_MIN_WORDS = 5
FEEDBACK_DOCS = 8
FEEDBACK_TERMS = 20
FEEDBACK_WEIGHT = 0.3
FEEDBACK_CHARS = 10_000
FRESH_POOL = 200     # with a recency boost, this many best matches (at least) are re-ranked
MAX_CLAUSES = 1024      # terms in one query
MAX_EXPANSIONS = 1024   # index words one wildcard or fuzzy term may stand for (per field)
MAX_TOTAL_EXPANSIONS = 4096  # ... and all of a query's, together (about a second of postings)
MAX_PATTERNS = 64       # wildcard, fuzzy and range terms (one per field searched): each reads the lexicon
MAX_EDITS = 2           # a fuzzy word's edit distance at most (`oil~5` is `oil~2`, as in Lucene)
COPIES_RANKED = 10  # a search first ranks this many matches (or the page's size) more than its page,
# for the copies a collapsed page passes over; when more of the best matches were copies, it is
# ranked again with room for every copy the index holds (grouping.extra_copies)
SUGGEST_BELOW = 3    # "did you mean" is tried when fewer articles have all the words
FALLBACK_BELOW = 10  # a plain query's partial matches count when fewer articles have all its words


def run_search(searcher, text: str, *, since: datetime | None = None, until: datetime | None = None,
               limit: int = 10, offset: int = 0, sort: str = "relevance",
               now: datetime | None = None, fragments: int = 1, facets=(),
               fresh: float | None = None, langs: tuple[str, ...] = (),
               all_copies: bool = False) -> Results:
    """Search with an open Whoosh searcher (weighted by RANKING). `since` / `until` are naive
    UTC bounds, `until` exclusive; `langs` (normalised codes) keeps the articles in those languages.

    A plain query of several words matches the articles with all of them; when fewer than
    FALLBACK_BELOW do, the best partial matches (BM25F over any of the words, minus question
    words such as "what" and "which") follow them (`Results.partial`), whatever the page asked
    for, so counts and facets do not change with `limit` or `offset`. `fragments` passages per
    hit; `facets` counted over all matches; `fresh` a half-life in days for the recency boost of
    the best FRESH_POOL matches (see `_freshen`). A typed question (a plain query of at least
    FEEDBACK_MIN_WORDS content words) is ranked again with its best hits' key words
    (`_with_feedback`): the same matches, in a better order.
    """
    if sort not in SORTS:
        raise QueryError(text, f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")
    facets = check_facets(facets)
    arguments = dict(since=since, until=until, limit=limit, offset=offset, sort=sort, now=now,
                     fragments=fragments, facets=facets, fresh=fresh, langs=langs, all_copies=all_copies)
    results = _run_search(searcher, text, **arguments, copies_ranked=COPIES_RANKED)
    if results is None:  # more copies among the best matches than ranked beyond the page
        results = _run_search(searcher, text, **arguments, copies_ranked=None)
    return results


def _run_search(searcher, text: str, *, since, until, limit: int, offset: int, sort: str, now,
                fragments: int, facets: tuple, fresh, langs: tuple, all_copies: bool,
                copies_ranked: int | None) -> Results | None:
    """run_search, ranking at most `copies_ranked` more matches than the page needs for the
    copies a collapsed page passes over (None: as many as the index holds copies); None when
    those were too few to fill the page."""
    languages = languages_in(searcher.reader())
    q = parse_query(text, now, languages=languages)
    wanted = every = max(1, offset + limit)
    if not all_copies:  # collapsing may pass over this many copies to fill the page
        extra = extra_copies(searcher.reader())
        every += extra  # (ranking this many, the stories among the matches were always counted)
        wanted += extra if copies_ranked is None else min(extra, max(copies_ranked, wanted))
    options = {"limit": wanted, "filter": None}
    if sort != "relevance":
        options["sortedby"] = _DateOrder(newest=sort == "newest")
    elif fresh:
        options["limit"] = max(FRESH_POOL, wanted)  # the pool is re-ranked by date below
    reader = searcher.reader()
    q, spans = _date_conjuncts(q)
    if since or until:
        spans.append((since, until))
    if spans:  # Whoosh takes an empty filter for none: {-1} allows nothing
        options["filter"] = set.intersection(*(dated_docs(reader, a, b) for a, b in spans)) or {-1}
    if langs:  # a filter, as the dates: it narrows what matches, and counts, without scoring
        allowed = set(searcher.docs_for_query(wq.Or([wq.Term("lang", code) for code in langs])))
        if options["filter"] is not None:
            allowed &= options["filter"]
        options["filter"] = allowed or {-1}
    memo: dict = {}  # postings read by the first pass, for the partial-match pass
    q = first_q = _bounded(q, reader, text, memo)
    # at least FALLBACK_BELOW: when the fallback applies, every complete match is in hand
    tallies = [StoryTally(reader) if not all_copies else None]  # (the stories the matches make)
    matches = [[] if facets else None]  # (every match's document numbers, for the facets)
    found = _search(searcher, q, memo=memo, tally=_tally(tallies[0], matches[0]),
                    **{**options, "limit": max(options["limit"], FALLBACK_BELOW)})
    groups, total = [list(found)], len(found)
    complete, partial = total, False
    if total < FALLBACK_BELOW and len(text.split()) > 1 and is_plain(text):
        # Operators, +/- prefixes and fields mean what they say: no fallback for those.
        any_q = _bounded(parse_query(text, now, any_word=True, languages=languages), reader, text, memo)
        if any_q != q:  # (a lone phrase is the same query either way)
            seen = {hit.docnum for hit in groups[0]}
            tallies.append(StoryTally(reader) if not all_copies else None)
            matches.append([] if facets else None)
            more = _search(searcher, any_q, memo=memo, tally=_tally(tallies[-1], matches[-1]),
                           **{**options, "limit": options["limit"] + len(seen)})
            # any_q is the OR of the words q requires all of: it matches every complete match
            if len(more) > total:
                q, partial, total = any_q, True, len(more)
                groups.append([hit for hit in more if hit.docnum not in seen])
    if sort == "relevance" and len(content_words(text)) >= FEEDBACK_MIN_WORDS and is_plain(text):
        groups = _with_feedback(searcher, groups, [first_q, q], options, memo)
    scores = {hit.docnum: hit.score for group in groups for hit in group}
    if fresh and sort == "relevance":  # beyond the pool, BM25F order: the same on every page
        groups = [_freshen(group[:FRESH_POOL], reader, fresh, scores) + group[FRESH_POOL:]
                  for group in groups]
    ranked = [(hit, i == 0) for i, group in enumerate(groups) for hit in group]
    stories = None
    if not all_copies:  # one hit per story (searchlib.stories): pages count stories
        more_matches = len(ranked) < total
        ranked, stories = collapse(reader, ranked, total)
        if len(ranked) < offset + limit and more_matches and copies_ranked is not None:
            return None
        # Also counted when a ranking of `every` matches would have held them all (as a sharded
        # index counts them: sharding.searching), from the tally of every match.
        every = max(FRESH_POOL, every) if fresh and sort == "relevance" else every
        if stories is None and total <= (every + complete if partial else max(every, FALLBACK_BELOW)):
            stories = tallies[-1 if partial else 0].stories_among(total)
    words = _matched_words(q, reader, memo)
    page = ranked[offset:offset + limit]
    hits = [_to_hit(hit, rank, words, fragments, scores.get(hit.docnum), complete=is_complete)
            for rank, (hit, is_complete) in enumerate(page, start=offset + 1)]
    annotate(searcher, hits, [hit.docnum for hit, _ in page])
    counts = {}
    if facets:
        import numpy as np
        parts = matches[-1 if partial else 0]
        everything = np.sort(np.concatenate(parts)) if parts else []
        counts = count_facets(reader, everything, facets)
    suggestion = _suggest(reader, text) if complete < SUGGEST_BELOW else None
    return Results(query=text, total=total, hits=hits, since=to_utc_aware(since),
                   until=to_utc_aware(until), sort=sort, offset=offset,
                   partial=partial, complete=complete, facets=counts,
                   suggestion=suggestion, stories=stories, grouped=not all_copies)


def _with_feedback(searcher, groups: list, queries: list, options: dict, memo: dict) -> list:
    """The groups of hits (complete matches, then partial ones) ranked again with pseudo-relevance
    feedback: each group's query ANDMAYBE the key words of the best FEEDBACK_DOCS hits, so
    articles about what the best hits are about rise within their group, while what matches, the
    totals and the groups stay the same (the key words only add to the scores of articles that
    match already). A long typed question names its subject in a few words among many; the
    articles it finds best say more about it."""
    best = [hit.docnum for group in groups for hit in group][:FEEDBACK_DOCS]
    if len(best) < FEEDBACK_DOCS and len(groups) > 1:  # a small page ranked too few partial matches:
        seen = {hit.docnum for hit in groups[0]}        # the same best hits for every page
        more = _search(searcher, queries[1], memo=memo,
                       **{**options, "limit": FEEDBACK_DOCS + len(seen)})
        best = [hit.docnum for hit in groups[0]] + [hit.docnum for hit in more if hit.docnum not in seen]
        best = best[:FEEDBACK_DOCS]
    extra = _feedback_query(searcher, best)
    if extra is None:
        return groups
    out: list = []
    seen: set[int] = set()
    for i, (group, base) in enumerate(zip(groups, queries)):
        limit = max(options["limit"], FALLBACK_BELOW) if i == 0 else options["limit"] + len(seen)
        found = _search(searcher, wq.AndMaybe(base, extra), memo=memo, **{**options, "limit": limit})
        out.append([hit for hit in found if hit.docnum not in seen])
        seen.update(hit.docnum for hit in group)
    return out


def _feedback_query(searcher, docnums: list[int]) -> wq.Query | None:
    """An Or of the FEEDBACK_TERMS words that best set these articles' titles and bodies apart
    from the index (`_key_words`), in each default field, weighted as their key-word scores, the
    best at FEEDBACK_WEIGHT times a typed word; None for no word."""
    text = " ".join(" ".join((fields.get("title") or "", (fields.get(SNIPPET_FIELD) or "")[:FEEDBACK_CHARS]))
                    for fields in map(searcher.stored_fields, docnums))
    terms = _key_words(searcher, text, FEEDBACK_TERMS)
    top = max((weight for _, weight in terms), default=0.0)
    if top <= 0:
        return None
    return wq.Or([wq.Term(name, word, boost=FEEDBACK_WEIGHT * weight / top * boost)
                  for word, weight in terms for name, boost in DEFAULT_FIELDS.items()])


def _key_words(searcher, text: str, number: int) -> list[tuple[str, float]]:
    """The `number` index words of `text` that most set it apart from the index, best first, with
    their scores: Whoosh's key_terms_from_text (the Bo1 model, in the body field), but only over
    the 3 x `number` words `text` holds most often (at least twice), filler words left out: a
    word met once says little about the best hits, and each candidate costs a look-up in every
    segment."""
    reader, field = searcher.reader(), searcher.schema[SNIPPET_FIELD]
    counts: dict[bytes, float] = {}
    for btext, _, weight, _ in field.index(text):
        counts[btext] = counts.get(btext, 0.0) + weight
    n = reader.doc_count_all() or 1
    candidates = sorted(((weight, btext) for btext, weight in counts.items() if weight >= 2
                         and field.from_bytes(btext) not in QUESTION_STOP_WORDS), reverse=True)
    scored = []
    for weight, btext in candidates[:3 * number]:
        word = field.from_bytes(btext)
        if not has_term(reader, SNIPPET_FIELD, btext):
            continue
        f = reader.frequency(SNIPPET_FIELD, btext) / n
        scored.append((weight * math.log2((1.0 + f) / f) + math.log2(1.0 + f), word))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [(word, score) for score, word in scored[:number]]


def _suggest(reader, text: str) -> str | None:
    """spelling.suggest, imported on first use (most searches find enough and never need it)."""
    from .spelling import suggest
    return suggest(reader, text)


def _date_conjuncts(q: wq.Query) -> tuple[wq.Query, list]:
    """`date:` clauses that every hit must meet (the query itself, or a part of a top-level AND),
    taken out of the query as [start, end) spans for the date filter, which Whoosh's collector
    then need not test article by article. A DateSpanQuery scores the same constant for every
    article it matches, so the ranking does not change."""
    def is_span(part) -> bool:
        return isinstance(part, DateSpanQuery)

    if is_span(q):
        return wq.Every(), [(q.startdate, q.enddate)]
    if isinstance(q, wq.And) and any(is_span(part) for part in q.subqueries):
        rest = [part for part in q.subqueries if not is_span(part)]
        spans = [(part.startdate, part.enddate) for part in q.subqueries if is_span(part)]
        return (wq.And(rest, boost=q.boost) if len(rest) > 1 else rest[0] if rest else wq.Every()), spans
    return q, []


def _bounded(q: wq.Query, reader, text: str, absent: dict | None = None) -> wq.Query:
    """The query with every wildcard and fuzzy word replaced by the index words it stands for,
    refused when it would run away: more than MAX_CLAUSES terms, one word standing for more
    than MAX_EXPANSIONS index words (`a*`, `oil~2` took seconds to minutes; Elasticsearch
    refuses such queries too), more than MAX_PATTERNS such words (each one a walk through the
    field's words: `*ab*` reads them all), or all of them together standing for more than
    MAX_TOTAL_EXPANSIONS (300 ORed wildcards took 12 s). A bare `*` matches every article,
    without listing any word. `absent`: the search's memo of term records by segment (ranking),
    told which of a wildcard's words each segment lacks, found as the words are listed segment by
    segment (`_expanded`), so that ranking does not look each of them up in every segment."""
    leaves = list(q.leaves())
    if len(leaves) > MAX_CLAUSES:
        raise QueryError(text, f"it has more than {MAX_CLAUSES} terms")
    patterns = sum(isinstance(leaf, wq.MultiTerm) for leaf in leaves)
    if patterns > MAX_PATTERNS:
        raise QueryError(text, f"its wildcard and fuzzy words are {patterns} terms (one per field "
                               f"searched), more than {MAX_PATTERNS}; use fewer of them")
    budget = [MAX_TOTAL_EXPANSIONS]

    def expand(leaf: wq.Query) -> wq.Query:
        if isinstance(leaf, wq.Every) and leaf.fieldname:
            return wq.Every(boost=leaf.boost)  # all articles (per field, Whoosh reads every term)
        if not isinstance(leaf, wq.MultiTerm):
            return leaf
        if isinstance(leaf, wq.FuzzyTerm):
            leaf = copy.copy(leaf)
            leaf.prefixlength = max(leaf.prefixlength, 1)  # the first letter is kept: 10x faster
            # at most the whole word (`x~/2`: Whoosh's automaton read past the word's end)
            leaf.prefixlength = min(leaf.prefixlength, len(leaf.text))
            # Whoosh builds a Levenshtein automaton whose size explodes with the distance
            # (`river~22` took minutes and 7 GB); Lucene clamps the same way
            leaf.maxdist = min(leaf.maxdist, MAX_EDITS)
            from .spelling import lexicon_within  # (Whoosh's own merges every segment's words
            # first, and on one segment reads the title's spelling graph: unstemmed words)
            found = sorted(lexicon_within(reader, leaf.fieldname, leaf.text, leaf.maxdist, leaf.prefixlength))
        elif absent is not None:
            found = _expanded(leaf, reader, min(MAX_EXPANSIONS, budget[0]), absent)
        else:
            found = leaf._btexts(reader)
        words = list(itertools.islice(found, min(MAX_EXPANSIONS, budget[0]) + 1))
        if len(words) > MAX_EXPANSIONS:
            raise QueryError(text, f"{_typed(leaf)} stands for more than {MAX_EXPANSIONS:,} "
                                   f"different words; make it more specific")
        budget[0] -= len(words)
        if budget[0] < 0:
            raise QueryError(text, f"its wildcard and fuzzy words stand for more than "
                                   f"{MAX_TOTAL_EXPANSIONS:,} index words in all; use fewer of "
                                   f"them, or more specific ones")
        field = reader.schema[leaf.fieldname]
        words = [w if isinstance(w, str) else field.from_bytes(w) for w in words]  # fuzzy: str
        terms = wq.Or([wq.Term(leaf.fieldname, w, boost=leaf.boost) for w in words])
        return wq.ConstantScoreQuery(terms, score=leaf.boost) if leaf.constantscore else terms

    return q.accept(expand)


def _expanded(leaf: wq.MultiTerm, reader, most: int, absent: dict) -> list[bytes]:
    """The index words a wildcard stands for (as `leaf._btexts(reader)` lists them: sorted, each
    once), listed segment by segment; each segment's memo in `absent` (the search's, by offset)
    is told the words it lacks (ranking.mark_absent). Stops reading a segment
    past `most` words: the caller refuses the query then."""
    held = []
    for segment, offset in reader.leaf_readers():
        words = set(itertools.islice(leaf._btexts(segment), most + 1))
        held.append((offset, words))
        if len(words) > most:
            break
    found = sorted(set().union(*(words for _, words in held)))
    if len(found) <= most:  # (each segment's listing was whole: a word not in it, it lacks)
        for offset, words in held:
            mark_absent(absent, offset, leaf.fieldname, [w for w in found if w not in words])
    return found


def _typed(leaf) -> str:
    if isinstance(leaf, wq.FuzzyTerm):
        return f"'{leaf.text}~{leaf.maxdist:g}'"
    if isinstance(leaf, wq.Prefix):
        return f"'{leaf.text}*'"
    if isinstance(leaf, wq.TermRange):
        return "'%s%s TO %s%s'" % ("{" if leaf.startexcl else "[", leaf.start or "*",
                                    leaf.end or "*", "}" if leaf.endexcl else "]")
    return f"'{leaf.text}'"


def _tally(stories, matches: list | None):
    """The tally a ranking pass shows each segment's matches to: the StoryTally `stories`, and
    when `matches` is a list, every match's document numbers appended to it (the facets count
    the matches of the pass that found them, not of a second pass over the same query)."""
    if matches is None:
        return stories
    import numpy as np

    def tally(offset: int, count: int, scores: dict) -> None:
        if stories is not None:
            stories(offset, count, scores)
        matches.append(np.fromiter(scores.keys(), dtype=np.int64, count=len(scores)) + offset)
    return tally


def _search(searcher, q, *, limit: int, filter=None, sortedby=None, memo=None, tally=None) -> "_Found":
    """The best `limit` hits (ranking.top_matches; by date: every match, ranking.matching_docs,
    ordered by its date number) and the exact number of matches, counted in the same pass."""
    if sortedby is not None:
        docs = matching_docs(searcher, q, filter, memo, tally)
        order = by_date(searcher.reader(), docs, sortedby.newest, limit)
        return _Found([_Match(searcher, docnum, 0.0) for docnum in order], len(docs))
    pairs, total = top_matches(searcher, q, limit, filter, memo, tally)
    return _Found([_Match(searcher, docnum, score) for docnum, score in pairs], total)


@dataclass
class _Found:
    hits: list
    total: int

    def __iter__(self):
        return iter(self.hits)

    def __len__(self) -> int:
        return self.total


class _Match:
    """A hit before conversion: document number, score, stored fields (read when asked)."""

    __slots__ = ("searcher", "docnum", "score")

    def __init__(self, searcher, docnum: int, score: float):
        self.searcher, self.docnum, self.score = searcher, docnum, score

    def fields(self) -> dict:
        return self.searcher.stored_fields(self.docnum)


def _freshen(hits: list, reader, half_life: float, scores: dict) -> list:
    """Re-rank `hits` with a recency boost: each score times 0.5 + 0.5 * 2^(-age / half_life),
    age in days before the newest of these articles (so an archive's own present counts, not
    today's date); an undated article gets the factor of a very old one (0.5)."""
    dates = article_dates(reader, [hit.docnum for hit in hits])
    newest = max((d for d in dates if d), default=None)
    for hit, date in zip(hits, dates):
        age = (newest - date).total_seconds() / 86400 if date else math.inf
        scores[hit.docnum] = hit.score * (0.5 + 0.5 * 2 ** (-age / half_life))
    return sorted(hits, key=lambda hit: -scores[hit.docnum])  # stable: ties keep BM25F order


SIMILAR_TERMS = 15  # the key terms of an article's body a more-like-this query looks for


def run_similar(searcher, article_id: str, *, limit: int = 10) -> Results:
    """Articles most like the given one: Whoosh's more-like-this query (an OR of the
    SIMILAR_TERMS key terms of its body, weighted by how much each sets it apart), ranked by
    BM25F. `total` counts every other article that query matches, whatever `limit` is (counted
    from the postings, not scored)."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        raise ArticleNotFoundError(article_id)
    # as Searcher.more_like builds it, kept to count its matches as well; from the first
    # MAX_ANALYZED_CHARS of the body, as snippets are (a multi-megabyte record stays quick)
    body = searcher.stored_fields(docnum).get(SNIPPET_FIELD) or ""
    terms = searcher.key_terms_from_text(SNIPPET_FIELD, body[:snippets.MAX_ANALYZED_CHARS],
                                         numterms=SIMILAR_TERMS)
    q = wq.Or([wq.Term(SNIPPET_FIELD, word, boost=weight) for word, weight in terms])
    page = list(searcher.search(q, limit=limit, mask={docnum})) if limit and terms else []
    hits = [_to_hit(hit, rank, {}) for rank, hit in enumerate(page, start=1)]
    total = sum(1 for found in searcher.docs_for_query(q) if found != docnum) if terms else 0
    return Results(query=f"similar:{article_id}", total=total, hits=hits, complete=total)


MARKED_FIELDS = ("title", "summary", "body")


def mark_article(searcher, article_id: str, text: str, now: datetime | None = None
                 ) -> dict[str, list[tuple[int, int]]]:
    """Where the query `text` matches in one article: (start, end) spans in its whole title,
    summary and body (an article page marks all of its text, not passages), found as a search
    finds them (stems, phrases, wildcards expanded within the same bounds); in the body, only
    in the first snippets.MAX_ANALYZED_CHARS characters, as for snippets."""
    fields = searcher.document(id=article_id)
    if fields is None:
        raise ArticleNotFoundError(article_id)
    reader = searcher.reader()
    q, _ = _date_conjuncts(parse_query(text, now, languages=languages_in(reader)))
    terms = _matched_words(_bounded(q, reader, text), reader)
    return {name: snippets.find_matches((fields.get(name) or "")[:snippets.MAX_ANALYZED_CHARS],
                                        terms.get(name, snippets.Terms()),
                                        SCHEMA[name].analyzer.for_language(fields.get("lang")))
            for name in MARKED_FIELDS}


@dataclass(frozen=True)
class _DateOrder:
    """A sort by the date column, newest or oldest first, undated articles last either way
    (facets.by_date)."""

    newest: bool


def _matched_words(q: wq.Query, reader, memo: dict | None = None) -> dict[str, snippets.Terms]:
    """The index terms the query matched, by field, as text (wildcards expanded), and its exact
    phrases (marked only where their words follow each other). `memo`: the search's (ranking's),
    which tells of most terms whether a segment held them, without looking each up again (a
    wildcard's hundreds of words in each segment of a large archive)."""
    segments = len(reader.leaf_readers())

    def held(fieldname: str, text) -> bool:
        if memo:
            try:
                tbytes = text if isinstance(text, bytes) else SCHEMA[fieldname].to_bytes(text)
            except (KeyError, ValueError):
                tbytes = None
            told = ranking_held(memo, segments, fieldname, tbytes) if tbytes is not None else None
            if told is not None:
                return told
        return has_term(reader, fieldname, text)

    # Not Query.existing_terms(): in Whoosh 2.7 its loop variable shadows its `fieldname`
    # argument, so it drops the terms of every field after the first one it sees.
    words: dict[str, set[str]] = {}
    phrases: dict[str, set[tuple[str, ...]]] = {}
    for leaf in q.leaves():
        if isinstance(leaf, wq.Phrase) and leaf.slop <= 1 and len(leaf.words) > 1:
            if all(held(leaf.fieldname, w) for w in leaf.words):
                phrases.setdefault(leaf.fieldname, set()).add(tuple(leaf.words))
            continue
        for fieldname, term in leaf.expanded_terms(reader, phrases=True):
            field = SCHEMA[fieldname] if fieldname in SCHEMA else None
            if not isinstance(field, TEXT):
                continue
            text = term if isinstance(term, str) else field.from_bytes(term)
            if held(fieldname, field.to_bytes(text)):
                words.setdefault(fieldname, set()).add(text)
    return {name: snippets.Terms(frozenset(words.get(name, ())), frozenset(phrases.get(name, ())))
            for name in set(words) | set(phrases)}


def _to_hit(hit, rank: int, terms: dict[str, snippets.Terms], fragments: int = 1,
            score: float | None = None, complete: bool = True) -> Hit:
    fields = hit.fields()
    none = snippets.Terms()
    passages = snippets.make_snippets(
        fields.get(SNIPPET_FIELD, "") or fields.get("summary", ""),
        terms.get(SNIPPET_FIELD, none) | terms.get("summary", none),
        SCHEMA[SNIPPET_FIELD].analyzer.for_language(fields.get("lang")), count=fragments,
    )
    best = max(passages, key=lambda p: len(p.spans))
    title = snippets.highlight(fields.get("title", ""), terms.get("title", none),
                               SCHEMA["title"].analyzer.for_language(fields.get("lang")))
    date = fields.get("date")
    return Hit(
        id=fields.get("id", ""),
        title=title.text,
        date=to_utc_aware(date) if isinstance(date, datetime) else None,
        source=fields.get("source"),
        url=fields.get("url"),
        path=Path(fields["path"]) if fields.get("path") else None,
        score=float(score if score is not None else hit.score)
        if isinstance(hit.score, (int, float)) else 0.0,  # a sort key when sorted by date
        snippet=best.text,
        highlights=best.spans,
        title_highlights=title.spans,
        section=fields.get("section"),
        author=fields.get("author"),
        rank=rank,
        fragments=passages,
        complete=complete,
        lang=fields.get("lang"),
        story=fields.get("story"),
    )


# The parts of run_search that a sharded search (sharding.searching) runs shard by shard, with
# the statistics of the whole index, and then merges; the same functions, so the same results.
bounded = _bounded
date_conjuncts = _date_conjuncts
find = _search
key_words = _key_words
matched_words = _matched_words
to_hit = _to_hit
DateOrder = _DateOrder
typed = _typed
