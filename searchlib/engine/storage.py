"""Storage: the index folder's files, opened so that a commit never deletes a segment file that a
searcher is still opening.

Stage: index storage (under indexing and searching). Whoosh opens a searcher by reading the
newest table of contents, then each segment's files; a writer committing meanwhile may merge
segments and delete the old ones, and Whoosh then retries, leaving the files it had opened to the
garbage collector. Here searchers hold a shared lock on `readers.lock` while they are open, and
the writer takes it exclusively only to delete files, so each waits for the other for
milliseconds at most, and only then. A writer waiting for it first closes `readers.gate`, which
new searchers pass through, so a stream of searches cannot starve it.

Durable commits: Whoosh never calls fsync, so after a power cut a table of contents could name
segment files whose data never reached the disk, or the manifest could record a commit the disk
does not have. The writer's storage syncs each file it writes when it is closed, and the folder
after each rename (the table of contents is written under a temporary name, then renamed), so
a commit is on disk before the manifest records it.

Searchers hold the readers' lock only while they are opened (`open_searcher`), never while a
query is parsed or scored: each file of the searcher's segments is opened then (Whoosh opens
columns and stored fields on first use; those are pinned, held open until the searcher closes),
so what a commit deletes later is already open, and a slow query blocks no commit and no search.
A reading storage works on the folder opened once (a descriptor), so a rebuild that swaps
another folder in at the index's path mid-way cannot mix the old index with the new one.

Reading: searchers read the segment files with positional reads (`ReadingStorage`, `pread`):
Whoosh's readers fetch term records and postings blocks with `get(position, length)`, a seek and
a read on a plain file; here it is one system call that moves no shared position, so threads
sharing a searcher never disturb each other. The files were memory-mapped before: a slice was
faster, but every page a search had read stayed in the process's resident memory (RSS 1,781 MB
after the scale benchmark's queries at 1,000,000 articles, 204 MB of it the process's own; README,
"Scale"). Read this way, the index's pages are held by the kernel's page cache, shared by every
process and dropped under pressure, as SQLite reads its files. Segment files never change once
written, and an open descriptor still reads a file after it is deleted.
"""
from __future__ import annotations

import fcntl
import io
import os
import pickle
import re
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.index import FileIndex

from ..errors import IndexFormatError
from .layout import READERS_GATE, READERS_LOCK, SEGMENT_FILE

_SEGMENT_LIKE = re.compile(r"MAIN_[0-9a-z]+[.][A-Za-z0-9_.]+")  # what Whoosh's clean-up deletes
_SEGMENT_FILE = re.compile(SEGMENT_FILE)


class _GuardedStorage(FileStorage):
    """A FileStorage whose file deletions wait for searchers holding `readers.lock`, and whose
    files and renames are synced to disk (see the module docstring)."""

    def lock(self, name):
        """Whoosh's lock, remembered: a writer that fails while it is being made (a full disk)
        keeps the one it took, out of reach; `release_locks` frees it."""
        locks = self.__dict__.setdefault("_locks", [])
        locks[:] = [held for held in locks if getattr(held, "fd", None) is not None]
        lock = super().lock(name)
        locks.append(lock)
        return lock

    def release_locks(self) -> None:
        """Release every lock handed out by `lock` and still held."""
        for lock in self.__dict__.pop("_locks", []):
            if getattr(lock, "fd", None) is not None:
                lock.release()

    def create_file(self, name, excl=False, mode="wb", **kwargs):
        then = kwargs.pop("onclose", None)

        def sync(structfile):
            try:
                if then is not None:
                    then(structfile)
                structfile.file.flush()
                os.fsync(structfile.file.fileno())
            except BaseException:  # (a full disk): the file is closed all the same
                structfile.file.close()
                raise

        return super().create_file(name, excl, mode, onclose=sync, **kwargs)

    def rename_file(self, oldname, newname, safe=False):
        super().rename_file(oldname, newname, safe)
        sync_folder(Path(self.folder))

    def delete_file(self, name):
        if _SEGMENT_LIKE.fullmatch(name) and not _SEGMENT_FILE.fullmatch(name):
            return  # a user's `MAIN_notes.bak`: Whoosh's clean-up would take it, as not in the commit
        folder = Path(self.folder)
        with _flock(folder, READERS_GATE, fcntl.LOCK_EX, create=True), \
                _flock(folder, READERS_LOCK, fcntl.LOCK_EX, create=True):
            super().delete_file(name)


