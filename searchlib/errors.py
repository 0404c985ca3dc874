"""Errors: every failure the library reports, as a specific exception with an actionable message.

The library raises these and never prints or exits; the CLI (`searchlib.cli`) turns each into a
one-line message and an exit code. Messages name the file, the input and the command to run.
"""
from __future__ import annotations

import errno
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class SearchlibError(Exception):
    """Base class for all errors searchlib raises on purpose."""

    def __reduce__(self):
        """Pickled as it is (a worker process or a cluster's worker raises it, the caller raises
        it again): its class, message and attributes, without calling its __init__ again."""
        return _restored, (type(self), self.args, self.__dict__)


def _restored(cls: type, args: tuple, state: dict) -> SearchlibError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class IndexNotFoundError(SearchlibError):
    def __init__(self, path: Path):
        self.path = Path(path)
        super().__init__(
            f"no index at {self.path}/ — build one with: search index PATH --index {self.path}"
        )


class IndexFormatError(SearchlibError):
    """The index folder exists but was not written by this version of searchlib."""

    def __init__(self, path: Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            f"cannot use the index at {self.path}/: {reason} — rebuild it with: "
            f"search index --rebuild --index {self.path}"
        )


class IndexLockedError(SearchlibError):
    """Another process holds the index's write lock (an overlapping reindex)."""

    def __init__(self, path: Path, waited: float):
        self.path = Path(path)
        self.waited = waited
        super().__init__(
            f"another reindex is running on {self.path}/ (waited {waited:g} s for its lock); "
            "try again later or raise --wait"
        )


class PathNotFoundError(SearchlibError):
    def __init__(self, path: Path):
        self.path = Path(path)
        super().__init__(f"{self.path}: no such file or folder")


class QueryError(SearchlibError):
    """A query (or a date option) that cannot be understood."""

    def __init__(self, query: str, problem: str):
        self.query = query
        self.problem = problem
        super().__init__(f"bad query {query!r}: {problem}")


class DateError(SearchlibError):
    """A date expression that cannot be parsed (`--since`, `--until`, `date:`)."""

    def __init__(self, text: str, hint: str = ""):
        self.text = text
        hint = hint or "try 2022-09-06, 2022-09, 'Sept 2022', yesterday, 7d or '2 weeks ago'"
        super().__init__(f"cannot understand the date {text!r}; {hint}")


class ArticleNotFoundError(SearchlibError):
    def __init__(self, article_id: str):
        self.article_id = article_id
        super().__init__(f"no article with id {article_id!r} in the index (ids are shown by search --json)")


class ParseError(SearchlibError):
    """A file, or one record in it, that cannot be read as an article.

    `Index.update` catches these and reports the file as skipped; it never stops the run.
    """

    def __init__(self, path: Path, reason: str, record: str | None = None):
        self.path = Path(path)
        self.reason = reason
        self.record = record
        where = f"{self.path} [{record}]" if record else str(self.path)
        super().__init__(f"{where}: {reason}")


class IndexingError(SearchlibError):
    """An indexing run that could not finish (what was committed before stays as it was)."""


class NotAnIndexError(IndexFormatError):
    """A folder given as the index that holds something else (a corpus, a user's files): it is
    never written to, replaced or chmod-ed."""

    def __init__(self, path: Path, what: str | None = None):
        self.path = Path(path)
        self.reason = what or f"{self.path}/ is not a searchlib index and is not empty"
        SearchlibError.__init__(
            self, f"{self.reason}; refusing to use it (nothing was changed) — give --index a new "
                  "or empty folder, or an existing index")


class DiskFullError(IndexingError):
    """The disk filled up during an indexing run; the index stays at its last commit."""

    def __init__(self, path: Path):
        self.path = Path(path)
        super().__init__(f"no space left on device while writing {self.path}; "
                         "the index is at its last commit; free space and run again")


