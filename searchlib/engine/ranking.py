"""Ranking: the best articles for a parsed query, scored with BM25F straight from the postings.

Stage: querying, inside searching. Whoosh evaluates a query with a tree of matcher objects that
steps through the postings one document at a time, several Python calls per posting, and looks
up each document's field length through three more; for the queries of scripts/bench.py that
was most of a search's time. Here a term's postings are read a block at a time and scored in
one pass (the blocks decoded straight from the term's bytes, `_read_extent`, without the
matcher's seek, read and generator per block), with each segment's field lengths read once and
kept with the open searcher, and AND, OR and NOT combine dictionaries of scores. An AND starts
with its rarest part and reads the others only in the blocks that can hold its matches (a
block's last document number is known before it is read); an exact phrase checks positions,
read with its words' postings, only where all its words are, and scores only its matches; a
wildcard's words (a constant score) are read unscored; a segment's best matches are picked
with NumPy when it has many; one search's queries share the term infos and postings they read
(the partial-match pass reads nothing twice).

The scores are Whoosh's BM25F: the same formula, statistics and boosts, so the same ranking (the
additions may come in another order, so a sum can differ in its last bit). Ties go to the lower
document number, as in Whoosh's collector. What is not handled here (a range, a NOT on its
own) is scored by Whoosh's own matcher for that part of the query.

A proximity phrase (`"coffee brazil"~5`) is a `SloppyPhrase`: its words in any order, as in
Lucene's sloppy phrases, with at most N - 1 other words among them (`near`); both this module
and Whoosh's matcher for it (used for facets and date sorting) apply that same test.
"""
from __future__ import annotations

import heapq
import weakref
import zlib
from bisect import bisect_left, bisect_right
from io import BytesIO
from itertools import accumulate
from pickle import load as load_pickle
from pickle import loads

from whoosh import query as wq
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, LENGTHS_COLUMN, W3TermsReader
from whoosh.formats import Positions
from whoosh.query.spans import Span, SpanNear2
from whoosh.scoring import BM25F
from whoosh.system import unpack_int
from whoosh.util.numeric import byte_to_length

from . import columns, fixes  # noqa: F401 (Whoosh's readers mended before any is made)
from .analysis import stemmer_name
from .postings import term_info

_LENGTHS = [byte_to_length(b) for b in range(256)]
_MANY = 2_000  # a segment's matches beyond which its best are picked with NumPy (_best)
_OR_AT_ONCE = 128  # an OR's part of this many documents or more is merged with dict.update (_or)
Scores = dict  # segment docnum → score


def near(positions: list[list[int]], slop: int) -> tuple[int, int] | None:
    """The first and last position of the narrowest stretch of text holding one position from
    each list, in any order, with at most `slop` - 1 other words among them (for two words: at
    most `slop` positions apart), or None. A word a phrase repeats has one list per time, and
    its times need distinct positions. Each list sorted ascending."""
    groups: dict[tuple[int, ...], int] = {}
    for plist in positions:
        key = tuple(plist)
        groups[key] = groups.get(key, 0) + 1
    if not all(groups):  # a word with no position
        return None
    width = slop + len(positions) - 2  # last position - first position, at most
    needs = list(groups.values())
    events = sorted((p, g) for g, plist in enumerate(groups) for p in plist)
    have = [0] * len(needs)
    missing = len(needs)
    left = 0
    best = None
    for right, (pos, g) in enumerate(events):
        have[g] += 1
        if have[g] == needs[g]:
            missing -= 1
        while missing == 0:  # the stretch events[left..right] holds them all: narrow it
            start, lg = events[left]
            if pos - start <= width and (best is None or pos - start < best[1] - best[0]):
                best = (start, pos)
            if have[lg] == needs[lg]:
                missing += 1
            have[lg] -= 1
            left += 1
    return best


