"""Corpus: which files a set of paths stands for, and the articles they hold.

Stage: ingestion, before the parsers. Folders are walked recursively in name order; hidden files
and folders (names starting with `.`) are ignored, as ripgrep does. Explicitly named files are
always read.

The corpus is untrusted, and so is its shape: symbolic links leading out of the folders being
indexed are not followed (unless asked), link loops end, only regular files are listed (a FIFO
would block the run, a device never ends), and a file or folder that cannot be read is reported
as skipped, never fatal. Only a path that does not exist at all is an error.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .article import Article
from .errors import ParseError, PathNotFoundError
from .limits import Limits, current as current_limits
from .parsers import parse_file


@dataclass(frozen=True)
class Skipped:
    """A file (or one record in it) that was not indexed, and why."""

    path: Path
    reason: str
    record: str | None = None

    @classmethod
    def from_error(cls, error: ParseError) -> "Skipped":
        return cls(error.path, error.reason, error.record)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "record": self.record, "reason": self.reason}

    def __str__(self) -> str:
        where = f"{self.path} [{self.record}]" if self.record else str(self.path)
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Flagged:
    """An article that was indexed, but with a doubt worth reporting, and which: its encoding was
    a guess, the page looks cut off, it was truncated at a limit, it has no date.

    `reason` is one of the article's `notes` (or "no date"); `kind`, the reason up to its first
    colon ("encoding", "truncated page", "no date"), groups like doubts in a summary. `record`
    is the article's key within its file (as in its id, `path#key`), None for a one-article file.
    """

    path: Path
    reason: str
    record: str | None = None

    @property
    def kind(self) -> str:
        return self.reason.split(":", 1)[0]

    def to_dict(self) -> dict:
        return {"path": str(self.path), "record": self.record, "reason": self.reason}

    def __str__(self) -> str:
        where = f"{self.path} [{self.record}]" if self.record else str(self.path)
        return f"{where}: {self.reason}"


NO_DATE = "no date"


def flags(article: Article) -> list[Flagged]:
    """What is doubtful about an article read from `article.path`: each of its notes, and no date."""
    reasons = list(article.notes) + ([NO_DATE] if article.date is None else [])
    return [Flagged(article.path or Path(), reason, article.key) for reason in reasons]


def find_files(paths: Iterable[str | Path], *, follow_links: bool = False) -> tuple[list[Path], list[Skipped]]:
    """Every file the paths stand for (absolute, de-duplicated, sorted), and what was passed over.

    Symbolic links inside the folders are followed only when they stay inside the folders being
    indexed, unless `follow_links` is set; link loops end. Unreadable folders, broken or looping
    links and anything that is not a regular file are passed over (with the reason). Raises
    PathNotFoundError if a path does not exist: a typo must not look like an empty corpus; and
    LimitsError if a SEARCHLIB_MAX_* variable is malformed, before any work is done.
    """
    current_limits()
    files: dict[Path, None] = {}
    problems: list[Skipped] = []
    roots = []
    for raw in paths:
        path = Path(raw)
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            if not os.path.lexists(path):
                raise PathNotFoundError(path) from None
            problems.append(Skipped(Path(os.path.abspath(path)), _link_problem(path)))
            continue
        except OSError as exc:  # e.g. a parent folder we may not enter, or a link loop
            problems.append(Skipped(Path(os.path.abspath(path)), _link_problem(path) if exc.errno == errno.ELOOP
                                    else f"cannot read: {exc.strerror or exc}"))
            continue
        roots.append(Path(os.path.realpath(path)))

    def inside(target: Path) -> bool:
        return any(target == root or root in target.parents for root in roots)

    def report(error: OSError) -> None:
        problems.append(Skipped(Path(error.filename or "?"), f"cannot read folder: {error.strerror}"))

    for root in roots:
        if not root.is_dir():
            _add_file(root, files, problems)
            continue
        visited: set[Path] = set()
        for folder, dirnames, filenames in os.walk(root, onerror=report, followlinks=True):
            real = Path(os.path.realpath(folder))
            if real in visited:  # a link loop, or a folder reached twice through links
                dirnames[:] = []
                continue
            visited.add(real)
            keep = []
            for name in sorted(dirnames):
                if name.startswith("."):
                    continue
                sub = Path(folder, name)
                if _is_link(sub) and not follow_links and not inside(Path(os.path.realpath(sub))):
                    problems.append(Skipped(sub, f"symbolic link to {os.path.realpath(sub)} outside the "
                                                 "indexed folders (not followed)"))
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = Path(folder, name)
                if _is_link(path):
                    target = Path(os.path.realpath(path))
                    if not follow_links and not inside(target):
                        problems.append(Skipped(path, f"symbolic link to {target} outside the indexed "
                                                      "folders (not followed)"))
                        continue
                _add_file(path, files, problems)
    return sorted(files), problems


def _add_file(path: Path, files: dict[Path, None], problems: list[Skipped]) -> None:
    """List `path` if it is (or links to) a regular file; else say what it is."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP) and _is_link(path):
            problems.append(Skipped(path, _link_problem(path)))
        else:
            problems.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
        return
    if stat.S_ISREG(mode):
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:  # bytes that are no UTF-8: the index keeps paths as UTF-8
            problems.append(Skipped(path, "its name is not valid UTF-8; not read (rename it to index it)"))
            return
        files[path] = None
    elif not stat.S_ISDIR(mode):
        problems.append(Skipped(path, f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'special file')}); "
                                      "not read"))


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _link_problem(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (not followed)"
    return "broken symbolic link"


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}


def read_articles(paths: str | Path | Iterable[str | Path], *,
                  limits: Limits | None = None) -> Iterator[Article | Skipped]:
    """The articles in files and folders, as they would be indexed, with a Skipped for each problem.

    The library twin of `search parse PATH`; ids are not assigned (that needs an index). `limits`
    bound what one file may cost (default: `searchlib.limits.current()`).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    limits = current_limits(limits)
    files, problems = find_files(paths)
    yield from problems
    for path in files:
        try:
            for item in parse_file(path, limits):
                yield Skipped.from_error(item) if isinstance(item, ParseError) else item
        except ParseError as error:
            yield Skipped.from_error(error)
