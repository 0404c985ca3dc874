"""JSON and JSON Lines records → Articles.

Stage: ingestion. A `.json` file holds one record, a list of records, or an object with the list
under `articles` / `items` / `records` / `data` / `results`. A `.jsonl` file holds one record per
line; a line that does not parse is reported and the other lines are kept. Keys are matched by
their usual names, case-insensitively (see `records.KEYS`, shared with the CSV parser).

Bounded: decoding JSON can cost ~40 bytes of Python objects per character, so no more than
`limits.max_record_chars` characters are ever decoded at once. A longer JSON Lines line is
reported (without being copied); a `.json` file longer than that is split into its records first
(a scan of its brackets and strings that builds no objects), each decoded on its own, and a
record over the limit is reported. Nesting is bounded too: a value nested more than
`limits.max_json_depth` deep (`[[[[…]]]]`) is refused as soon as the scan reaches that depth,
rather than scanned bracket by bracket to its end.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from ...article import Article
from ...errors import ParseError
from ..limits import Limits, current as current_limits, size
from .records import KEYS, line_spans, to_article

__all__ = ["KEYS", "parse_json", "parse_lines"]
_CONTAINERS = ("articles", "items", "records", "data", "results", "entries", "docs")
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.S)
_LITERAL = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_SPACE = re.compile(r"[ \t\n\r]*")
# Everything up to the next bracket, brace or unbalanced quote: text between them and whole strings.
_UP_TO_BRACKET = re.compile(r'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+")*+', re.S)


def parse_json(text: str, path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    limits = current_limits(limits)
    if len(text) > limits.max_record_chars:
        yield from _parse_big_json(text, path, limits)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ParseError(path, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ParseError(path, f"invalid JSON: {exc}") from None
    if isinstance(data, dict):
        lowered = {k.lower(): v for k, v in data.items() if isinstance(k, str)}
        found = next((lowered[c] for c in _CONTAINERS if isinstance(lowered.get(c), list)), None)
        records = found if found is not None else [data]
    elif isinstance(data, list):
        records = data
    else:
        raise ParseError(path, "JSON holds neither a record nor a list of records")
    single = len(records) == 1 and isinstance(data, dict)
    for i, record in enumerate(records):
        yield to_article(record, path, None if single else f"item {i}", None if single else str(i))


def parse_lines(text: str, path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    limits = current_limits(limits)
    for number, start, end in line_spans(text):  # not splitlines(): U+2028 may be in a string
        if end - start > limits.max_record_chars:
            yield ParseError(path, f"line of {size(end - start, 'chars')} is over the "
                                   f"{size(limits.max_record_chars, 'chars')} limit "
                                   f"{limits.hint('max_record_chars')}; skipped", f"line {number}")
            continue
        line = text[start:end]
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ParseError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", f"line {number}")
            continue
        except RecursionError:
            yield ParseError(path, "invalid JSON: nested too deeply", f"line {number}")
            continue
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            yield ParseError(path, f"invalid JSON: {exc}", f"line {number}")
            continue
        yield to_article(record, path, f"line {number}", str(number))


# --- a .json file longer than one record may be ---------------------------------------------

def _parse_big_json(text: str, path: Path, limits: Limits) -> Iterator[Article | ParseError]:
    """`parse_json` for a file over `max_record_chars`: the records' spans are found first, then
    each is decoded alone. Same results as decoding the whole file, in bounded memory."""
    first = _skip_space(text, 0)
    first = _skip_space(text, first + 1) if text.startswith("\ufeff", first) else first
    if text[first:first + 1] not in ("[", "{"):
        raise ParseError(path, "JSON holds neither a record nor a list of records")
    try:
        spans, single = _record_spans(text, limits.max_json_depth)
    except _TooDeep:
        raise ParseError(path, f"JSON nested more than {limits.max_json_depth:,} deep "
                               f"{limits.hint('max_json_depth')}; not read") from None
    except ValueError as exc:
        raise ParseError(path, f"invalid JSON: {exc}") from None
    for i, (start, end) in enumerate(spans):
        where, key = (None, None) if single else (f"item {i}", str(i))
        if end - start > limits.max_record_chars:
            yield ParseError(path, f"record of {size(end - start, 'chars')} is over the "
                                   f"{size(limits.max_record_chars, 'chars')} limit "
                                   f"{limits.hint('max_record_chars')}; skipped", where)
            continue
        try:
            record = json.loads(text[start:end])
        except json.JSONDecodeError as exc:
            yield ParseError(path, f"invalid JSON: {exc.msg}", where)
            continue
        except RecursionError:
            yield ParseError(path, "invalid JSON: nested too deeply", where)
            continue
        except ValueError as exc:
            yield ParseError(path, f"invalid JSON: {exc}", where)
            continue
        yield to_article(record, path, where, key)


def _record_spans(text: str, max_depth: int) -> tuple[list[tuple[int, int]], bool]:
    """The (start, end) of each record in a JSON document, and whether it is a single record.

    The records are the elements of a top-level list, or of the list under a container key of a
    top-level object (`articles`, ... in `_CONTAINERS` order), or else the object itself. Raises
    ValueError (with where) if the document's structure is broken, _TooDeep if it nests more
    than `max_depth` deep.
    """
    pos = _skip_space(text, 0)
    if text.startswith("\ufeff", pos):
        pos = _skip_space(text, pos + 1)
    if pos >= len(text) or text[pos] not in "[{":
        raise ValueError("the file holds neither a record nor a list of records")
    if text[pos] == "[":
        spans, end = _array_spans(text, pos, max_depth)
        _expect_end(text, end)
        return spans, False
    containers: dict[str, int] = {}
    for key, value_start, _ in _object_members(text, pos, max_depth):
        lowered = key.lower()
        if lowered in _CONTAINERS and lowered not in containers and text.startswith("[", value_start):
            containers[lowered] = value_start
    _expect_end(text, _value_end(text, pos, max_depth))
    for name in _CONTAINERS:
        if name in containers:
            spans, _ = _array_spans(text, containers[name], max_depth)
            return spans, len(spans) == 1
    return [(pos, _value_end(text, pos, max_depth))], True


def _array_spans(text: str, pos: int, max_depth: int) -> tuple[list[tuple[int, int]], int]:
    """Spans of the elements of the array opening at `pos`, and the index after it."""
    spans = []
    pos = _skip_space(text, pos + 1)
    if text.startswith("]", pos):
        return spans, pos + 1
    while True:
        end = _value_end(text, pos, max_depth - 1)
        spans.append((pos, end))
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
        elif text.startswith("]", pos):
            return spans, pos + 1
        else:
            raise ValueError(f"expected ',' or ']' at character {pos}")


def _object_members(text: str, pos: int, max_depth: int) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) of each member of the object opening at `pos`."""
    pos = _skip_space(text, pos + 1)
    if text.startswith("}", pos):
        return
    while True:
        if not text.startswith('"', pos):
            raise ValueError(f"expected a key at character {pos}")
        end = _string_end(text, pos)
        key = json.loads(text[pos:end]) if end - pos <= 1024 else ""  # no container name is long
        pos = end
        pos = _skip_space(text, pos)
        if not text.startswith(":", pos):
            raise ValueError(f"expected ':' at character {pos}")
        start = _skip_space(text, pos + 1)
        end = _value_end(text, start, max_depth - 1)
        yield key, start, end
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
        elif text.startswith("}", pos):
            return
        else:
            raise ValueError(f"expected ',' or '}}' at character {pos}")