class _Positional(io.RawIOBase):
    """A file descriptor read at a position of this object's own (`pread`): two readers of one
    pinned descriptor never share a position, as they would through `os.dup`."""

    def __init__(self, fd: int, *, owned: bool):
        super().__init__()
        self.fd, self._owned, self._position = fd, owned, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, buffer) -> int:
        data = os.pread(self.fd, len(buffer), self._position)
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position}.get(whence)
        self._position = (os.fstat(self.fd).st_size if base is None else base) + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed and self._owned:
            os.close(self.fd)
        super().close()


READ_AHEAD = 16384  # bytes read at once when `get`s walk a file in order (a word list's walk)


class _ReadFile(StructFile):
    """A segment file for a searcher: `get` is one positional read (no position moved), and
    reading in sequence goes through a buffer over this file's own position. A `get` that starts
    where the last one ended (a walk through the words of a terms file, a record after its
    header: each a few bytes) reads READ_AHEAD bytes at once and serves the next ones from them."""

    def __init__(self, fd: int, *, owned: bool, name=None, onclose=None):
        super().__init__(io.BufferedReader(_Positional(fd, owned=owned)), name=name, onclose=onclose)
        self._fd = fd
        self._next = -1                  # where the last `get` ended
        self._ahead: tuple = (0, b"")    # (position, bytes) read ahead; replaced whole (threads)

    def get(self, position, length):
        start, ahead = self._ahead
        at = position - start
        next_at, self._next = self._next, position + length
        if 0 <= at and at + length <= len(ahead):
            return ahead[at:at + length]
        if position == next_at and length < READ_AHEAD:
            ahead = os.pread(self._fd, READ_AHEAD, position)
            self._ahead = (position, ahead)
            return ahead[:length]
        return os.pread(self._fd, length, position)


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


class ReadingStorage(FileStorage):
    """A FileStorage for searchers: files are read with positional reads (`_ReadFile`), opened
    relative to the folder as it was opened (a descriptor, `dirfd`, duplicated here), and files
    pinned with `pin` are served from descriptors opened then. `searcher=True`: one searcher's
    own, closed with it (its readers close their storage); else closed when collected."""

    def __init__(self, folder, dirfd: int | None = None, *, searcher: bool = False):
        super().__init__(str(folder))
        self._closes_with_readers = searcher
        fd = os.open(folder, _DIR_FLAGS) if dirfd is None else os.dup(dirfd)
        self._dirfd = fd
        self._pins: dict[str, int] = {}
        self._closer = weakref.finalize(self, _close_fds, [fd], self._pins)

    def close(self):
        if self._closes_with_readers:
            self._closer()  # (idempotent: each segment reader of a searcher closes its storage)

    def list(self):
        return os.listdir(self._dirfd)

    def file_exists(self, name):
        try:
            os.stat(name, dir_fd=self._dirfd)
        except FileNotFoundError:
            return False
        return True

    def _stat(self, name):
        pinned = self._pins.get(name)
        return os.fstat(pinned) if pinned is not None else os.stat(name, dir_fd=self._dirfd)

    def file_length(self, name):
        return self._stat(name).st_size

    def file_modified(self, name):
        return self._stat(name).st_mtime

    def open_file(self, name, **kwargs):
        pinned = self._pins.get(name)
        if pinned is not None:
            return _ReadFile(pinned, owned=False, name=name, **kwargs)
        return _ReadFile(os.open(name, _FILE_FLAGS, dir_fd=self._dirfd), owned=True, name=name, **kwargs)

    def pin(self, prefixes: list[str]) -> None:
        """Open now every file whose name is one of `prefixes` followed by "." or "_" (a
        segment's files), to be served from these descriptors whenever Whoosh opens them."""
        for name in os.listdir(self._dirfd):
            if name in self._pins or not any(
                    name.startswith(p) and name[len(p):len(p) + 1] in (".", "_") for p in prefixes):
                continue
            try:
                self._pins[name] = os.open(name, _FILE_FLAGS, dir_fd=self._dirfd)
            except FileNotFoundError:  # not one of this searcher's segments after all
                continue


def _close_fds(fds: list[int], pins: dict[str, int]) -> None:
    for fd in [*fds, *pins.values()]:
        os.close(fd)
    fds.clear()
    pins.clear()


def open_folder(index_dir: Path, *, follow: bool = True) -> int:
    """A descriptor of the index folder, for `ReadingStorage` and `reading` (the caller closes it);
    `follow=False`: never through a symbolic link (ELOOP or ENOTDIR if `index_dir` is one)."""
    return os.open(index_dir, _DIR_FLAGS if follow else _DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0))


