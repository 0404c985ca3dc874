"""Spelling: "did you mean" — the query with each word the index does not know replaced by the
closest word it does know.

Stage: querying, after a search that found little. Candidates are the titles' words (indexed
unstemmed for this) within one or two edits of the typed word, and the commonest stems close to
its stem (the body is indexed as stems: `artillery` as `artilleri`), each as an article spells
it. Candidates are scored by how many articles have them, divided by EDIT_PENALTY per edit
(transpositions count as one, as in Lucene's fuzzy queries), so a typo that happens to be in the
data does not beat the common word (Norvig's weighting, Elasticsearch's phrase suggester). A word
that only a few articles have may itself be a typo of a far commoner word one edit away, and is
then respelt too (Elasticsearch's `suggest_mode: popular`).
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict

from ..engine.analysis import stemmer_name
from ..engine.postings import doc_frequency, has_term
from ..engine.schema import DEFAULT_FIELDS, SCHEMA, SNIPPET_FIELD
from .languages import languages_in

_WORD = re.compile(r"(?<![\w:.'’*?~^-])([^\W\d_]{3,30})(?![\w:*?~^'’])")  # 30: longer is no word
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"}
SURFACE_DOCS = 5  # articles read to find how a suggested stem is spelt
STEM_CANDIDATES = 5  # close stems looked at (the commonest)
EDIT_PENALTY = 10  # a candidate one edit further must be in this many times as many articles
RARE_DOCS = 2  # a word in at most this many articles may be respelt ...
POPULAR_FACTOR = 10  # ... as a word one edit away in at least this many times as many articles


def suggest(reader, text: str) -> str | None:
    """`text` with the words no article has replaced by close, common ones; None when
    there is nothing to correct. Words inside quotes, field:values and operators are left alone."""
    changed, out, last = False, [], 0
    quoted = _quoted_ranges(text)
    languages = languages_in(reader)
    for m in _WORD.finditer(text):
        word = m.group(1)
        if word in _OPERATORS or any(a <= m.start() < b for a, b in quoted):
            continue
        better = _correct(reader, word, languages)
        if better and better != word.lower():
            out.append(text[last:m.start()] + better)
            last, changed = m.end(), True
    return "".join(out) + text[last:] if changed else None


def _quoted_ranges(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r'"[^"]*"?', text)]


_BODY_FIRST = (SNIPPET_FIELD, *(name for name in DEFAULT_FIELDS if name != SNIPPET_FIELD))


def _frequency(reader, stem: str, enough: int | None = None) -> int:
    """The articles that have `stem` in the default field that most have it (read from each
    segment's terms file: engine.postings.doc_frequency, cheaper per segment than Whoosh's).
    With `enough`, any count from that many on may be returned for a larger one: a word is
    looked up segment by segment, body first, only until that many articles are seen to have
    it (most typed words are common: one segment tells)."""
    best = 0
    for name in _BODY_FIRST:
        best = max(best, doc_frequency(reader, name, stem, enough))
        if enough is not None and best >= enough:
            break
    return best


def _stem(word: str, lang: str | None = None) -> str | None:
    stems = [t.text for t in SCHEMA[SNIPPET_FIELD].analyzer.for_language(lang)(word)]
    return stems[0] if len(stems) == 1 else None  # None: a stop word, or several tokens


def _stems(word: str, languages) -> list[str]:
    """The word's stem in each language (the first language's first); [] when some language's
    chain makes several tokens of it (a run of unspaced script) or none."""
    stems = [_stem(word, lang) for lang in languages]
    return [] if None in stems else list(dict.fromkeys(stems))


def _correct(reader, word: str, languages=(None,)) -> str | None:
    """The best respelling of `word`, or None: for a word no article has, the candidate within
    one or two edits with the most articles per EDIT_PENALTY per edit; for a word at most
    RARE_DOCS articles have, a word one edit away in POPULAR_FACTOR times as many."""
    typed = word.lower()
    stems = _stems(typed, languages)  # a word known in any language's form is known
    if not stems:
        return None
    known = max(_frequency(reader, s, RARE_DOCS + 1) for s in stems)  # (exact up to RARE_DOCS)
    if known > RARE_DOCS:  # a real word is left alone, and costs no more lookups
        return None
    if known and _in_other_language(reader, stems, languages[0]):
        return None  # `wird` in a German article is no typo of the English `word`
    maxdist = 1 if known or len(typed) <= 4 else 2
    best, best_key = None, None
    # close to the word's stem in each language (`bundesregirung` is near German stems only)
    candidates = _spelled(reader, typed, maxdist).union(*(_near_stems(reader, typed, s, maxdist) for s in stems))
    for candidate in sorted(candidates):
        cstems = _stems(candidate, languages)
        if not cstems or set(cstems) & set(stems):
            continue
        df, distance = max(_frequency(reader, c) for c in cstems), _distance(typed, candidate)
        if distance > maxdist or not df or df < POPULAR_FACTOR * known:
            continue
        key = (-df / EDIT_PENALTY ** distance, distance, candidate)
        if best_key is None or key < best_key:
            best, best_key = candidate, key
    return best


def _in_other_language(reader, stems: list[str], first: str | None) -> bool:
    """Whether an article that has one of `stems` (a rare word: a few articles) is in a language
    analysed otherwise than the index's first language, whose common words respell rare ones:
    a rare word of another language is a correct word of it, not a typo."""
    first_stemmer = stemmer_name(first)
    for name in DEFAULT_FIELDS:
        for stem in stems:
            if not has_term(reader, name, stem):
                continue
            for docnum in reader.postings(name, stem).all_ids():
                if stemmer_name(reader.stored_fields(docnum).get("lang")) != first_stemmer:
                    return True
    return False


def _spelled(reader, typed: str, maxdist: int) -> set[str]:
    """Words close to `typed` among the titles' unstemmed words (looked up once, whatever the
    number of languages)."""
    spell_field = SCHEMA["title"].spelling_fieldname("title")
    if spell_field not in reader.indexed_field_names():
        return set()
    return set(terms_within(reader, spell_field, typed, maxdist, prefix=1))


def _near_stems(reader, typed: str, stem: str, maxdist: int) -> set[str]:
    """As the index holds stems, the commonest stems close to the typed word's stem (`stem`, by
    one language's rules), each as some article spells it."""
    words: set[str] = set()
    stems = {c for name in DEFAULT_FIELDS for c in terms_within(reader, name, stem, maxdist, prefix=1)}
    for candidate in sorted(stems, key=lambda c: -_frequency(reader, c))[:STEM_CANDIDATES]:
        surface = _surface(reader, candidate, typed)
        if surface:
            words.add(surface)
    return words


