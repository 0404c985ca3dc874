"""searchlib: full-text search for news archives.

    >>> import searchlib
    >>> idx = searchlib.Index("index")          # opens, or creates an empty index
    >>> report = idx.update(["corpus"])          # UpdateReport: counts and skipped files
    >>> results = idx.search("north korea artillery", since="2022-09", limit=5)
    >>> [(hit.title, hit.date, hit.snippet) for hit in results]

Stages, one package each (README, "Architecture"): `ingest` (files → `Article`) → `indexing`
(Articles → commits) → `querying` (text → `Hit`, `Results`), over `engine` (the schema, the
analysis and everything that knows Whoosh's file format); `render` presents, `index.Index` is the
facade, `cli` the terminal.
"""
__version__ = "0.1.0"

from .errors import (  # noqa: E402
    ArgumentError,
    ArticleNotFoundError,
    DateError,
    DateOrderError,
    DigestError,
    DiskFullError,
    ExcludeError,
    IndexFormatError,
    IndexingError,
    IndexLockedError,
    IndexNotFoundError,
    NotAnIndexError,
    ParseError,
    PathNotFoundError,
    QueryError,
    RebuildInterruptedError,
    ReceiptError,
    SearchlibError,
    UnknownWatchError,
    WatchError,
    ListenError,
    WebUnavailableError,
)

# Imported on first use: a search does not load the parsers, and `search` (cli.py) gets to set
# up its imports (imports.py) before Whoosh is loaded.
_LAZY = {"Article": "article", "Index": "index", "create": "index", "exists": "index",
         "Hit": "querying.searching", "Results": "querying.searching",
         "Skipped": "ingest.corpus", "Flagged": "ingest.corpus", "read_articles": "ingest.corpus", "UpdateReport": "indexing.run",
         "Watch": "alerts.watches", "WatchRun": "alerts.watches", "WatchOutcome": "alerts.watches",
         "Arrival": "alerts.arrivals", "Arrivals": "alerts.arrivals", "Receipt": "alerts.receipts",
         "Verdict": "alerts.receipts", "make_receipt": "alerts.receipts",
         "write_receipt": "alerts.receipts", "verify_receipt": "alerts.receipts",
         "Story": "stories.grouping", "Copy": "stories.grouping", "Changes": "stories.grouping"}


def __getattr__(name: str):
    """The names in _LAZY, imported on first use."""
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArgumentError", "Article", "ArticleNotFoundError", "DateError", "DateOrderError", "DiskFullError", "ExcludeError",
    "Flagged", "Hit", "Index", "IndexFormatError", "IndexingError", "IndexLockedError",
    "IndexNotFoundError", "NotAnIndexError", "ParseError", "PathNotFoundError", "QueryError", "RebuildInterruptedError", "Results",
    "SearchlibError", "Skipped", "Watch", "WatchRun", "WatchOutcome", "Arrival", "Arrivals",
    "Receipt", "Verdict", "make_receipt", "write_receipt", "verify_receipt", "WatchError",
    "UnknownWatchError", "DigestError", "ReceiptError", "ListenError", "WebUnavailableError", "UpdateReport", "create", "exists", "read_articles",
    "Story", "Copy", "Changes",
]
