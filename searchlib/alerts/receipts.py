"""Receipts: a search written down (what was asked, what came back) to check again later.

Stage: alerts, for reproducible reporting. A receipt (JSON) holds the query and every option
that changes the answer (dates, page, order, recency boost, and the moment relative dates were
read against), the index it ran on (path, commit generation, article count), the ids and scores
of the hits, and a sha256 digest of both. `verify_receipt` checks the digest (an edited receipt
is refused), runs the same search on the index as it is now, and says whether the answer is the
same, or which articles came, went or changed (rank, or score beyond SCORE_TOLERANCE).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReceiptError
from .files import replace_file

if TYPE_CHECKING:
    from ..index import Index
    from ..querying.searching import Results

FORMAT = "searchlib-receipt"
VERSION = 1
SCORE_TOLERANCE = 1e-6  # relative: a score that moved less is the same score
MAX_RECEIPT_BYTES = 64 << 20


@dataclass
class Receipt:
    """What was asked and what came back, as written to the file."""

    asked: dict
    results: dict
    sha256: str

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "asked": self.asked, "results": self.results,
                "sha256": self.sha256}


@dataclass
class Change:
    """An article whose place in the answer differs: came (now only), went (then only), or
    changed (both, at another rank or with another score)."""

    kind: str
    id: str
    rank_then: int | None = None
    rank_now: int | None = None
    score_then: float | None = None
    score_now: float | None = None

    def to_dict(self) -> dict:
        return {"change": self.kind, "id": self.id, "rank_then": self.rank_then,
                "rank_now": self.rank_now, "score_then": self.score_then, "score_now": self.score_now}


@dataclass
class Verdict:
    """The receipt checked against today's index."""

    path: Path
    query: str
    total_then: int
    total_now: int
    changes: list[Change] = field(default_factory=list)
    generation_then: int | None = None
    generation_now: int | None = None

    @property
    def same(self) -> bool:
        return not self.changes and self.total_then == self.total_now

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)

    def to_dict(self) -> dict:
        return {"receipt": str(self.path), "query": self.query, "same": self.same,
                "came": self.count("came"), "went": self.count("went"),
                "changed": self.count("changed"), "total_then": self.total_then,
                "total_now": self.total_now, "generation_then": self.generation_then,
                "generation_now": self.generation_now}


def make_receipt(index: "Index", results: "Results", *, since=None, until=None, limit: int = 10,
                 offset: int = 0, sort: str = "relevance", fresh: float | None = None,
                 snippets: int = 1, lang=None, all_copies: bool = False, now: datetime) -> Receipt:
    """The receipt of `results`, the answer `index.search(results.query, ...)` gave with these
    options at `now` (which relative dates such as `7d` were read against)."""
    if isinstance(lang, str):
        lang = [lang]
    asked = {"query": results.query, "since": _when(since), "until": _when(until), "limit": limit,
             "offset": offset, "sort": sort, "fresh": fresh, "snippets": snippets,
             "lang": list(lang) if lang else None, "all_copies": bool(all_copies),
             "now": now.astimezone(timezone.utc).isoformat(),
             "index": {"path": str(index.path), "generation": index.generation(),
                       "articles": len(index)}}
    answer = {"total": results.total, "complete": results.complete, "partial": results.partial,
              "hits": [{"rank": hit.rank, "id": hit.id, "score": hit.score} for hit in results]}
    return Receipt(asked, answer, _digest(asked, answer))


def write_receipt(path: str | os.PathLike, receipt: Receipt) -> Path:
    """Write the receipt to `path` (replaced atomically if it exists)."""
    path = Path(path)
    text = json.dumps(receipt.to_dict(), indent=2, ensure_ascii=False) + "\n"
    replace_file(path, text.encode("utf-8"))
    return path


