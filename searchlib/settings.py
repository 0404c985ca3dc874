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
