"""Settings: where the index and the corpus live, resolved in one place.

Stage: configuration, read by the CLI and the cron script. Each setting is resolved as: the
explicit option, then the environment variable, then the default (relative to the working folder).
"""
from __future__ import annotations

import os
from pathlib import Path

INDEX_ENV = "SEARCHLIB_INDEX"
CORPUS_ENV = "SEARCHLIB_CORPUS"
DEFAULT_INDEX = Path("index")
DEFAULT_CORPUS = Path("corpus")
DEFAULT_LIMIT = 10
FRESH_HALF_LIFE = 30.0  # days: `search --fresh` halves an article's recency boost every 30 days
CLUSTER_ENV = "SEARCHLIB_CLUSTER"  # a Dask scheduler's address, tcp://HOST:8786
CLUSTER_TIMEOUT_ENV = "SEARCHLIB_CLUSTER_TIMEOUT"
DEBUG_ENV = "SEARCHLIB_DEBUG"  # set: an unexpected error shows its traceback, not one line
CLUSTER_TIMEOUT = 30.0  # seconds a search waits for the shards' answers on a cluster (then: partial)
CLUSTER_CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler before giving up


def resolve(option: str | os.PathLike | None, env: str, default: Path) -> Path:
    if option:
        return Path(option)
    value = os.environ.get(env, "").strip()
    return Path(value) if value else default


def index_path(option: str | os.PathLike | None = None) -> Path:
    """`--index`, then $SEARCHLIB_INDEX, then ./index."""
    return resolve(option, INDEX_ENV, DEFAULT_INDEX)


def is_default_index(option: str | os.PathLike | None = None) -> bool:
    """Whether the index folder is the default one (neither `--index` nor $SEARCHLIB_INDEX)."""
    return not option and not os.environ.get(INDEX_ENV, "").strip()


def corpus_path(option: str | os.PathLike | None = None) -> Path:
    """The default corpus: an explicit path, then $SEARCHLIB_CORPUS, then ./corpus."""
    return resolve(option, CORPUS_ENV, DEFAULT_CORPUS)


def cluster_address(option: str | None = None) -> str | None:
    """`--cluster`, then $SEARCHLIB_CLUSTER, then None: build and search on this machine."""
    value = (option or os.environ.get(CLUSTER_ENV, "")).strip()
    return value or None


def cluster_timeout(option: float | None = None) -> float:
    """Seconds a search on a cluster waits for its shards: the option, then
    $SEARCHLIB_CLUSTER_TIMEOUT, then 30. Not a positive number: ArgumentError."""
    name, text = ("timeout", option) if option is not None else (
        CLUSTER_TIMEOUT_ENV, os.environ.get(CLUSTER_TIMEOUT_ENV, "").strip() or None)
    if text is None:
        return CLUSTER_TIMEOUT
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 < value < float("inf"):
        from .errors import ArgumentError
        raise ArgumentError(name, text, "not a positive number of seconds")
    return value