class LanguageFilter(wq.Query):
    """The articles whose language (their `lang` code) is analysed with one of `algorithms`
    (Snowball's names; None: not stemmed), read from the postings of those codes once per
    segment reader and kept while it lives: what a word's form by one language's rules is kept to (the second
    part of a Require, which scores nothing)."""

    def __init__(self, algorithms):
        self.algorithms = frozenset(algorithms)
        self.fieldname = "lang"  # (what Whoosh asks a leaf query for; it has no terms)
        self.boost = 1.0

    def __eq__(self, other):
        return type(other) is type(self) and other.algorithms == self.algorithms

    def __hash__(self):
        return hash((type(self), self.algorithms))

    def __repr__(self):
        return f"{type(self).__name__}({sorted(map(str, self.algorithms))})"

    def docs(self, reader) -> frozenset:
        """The document numbers of `reader` (a segment's, or the whole index's) in those languages."""
        try:
            known = _LANGUAGE_DOCS.setdefault(reader, {})
        except TypeError:  # (a reader that cannot be weakly referenced)
            known = {}
        found = known.get(self.algorithms)
        if found is None:
            found = known[self.algorithms] = self._read(reader)
        return found

    def _read(self, reader) -> frozenset:
        """From the postings of the `lang` codes analysed with those rules: a form by another
        language's rules is kept to that language's articles, few whatever the archive's size.
        (Articles that declare no language are analysed with the default language's rules,
        which are always the first language's when it is in the index: never restricted.)"""
        docs: set[int] = set()
        for code in language_counts(reader):
            if stemmer_name(code) in self.algorithms:
                docs.update(reader.postings("lang", code).all_ids())
        return frozenset(docs)

    def estimate_size(self, ixreader):
        return len(self.docs(ixreader))

    def matcher(self, searcher, context=None):
        from whoosh.matching import ListMatcher
        return ListMatcher(sorted(self.docs(searcher.reader())), all_weights=0.0)


# reader → {algorithms: its documents in those languages} (LanguageFilter)
_LANGUAGE_DOCS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def language_counts(reader) -> dict[str, int]:
    """Each language code the articles of `reader` (a segment's, or the whole index's) declare,
    with how many declare it (deleted articles included, as Whoosh's document frequency counts
    them). One pass over each segment's `lang` words, kept while its reader lives: a query's
    languages (querying.languages) and each of its language filters (LanguageFilter) walked
    every segment's words again, which a first search over many segments paid for."""
    counts: dict[str, int] = {}
    for segment, _ in reader.leaf_readers():
        try:
            found = _LANGUAGE_COUNTS.get(segment)
        except TypeError:  # (a reader that cannot be weakly referenced: read each time)
            found = None
        if found is None:
            found = {}
            if "lang" in segment.schema:
                for text, info in segment.iter_field("lang"):
                    found[text.decode("utf-8")] = info.doc_frequency()
            try:
                _LANGUAGE_COUNTS[segment] = found
            except TypeError:
                pass
        for code, count in found.items():
            counts[code] = counts.get(code, 0) + count
    return counts


# segment reader → {language code: how many of its articles declare it} (language_counts)
_LANGUAGE_COUNTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class SloppyPhrase(wq.Phrase):
    """A proximity phrase (`"a b"~N`, N ≥ 1): its words in any order (see `near`).
    Whoosh's own Phrase with a slop keeps the order; this one's matcher does not."""

    def matcher(self, searcher, context=None):
        from whoosh import matching
        field = searcher.schema[self.fieldname] if self.fieldname in searcher.schema else None
        if field is None:
            return matching.NullMatcher()
        if not field.format or not field.format.supports("positions"):
            return super().matcher(searcher, context)  # which raises Whoosh's error for it
        reader = searcher.reader()
        terms = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return matching.NullMatcher()
            if (self.fieldname, word) not in reader:
                return matching.NullMatcher()
            terms.append(wq.Term(self.fieldname, word))
        m = _Near(terms, slop=self.slop).matcher(searcher, context)
        if self.boost != 1.0:
            m = matching.WrappingMatcher(m, boost=self.boost)
        return m


class _Near(SpanNear2):
    """Whoosh's span query for a SloppyPhrase: its words' spans tested with `near`."""

    def matcher(self, searcher, context=None):
        return _NearMatcher([q.matcher(searcher, context) for q in self.qs], slop=self.slop,
                            ordered=False, mindist=1)


