"""Run: one indexing run's writer, batches and bookkeeping, and the report it fills.

Stage: indexing. Shared by the one-writer path (`update`) and a rebuild's worker processes
(`building`): a file's articles are read a batch at a time, written, committed to Whoosh first
and to the manifest second, so a killed run loses at most its current batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from whoosh.index import LockError

from ..article import Article
from ..engine.schema import to_document
from .stamps import ENTERED, Carried, new_stamp, previous_searcher
from ..stories.bands import Bands
from ..stories.fields import BANDS_FIELD, STORY_FIELD
from ..stories.linking import Linker, Signed, story_text
from ..stories.revisions import Revisions
from ..engine.writer import open_writer
from ..errors import IndexLockedError, ParseError
from ..ingest.corpus import Flagged, Skipped, flags
from ..ingest.limits import current as current_limits
from ..ingest.parsers import parse_file
from .manifest import FILE_NAME, FileState, Manifest, digest_file, stat_file
from .merging import budget, merge_policy

BATCH_FILES = 500
BATCH_ARTICLES = 5000  # a commit at least this often: the writer holds a batch's postings in memory
# The postings the writers hold in memory together (~70 bytes each, see writer.py: ~400 MB)
# before they write segments, whatever the batch: one writer writes a segment at this many, each
# of N parallel writers (a rebuild) at 1/N of it. Fewer, larger segments search faster: each
# query term is looked up and read once per segment.
SEGMENT_POSTINGS = 6_000_000
# Inside one file of many records, a commit each time the writer holds this share of
# SEGMENT_POSTINGS (the writer's memory grows with a file's records, not only its bytes).
FILE_COMMIT_SHARE = 8


@dataclass
class UpdateReport:
    """What an update did. File counts: added / updated / deleted / unchanged / skipped.

    `skipped`: files and records not indexed (they make the run not `ok`). `warnings`: articles
    indexed with a doubt (`corpus.Flagged`: a guessed encoding, a page cut off, no date), for the
    files read in this run; they do not make it less `ok`.
    """

    index: Path
    files: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    articles: int = 0
    removed: int = 0
    commits: int = 0
    merged: int = 0  # articles of earlier segments merged into this run's (merging.py)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Flagged] = field(default_factory=list)
    seconds: float = 0.0
    # files of types searchlib does not read (README.md, LICENSE): not indexed, not a problem
    ignored: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skipped

    @property
    def files_indexed(self) -> int:
        return self.added + self.updated

    def to_dict(self) -> dict:
        return {
            "index": str(self.index), "files": self.files, "added": self.added,
            "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged,
            "skipped_files": len({s.path for s in self.skipped}), "articles": self.articles,
            "removed": self.removed, "commits": self.commits, "merged": self.merged,
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": [w.to_dict() for w in self.warnings], "seconds": round(self.seconds, 3),
            "ignored": len(self.ignored), "ignored_paths": [str(p) for p in self.ignored],
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


def _unpack(result) -> Iterator:
    if isinstance(result, tuple):  # the whole file failed
        raise ParseError(Path(result[1]), result[2], result[3])
    return (ParseError(Path(r[1]), r[2], r[3]) if isinstance(r, tuple) else r for r in result)


class Run:
    """One update run's writer, batch and bookkeeping."""

    def __init__(self, ix, manifest: Manifest, report: UpdateReport, base: Path,
                 batch_files: int, batch_articles: int, merge: bool = True,
                 segment_postings: int = SEGMENT_POSTINGS, previous: Path | None = None,
                 stamp: int | None = None):
        self.ix, self.manifest, self.report, self.base = ix, manifest, report, base
        # `entered` stamps (stamps.py): this run's, taken when it first writes; the stamps an
        # article with unchanged text keeps come from this index, or from `previous` (a rebuild's)
        self.previous, self._stamp, self._previous_searcher = previous, stamp, None
        self.carried = Carried(self._stamps_searcher)
        # each article's story (searchlib.stories), its band keys kept in the band table
        self.bands = Bands(Path(ix.storage.folder) / FILE_NAME)
        self.linker = Linker(self._last_commit, lambda: [self.bands])
        # an article's earlier versions when its text changes (stories.revisions)
        self.revisions = Revisions(Path(ix.storage.folder) / FILE_NAME)
        self.batch_files, self.batch_articles, self.merge = batch_files, batch_articles, merge
        self.segment_postings = segment_postings
        self.writer = self.searcher = None
        self._schema = None  # the index's schema, read once a run (ix.schema reads the TOC file)
        self.signatures: dict[int, Signed] = {}  # id(article) → its signature from a worker
        self.done: dict[str, FileState] = {}
        self.gone: set[str] = set()
        self.replacing: set[str] = set()   # paths whose old articles this run deletes
        # article id → file, for ids added this run (a rebuild's worker, which never commits,
        # keeps them compactly: seen.SeenIds)
        self.seen: dict[str, Path] = {}
        self.batch_articles_count = 0

    def plan(self, files: list[Path], known: dict[str, FileState]) -> list[tuple[Path, FileState, bool]]:
        """The files to (re)index; unchanged ones are counted and, if only touched, re-stamped."""
        todo = []
        max_bytes = current_limits().max_file_bytes
        for path in files:
            try:
                state = stat_file(path)
            except OSError as exc:
                self.report.skipped.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
                continue
            old = known.get(str(path))
            if old and old.digest and (old.size, old.mtime_ns) == (state.size, state.mtime_ns):
                self.report.unchanged += 1
                continue
            if state.size > max_bytes:
                todo.append((path, state, old is None))  # parsing skips it unread: no hashing
                continue
            try:
                digest = digest_file(path)
            except OSError as exc:
                self.report.skipped.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
                continue
            state = FileState(state.size, state.mtime_ns, digest)
            if old and old.digest == digest:  # touched, not changed
                self.report.unchanged += 1
                self.done[str(path)] = FileState(state.size, state.mtime_ns, digest, old.articles)
                continue
            todo.append((path, state, old is None))
            if old is not None:
                self.replacing.add(str(path))
        return todo

    def delete(self, paths: list[str]) -> None:
        if not paths:
            return
        self._open()
        for path in paths:
            self.carried.remember(self._last_commit(), path)
            self._delete_articles_of(path)
            self.gone.add(path)
            self.replacing.add(path)
        self.report.deleted += len(paths)

    def index_file(self, path: Path, state: FileState, is_new: bool, parsed=None, *,
                   continued: bool = False, more: bool = False) -> None:
        """Write the file's articles, parsed and written `batch_articles` at a time, so a file
        of many records is never held whole; the writer's postings are committed within the file
        when they reach 1/FILE_COMMIT_SHARE of `segment_postings` (looked at before each article:
        records of huge vocabularies are not held together), without merging segments.
        The first batch deletes the file's old articles (in the same commit); the file goes into
        the manifest only with its last batch's commit, so a run killed in between leaves it to
        be redone (its articles replaced) by the next. (Commits inside a file save nothing a
        crash could keep: they bound the writer's memory only. A commit per batch would make
        many segments, and merging them at each commit holds their postings again, which grows
        with the file.) A sharded index writes a file of many records in parts, one call each:
        `continued` (not the first part: its old articles are gone already), `more` (not the
        last: the file is not recorded yet)."""
        written = 0
        for articles in self.article_batches(path, parsed, self.batch_articles):
            if written and self._pool_full(FILE_COMMIT_SHARE):  # more to come: commit what is written
                self._commit_within_file()
            self._open()
            if not written and not continued:
                if self.previous is None:
                    self.carried.remember(self._last_commit(), str(path))
                    self.revisions.remember(self._last_commit(), str(path))
                self._delete_articles_of(str(path))
            for number, article in enumerate(articles):
                if number and self._pool_full(FILE_COMMIT_SHARE):  # (records of huge vocabularies
                    self._commit_within_file()                     # are not held together either)
                    self._open()
                self.writer.add_document(**self.document(article))
                self.seen[article.id] = path
            written += len(articles)
            self.report.articles += len(articles)
            self.batch_articles_count += len(articles)
        self.signatures.clear()  # (those of articles skipped as duplicates)
        if not written or self.incomplete or more:
            return
        self.report.added += is_new
        self.report.updated += not is_new
        self.done[str(path)] = FileState(state.size, state.mtime_ns, state.digest, written)
        if len(self.done) >= self.batch_files or self._full():
            self.commit()
            self.seen.clear()
            self.carried.forget()  # (bounded memory: an article moved to a file of a later batch is new)
            self.revisions.forget()

    def _delete_articles_of(self, path: str) -> None:
        """Delete the articles written from `path`, in the batch being written: from the index
        and, with them, their rows of the band table (stories.bands)."""
        self.report.removed += self.writer.delete_by_term("path", path)
        self.bands.forget(path)

    def take_none(self, path: Path, state: FileState, held: bool, record: bool = True) -> None:
        """Record the file with none of its articles here (a shard of a sharded index that none
        of them goes to, sharding/building.py): those of its older version (`held`) are deleted
        in the same commit, and it is recorded with that commit (unless not `record`: more of
        the file is to come)."""
        if held:
            self._open()
            self._delete_articles_of(str(path))
        if record:
            self.done[str(path)] = FileState(state.size, state.mtime_ns, state.digest, 0)

    @property
    def stamp(self) -> int:
        """This run's `entered` stamp (stamps.new_stamp), taken when first needed."""
        if self._stamp is None:
            self._stamp = new_stamp(Path(self.ix.storage.folder), self.previous)
        return self._stamp

    @property
    def schema(self):
        """The index's schema, read once a run (the run holds the index's lock: it cannot change)."""
        if self._schema is None:
            self._schema = self.ix.schema
        return self._schema

    @property
    def stories(self) -> bool:
        """Whether the index links stories (its schema has the field): workers then sign the
        articles they parse (stories.linking.Signed)."""
        return STORY_FIELD in self.schema

    def document(self, article: Article) -> dict:
        """The Whoosh document for `article`, with its `entered` stamp (where the schema has it)."""
        doc = to_document(article)
        if ENTERED in self.schema:
            doc[ENTERED] = self.carried.stamp(article, self.stamp)
        self.revisions.note(article)
        if STORY_FIELD in self.schema:
            doc.update(self.linker.fields(article.id, story_text(article.title, article.summary,
                                                                 article.body), article.date,
                                          self.signatures.pop(id(article), None)))
            keys = doc.pop(BANDS_FIELD, None)  # (the band table's, not the index's)
            if keys:
                self.bands.add(article.id, doc.get("path", ""), keys)
        return doc

    def _last_commit(self):
        """A searcher on the index's last commit (also for `_indexed_elsewhere`)."""
        if self.searcher is None:
            self.searcher = self.ix.searcher()
        return self.searcher

    def _stamps_searcher(self):
        if self.previous is None:
            return self._last_commit()
        if self._previous_searcher is None:
            self._previous_searcher = previous_searcher(self.previous) or False
        return self._previous_searcher or None

    def close_previous(self) -> None:
        """Close the searcher on a rebuild's old index, if one was opened, and the band table."""
        if self._previous_searcher:
            self._previous_searcher.close()
        self._previous_searcher = None
        self.bands.close()

    def _commit_within_file(self) -> None:
        """Commit what is written of a file, without merging (see `index_file`)."""
        merge, self.merge = self.merge, False
        try:
            self.commit()
        finally:
            self.merge = merge
        self.seen.clear()  # (the searcher now sees those ids)

    def _full(self) -> bool:
        """Whether the writer holds a batch's worth of articles or a segment's of postings."""
        return self.batch_articles_count >= self.batch_articles or self._pool_full()

    def _pool_full(self, share: int = 1) -> bool:
        """Whether the writer holds 1/share of a segment's postings."""
        return getattr(self.writer.pool, "count", 0) >= self.segment_postings // share

    def _articles(self, path: Path, parsed=None) -> list[Article]:
        """All the file's usable articles at once (see `article_batches`)."""
        return [a for batch in self.article_batches(path, parsed, 1 << 30) for a in batch]

    def article_batches(self, path: Path, parsed=None, size: int = BATCH_ARTICLES,
                         limits=None) -> Iterator[list[Article]]:
        """The file's usable articles (parsed here, or by a worker), in lists of at most `size`,
        reporting parse problems and duplicate ids, and each indexed article's doubts (its
        notes, no date) as warnings. The ids of the whole file are remembered (duplicates)."""
        skips_before = len(self.report.skipped)
        self.incomplete = False
        articles: list[Article] = []
        ids: set[str] = set()
        found = False
        try:
            for item in parse_file(path, limits) if parsed is None else _unpack(parsed):
                if type(item) is Signed:  # (its signature, made by the worker, kept for document())
                    self.signatures[id(item.article)] = item
                    item = item.article
                if isinstance(item, ParseError):
                    self.report.skipped.append(Skipped.from_error(item))
                    continue
                item.id = article_id(item, self.base)
                other = self._indexed_elsewhere(item.id, path)
                if other is not None:
                    self.report.skipped.append(
                        Skipped(path, f"duplicate of {item.id} (already indexed from {other})", item.key))
                elif item.id in ids:
                    self.report.skipped.append(Skipped(path, f"duplicate id {item.id} within the file", item.key))
                else:
                    ids.add(item.id)
                    articles.append(item)
                    self.report.warnings.extend(flags(item))
                    if len(articles) >= size:
                        found = True
                        yield articles
                        articles = []
        except ParseError as error:  # the whole file (or, part-way, a parser's bug)
            self.report.skipped.append(Skipped.from_error(error))
            self.incomplete = found  # what was written stays, and the file is redone next run
            return
        if articles:
            found = True
            yield articles
        if not found and len(self.report.skipped) == skips_before:
            self.report.skipped.append(Skipped(path, "no articles found in the file"))

    def _indexed_elsewhere(self, article_id: str, path: Path) -> Path | None:
        other = self.seen.get(article_id)
        if other is not None:
            return other if other != path else None
        # the last commit; ids added since are in self.seen
        stored = self._last_commit().document(id=article_id)
        if stored and stored.get("path") != str(path) and stored.get("path") not in self.replacing:
            return Path(stored["path"])
        return None

    def _open(self) -> None:
        if self.writer is None:
            try:
                self.writer = open_writer(self.ix, compound=False)
            except LockError:  # only a non-searchlib writer can hold it while we hold the run lock
                raise IndexLockedError(self.report.index, 0) from None
            except BaseException:  # (a full disk as it starts): the lock it took must not stay
                getattr(self.ix.storage, "release_locks", lambda: None)()
                raise

    def close_searcher(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
            self.searcher = None

    def commit(self) -> None:
        """Commit the batch to Whoosh, then record it in the manifest (in that order)."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                self.revisions.flush()  # (before the commit: see stories.revisions
                self.bands.flush()      # and stories.bands)
                if self.merge:  # small segments, within the run's budget (merging.py)
                    writer.commit(mergetype=merge_policy(self._merge_allowance(), self._merged))
                else:
                    writer.commit(optimize=False, merge=False)
            except BaseException:
                _abandon(writer)
                raise
            self.report.commits += 1
        if self.done or self.gone or not self.manifest.is_current(self.ix.latest_generation()):
            self.manifest.record(self.done, self.gone, self.ix.latest_generation())
        self.close_searcher()
        self.done, self.gone, self.batch_articles_count = {}, set(), 0

    def _merge_allowance(self) -> int:
        """The articles this commit may still merge: the run's budget less what it merged."""
        return budget(self.report.articles) - self.report.merged

    def _merged(self, articles: int) -> None:
        self.report.merged += articles

    def abandon(self) -> None:
        """Drop the uncommitted batch (earlier batches stay committed and recorded)."""
        if self.writer is not None:
            _abandon(self.writer)
            self.writer = None
        self.bands.discard()
        self.close_searcher()
        self.close_previous()


def _abandon(writer) -> None:
    """Cancel a writer and make sure its lock is released (Whoosh keeps it if commit raised)."""
    try:
        writer.cancel()
    except Exception:  # (a full disk): close what cancel did not get to, files and temp files
        for part in ("perdocwriter", "fieldwriter"):
            try:
                getattr(writer, part).close()
            except Exception:
                pass
        try:
            writer._tempstorage.destroy()
        except Exception:
            pass
    lock = getattr(writer, "writelock", None)
    if lock is not None:
        try:
            lock.release()
        except Exception:
            pass