def terms_within(reader, fieldname: str, text: str, maxdist: int, prefix: int = 0) -> set[str]:
    """The words of `fieldname` within `maxdist` edits of `text` (sharing its first `prefix`
    letters): the words Whoosh's `reader.terms_within` gives. A reader of one segment is asked
    itself (it walks an automaton, over the spelling graph where the field has one); on
    several, Whoosh merges the segments' word lists and runs its edit-distance table on every
    word, so they are read segment by segment (`lexicon_within`)."""
    if reader.is_atomic():
        return set(reader.terms_within(fieldname, text, maxdist, prefix))
    return lexicon_within(reader, fieldname, text, maxdist, prefix)


def lexicon_within(reader, fieldname: str, text: str, maxdist: int, prefix: int = 0) -> set[str]:
    """The index terms of `fieldname` within `maxdist` edits of `text` (transpositions counting
    as one, as Whoosh's distance does), sharing its first `prefix` letters: read from each
    segment's term list (never a field's spelling graph, which holds unstemmed words, not its
    terms), the edits counted by rapidfuzz (in C) over the index's words of that prefix, each
    once however many segments hold it (`_lexicon`)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA
    words, stale = _lexicon(reader, fieldname, text[:prefix])
    found = {word for word, _, _ in process.extract(
        text, words, scorer=OSA.distance, score_cutoff=maxdist, limit=None)}
    if stale:  # (words of segments merged or deleted since: kept only if a segment has them)
        found = {word for word in found if has_term(reader, fieldname, word)}
    return found


_LEXICONS: OrderedDict = OrderedDict()  # (folder, field, prefix) -> _Lexicon, the latest last
_WORDS_MOST = 1_000_000                  # words kept in all (the least recently used go first)
_words_kept = 0
_words_lock = threading.Lock()


class _Lexicon:
    """The words of one field and prefix of the index in one folder, over the segments read so
    far (`covered`, by segment id): a union, so a word that many segments hold is kept and
    compared once. A segment never changes; one that a commit merged away leaves its words here
    (a search checks those it finds: `stale`), and a rebuild swapped in starts a new union."""

    __slots__ = ("covered", "words")

    def __init__(self):
        self.covered: frozenset[str] = frozenset()
        self.words: list[str] = []


def _lexicon(reader, fieldname: str, prefix: str) -> tuple[list[str], bool]:
    """The words of `fieldname` beginning with `prefix` in every segment of `reader` (a list
    shared with other searches: never changed in place), and whether it may also hold words no
    segment of `reader` has. Read once per process and segment, as segments come."""
    global _words_kept
    from ..engine.summaries import folder_of
    leaves = [leaf for leaf, _ in reader.leaf_readers() if fieldname in leaf.indexed_field_names()]
    ids = [leaf.segment().segment_id() if hasattr(leaf, "segment") else None for leaf in leaves]
    folder = folder_of(reader)
    if folder is None or None in ids:  # (an index in memory: its words read each time)
        return list({word for leaf in leaves for word in _segment_words(leaf, fieldname, prefix)}), False
    key = (str(folder), fieldname, prefix)
    with _words_lock:
        lexicon = _LEXICONS.get(key)
        if lexicon is not None:
            _LEXICONS.move_to_end(key)
    if lexicon is None or lexicon.covered.isdisjoint(ids):
        lexicon = _Lexicon()  # (a rebuild swapped in: none of its segments read yet)
    missing = [(leaf, sid) for leaf, sid in zip(leaves, ids) if sid not in lexicon.covered]
    if missing:
        known = set(lexicon.words)
        added = [word for leaf, _ in missing for word in _segment_words(leaf, fieldname, prefix)
                 if word not in known and not known.add(word)]
        grown = _Lexicon()
        grown.covered = lexicon.covered | {sid for _, sid in missing}
        grown.words = lexicon.words + added
        lexicon = grown
        with _words_lock:
            gone = _LEXICONS.pop(key, None)
            _words_kept -= len(gone.words) if gone is not None else 0
            if len(lexicon.words) <= _WORDS_MOST:
                _LEXICONS[key] = lexicon
                _words_kept += len(lexicon.words)
            while _words_kept > _WORDS_MOST:
                _, gone = _LEXICONS.popitem(last=False)
                _words_kept -= len(gone.words)
    return lexicon.words, not lexicon.covered.issubset(ids)


def _segment_words(leaf, fieldname: str, prefix: str) -> list[str]:
    """The words of a segment's field that begin with `prefix`."""
    field = leaf.schema[fieldname]
    return [field.from_bytes(btext) for btext in leaf.expand_prefix(fieldname, prefix)]


def _surface(reader, stem: str, typed: str, docs: int = SURFACE_DOCS) -> str | None:
    """The word closest to `typed` among those that articles spell and that stem to `stem`
    (looked up in a few articles; lower-cased)."""
    analyzer = SCHEMA[SNIPPET_FIELD].analyzer
    seen: dict[str, int] = {}
    for name in (SNIPPET_FIELD, "title", "summary"):
        if not has_term(reader, name, stem):
            continue
        for i, docnum in enumerate(reader.postings(name, stem).all_ids()):
            if i == docs:
                break
            fields = reader.stored_fields(docnum)
            text = fields.get(name) or ""
            for token in analyzer.for_language(fields.get("lang"))(text, chars=True, mode="index"):
                if token.text == stem:
                    word = text[token.startchar:token.endchar].lower()
                    seen[word] = seen.get(word, 0) + 1
        if seen:
            break
    return min(seen, key=lambda w: (_distance(typed.lower(), w), -seen[w], w)) if seen else None


def _distance(a: str, b: str) -> int:
    """Edit distance with an adjacent transposition as one edit (optimal string alignment, as
    Lucene's fuzzy queries count); short words only."""
    before, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if before is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]
