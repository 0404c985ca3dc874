"""Corpus: which files a set of paths stands for, and the articles they hold.

Stage: ingestion, before the parsers. Folders are walked recursively in name order; hidden files
and folders (names starting with `.`) are ignored, as ripgrep does. Explicitly named files are
always read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .article import Article
from .errors import ParseError, PathNotFoundError
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


def find_files(paths: Iterable[str | Path], *, follow_links: bool = False) -> tuple[list[Path], list[Skipped]]:
    """Every file the paths stand for (absolute, de-duplicated, sorted), and what was passed over.

    Symbolic links inside the folders are followed only when they stay inside the folders being
    indexed, unless `follow_links` is set; link loops end. Raises PathNotFoundError if a path
    does not exist: a typo must not look like an empty corpus.
    """
    files: dict[Path, None] = {}
    problems: list[Skipped] = []
    roots = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise PathNotFoundError(path)
        roots.append(path.resolve())

    def inside(target: Path) -> bool:
        return any(target == root or root in target.parents for root in roots)

    def report(error: OSError) -> None:
        problems.append(Skipped(Path(error.filename or "?"), f"cannot read folder: {error.strerror}"))

    for root in roots:
        if root.is_file():
            files[root] = None
            continue
        visited: set[Path] = set()
        for folder, dirnames, filenames in os.walk(root, onerror=report, followlinks=True):
            real = Path(folder).resolve()
            if real in visited:  # a link loop, or a folder reached twice through links
                dirnames[:] = []
                continue
            visited.add(real)
            keep = []
            for name in sorted(dirnames):
                if name.startswith("."):
                    continue
                sub = Path(folder, name)
                if sub.is_symlink() and not follow_links and not inside(sub.resolve()):
                    problems.append(Skipped(sub, f"symbolic link to {sub.resolve()} outside the indexed "
                                                 "folders (not followed)"))
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = Path(folder, name)
                if path.is_symlink():
                    target = path.resolve()
                    if not follow_links and not inside(target):
                        problems.append(Skipped(path, f"symbolic link to {target} outside the indexed "
                                                      "folders (not followed)"))
                        continue
                    if not target.is_file():
                        problems.append(Skipped(path, "broken symbolic link"))
                        continue
                files[path] = None
    return sorted(files), problems


def read_articles(paths: str | Path | Iterable[str | Path]) -> Iterator[Article | Skipped]:
    """The articles in files and folders, as they would be indexed, with a Skipped for each problem.

    The library twin of `search parse PATH`; ids are not assigned (that needs an index).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, problems = find_files(paths)
    yield from problems
    for path in files:
        try:
            for item in parse_file(path):
                yield Skipped.from_error(item) if isinstance(item, ParseError) else item
        except ParseError as error:
            yield Skipped.from_error(error)