class _NearMatcher(SpanNear2.SpanNear2Matcher):
    def _get_spans(self):
        found = near([sorted(span.start for span in m.spans()) for m in self.ms], self.slop)
        return [Span(*found)] if found else []


def top_matches(searcher, q: wq.Query, limit: int | None, allow: set[int] | None = None,
                memo: dict | None = None, tally=None) -> tuple[list[tuple[int, float]], int]:
    """The best `limit` (docnum, score) pairs, best first (all of them for None), and the number
    of articles matched. `allow`: the only document numbers that may match (None: any). `memo`:
    a dict kept between the queries of one search, holding the postings read, so a second query
    on the same words (the partial-match pass) does not read them again. `tally(offset, count,
    scores)` is shown each segment's matches (its `count` documents from `offset` on)."""
    best: list[tuple[float, int]] = []  # (score, -docnum), a heap of the best so far
    total = 0
    for offset, scores in _segment_scores(searcher, q, allow, memo, tally):
        total += len(scores)
        pairs = _best(scores, limit, offset)
        best = heapq.nlargest(limit, [*best, *pairs]) if limit else [*best, *pairs]
    best.sort(reverse=True)
    return [(-negative, score) for score, negative in best], total


def _best(scores: Scores, limit: int | None, offset: int) -> list[tuple[float, int]]:
    """The segment's best `limit` matches (all for None) as (score, -docnum) pairs, docnum from
    `offset`: the highest scores, and of equal scores the lowest document numbers, as ranking
    all of them would give. A segment of many matches (a common word in a large archive) is cut
    to those with NumPy, not by a pair for each match."""
    if not limit or len(scores) <= _MANY:
        return [(s, -(d + offset)) for d, s in scores.items()]
    import numpy as np
    count = len(scores)
    values = np.fromiter(scores.values(), dtype=np.float64, count=count)
    docs = np.fromiter(scores.keys(), dtype=np.int64, count=count)
    limit = min(limit, count)
    kth = np.partition(values, count - limit)[count - limit]  # the limit-th highest score
    above = np.flatnonzero(values > kth)
    tied = docs[values == kth]
    need = limit - len(above)  # (at least 1: kth is one of the best)
    if len(tied) > need:
        tied = np.partition(tied, need - 1)[:need]
    pairs = [(float(values[i]), -(int(docs[i]) + offset)) for i in above]
    tie = float(kth)
    pairs.extend((tie, -(int(d) + offset)) for d in tied)
    return pairs


def matching_docs(searcher, q: wq.Query, allow: set[int] | None = None, memo: dict | None = None,
                  tally=None):
    """Every article the query matches, as `top_matches` counts them, unscored: their document
    numbers in ascending order (a NumPy int64 array), for what orders or counts all the matches
    (facets, a sort by date) rather than Whoosh's matcher tree, which steps through each
    posting with several Python calls."""
    import numpy as np
    parts = [np.fromiter(scores.keys(), dtype=np.int64, count=len(scores)) + offset
             for offset, scores in _segment_scores(searcher, q, allow, memo, tally)]
    docs = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    docs.sort()
    return docs


def _segment_scores(searcher, q: wq.Query, allow: set[int] | None, memo: dict | None, tally=None):
    """(offset, scores) of each segment: its matches of the query, by its own document numbers.
    With `allow`, each segment is told its allowed documents, so that its terms' postings are
    read and scored only in the blocks that may hold them (a date filter of a few days reads a
    small part of a common word's postings)."""
    memo = {} if memo is None else memo
    allowed = sorted(allow) if allow is not None else None
    texts: dict = {}  # (field, word) → the term's bytes: the same in every segment
    for sub, offset in searcher.leaf_searchers():
        within = None
        if allowed is not None:  # the allowed documents of this segment, as its own numbers
            end = offset + sub.reader().doc_count_all()
            within = {d - offset for d in allowed[bisect_left(allowed, offset):bisect_left(allowed, end)]}
            if not within:
                continue
        segment = _Segment(searcher, sub, memo.setdefault(offset, {}), texts)
        scores = segment.scores(q, within)
        if within is not None:
            scores = {d: s for d, s in scores.items() if d in within}
        if segment.deleted:
            scores = _without(scores, segment.deleted)
        if tally is not None:
            tally(offset, sub.reader().doc_count_all(), scores)
        yield offset, scores


