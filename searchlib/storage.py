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

Reading: searchers open the segment files through memory maps (`ReadingStorage`). Whoosh's
readers fetch term records and postings blocks with `get(position, length)`, a seek and a read
on a plain file; on a map it is one slice (as in Whoosh's compound files, which it maps too).
Segment files never change once written, and a map stays valid after its file is deleted.
"""
from __future__ import annotations

import fcntl
import mmap
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.index import FileIndex

READERS_LOCK = "readers.lock"
READERS_GATE = "readers.gate"


class _GuardedStorage(FileStorage):
    """A FileStorage whose file deletions wait for searchers holding `readers.lock`, and whose
    files and renames are synced to disk (see the module docstring)."""

    def create_file(self, name, excl=False, mode="wb", **kwargs):
        then = kwargs.pop("onclose", None)

        def sync(structfile):
            if then is not None:
                then(structfile)
            structfile.file.flush()
            os.fsync(structfile.file.fileno())

        return super().create_file(name, excl, mode, onclose=sync, **kwargs)

    def rename_file(self, oldname, newname, safe=False):
        super().rename_file(oldname, newname, safe)
        sync_folder(Path(self.folder))

    def delete_file(self, name):
        folder = Path(self.folder)
        with _flock(folder / READERS_GATE, fcntl.LOCK_EX, create=True), \
                _flock(folder / READERS_LOCK, fcntl.LOCK_EX, create=True):
            super().delete_file(name)


class _MappedFile(StructFile):
    """A file read through a memory map: `get` is a slice of the map, without moving the file's
    position (as in Whoosh's BufferFile); reading in sequence still goes through the file."""

    def __init__(self, fileobj, name=None, onclose=None):
        super().__init__(fileobj, name=name, onclose=onclose)
        self._map = mmap.mmap(fileobj.fileno(), 0, access=mmap.ACCESS_READ)

    def get(self, position, length):
        return self._map[position:position + length]

    def close(self):
        if not self.is_closed:
            self._map.close()
        super().close()


class ReadingStorage(FileStorage):
    """A FileStorage for searchers: files are opened with memory maps (empty ones as files)."""

    def open_file(self, name, **kwargs):
        fileobj = open(self._fpath(name), "rb")
        try:
            return _MappedFile(fileobj, name=name, **kwargs)
        except (ValueError, OSError):  # an empty file cannot be mapped
            return StructFile(fileobj, name=name, **kwargs)


def open_for_reading(index_dir: Path) -> FileIndex:
    """The Whoosh index in `index_dir`, for searching (files memory-mapped)."""
    storage = ReadingStorage(str(index_dir))
    return storage.open_index()


def open_for_writing(index_dir: Path) -> FileIndex:
    """The Whoosh index in `index_dir`, for an update run (its deletions wait for searchers)."""
    return FileIndex(_GuardedStorage(str(index_dir)))


def sync_folder(folder: Path) -> None:
    """Make the folder's entries (files created, renamed or removed in it) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def reading(index_dir: Path) -> Iterator[None]:
    """Hold the readers' lock (shared) while searchers are opened and used."""
    with _flock(Path(index_dir) / READERS_GATE, fcntl.LOCK_SH, create=False):
        pass  # waits while a writer is deleting files or waiting to
    with _flock(Path(index_dir) / READERS_LOCK, fcntl.LOCK_SH, create=False):
        yield


@contextmanager
def _flock(path: Path, kind: int, *, create: bool) -> Iterator[None]:
    try:
        # read-only suffices for flock, so a read-only index can still be searched
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if create else os.open(path, os.O_RDONLY)
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
