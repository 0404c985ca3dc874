"""Corpus: which files a set of paths stands for, and the articles they hold.

Stage: ingestion, before the parsers. Folders are walked recursively in name order; hidden files
and folders (names starting with `.`) are ignored, as ripgrep does. Explicitly named files are
always read.

The corpus is untrusted, and so is its shape: symbolic links leading out of the folders being
indexed are not followed (unless asked), link loops end, only regular files are listed (a FIFO
would block the run, a device never ends), and a file or folder that cannot be read is reported
as skipped, never fatal. Only a path that does not exist at all is an error. A listed file may
change before it is read (a link flipped to point elsewhere): reading opens it with
`parsers.open_within`, which refuses a file that really lies outside the corpus then.

The index folder is never part of the corpus; `.searchlibignore` files and `exclude` patterns
(gitignore syntax) leave files out; files of types searchlib does not read are ignored, not skipped.
"""
from __future__ import annotations

import errno
import gzip
import json
import os
import re
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..article import Article
from ..engine.layout import FORMAT, META_FILE
from ..errors import ExcludeError, ParseError, PathNotFoundError
from .limits import Limits, current as current_limits
from .parsers import EXTENSIONS, boundary, open_within, parse_file, sniff, within
from .parsers.charset import SNIFF_BYTES


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


IGNORE_FILE = ".searchlibignore"
# The folders an index folder NAME goes by while searchlib replaces it (`index.rebuild_index`).
INDEX_SIBLINGS = ("rebuild", "old", "new")
_SIBLING = re.compile(r"\.(.+)\.(?:" + "|".join(INDEX_SIBLINGS) + ")")
_MAX_IGNORE_FILE = 1 << 20


class Listing(tuple):
    """What `find_files` found. Unpacks as the pair `(files, problems)`; `.ignored` holds the files
    of types searchlib does not read (see `find_files`) and `.roots` the real paths of the folders
    and files being indexed (the corpus boundary, for `parsers.boundary`)."""

    ignored: list[Path]
    roots: list[Path]

    def __new__(cls, files: list[Path], problems: list[Skipped], ignored: list[Path], roots: list[Path]):
        self = super().__new__(cls, (files, problems))
        self.ignored, self.roots = ignored, roots
        return self

    @property
    def files(self) -> list[Path]:
        return self[0]

    @property
    def problems(self) -> list[Skipped]:
        return self[1]


def find_files(paths: Iterable[str | Path], *, follow_links: bool = False, exclude: Iterable[str] = (),
               exclude_dirs: Iterable[str | Path] = ()) -> Listing:
    """Every file the paths stand for (absolute, de-duplicated, sorted), and what was passed over.

    Symbolic links inside the folders are followed only when they stay inside the folders being
    indexed, unless `follow_links` is set; link loops end. Unreadable folders, broken or looping
    links and anything that is not a regular file are passed over (with the reason). Raises
    PathNotFoundError if a path does not exist: a typo must not look like an empty corpus; and
    LimitsError if a SEARCHLIB_MAX_* variable is malformed, before any work is done.

    `exclude_dirs` (index folders) are never listed, even when named (a path inside one lists
    nothing), compared by identity (device and inode), nor their `.NAME.rebuild` / `.NAME.old` /
    `.NAME.new` siblings (or, given one of those, NAME). In folders (never for a file named
    explicitly, which is always read):
    - files and folders matching `exclude` (gitignore patterns, relative to each folder given) or
      a `.searchlibignore` file (gitignore syntax, relative to its folder; a deeper one overrides,
      `exclude` overrides them all) are left out, as hidden files are;
    - a file of a type searchlib does not read is *ignored* (`Listing.ignored`): its extension is
      none of the known ones (`parsers.EXTENSIONS`) and its first and last bytes are no
      format `parsers.sniff` recognises (README.md, LICENSE, lewis.dtd, a PNG, an empty `.dat`);
      `X.gz` is judged as X, on its first decompressed bytes (`R2.md.gz`, `COPYING.gz`).
      A file with a known extension is always read; if it fails to parse it is skipped;
    - a folder holding another searchlib index (its `searchlib.json` says so) is not walked,
      and is listed in `Listing.ignored`.
    """
    current_limits()
    given = _compile(exclude)
    files: dict[Path, None] = {}
    problems: list[Skipped] = []
    ignored: list[Path] = []
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
    left_out = _identities(exclude_dirs)
    boundary = [str(root) for root in roots]

    def report(error: OSError) -> None:
        problems.append(Skipped(Path(error.filename or "?"), f"cannot read folder: {error.strerror}"))

    for root in roots:
        if left_out and any(_identity(p) in left_out for p in (root, *root.parents)):
            continue  # an index folder, or inside one
        if not root.is_dir():
            _add_file(root, files, problems)
            continue
        visited: set[Path] = set()
        rules: dict[str, list] = {}
        for folder, dirnames, filenames in os.walk(root, onerror=report, followlinks=True):
            real = _realpath(folder)
            if real is None or real in visited:  # a link loop, or a folder reached twice through links
                dirnames[:] = []
                continue
            visited.add(real)
            own = rules[folder] = rules.get(os.path.dirname(folder), []) + _ignore_file(
                folder, filenames, boundary, problems)

            def excluded(path: str, is_dir: bool) -> bool:
                # git's rule: every pattern from the root's file down (each relative to its own
                # folder), then `exclude`, in order; the last that matches the path itself decides
                # (a folder left out is not walked, so nothing inside it can come back)
                verdict = False
                for base, rules in own + ([(str(root), given)] if given else []):
                    rel = os.path.relpath(path, base).replace(os.sep, "/")
                    verdict = _verdict(rules, rel, is_dir, verdict)
                return verdict

            keep = []
            for name in sorted(dirnames):
                if name.startswith("."):
                    continue
                sub = Path(folder, name)
                if _is_link(sub) and not follow_links:
                    target = _realpath(sub)
                    if target is None:
                        problems.append(Skipped(sub, CHANGED))
                        continue
                    if not within(target, roots):
                        problems.append(Skipped(sub, f"symbolic link to {target} outside the "
                                                     "indexed folders (not followed)"))
                        continue
                if (left_out and _identity(sub) in left_out) or excluded(str(sub), True):
                    continue
                if _is_index(sub, ["/"] if follow_links else boundary):
                    ignored.append(sub)  # another searchlib index: its files are no articles
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = Path(folder, name)
                if excluded(str(path), False):
                    continue
                if _is_link(path):
                    target = _realpath(path)
                    if target is None:
                        problems.append(Skipped(path, CHANGED))
                        continue
                    if not follow_links and not within(target, roots):
                        problems.append(Skipped(path, f"symbolic link to {target} outside the indexed "
                                                      "folders (not followed)"))
                        continue
                if _add_file(path, files, problems) and not _read_type(path, ["/"] if follow_links else boundary):
                    del files[path]
                    ignored.append(path)
    return Listing(sorted(files), problems, sorted(ignored), roots)