# What unpickling a table of contents written by another version raises: its schema names
# classes (the analyzers) by module, and those may have moved or gone.
_FOREIGN_TOC = (ImportError, AttributeError, EOFError, pickle.UnpicklingError)


@contextmanager
def _readable_toc(index_dir: Path) -> Iterator[None]:
    """IndexFormatError (which says to rebuild) for a table of contents this code cannot read."""
    try:
        yield
    except _FOREIGN_TOC as exc:
        problem = f"{type(exc).__name__}: {exc}"
        import traceback
        import warnings
        with warnings.catch_warnings():  # Whoosh leaves the file it was reading open: close it now
            warnings.simplefilter("ignore", ResourceWarning)
            traceback.clear_frames(exc.__traceback__)
    else:
        return
    raise IndexFormatError(Path(index_dir), f"its table of contents was written by another "
                           f"version of searchlib ({problem})")


def open_for_reading(index_dir: Path, dirfd: int | None = None) -> FileIndex:
    """The Whoosh index in `index_dir` (or the folder `dirfd` was opened on), for searching."""
    storage = ReadingStorage(index_dir, dirfd)
    with _readable_toc(index_dir):
        return storage.open_index()


def open_searcher(index_dir: Path, dirfd: int, **kwargs):
    """A Whoosh searcher on the newest commit of the folder `dirfd` was opened on, with every
    file of its segments open (pinned), taken under the readers' lock and returned without it:
    a commit may delete those files afterwards, the searcher keeps reading them."""
    storage = ReadingStorage(index_dir, dirfd, searcher=True)
    try:
        with reading(dirfd), _readable_toc(index_dir):
            searcher = FileIndex(storage).searcher(**kwargs)
            try:
                segments = [getattr(sub, "segment", lambda: None)()
                            for sub, _ in searcher.reader().leaf_readers()]
                storage.pin([segment.segment_id() for segment in segments if segment is not None])
            except BaseException:
                searcher.close()
                raise
    except BaseException:
        storage._closer()
        raise
    return searcher


def open_for_writing(index_dir: Path) -> FileIndex:
    """The Whoosh index in `index_dir`, for an update run (its deletions wait for searchers)."""
    with _readable_toc(index_dir):
        return FileIndex(_GuardedStorage(str(index_dir)))


def sync_folder(folder: Path) -> None:
    """Make the folder's entries (files created, renamed or removed in it) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def reading(index_dir: Path | int) -> Iterator[None]:
    """Hold the readers' lock (shared) while searchers are opened (`index_dir`: the folder, or
    a descriptor of it)."""
    with _flock(index_dir, READERS_GATE, fcntl.LOCK_SH, create=False):
        pass  # waits while a writer is deleting files or waiting to
    with _flock(index_dir, READERS_LOCK, fcntl.LOCK_SH, create=False):
        yield


@contextmanager
def deleting(index_dir: Path) -> Iterator[None]:
    """Hold the readers' lock exclusively (as a writer deleting files does), e.g. while a folder
    swapped out by a rebuild is removed, so no searcher is opening files there meanwhile."""
    with _flock(index_dir, READERS_GATE, fcntl.LOCK_EX, create=False), \
            _flock(index_dir, READERS_LOCK, fcntl.LOCK_EX, create=False):
        yield


@contextmanager
def _flock(folder: Path | int, name: str, kind: int, *, create: bool) -> Iterator[None]:
    where = {"dir_fd": folder} if isinstance(folder, int) else {}
    path = name if isinstance(folder, int) else Path(folder) / name
    try:
        # read-only suffices for flock, so a read-only index can still be searched
        fd = (os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600, **where)
              if create else os.open(path, _FILE_FLAGS, **where))
    except OSError:
        if create:
            raise
        fd = None  # an index from before this lock, or unreadable: search without it
    try:
        if fd is not None:
            fcntl.flock(fd, kind)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def close_abandoned_files(failure: BaseException | None = None) -> None:
    """When opening a reader fails halfway (a writer outside searchlib deleted files, or a file
    was damaged by hand), Whoosh drops the segment files it had opened to the garbage collector,
    or leaves them to the frames of the `failure` being handled: close them now, quietly, rather
    than as a ResourceWarning at some later, unrelated moment (the failure loses its traceback:
    for a failure that is handled, not raised)."""
    import gc
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        while failure is not None:
            failure.__traceback__, failure = None, failure.__context__
        gc.collect()