@contextmanager
def database_full_as_error(path: Path) -> Iterator[None]:
    """SQLite's "database or disk is full" (or an ENOSPC or EDQUOT under it) inside the block as
    DiskFullError(path): the databases beside an index (its manifest, its band table)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFullError(path) from None
    except Exception as exc:
        sqlite3 = sys.modules.get("sqlite3")  # (loaded by whoever raised it: not imported here)
        if sqlite3 is None or not isinstance(exc, sqlite3.OperationalError):
            raise
        if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL and "disk is full" not in str(exc):
            raise
        raise DiskFullError(path) from None


class DateOrderError(DateError):
    """`until` (`--until`) ends before `since` (`--since`) begins: no date lies between them."""

    def __init__(self, since: str, until: str):
        self.text = f"{since} .. {until}"
        self.since, self.until = since, until
        SearchlibError.__init__(
            self, f"--until {until!r} is before --since {since!r}, so nothing can match; "
                  "swap the two dates")


class ExcludeError(SearchlibError, ValueError):
    """An `exclude` pattern that is not valid gitignore syntax (e.g. a lone `!`)."""

    def __init__(self, pattern: str, problem: str):
        self.pattern = pattern
        super().__init__(f"bad exclude pattern {pattern!r}: {problem} (gitignore syntax, e.g. '*.md', 'drafts/')")


class ArgumentError(SearchlibError):
    """A library call's argument of the wrong type or out of range (`Index.update(None)`,
    `jobs="2"`): refused before anything is read or written."""

    def __init__(self, name: str, value: object, problem: str):
        self.name, self.value, self.problem = name, value, problem
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:59] + "…"
        super().__init__(f"bad argument {name}={shown}: {problem}")


class WatchError(SearchlibError):
    """A watch (a saved search) that cannot be added, found or run; the message names it. In a
    run of several watches, each failure is reported and the others still run."""

    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem
        super().__init__(f"watch {name!r}: {problem}")


class UnknownWatchError(WatchError):
    def __init__(self, name: str, known=()):
        known = sorted(known)
        hint = f"the watches are: {', '.join(known)}" if known else "there are no watches yet"
        super().__init__(name, f"no such watch ({hint}; add one with: search watch add NAME QUERY)")


class DigestError(WatchError):
    """A watch's digest could not be delivered (a feed not written, a mail command that failed):
    its cursor stays where it was, so the same articles are delivered next time."""


class ReceiptError(SearchlibError):
    """A receipt file (`search QUERY --receipt FILE`) that cannot be read or does not check out."""

    def __init__(self, path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"bad receipt {self.path}: {problem}")


class RebuildInterruptedError(IndexNotFoundError):
    """No index at the path because a rebuild was killed between the two renames of its swap:
    the index is intact beside it (`.NAME.old`); a read-only command leaves it there, the next
    update or rebuild (a writer, under the index's lock) puts it back."""

    def __init__(self, path: Path):
        self.path = Path(path)
        SearchlibError.__init__(
            self, f"no index at {self.path}/: a rebuild was interrupted; run `search index "
                  f"--index {self.path}` to finish it")


class WebUnavailableError(SearchlibError):
    """`search serve` without the packages of the web extra (Starlette, Jinja2, uvicorn)."""

    def __init__(self, missing: str):
        self.missing = missing
        super().__init__(f"the web page needs {missing}, which is not installed; "
                         "install it with: pip install 'searchlib[web]'")


class ListenError(SearchlibError):
    """The web page cannot listen where asked: the port is taken, or the host is not this machine's."""

    def __init__(self, host: str, port: int, problem: str):
        self.host, self.port, self.problem = host, port, problem
        super().__init__(f"cannot listen on {host}:{port}: {problem}")


class ClusterError(SearchlibError):
    """A Dask cluster (`--cluster`, SEARCHLIB_CLUSTER, `Index(cluster=...)`) that cannot be used."""


class ClusterUnavailableError(ClusterError):
    """`--cluster` without the packages of the cluster extra (Dask's `distributed`)."""

    def __init__(self, missing: str):
        self.missing = missing
        super().__init__(f"--cluster needs {missing}, which is not installed; "
                         "install it with: pip install 'searchlib[cluster]'")


class ClusterUnreachableError(ClusterError):
    """No Dask scheduler answered at the address given, within the connect timeout."""

    def __init__(self, address: str, problem: str):
        self.address, self.problem = address, problem
        super().__init__(f"cannot reach the Dask scheduler at {address}: {problem} — start one with "
                         f"`dask scheduler` (and workers with `dask worker {address}`), or fix "
                         "--cluster / SEARCHLIB_CLUSTER")


class ShardsLostError(ClusterError):
    """A search on a cluster that no shard answered, or that lost a task reading every shard at
    once: nothing to show, even partially."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"the index's shards did not answer on the cluster ({reason}); "
                         "check the workers (`dask worker` processes) and try again, or raise "
                         "SEARCHLIB_CLUSTER_TIMEOUT")