def read_receipt(path: str | os.PathLike) -> Receipt:
    """The receipt in `path`; ReceiptError if it is no receipt or its digest does not match."""
    path = Path(path)
    if path.exists() and not path.is_file():  # (a FIFO would block the open until written)
        raise ReceiptError(path, "not a regular file")
    try:
        with open(path, "rb") as file:
            data = json.loads(file.read(MAX_RECEIPT_BYTES + 1).decode("utf-8"))
    except FileNotFoundError:
        raise ReceiptError(path, "no such file") from None
    except OSError as exc:
        raise ReceiptError(path, f"cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ReceiptError(path, f"not JSON ({exc})") from None
    except RecursionError:
        raise ReceiptError(path, "not JSON (nested too deep)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReceiptError(path, "not a searchlib receipt (no \"format\": \"searchlib-receipt\")")
    if data.get("version") != VERSION:
        raise ReceiptError(path, f"receipt version {data.get('version')!r}; this searchlib reads {VERSION}")
    asked, answer, digest = data.get("asked"), data.get("results"), data.get("sha256")
    if not isinstance(asked, dict) or not isinstance(answer, dict) or not isinstance(digest, str):
        raise ReceiptError(path, "it lacks \"asked\", \"results\" or \"sha256\"")
    try:
        matches = _digest(asked, answer) == digest
    except ValueError:  # (NaN or Infinity written in by hand)
        matches = False
    if not matches:
        raise ReceiptError(path, "its sha256 does not match what it says was asked and found "
                                 "(the file was changed after it was written)")
    try:
        _check_shape(asked, answer)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ReceiptError(path, f"it is malformed ({exc})") from None
    return Receipt(asked, answer, digest)


def verify_receipt(path: str | os.PathLike, index: "Index") -> Verdict:
    """Run the receipt's search again on `index` and compare (see the module's docstring)."""
    receipt = read_receipt(path)
    asked, then = receipt.asked, receipt.results
    now = datetime.fromisoformat(asked["now"])
    extra = {}  # (only what the search had)
    if asked.get("lang"):
        extra["lang"] = asked["lang"]
    if asked.get("all_copies"):
        extra["all_copies"] = True
    results = index.search(asked["query"], since=asked["since"], until=asked["until"],
                           limit=asked["limit"], offset=asked["offset"], sort=asked["sort"],
                           fresh=asked["fresh"], snippets=asked.get("snippets", 1), now=now,
                           **extra)
    before = {hit["id"]: hit for hit in then["hits"]}
    after = {hit.id: hit for hit in results}
    changes = []
    for hit in results:
        old = before.get(hit.id)
        if old is None:
            changes.append(Change("came", hit.id, rank_now=hit.rank, score_now=hit.score))
        elif old["rank"] != hit.rank or not _close(old["score"], hit.score):
            changes.append(Change("changed", hit.id, old["rank"], hit.rank, old["score"], hit.score))
    for old in then["hits"]:
        if old["id"] not in after:
            changes.append(Change("went", old["id"], rank_then=old["rank"], score_then=old["score"]))
    return Verdict(Path(path), asked["query"], then["total"], results.total, changes,
                   asked["index"].get("generation"), index.generation())


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=SCORE_TOLERANCE, abs_tol=1e-12)


def _check_shape(asked: dict, answer: dict) -> None:
    """ValueError unless every field verify_receipt reads is there with its type: a matching
    sha256 shows the file unchanged, not well made (anyone can compute one)."""
    def need(where: dict, key: str, *types, optional: bool = False) -> None:
        if key not in where:
            if optional:
                return
            raise ValueError(f"no {key!r}")
        value = where[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise ValueError(f"{key!r} is {value!r:.80}")

    text, number, nothing = str, (int, float), type(None)
    need(asked, "query", text)
    need(asked, "index", dict)
    need(asked, "now", text)
    datetime.fromisoformat(asked["now"])
    for key in ("since", "until"):
        need(asked, key, text, nothing)
    for key in ("limit", "offset"):
        need(asked, key, int)
    need(asked, "sort", text)
    need(asked, "fresh", *number, nothing)
    need(asked, "snippets", int, optional=True)
    need(asked, "lang", text, list, nothing, optional=True)
    need(asked, "all_copies", bool, nothing, optional=True)
    need(answer, "total", int)
    need(answer, "hits", list)
    for hit in answer["hits"]:
        if not isinstance(hit, dict):
            raise ValueError(f"hit {hit!r:.80}")
        need(hit, "id", text)
        need(hit, "rank", int)
        need(hit, "score", *number)
        if not math.isfinite(float(hit["score"])):  # (OverflowError, a ValueError's kin, too)
            raise ValueError(f"score {hit['score']!r}")


def _digest(asked: dict, answer: dict) -> str:
    canonical = json.dumps({"asked": asked, "results": answer}, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _when(value) -> str | None:
    """A date option as given (text is kept as typed: it is read against `now` again)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)
