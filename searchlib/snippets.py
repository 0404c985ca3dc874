"""Snippets: the best passage of an article around the words a query matched, with their positions.

Stage: after searching, before rendering. The stored text is re-tokenised with the field's own
analyzer (so `shells` matches the query term `shell`), the window holding the most distinct
matched words is chosen, widened to a sentence start where one is near, and returned as plain text
plus (start, end) character spans of the matches. Rendering (colour, `**marks**`) is the caller's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

WIDTH = 240  # characters in a snippet, about two lines
ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+")
_WS = re.compile(r"\s+")


@dataclass
class Snippet:
    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)


def find_matches(text: str, words: frozenset[str], analyzer) -> list[tuple[int, int]]:
    """Character spans of the tokens of `text` whose analysed form is one of `words`."""
    if not words or not text:
        return []
    return [(t.startchar, t.endchar) for t in analyzer(text, chars=True, mode="index")
            if t.text in words]


def highlight(text: str, words: frozenset[str], analyzer) -> Snippet:
    """The whole (short) text with its matches marked: used for titles."""
    return _normalised(text, 0, len(text), find_matches(text, words, analyzer), False, False)


def make_snippet(text: str, words: frozenset[str], analyzer, width: int = WIDTH) -> Snippet:
    """The best `width`-character passage of `text` for the matched `words`."""
    matches = find_matches(text, words, analyzer)
    if not matches:
        end = _word_end(text, min(len(text), width))
        return _normalised(text, 0, end, [], False, end < len(text))
    tokens = [text[s:e].lower() for s, e in matches]
    best, best_score = 0, (-1, -1)
    for i, (start, _) in enumerate(matches):
        inside = [j for j in range(i, len(matches)) if matches[j][1] <= start + int(width * 0.8)]
        score = (len({tokens[j] for j in inside}), len(inside))
        if score > best_score:
            best, best_score = i, score
    anchor = matches[best][0]
    start = 0 if len(text) <= width else _sentence_start(text, anchor, lookback=int(width * 0.35))
    end = _word_end(text, min(len(text), start + width))
    if end <= anchor:  # a single very long word; keep the match visible
        end = matches[best][1]
    inside = [(s, e) for s, e in matches if s >= start and e <= end]
    return _normalised(text, start, end, inside, start > 0, end < len(text))


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


def _word_end(text: str, end: int) -> int:
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", 0, end)
    newline = text.rfind("\n", 0, end)
    cut = max(space, newline)
    return cut if cut > 0 else end


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
        word = text[s:e]
        out.append(word)
        new_spans.append((length, length + len(word)))
        length += len(word)
        pos = e
    result = "".join(out).rstrip()
    if trail:
        result += ELLIPSIS
    return Snippet(result, new_spans)