class _TooDeep(ValueError):
    """The JSON nests deeper than allowed (the caller knows the limit, for its message)."""


def _value_end(text: str, pos: int, max_depth: int) -> int:
    """The index just after the JSON value starting at `pos`, found without decoding it;
    raises _TooDeep if it nests more than `max_depth` brackets deep (the value itself counts)."""
    if pos >= len(text):
        raise ValueError("unexpected end of the file")
    if text[pos] == '"':
        return _string_end(text, pos)
    if text[pos] not in "[{":  # a number, true, false, null
        m = _LITERAL.match(text, pos)
        if m is None:
            raise ValueError(f"unexpected character at {pos}")
        return m.end()
    depth = 0
    while True:
        pos = _UP_TO_BRACKET.match(text, pos).end()
        if pos >= len(text):
            raise ValueError("unexpected end of the file (unclosed bracket)")
        char = text[pos]
        if char == '"':
            raise ValueError(f"unterminated string at character {pos}")
        depth += 1 if char in "[{" else -1
        if depth > max_depth:
            raise _TooDeep("nested too deeply")
        pos += 1
        if depth == 0:
            return pos


def _string_end(text: str, pos: int) -> int:
    m = _STRING.match(text, pos)
    if m is None:
        raise ValueError(f"unterminated string at character {pos}")
    return m.end()


def _skip_space(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()


def _expect_end(text: str, pos: int) -> None:
    if _skip_space(text, pos) != len(text):
        raise ValueError(f"extra data after the JSON value at character {_skip_space(text, pos)}")
