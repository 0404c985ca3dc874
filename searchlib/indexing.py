"""Indexing: parsed articles → the Whoosh index, one file at a time, in one committed transaction.

Stage: indexing. A file's articles replace whatever the index held for that file, so re-running
an update never duplicates. A file that cannot be parsed is reported and its previously indexed
articles are kept (nothing already indexed is lost). Whoosh's write lock serialises writers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from whoosh.index import LockError

from .article import Article
from .corpus import Skipped, find_files
from .errors import IndexLockedError, ParseError
from .parsers import parse_file
from .schema import to_document

Progress = Callable[[int, int, Path], None]


@dataclass
class UpdateReport:
    """What an update did: files read, articles written, and every file or record skipped."""

    index: Path
    files: int = 0
    files_indexed: int = 0
    articles: int = 0
    replaced: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.skipped

    def to_dict(self) -> dict:
        return {
            "index": str(self.index),
            "files": self.files,
            "files_indexed": self.files_indexed,
            "articles": self.articles,
            "replaced": self.replaced,
            "skipped": [s.to_dict() for s in self.skipped],
            "seconds": round(self.seconds, 3),
        }


def article_id(article: Article, base: Path) -> str:
    """The article's stable id: its URL, else its path relative to `base` plus its record key."""
    if article.url:
        return article.url
    path = article.path or Path()
    try:
        name = path.relative_to(base).as_posix()
    except ValueError:
        name = path.as_posix()
    return f"{name}#{article.key}" if article.key else name


def write_files(ix, paths: Iterable[str | Path], *, base: Path, wait: float = 0.0,
                progress: Progress | None = None) -> UpdateReport:
    """Parse the files the paths stand for and write their articles to the index, then commit."""
    started = time.perf_counter()
    files, problems = find_files(paths)
    report = UpdateReport(index=Path(ix.storage.folder), files=len(files), skipped=list(problems))
    try:
        writer = ix.writer(timeout=wait, compound=False)
    except LockError:
        raise IndexLockedError(report.index, wait) from None
    try:
        with writer.searcher() as searcher:
            seen: dict[str, Path] = {}
            for done, path in enumerate(files):
                if progress:
                    progress(done, len(files), path)
                _write_file(writer, searcher, path, base, seen, report)
        writer.commit(optimize=False)
    except BaseException:
        writer.cancel()
        raise
    if progress:
        progress(len(files), len(files), files[-1] if files else report.index)
    report.seconds = time.perf_counter() - started
    return report


def _write_file(writer, searcher, path: Path, base: Path, seen: dict[str, Path],
                report: UpdateReport) -> None:
    try:
        items = list(parse_file(path))
    except ParseError as error:
        report.skipped.append(Skipped.from_error(error))
        return
    articles: list[Article] = []
    ids: set[str] = set()
    skips_before = len(report.skipped)
    for item in items:
        if isinstance(item, ParseError):
            report.skipped.append(Skipped.from_error(item))
            continue
        item.id = article_id(item, base)
        other = seen.get(item.id)
        if other is None:
            stored = searcher.document(id=item.id)
            if stored and stored.get("path") != str(path):
                other = Path(stored["path"])
        if other is not None and other != path:
            report.skipped.append(Skipped(path, f"duplicate of {item.id} (already indexed from {other})",
                                          item.key))
        elif item.id in ids:
            report.skipped.append(Skipped(path, f"duplicate id {item.id} within the file", item.key))
        else:
            ids.add(item.id)
            articles.append(item)
    if not articles:  # keep whatever the index already holds for this file
        if len(report.skipped) == skips_before:  # say why, unless a record's reason already does
            report.skipped.append(Skipped(path, "no articles found in the file"))
        return
    report.replaced += writer.delete_by_term("path", str(path), searcher=searcher)
    for item in articles:
        writer.add_document(**to_document(item))
        seen[item.id] = path
    report.articles += len(articles)
    report.files_indexed += 1