def mark_absent(memo: dict, offset: int, fieldname: str, texts) -> None:
    """Tell a search's `memo` (as top_matches and matching_docs take it) that the segment at
    `offset` holds none of the terms `texts` (bytes) of `fieldname`: they are then not looked up
    there, as a look-up finding no record would leave them (`_Segment._info`)."""
    segment = memo.setdefault(offset, {})
    for text in texts:
        segment[("info", fieldname, text)] = None


def held(memo: dict, segments: int, fieldname: str, text: bytes) -> bool | None:
    """Whether the index holds the term `text` (bytes) of `fieldname`, as a search's `memo` (as
    top_matches takes it, after the search) tells from the term records it looked up: True when
    one of its segments held it, False when all `segments` were seen lacking it, None when the
    memo cannot tell (a segment not looked in)."""
    key = ("info", fieldname, text)
    lacking = 0
    for segment in memo.values():
        info = segment.get(key, _UNSEEN)
        if info is None:
            lacking += 1
        elif info is not _UNSEEN:
            return True
    return False if lacking == segments else None


_UNSEEN = object()


class _Segment:
    """One segment's part of a query's evaluation. Its parts' scores may hold deleted documents
    (`deleted`), which the caller drops once from the segment's matches (a segment of an index
    grown by many runs holds some; dropping them from each word's postings cost as much again as
    scoring them). `texts`: terms as bytes, shared with the query's other segments."""

    def __init__(self, top, searcher, memo: dict, texts: dict | None = None):
        self.top, self.searcher, self.reader, self.memo = top, searcher, searcher.reader(), memo
        self.texts = {} if texts is None else texts
        terms = getattr(self.reader, "_terms", None)
        self.terms = terms if isinstance(terms, W3TermsReader) else None  # None: Whoosh reads its terms
        self.weighting = top.weighting
        self.deleted = self.reader.deleted_docs_set if self.reader.has_deletions() else frozenset()

    def scores(self, q: wq.Query, within: set[int] | None = None) -> Scores:
        """The matching documents' scores. `within`: where the caller will look (an AND's other
        parts matched only there); documents outside it may be left out."""
        kind = type(q)
        if kind is wq.Term:
            return self._term(q, within)
        if (kind is wq.Phrase and q.slop == 1) or kind is SloppyPhrase:
            return self._phrase(q, within)
        if kind in (wq.And, wq.Or) and len(q.subqueries) == 1:
            return self.scores(q.subqueries[0], within)  # Whoosh ignores a one-part group's boost
        if kind is wq.And:
            return _boosted(self._and(q.subqueries, within), q.boost)
        if kind is wq.Or and not q.scale:
            return _boosted(self._or(q.subqueries, within), q.boost)
        if kind is wq.AndNot:
            scores = self.scores(q.a, within)
            return _without(scores, self.scores(q.b, set(scores)))
        if isinstance(q, wq.Require) and type(q.b) is LanguageFilter:
            # (a word's form by another language's rules: looked for only in that language's
            # articles when they are few, and not at all in a segment that has none)
            keep = q.b.docs(self.reader)
            if not keep:
                return {}
            narrowed = within
            if len(keep) * 4 <= self.reader.doc_count_all():
                narrowed = set(keep) if within is None else within.intersection(keep)
                if not narrowed:
                    return {}
            return {d: score for d, score in self.scores(q.a, narrowed).items() if d in keep}
        if isinstance(q, wq.Require):  # (and its subclasses: a word's form kept to some articles)
            scores = self.scores(q.a, within)
            required = self.scores(q.b, set(scores))
            return {d: s for d, s in scores.items() if d in required}
        if kind is wq.AndMaybe:
            scores = self.scores(q.a, within)
            maybe = self.scores(q.b, set(scores))
            return {d: (s + maybe[d] if d in maybe else s) for d, s in scores.items()}
        if kind is wq.ConstantScoreQuery:
            return dict.fromkeys(self._docs(q.child, within), q.score)
        if kind is wq.Every and not q.fieldname:
            docs = self.reader.all_doc_ids()
            return dict.fromkeys(docs if within is None else within.intersection(docs), q.boost)
        if q is wq.NullQuery:
            return {}
        return self._whoosh(q)

    def _and(self, subs, within: set[int] | None) -> Scores:
        """Each part only where the parts before it matched, the rarest part first."""
        positive = [s for s in subs if not isinstance(s, wq.Not)]
        if not positive:
            return self._whoosh(wq.And(subs))
        parts: list[Scores] = [{}] * len(positive)
        common = within
        for i in sorted(range(len(positive)), key=lambda i: self._estimate(positive[i])):
            parts[i] = self.scores(positive[i], common)
            common = set(parts[i]) if common is None else common.intersection(parts[i])
            if not common:
                return {}
        for s in subs:
            if isinstance(s, wq.Not):  # Whoosh scores a NOT clause 1.0 for each document
                common.difference_update(self.scores(s.query, common))
        nots = sum(isinstance(s, wq.Not) for s in subs)
        out = {}
        for d in common:
            total = 0.0
            for part in parts:
                total += part[d]
            out[d] = total + nots if nots else total
        return out

    def _or(self, subs, within: set[int] | None) -> Scores:
        """The parts' scores summed, in the parts' order. A large part's documents that are in
        no part before it are taken at once (`dict.update`) and only the others added one by one:
        a word in the title is most often in the body too, but most of the body's are not in the
        title. A small part is added one by one (the sets cost more than they save)."""
        out: Scores = {}
        for s in subs:
            part = self._whoosh(s) if isinstance(s, wq.Not) else self.scores(s, within)
            if not out:
                out = dict(part)
            elif len(part) < _OR_AT_ONCE:
                get = out.get
                for d, score in part.items():
                    old = get(d)
                    out[d] = score if old is None else old + score
            else:
                summed = {d: out[d] + part[d] for d in out.keys() & part.keys()}
                out.update(part)
                out.update(summed)
        return out

    def _docs(self, q: wq.Query, within: set[int] | None):
        """The documents the query matches, unscored: for a constant-score query (a wildcard's
        words), where each word's postings are read and not scored, and an OR is a union."""
        kind = type(q)
        if kind is wq.Or and not q.scale:
            out: set[int] = set()
            for s in q.subqueries:
                out.update(self._docs(s, within))
            return out
        if kind is wq.Term:
            text = self._held(q)
            if text is None:
                return ()
            for key in ((q.fieldname, text, True), (q.fieldname, text, False), ("ids", q.fieldname, text)):
                if key in self.memo:
                    return self.memo[key][0]
            found = self._read(q.fieldname, text, False, within, scored=False)
            if found is not None:
                if within is None:
                    self.memo[("ids", q.fieldname, text)] = found
                return found[0]
        return self.scores(q, within).keys()

    def _term(self, q: wq.Term, within: set[int] | None = None) -> Scores:
        text = self._held(q)
        if text is None:
            return {}  # (a word this segment lacks: most words of a small segment)
        found = self._postings(q.fieldname, text, within=within)
        if found is None:
            return self._whoosh(q)
        ids, scores, _ = found
        return _boosted(dict(zip(ids, scores)), q.boost)

    def _held(self, q: wq.Term) -> bytes | None:
        """The term as bytes, or None when this segment cannot hold it (its field cannot take
        the word, or its term records lack it)."""
        text = self._bytes(q.fieldname, q.text)
        if text is None or (self.terms is not None and self._info(q.fieldname, text) is None):
            return None
        return text

    def _phrase(self, q: wq.Phrase, within: set[int] | None = None) -> Scores:
        """Articles with the words next to each other, in order (a SloppyPhrase: near each
        other, in any order); scored as Whoosh scores a phrase: the sum of its words' scores,
        times the phrase's boost."""
        field = self.reader.schema[q.fieldname] if q.fieldname in self.reader.schema else None
        if field is None or not q.words:
            return {}
        if not field.format or not field.format.supports("positions"):
            return self._whoosh(q)  # which raises Whoosh's error for it
        texts = [self._bytes(q.fieldname, word) for word in q.words]
        if None in texts:
            return {}
        # the rarest word's postings first, then the others' only where that one is, each word
        # unscored (a common phrase's words are in far more articles than the phrase)
        found: list = [None] * len(texts)
        where: list = [None] * len(texts)
        common = within
        targets = None  # (common as a sorted list: the last word read's documents, in order)
        for i in sorted(range(len(texts)), key=lambda i: self._estimate(wq.Term(q.fieldname, q.words[i]))):
            found[i] = self._raw_postings(q.fieldname, texts[i], targets if targets is not None else common)
            if found[i] is None:
                return self._whoosh(q)
            ids = found[i][0]
            if common is None:
                where[i] = {d: n for n, d in enumerate(ids)}
            else:
                where[i] = {d: n for n, d in enumerate(ids) if d in common}
            common = where[i].keys()
            targets = list(common)
            if not common:
                return {}
        matches = [d for d in targets if d not in self.deleted] if self.deleted else targets
        if not matches:
            return {}
        # the positions (read with the postings), decoded for the documents with all the words
        decode = _position_decoder(field.format)
        sloppy = type(q) is SloppyPhrase
        words = [(part, encoded) for part, (_, _, encoded) in zip(where, found)]
        (first_part, first_encoded), later_words = words[0], list(enumerate(words[1:], 1))
        matched = []
        for d in matches:
            if sloppy:
                if near([decode(encoded[part[d]]) for part, encoded in words], q.slop) is not None:
                    matched.append(d)
                continue
            # the first word's positions from which each later word is that many on
            starts = decode(first_encoded[first_part[d]])
            for k, (part, encoded) in later_words:
                later = decode(encoded[part[d]])
                if len(later) == 1:  # (most often: one position)
                    start = later[0] - k
                    starts = (start,) if start in starts else ()
                else:
                    later = set(later)
                    starts = [p for p in starts if p + k in later]
                if not starts:
                    break
            if starts:
                matched.append(d)
        if not matched:
            return {}
        # scored as the words' postings would be (the same sum, in the words' order)
        scorers = [self._scorer(q.fieldname, text) for text in texts]
        out: Scores = {}
        for d in matched:
            total = 0.0
            for (_, tfs, _), part, score in zip(found, where, scorers):
                tf = tfs[part[d]]
                if score is None:
                    total += tf
                else:
                    idf, k1p1, lengths, norm = score
                    total += idf * ((tf * k1p1) / (tf + norm[lengths[d]]))
            out[d] = total
        return _boosted(out, q.boost)

    def _raw_postings(self, name: str, text: bytes, within):
        """_raw with the encoded values, kept for the search when read whole."""
        key = ("raw", name, text)
        if key in self.memo:
            return self.memo[key]
        found = self._raw(name, text, True, within)
        if within is None:
            self.memo[key] = found
        return found

    def _bytes(self, name: str, text) -> bytes | None:
        """The term as the field stores it; None when it cannot be in the field."""
        key = (name, text)
        if key in self.texts:
            return self.texts[key]
        schema = self.reader.schema
        found = None
        if name in schema:
            try:
                found = schema[name].to_bytes(text)
            except ValueError:
                pass
        self.texts[key] = found
        return found

    def _postings(self, name: str, text: bytes, values: bool = False, within: set[int] | None = None):
        """A term's postings in this segment, deleted documents included: document numbers,
        scores (BM25F, or the term frequency in a field that is not scored) and, if asked, the
        encoded values (positions). None where only Whoosh's own matcher can score it. With
        `within`, the blocks holding none of those documents may be skipped unread."""
        for key in ((name, text, True), (name, text, values)):
            if key in self.memo:
                return self.memo[key]
        found = self._read(name, text, values, within)
        if within is None:
            self.memo[(name, text, values)] = found
        return found

    def _info(self, name: str, text: bytes):
        """The term's TermInfo in this segment (None: not there), looked up once per search, and
        not at all in a field the segment has no words in (a summary, in most newswires)."""
        key = ("info", name, text)
        if key not in self.memo:
            self.memo[key] = term_info(self.reader._terms, name, text)
        return self.memo[key]

    def _estimate(self, q: wq.Query) -> int:
        """How many documents the query may match here (as Whoosh's estimate_size, from the
        term infos this search looks up anyway)."""
        kind = type(q)
        if kind is wq.Term and self.terms is not None:
            text = self._bytes(q.fieldname, q.text)
            info = self._info(q.fieldname, text) if text is not None else None
            return info.doc_frequency() if info is not None else 0
        if kind is wq.Or:
            return sum(self._estimate(s) for s in q.subqueries)
        if kind is wq.And:
            return min(self._estimate(s) for s in q.subqueries)
        if isinstance(q, wq.Phrase) and q.words:
            return min(self._estimate(wq.Term(q.fieldname, word)) for word in q.words)
        if isinstance(q, wq.Require):  # at most what its first part matches
            return self._estimate(q.a)
        return q.estimate_size(self.reader)

    def _read(self, name: str, text: bytes, values: bool, within: set[int] | None, scored: bool = True):
        """See _postings; `scored` False: the term frequencies, not scored."""
        found = self._raw(name, text, values, within)
        if found is None:
            return None
        ids, weights, encoded = found
        if within is not None and len(within) < len(ids):  # the caller looks only there: score no more
            keep = [i for i, d in enumerate(ids) if d in within]
            ids, weights = [ids[i] for i in keep], [weights[i] for i in keep]
            if encoded is not None:
                encoded = [encoded[i] for i in keep]
        score = self._scorer(name, text) if scored else None
        if score is None:
            return ids, weights, encoded
        idf, k1p1, lengths, norm = score
        return ids, [idf * ((tf * k1p1) / (tf + norm[lengths[d]])) for d, tf in zip(ids, weights)], encoded

    def _raw(self, name: str, text: bytes, values: bool, within):
        """A term's postings as stored, deleted documents included: document numbers, term
        frequencies and, if asked, encoded values; with `within` (a set, or a sorted list), the
        blocks holding none of those documents skipped, the others whole. None where only
        Whoosh's own matcher can score the field."""
        field, weighting, terms = self.reader.schema[name], self.weighting, self.terms
        if terms is None or (field.scorable and not isinstance(weighting, BM25F)):
            return None
        info = self._info(name, text)
        if info is None:
            return [], [], [] if values else None
        # the segment's own postings (reader.postings() would wrap them in a FilterMatcher,
        # which steps past deleted documents: dropped by the callers)
        if info.is_inlined():  # a rare term's postings, kept in its record (see postings.py)
            ids, weights, encoded = map(list, info.inlined_postings())
            return ids, weights, encoded if values else None
        offset, length = info.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves it as unpack_int's tuple
            length = length[0]
        return _read_extent(terms._postfile.get(offset, length), field.format, values, within)

    def _scorer(self, name: str, text: bytes):
        """What scores the term's postings in this segment with BM25F: (idf, K1 + 1, the
        documents' length bytes, the denominator's part by length byte), a document's score
        being idf * ((tf * (K1 + 1)) / (tf + part[lengths[d]])); None in a field not scored."""
        field, weighting = self.reader.schema[name], self.weighting
        if not field.scorable:
            return None
        k1 = weighting.K1
        lengths, norm = self._norms(name, weighting._field_B.get(name, weighting.B), k1)
        return self.top.idf(name, text), k1 + 1, lengths, norm

    def _norms(self, name: str, b: float, k1: float) -> tuple[bytes, list[float]]:
        """Each document's length byte in this field, and for each byte value the part of BM25's
        denominator that depends on the document, K1 * ((1 - B) + B * length / average length),
        computed as Whoosh computes it. Kept with the open searcher."""
        cache = self.searcher.__dict__.setdefault("_searchlib_norms", {})
        key = (name, b, k1)
        if key not in cache:
            avgfl = self.top.avg_field_length(name) or 1
            table = [k1 * ((1 - b) + b * fl / avgfl) for fl in _LENGTHS]
            column = self.reader._perdoc._cached_reader(f"_{name}_len", LENGTHS_COLUMN)
            raw = b""
            if column is not None:  # one byte per document, up to the last one with the field
                raw = column._dbfile.get(column._basepos, column._count)
            cache[key] = raw + bytes(self.reader.doc_count_all() - len(raw)), table
        return cache[key]

    def _whoosh(self, q: wq.Query) -> Scores:
        """Whoosh's own matcher for this part of the query."""
        context = self.searcher.context(needs_current=True, weighting=self.weighting)
        matcher = q.matcher(self.searcher, context)
        out = {}
        while matcher.is_active():
            out[matcher.id()] = matcher.score()
            matcher.next()
        return out