CHANGED = "cannot read: it changed while the folder was being listed (tried again next run)"


def _realpath(path: str | Path) -> Path | None:
    """Where `path` really leads, or None when it changes under us (a link or folder swapped
    while being resolved can make even a non-strict realpath fail)."""
    try:
        return Path(os.path.realpath(path))
    except OSError:
        return None


def _compile(patterns: Iterable[str]):
    """The caller's exclude patterns as rules (None if there are none); ExcludeError if bad."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    if not patterns:
        return None
    import pathspec
    for pattern in patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except ValueError as exc:
            raise ExcludeError(pattern, str(exc)) from None
    return _rules(patterns)


def _rules(lines: Iterable[str]) -> list[tuple]:
    """The gitignore patterns among `lines` (blank lines and `#` comments are none), each as
    (compiled regex, excludes, only folders, anchored), in order."""
    rules = []
    for line in lines:
        line = line.rstrip("\r\n")
        while line.endswith(" ") and not line.endswith("\\ "):  # trailing spaces, unless escaped
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        if not excludes:
            line = line[1:]
        only_folders = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line  # a slash at the start or in the middle: relative to its folder
        parts = line.lstrip("/").split("/")
        rules.append((re.compile(_pattern(parts), re.DOTALL), excludes, only_folders, anchored))
    return rules


def _pattern(parts: list[str]) -> str:
    """The regular expression for a gitignore pattern's parts (split at `/`): `**` as a whole
    part is any number of folders, `*` and `?` never match a `/`."""
    out = ""
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if part == "**":
            out += ".*" if i == 0 == last else "(?:.*/)?" if i == 0 else "/.*" if i == last else "(?:/.+)?"
            continue
        if i and not (i == 1 and parts[0] == "**"):
            out += "/"
        out += _glob(part)
    return out


def _glob(part: str) -> str:
    """One path component's wildcards (`*`, `?`, `[...]`, `\\x`) as a regular expression."""
    out, i = "", 0
    while i < len(part):
        char = part[i]
        if char == "\\" and i + 1 < len(part):
            out += re.escape(part[i + 1])
            i += 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and (end := part.find("]", i + 2 if part[i + 1:i + 2] in ("!", "^") else i + 1)) > i:
            body = part[i + 1:end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out += "[" + ("^" if negate else "") + body.replace("\\", "\\\\").replace("[", "\\[") + "]"
            i = end + 1
            continue
        else:
            out += re.escape(char)
        i += 1
    return out


def _verdict(rules: list[tuple], rel: str, is_dir: bool, verdict: bool) -> bool:
    """Whether the path `rel` (relative to the rules' folder) is left out after `rules`, given
    `verdict` from the rules before them: the last rule matching the path itself decides."""
    name = rel.rsplit("/", 1)[-1]
    for regex, excludes, only_folders, anchored in rules:
        if only_folders and not is_dir:
            continue
        if regex.fullmatch(rel if anchored else name):
            verdict = excludes
    return verdict


def _ignore_file(folder: str, filenames: list[str], roots: list[str], problems: list[Skipped]) -> list:
    """[(folder, spec)] from `folder/.searchlibignore` if there is one, else []. A line that is no
    valid pattern is reported and left out; the others still apply."""
    if IGNORE_FILE not in filenames:
        return []
    import pathspec
    path = Path(folder, IGNORE_FILE)
    try:
        with open(open_within(path, roots), "rb") as stream:
            text = stream.read(_MAX_IGNORE_FILE).decode("utf-8", "replace")
    except OSError as exc:
        problems.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
        return []
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except ValueError:
            problems.append(Skipped(path, f"line {number}: {line!r} is not a valid gitignore pattern; left out"))
            continue
        lines.append(line)
    return [(folder, _rules(lines))]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _identities(folders: Iterable[str | Path]) -> set[tuple[int, int]]:
    """(device, inode) of each index folder that exists, and of its rebuild/old/new siblings."""
    found = set()
    for folder in folders:
        folder = Path(os.path.abspath(folder))
        match = _SIBLING.fullmatch(folder.name)
        name = match.group(1) if match else folder.name
        for each in (folder, folder.with_name(name), *(folder.with_name(f".{name}.{tag}") for tag in INDEX_SIBLINGS)):
            identity = _identity(each)
            if identity is not None:
                found.add(identity)
    return found


def _is_index(folder: Path, roots: list[str] | None) -> bool:
    """Whether `folder` is a searchlib index: its `searchlib.json` says format "searchlib-index"."""
    meta = folder / META_FILE
    if not os.path.isfile(meta):
        return False
    try:
        with open(open_within(meta, roots), "rb") as stream:
            found = json.loads(stream.read(_MAX_INDEX_META))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(found, dict) and found.get("format") == FORMAT


_MAX_INDEX_META = 1 << 16


def _read_type(path: Path, roots: list[str] | None) -> bool:
    """Whether searchlib reads files like `path`: a known extension, or content it recognises.
    `X.gz` is judged as X would be, on its first decompressed bytes; one that is no gzip file
    is read (reading it says what is wrong)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        inner = path.with_suffix("").suffix.lower()
        return inner in EXTENSIONS or _gzip_read_type(path, roots)
    if suffix in EXTENSIONS:
        return True
    try:
        with open(open_within(path, roots), "rb") as stream:
            head = stream.read(SNIFF_BYTES)
            size = os.fstat(stream.fileno()).st_size
            tail = b""
            if size > 2 * SNIFF_BYTES:
                stream.seek(size - SNIFF_BYTES)
                tail = stream.read(SNIFF_BYTES)
            elif size > len(head):
                tail = stream.read(SNIFF_BYTES)
    except OSError:
        return True  # reading it will say what is wrong
    return sniff(head + tail) is not None


def _gzip_read_type(path: Path, roots: list[str] | None) -> bool:
    """Whether the first SNIFF_BYTES decompressed bytes of `path` are a format searchlib knows
    (JSON cut short there is given the benefit of the doubt: its end is not read)."""
    try:
        with open(open_within(path, roots), "rb") as raw, gzip.GzipFile(fileobj=raw) as stream:
            head = stream.read(SNIFF_BYTES)
            more = bool(stream.read(1))
    except (OSError, EOFError, zlib.error):
        return True  # no gzip file (or unreadable): reading it will say what is wrong
    if sniff(head) is not None:
        return True
    return more and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"["))


def _add_file(path: Path, files: dict[Path, None], problems: list[Skipped]) -> bool:
    """List `path` if it is (or links to) a regular file (True); else say what it is."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP) and _is_link(path):
            problems.append(Skipped(path, _link_problem(path)))
        else:
            problems.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
        return False
    if stat.S_ISREG(mode):
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:  # bytes that are no UTF-8: the index keeps paths as UTF-8
            problems.append(Skipped(path, "its name is not valid UTF-8; not read (rename it to index it)"))
            return False
        files[path] = None
        return True
    if not stat.S_ISDIR(mode):
        problems.append(Skipped(path, f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'special file')}); "
                                      "not read"))
    return False


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


def read_articles(paths: str | Path | Iterable[str | Path], *, limits: Limits | None = None,
                  exclude: Iterable[str] = ()) -> Iterator[Article | Skipped]:
    """The articles in files and folders, as they would be indexed, with a Skipped for each problem.

    The library twin of `search parse PATH`; ids are not assigned (that needs an index). `limits`
    bound what one file may cost (default: `searchlib.ingest.limits.current()`). `exclude`: gitignore
    patterns, as for `find_files`; files of types searchlib does not read are left out. Files are
    read only where they really lie inside `paths` (`parsers.boundary`), even if a link changes.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    limits = current_limits(limits)
    listing = find_files(paths, exclude=exclude)
    yield from listing.problems
    for path in listing.files:
        items = parse_file(path, limits)
        while True:
            try:
                with boundary(listing.roots):  # only while the file is read, not while the caller runs
                    item = next(items)
            except StopIteration:
                break
            except ParseError as error:
                yield Skipped.from_error(error)
                break
            yield Skipped.from_error(item) if isinstance(item, ParseError) else item
