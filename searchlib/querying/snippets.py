"""Snippets: the best passage of an article around the words a query matched, with their positions.

Stage: after searching, before rendering. The stored text is re-tokenised with the field's own
analyzer (so `shells` matches the query term `shell`), the window holding the most distinct
matched words is chosen, from a sentence start to a sentence end where those are near, and
returned as plain text plus (start, end) character spans of the matches; a quoted phrase is marked
as one span, and only where its words follow each other. Rendering (colour, `**marks**`) is the caller's.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from ..engine.analysis import INVISIBLE, TOKEN, has_runs

WIDTH = 240  # characters in a snippet, about two lines
# Passages are looked for in the first this many characters of a body (as Elasticsearch's
# `index.highlight.max_analyzed_offset`): far beyond any news article, and a search that hits a
# hostile multi-megabyte record stays quick. A match beyond it is found, but not shown.
MAX_ANALYZED_CHARS = 250_000
ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+")
_WS = re.compile(r"\s+")


@dataclass
class Snippet:
    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Terms:
    """What to mark in a field: analysed `words` wherever they occur, and `phrases` (tuples of
    analysed words) only where their words follow each other, marked as one span."""

    words: frozenset[str] = frozenset()
    phrases: frozenset[tuple[str, ...]] = frozenset()

    def __or__(self, other: "Terms") -> "Terms":
        return Terms(self.words | other.words, self.phrases | other.phrases)

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)


def find_matches(text: str, terms: Terms, analyzer) -> list[tuple[int, int]]:
    """Character spans of the tokens of `text` whose analysed form is one of `terms.words`, and
    of the runs of tokens that spell one of `terms.phrases` (longest first where they overlap)."""
    if not terms or not text:
        return []
    if not terms.phrases and getattr(analyzer, "prefix_safe", True) and not has_runs(text):
        return _word_matches(text, terms.words, analyzer)
    fused = getattr(analyzer, "terms_with_chars", None)
    tokens = fused(text) if fused else \
        [(t.text, t.startchar, t.endchar) for t in analyzer(text, chars=True, mode="index")]
    spans = [(s, e) for word, s, e in tokens if word in terms.words]
    for phrase in sorted(terms.phrases, key=len, reverse=True):
        n = len(phrase)
        for i in range(len(tokens) - n + 1):
            if tokens[i][0] == phrase[0] and tuple(t[0] for t in tokens[i:i + n]) == phrase:
                spans.append((tokens[i][1], tokens[i + n - 1][2]))
    kept: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda span: (span[0], -span[1])):
        if not kept or s >= kept[-1][1]:
            kept.append((s, e))
        elif e > kept[-1][1]:  # overlapping bigrams of one word (`梁振`, `振英`): one span
            kept[-1] = (kept[-1][0], e)
    return kept


_IRREGULAR = {"die": "dy", "lie": "ly", "tie": "ty"}  # Porter2's exceptions: dying → die, ...


def _word_matches(text: str, words: frozenset[str], analyzer) -> list[tuple[int, int]]:
    """The same spans as analysing the whole text, faster: a token is analysed (on its own:
    the chain works token by token) only if it is not ASCII or starts like a matched stem, as
    Porter2 keeps the first two letters and rewrites at most the last three it keeps. Where no
    word of the text has a non-ASCII letter, a regular expression finds those tokens' starts,
    so Python looks at the candidates only, not at every token."""
    prefixes = {w[:max(2, len(w) - 3)] for w in words}
    prefixes = tuple(prefixes | {_IRREGULAR[w] for w in words if w in _IRREGULAR})
    if not prefixes:
        return []
    pattern = TOKEN.pattern_for(text)
    if _NON_ASCII_LETTER.search(text):
        candidates = pattern.finditer(text)
    else:  # lower() keeps every position; each start is a token's start if no token runs on there
        candidates = (pattern.match(text, m.start()) for m in _starts(prefixes).finditer(text.lower())
                      if _token_starts_at(text, m.start()))
    term = getattr(analyzer, "term", None)  # NewsAnalyzer's, cached; else the whole chain
    seen: dict[str, bool] = {}
    spans = []
    for m in candidates:
        token = m.group()
        if token.isascii() and not token.lower().startswith(prefixes):
            continue
        hit = seen.get(token)
        if hit is None:
            hit = seen[token] = term(token) in words if term else \
                any(t.text in words for t in analyzer(token, mode="index"))
        if hit:
            spans.append(m.span())
    return spans


# (or an invisible character inside a word, `soft&shy;hyphen`: the prefixes are not found across it)
_NON_ASCII_LETTER = re.compile(rf"[^\W\x00-\x7f]|[{INVISIBLE}]")
_WORD = re.compile(r"\w")


@functools.lru_cache(maxsize=256)
def _starts(prefixes: tuple[str, ...]) -> re.Pattern:
    """Every position (overlapping ones too) where one of the prefixes begins."""
    return re.compile("(?=%s)" % "|".join(re.escape(p) for p in sorted(prefixes)))


def _token_starts_at(text: str, i: int) -> bool:
    """Whether TOKEN_PATTERN's scan from the left starts a token at i: a word character after a
    character that ends no token there (a non-word character, not a dot joining two words)."""
    if not _WORD.match(text, i):
        return False
    if i == 0:
        return True
    before = text[i - 1]
    if _WORD.match(before):
        return False
    return not (before == "." and i >= 2 and _WORD.match(text, i - 2))


def highlight(text: str, terms: Terms, analyzer) -> Snippet:
    """The whole (short) text with its matches marked: used for titles."""
    return _normalised(text, 0, len(text), find_matches(text, terms, analyzer), False, False)


def make_snippets(text: str, terms: Terms, analyzer, count: int = 1,
                  width: int = WIDTH) -> list[Snippet]:
    """Up to `count` passages of about `width` characters that do not overlap, chosen best first
    (most distinct matched words, then most matches) and returned in the order of the text.
    Each starts at a sentence start and ends at a sentence end where one is near; only the first
    MAX_ANALYZED_CHARS characters are looked at."""
    matches = find_matches(text[:MAX_ANALYZED_CHARS], terms, analyzer)
    if not matches:
        end = _fragment_end(text, 0, width)
        return [_normalised(text, 0, end, [], False, end < len(text))]
    keys = [_WS.sub(" ", text[s:e]).lower() for s, e in matches]
    chosen: list[tuple[int, int]] = []
    left = list(range(len(matches)))
    while left and len(chosen) < max(1, count):
        best = _best_window(matches, keys, left, int(width * 0.8))
        start, end = _window(text, matches[best], width)
        start, end = max([start] + [e for s, e in chosen if s < matches[best][0]]), \
            min([end] + [s for s, e in chosen if s > matches[best][0]])
        chosen.append((start, end))
        left = [i for i in left if not (matches[i][0] < end and matches[i][1] > start)]
    out = []
    for start, end in sorted(chosen):
        inside = [(s, e) for s, e in matches if s >= start and e <= end]
        out.append(_normalised(text, start, end, inside, start > 0, end < len(text)))
    return out


def _best_window(matches: list[tuple[int, int]], keys: list[str], left: list[int], reach: int) -> int:
    """The match (an index into `matches`, one of `left`) that starts the best window: the one
    whose next `reach` characters hold the most distinct matched words, then the most matches
    (the first such). The window slides over `left` (matches in text order, not overlapping,
    so their ends rise too) counting words as it goes: linear in the matches, not quadratic."""
    best, best_score = left[0], (-1, -1)
    counts: dict[str, int] = {}  # the words of the window, left[lo:hi]
    hi = 0
    for lo, i in enumerate(left):
        hi = max(hi, lo)  # (an empty window: counts is empty too)
        limit = matches[i][0] + reach
        while hi < len(left) and matches[left[hi]][1] <= limit:
            counts[keys[left[hi]]] = counts.get(keys[left[hi]], 0) + 1
            hi += 1
        score = (len(counts), hi - lo)
        if score > best_score:
            best, best_score = i, score
        if hi > lo:  # i leaves the window
            counts[keys[i]] -= 1
            if not counts[keys[i]]:
                del counts[keys[i]]
    return best


def _window(text: str, match: tuple[int, int], width: int) -> tuple[int, int]:
    anchor = match[0]
    start = 0 if len(text) <= width else _sentence_start(text, anchor, lookback=int(width * 0.35))
    end = _fragment_end(text, start, width)
    if end < match[1]:  # a very long word or phrase; keep the match visible
        end = match[1]
    return start, end


def _sentence_start(text: str, anchor: int, lookback: int) -> int:
    """Start of the sentence holding `anchor` if it is within `lookback` chars, else a word start."""
    low = max(0, anchor - lookback)
    boundary = None
    for m in _SENTENCE_END.finditer(text, low, anchor):
        boundary = m.end()
    if boundary is not None:
        return boundary
    paragraph = text.rfind("\n", 0, anchor) + 1
    if anchor - paragraph <= lookback * 1.5:  # the paragraph's first sentence: show it whole
        return paragraph
    space = text.find(" ", low, anchor)
    return space + 1 if space != -1 else low


def _fragment_end(text: str, start: int, width: int) -> int:
    """Where a passage from `start` ends: after the last sentence that fits, if that keeps at
    least 60% of `width`, else at the last word that fits."""
    end = start + width
    if end >= len(text):
        return len(text)
    last = None
    for m in _SENTENCE_END.finditer(text, start + int(width * 0.6), end + 1):
        last = m.start() + len(m.group().rstrip())
    if last is not None:
        return last
    space = text.rfind(" ", start, end)
    newline = text.rfind("\n", start, end)
    cut = max(space, newline)
    return cut if cut > start else end


def _normalised(text: str, start: int, end: int, spans: list[tuple[int, int]],
                lead: bool, trail: bool) -> Snippet:
    """text[start:end] with whitespace runs collapsed to one space, spans shifted to match."""
    out: list[str] = [ELLIPSIS] if lead else []
    length = len(ELLIPSIS) if lead else 0
    new_spans = []
    pos = start
    for s, e in spans + [(end, end)]:
        gap = _WS.sub(" ", text[pos:s])
        if not out and gap.startswith(" "):
            gap = gap.lstrip()
        out.append(gap)
        length += len(gap)
        if s == e == end:
            break
        word = _WS.sub(" ", text[s:e])  # a phrase may span a line break
        out.append(word)
        new_spans.append((length, length + len(word)))
        length += len(word)
        pos = e
    result = "".join(out).rstrip()
    if trail:
        result += ELLIPSIS
    return Snippet(result, new_spans)