_DECODED: dict[bytes, list[int]] = {}  # short encoded position lists (most are one position)


def _position_decoder(fmt):
    """The format's decode_positions, remembering what it gave for short values."""
    decode = fmt.decode_positions
    if type(fmt).decode_positions is not Positions.decode_positions:
        return decode
    cache = _DECODED

    def cached(value: bytes) -> list[int]:
        found = cache.get(value)
        if found is None:
            found = decode(value)
            if len(value) <= 16 and len(cache) < 100_000:
                cache[value] = found
        return found
    return cached


def read_postings(data: bytes, fmt) -> tuple[list[int], list[float], list]:
    """A term's document numbers, weights and encoded values (as W3LeafMatcher.value() gives
    them) from its postings as stored: what copying a segment (engine.segments) reads. At
    least one value per document: a spelling field's postings (each carrying whatever value
    the writer last had, empty ones left out; no reader reads them) may store fewer, and
    copying a segment with deleted articles picks the values of the documents it keeps (an
    IndexError merging a segment of an index grown by months of cron); the missing ones are
    empty, as the writer leaves them out again."""
    ids, weights, values = _read_extent(data, fmt, values=True)
    if len(values) < len(ids):
        values.extend([b""] * (len(ids) - len(values)))
    return ids, weights, values


