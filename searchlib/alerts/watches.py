"""Watches: saved searches kept in the index folder, each with a cursor saying what it has reported.

Stage: alerts, over the index facade. `watches.json` in the index folder holds every watch's
query, date filters and cursor (the highest `entered` stamp it has delivered, see
`indexing.stamps`). It is replaced whole and atomically (written beside, synced, renamed, the
folder synced), under `watches.lock`, so a crash leaves the old file or the new one.

A run (`Watches.run`) holds the index's run lock, so it never overlaps a reindex or another run:
for each watch it finds the matching articles stamped after its cursor, delivers them (an Atom
feed, a mail, the caller's `deliver`), and only then advances the cursor. A run killed before
that reports the same articles next time; nothing is reported twice. A watch that fails (its
query no longer parses, its feed cannot be written, its mail command fails) is reported with
its name, keeps its cursor, and the others still run.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from ..errors import ArgumentError, DigestError, SearchlibError, UnknownWatchError, WatchError
from ..indexing.stamps import WATCHES_FILE
from .arrivals import Arrivals, stamp_time
from .files import replace_file

if TYPE_CHECKING:
    from ..index import Index

LOCK_NAME = "watches.lock"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # also a feed's file name: NAME.atom
STORE_VERSION = 1
_TEMP = re.compile(re.escape(WATCHES_FILE) + r"\.[0-9]+\.tmp")  # as index.py's _OUR_NAMES has it


@dataclass
class Watch:
    """A saved search: its query and date filters (as typed: `7d` stays relative to each run),
    its cursor (the highest stamp delivered), when it last ran and how many articles it found."""

    name: str
    query: str
    since: str | None = None
    until: str | None = None
    created: datetime | None = None
    cursor: int = 0
    last_run: datetime | None = None
    found: int = 0
    runs: int = 0
    feed_id: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "query": self.query, "since": self.since, "until": self.until,
                "created": _iso(self.created), "cursor": self.cursor,
                "seen_until": _iso(stamp_time(self.cursor)) if self.cursor else None,
                "last_run": _iso(self.last_run), "found": self.found, "runs": self.runs,
                "feed_id": self.feed_id}

    @classmethod
    def from_dict(cls, data: dict) -> "Watch":
        return cls(name=data["name"], query=data["query"], since=data.get("since"),
                   until=data.get("until"), created=_parse_iso(data.get("created")),
                   cursor=int(data.get("cursor") or 0), last_run=_parse_iso(data.get("last_run")),
                   found=int(data.get("found") or 0), runs=int(data.get("runs") or 0),
                   feed_id=data.get("feed_id") or "")


@dataclass
class WatchOutcome:
    """What one watch's run gave: its new articles, or the error that stopped it (its cursor
    then stays), and the feed it wrote / whether a mail went out."""

    name: str
    arrivals: Arrivals | None = None
    error: WatchError | None = None
    feed: Path | None = None
    mailed: bool = False

    @property
    def new(self) -> int:
        return len(self.arrivals) if self.arrivals is not None else 0

    def to_dict(self) -> dict:
        return {"watch": self.name, "new": self.new, "error": str(self.error) if self.error else None,
                "feed": str(self.feed) if self.feed else None, "mailed": self.mailed}


@dataclass
class WatchRun:
    """Every watch's outcome, in the order run."""

    outcomes: list[WatchOutcome] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def errors(self) -> list[WatchError]:
        return [o.error for o in self.outcomes if o.error is not None]

    def to_dict(self) -> dict:
        return {"new": self.new, "errors": len(self.errors),
                "watches": {o.name: o.to_dict() for o in self.outcomes}}


Deliver = Callable[[Watch, Arrivals], None]


