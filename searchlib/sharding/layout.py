"""Layout of a sharded index: the shard folders inside the index folder, and the routing rule.

A sharded index folder is described by its own searchlib.json, whose "shards" entry gives the
number of shards; shard i lives in the subfolder `shard_name(i)` and is an ordinary searchlib
index (its own commits, manifest, lock). An article goes to the shard its id hashes to
(`shard_of`): a stable hash, the same on every machine and Python version (never `hash()`,
which is salted per process).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from ..engine.layout import META_FILE

SHARDS_KEY = "shards"       # searchlib.json: {"shards": {"count": N, "routing": ROUTING}}
ROUTING = "blake2b-8/id"    # how `shard_of` routes: the first 8 bytes of blake2b(id), big-endian, mod N
MAX_SHARDS = 256


SHARD_FOLDER = re.compile(r"shard-[0-9]{3}")  # what `shard_name` names


def shard_name(number: int) -> str:
    """The folder of shard `number` inside the index folder."""
    return f"shard-{number:03d}"


def shard_of(article_id: str, count: int) -> int:
    """The shard (0 .. count-1) the article with this id belongs to."""
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def shard_paths(index_path: Path, count: int) -> list[Path]:
    """The shard folders of a sharded index of `count` shards at `index_path`, in shard order."""
    return [Path(index_path) / shard_name(i) for i in range(count)]


def shard_count(meta: dict) -> int | None:
    """The number of shards a searchlib.json (as a dict) describes; None for an unsharded index.
    A malformed entry raises ValueError (the caller turns it into an IndexFormatError)."""
    entry = meta.get(SHARDS_KEY)
    if entry is None:
        return None
    count = entry.get("count") if isinstance(entry, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"its {SHARDS_KEY!r} entry is not a shard count from 1 to {MAX_SHARDS}")
    if entry.get("routing") != ROUTING:
        raise ValueError(f"its shards are routed by {entry.get('routing')!r}, this searchlib routes by {ROUTING!r}")
    return count


def describe(count: int) -> dict:
    """The searchlib.json entry of an index of `count` shards."""
    return {SHARDS_KEY: {"count": count, "routing": ROUTING}}


def count_at(index_path: Path) -> int | None:
    """The number of shards of the index at `index_path` as its searchlib.json says (None: an
    unsharded index, or no searchlib.json). A malformed entry or file raises ValueError; an
    unreadable one OSError (the caller says which index and what to do)."""
    try:
        text = (Path(index_path) / META_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    meta = json.loads(text)
    if not isinstance(meta, dict):
        raise ValueError(f"{META_FILE} is not a JSON object")
    return shard_count(meta)


def damage(index_path: Path, count: int) -> str | None:
    """What is wrong with the shard folders of an index of `count` shards at `index_path` (a
    shard missing or not a folder, or a shard folder beyond `count`: a searchlib.json edited by
    hand), or None."""
    names = set(os.listdir(index_path))
    for number in range(count):
        name = shard_name(number)
        if name not in names:
            return f"its shard {name} is missing"
        if not (Path(index_path) / name).is_dir():
            return f"its shard {name} is not a folder"
    beyond = sorted(name for name in names if SHARD_FOLDER.fullmatch(name) and int(name[6:]) >= count)
    if beyond:
        return f"it holds {beyond[0]}, beyond the {count} shards its {META_FILE} lists"
    return None