def _read_extent(data: bytes, fmt, values: bool = False, within: set[int] | None = None):
    """A term's document numbers, weights (term frequencies) and, if asked, encoded values,
    from its postings as stored (W3LeafMatcher's format: a header, then blocks of [length
    (negative for the last), pickled block info, the block's pickled (delta-coded ids, weights,
    values), zlib-compressed if the info says so]), decoded here without the matcher's per-block
    seeks and reads and per-document generators. With `within`, only the blocks that may hold
    one of those documents (a block's last document number is in its info, read first)."""
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"postings block tag error {data[:4]!r}")
    ids: list[int] = []
    weights: list[float] = []
    encoded: list | None = [] if values else None
    fixedsize = fmt.fixed_value_size()
    targets = None if within is None else within if isinstance(within, list) else sorted(within)
    next_target = 0
    buf = BytesIO(data)
    pos = 4
    while True:
        length = unpack_int(data[pos:pos + 4])[0]
        end = pos + 4 + abs(length)
        buf.seek(pos + 4)
        count, last_id, _, compression, _, _ = load_pickle(buf)
        if targets is not None:
            if next_target == len(targets):
                break
            if targets[next_target] > last_id:
                if length < 0:
                    break
                pos = end
                continue
            next_target = bisect_right(targets, last_id, next_target)
        raw = data[buf.tell():end]
        block_ids, block_weights, block_values = loads(zlib.decompress(raw) if compression else raw)
        ids.extend(accumulate(block_ids))
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
        if values:
            if fixedsize is None or fixedsize < 0:
                encoded.extend(block_values)
            elif fixedsize == 0:
                encoded.extend([None] * count)
            else:
                encoded.extend(block_values[i:i + fixedsize] for i in range(0, len(block_values), fixedsize))
        if length < 0:
            break
        pos = end
    return ids, weights, encoded


def _boosted(scores: Scores, boost: float) -> Scores:
    return scores if boost == 1.0 else {d: s * boost for d, s in scores.items()}


def _without(scores: Scores, excluded) -> Scores:
    if len(excluded) < len(scores):  # (a few deleted documents, many matches: the cheaper way)
        gone = scores.keys() & excluded
        if not gone:
            return scores
        scores = dict(scores)
        for d in gone:
            del scores[d]
        return scores
    return {d: s for d, s in scores.items() if d not in excluded}