class Watches:
    """The watches of one index (`Index.watches`)."""

    def __init__(self, index: "Index"):
        self.index = index
        self.folder = Path(index.path)

    # --- the store ---------------------------------------------------------------------------

    def list(self) -> list[Watch]:
        """Every watch, by name."""
        return [self._watch(data, key) for key, data in sorted(self._load().items())]

    def get(self, name: str) -> Watch:
        """The watch called `name` (UnknownWatchError if there is none)."""
        watches = self._load()
        if name not in watches:
            raise UnknownWatchError(name, watches)
        return self._watch(watches[name], name)

    def add(self, name: str, query: str, *, since: str | None = None, until: str | None = None,
            backfill: bool = False, wait: float = 0.0, now: datetime | None = None) -> Watch:
        """Save a watch. Its first run reports what enters the index from now on (`backfill`:
        also every matching article already there). The query and dates are checked by
        searching with them once."""
        _check_name(name)
        self.index.search(query, since=since, until=until, limit=0, now=now)  # QueryError, DateError
        from ..indexing.update import RunLock
        with RunLock(self.folder, wait):  # the head read is not in the middle of a reindex
            head = 0 if backfill else self.index.head()
            with self._locked():
                watches = self._load()
                if name in watches:
                    raise WatchError(name, "a watch of that name exists already (remove it with: "
                                           f"search watch rm {name})")
                watch = Watch(name=name, query=query, since=since, until=until,
                              created=_now(now), cursor=head, feed_id=uuid.uuid4().urn)
                watches[name] = watch.to_dict()
                self._save(watches)
        return watch

    def remove(self, name: str) -> Watch:
        """Delete the watch (its feed file, if any, is left where it is)."""
        with self._locked():
            watches = self._load()
            if name not in watches:
                raise UnknownWatchError(name, watches)
            gone = watches.pop(name)
            self._save(watches)
        return self._watch(gone)

    # --- running -----------------------------------------------------------------------------

    def run(self, names: Iterable[str] | None = None, *, deliver: Deliver | None = None,
            digest_dir: str | os.PathLike | None = None, mail_command: str | None = None,
            mail_to: str | None = None, wait: float = 0.0, now: datetime | None = None) -> WatchRun:
        """Run the watches named (default: all): find each one's new articles, deliver them
        (`digest_dir`: an Atom feed NAME.atom there, updated in place; `mail_command`: a plain
        text digest piped to it when something is new; `deliver(watch, arrivals)`: the caller's
        own, e.g. printing), then advance its cursor. Under the index's run lock (`wait` seconds
        for it, else IndexLockedError). Failures are in the outcomes, never raised."""
        from ..indexing.update import RunLock
        names = list(names) if names is not None else None
        outcome = WatchRun()
        with RunLock(self.folder, wait):
            head = self.index.head()
            watches = self._load()
            for name in names if names is not None else sorted(watches):
                result = WatchOutcome(name)
                outcome.outcomes.append(result)
                if name not in watches:
                    result.error = UnknownWatchError(name, watches)
                    continue
                try:
                    watch = self._watch(watches[name], name)
                    self._run_one(watch, head, result, deliver, digest_dir, mail_command, mail_to, now)
                except WatchError as exc:
                    result.error = exc
                except SearchlibError as exc:  # its query or dates no longer parse, ...
                    result.error = WatchError(name, str(exc))
        return outcome

    def _run_one(self, watch: Watch, head: int, result: WatchOutcome, deliver, digest_dir,
                 mail_command, mail_to, now) -> None:
        arrivals = self.index.arrivals(watch.query, after=watch.cursor, head=head,
                                       since=watch.since, until=watch.until, now=now)
        # (copies of one story that arrived together are one item: arrivals.find_arrivals)
        when = _now(now)
        feed = Path(digest_dir) / f"{watch.name}.atom" if digest_dir is not None else None
        if feed is not None and (len(arrivals) or not feed.exists()):  # (else it stays as it is)
            from .feeds import write_feed
            result.feed = feed
            try:
                feed.parent.mkdir(parents=True, exist_ok=True)
                write_feed(feed, watch, arrivals, when, base=self.folder.resolve().parent)
            except OSError as exc:
                raise DigestError(watch.name, f"cannot write its feed {result.feed}: "
                                              f"{exc.strerror or exc}") from None
        if mail_command and len(arrivals):
            from .digests import digest_text, send_digest
            send_digest(mail_command, digest_text(watch, arrivals, when, to=mail_to), watch.name)
            result.mailed = True
        if deliver is not None:
            deliver(watch, arrivals)
        result.arrivals = arrivals
        self._advance(watch, max(watch.cursor, head), len(arrivals), when)

    def _advance(self, watch: Watch, cursor: int, found: int, when: datetime) -> None:
        """Move the watch's cursor (after its digest went out), unless it was removed or
        replaced meanwhile."""
        with self._locked():
            watches = self._load()
            data = watches.get(watch.name)
            if data is None or data.get("created") != _iso(watch.created):
                return
            data.update(cursor=max(int(data.get("cursor") or 0), cursor), last_run=_iso(when),
                        found=int(data.get("found") or 0) + found, runs=int(data.get("runs") or 0) + 1)
            self._save(watches)

    # --- the file ----------------------------------------------------------------------------

    def _watch(self, data, key: str | None = None) -> Watch:
        """The watch stored as `data` under `key`; WatchError if the file was edited into one
        searchlib cannot use (its name is also its feed's file name, so it must be a name)."""
        try:
            if not isinstance(data, dict):
                raise TypeError(f"not an object: {data!r:.80}")
            watch = Watch.from_dict(data)
            if not isinstance(watch.name, str) or not NAME.fullmatch(watch.name):
                raise ValueError(f"its name {watch.name!r:.80} is not a watch's name")
            if key is not None and watch.name != key:
                raise ValueError(f"it is named {watch.name!r:.80} but stored as {key!r:.80}")
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            name = key if key is not None else data.get("name", "?") if isinstance(data, dict) else "?"
            raise WatchError(str(name), f"{self.folder / WATCHES_FILE} holds a "
                             f"watch searchlib cannot read ({exc})") from None
        return watch

    def _load(self) -> dict[str, dict]:
        path = self.folder / WATCHES_FILE
        try:
            with open(path, "rb") as file:
                data = json.loads(file.read().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise WatchError("*", f"cannot read {path} ({exc})") from None
        except RecursionError:
            raise WatchError("*", f"cannot read {path} (JSON nested too deep)") from None
        if not isinstance(data, dict) or not isinstance(data.get("watches"), dict):
            raise WatchError("*", f"{path} is not searchlib's list of watches")
        return data["watches"]

    def _save(self, watches: dict[str, dict]) -> None:
        """Replace watches.json atomically: a crash leaves the old file or the new one."""
        path = self.folder / WATCHES_FILE
        temp = self.folder / f"{WATCHES_FILE}.{os.getpid()}.tmp"
        for left in self.folder.glob(f"{WATCHES_FILE}.*.tmp"):  # a killed writer's (the lock is ours)
            if _TEMP.fullmatch(left.name) and left.is_file() and not left.is_symlink():
                left.unlink()
        text = json.dumps({"version": STORE_VERSION, "watches": watches}, indent=2, ensure_ascii=False)
        replace_file(path, (text + "\n").encode("utf-8"), temp=temp, mode=0o600)
        folder = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The watches file's own lock, held while it is read, changed and replaced."""
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _check_name(name) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ArgumentError("name", name, "a watch's name is 1 to 64 letters, digits, '.', '_' "
                                          "or '-', starting with a letter or digit")


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_iso(value) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
