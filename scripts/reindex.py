#!/usr/bin/env python3
"""Cron entry point: reindex the corpus, append one log line per run, exit non-zero on failure.

    */15 * * * * cd /srv/news && .venv/bin/python scripts/reindex.py --log /var/log/searchlib.log

Log line (one per run, tab-free, grep-friendly):
    2026-11-24T18:00:01+00:00 searchlib-reindex status=ok files=6 added=0 updated=1 deleted=0 unchanged=5 skipped=0 ignored=2 articles=3 seconds=0.05
then one indented line per skipped file or error. File names come from the corpus, so everything
written is escaped (`escape`): a newline in a name cannot forge a log line, a terminal escape
cannot reach whoever reads the log, and a name that is not UTF-8 shows its bytes as \\xNN.
Files of types searchlib does not read (README.md, LICENSE) are ignored: counted, not skipped.
With --watch, every saved search (`search watch add`) runs after the reindex: the line gains
`new.NAME=N` per watch, `--digest-dir DIR` updates DIR/NAME.atom, `--mail-command CMD` pipes a
plain-text digest to CMD when a watch has something new; a watch whose digest fails is named
in an indented line, keeps its cursor (its articles come again next run) and the status is
`watch-error`.
Exit codes: 0 everything indexed, 1 some files skipped (named in the log), 2 error (also a
failed watch), 75 another reindex holds the lock (the overlapping cron tick just gives up).
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import searchlib  # noqa: E402
from searchlib import settings

OK, SKIPPED, ERROR, LOCKED = 0, 1, 2, 75
# Characters written as escapes besides C0/C1 controls: line and paragraph separators, bidi
# controls (they reorder what a terminal shows), and the backslash itself (so escapes are unambiguous).
_ESCAPED = {0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF}
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape(text: str) -> str:
    """`text` safe for one log line: backslash escapes for control characters (`\\n`, `\\x1b`,
    `\\u202e`), and a byte that was not UTF-8 (decoded by Python as a lone surrogate) as `\\xNN`."""
    out = []
    for char in text:
        code = ord(char)
        if char in _SHORT:
            out.append(_SHORT[char])
        elif 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape for the byte code - 0xDC00
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif code in _ESCAPED or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _jobs(text: str) -> int:
    jobs = int(text)
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files/folders (default: $SEARCHLIB_CORPUS or ./corpus)")
    parser.add_argument("--index", type=Path, help="index folder (default: $SEARCHLIB_INDEX or ./index)")
    parser.add_argument("--log", type=Path, help="append the log line here (default: stderr)")
    parser.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a running reindex")
    parser.add_argument("--jobs", type=_jobs, default=None,
                        help="processes parsing files (default: one per core; 1: none)")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="leave out files and folders matching this gitignore pattern (repeatable)")
    parser.add_argument("--watch", action="store_true",
                        help="then run every watch (saved search) and log new.NAME=N for each")
    parser.add_argument("--digest-dir", type=Path, metavar="DIR",
                        help="with --watch: write each watch's Atom feed to DIR/NAME.atom")
    parser.add_argument("--mail-command", metavar="CMD",
                        help="with --watch: pipe a plain-text digest to CMD (e.g. 'sendmail -t') when a watch has news")
    parser.add_argument("--mail-to", metavar="ADDRESS", help="with --mail-command: the digest's To: header")
    args = parser.parse_args(argv)
    if (args.digest_dir or args.mail_command) and not args.watch:
        parser.error("--digest-dir and --mail-command go with --watch")

    if args.log:  # a run nobody can read about is not started
        try:
            args.log.open("a", encoding="utf-8").close()
        except OSError as exc:
            sys.stderr.write(f"searchlib-reindex: cannot write the log {escape(str(args.log))}: "
                             f"{escape(str(exc.strerror or exc))}; nothing was indexed\n")
            return ERROR
    started = time.perf_counter()
    fields: dict[str, object] = {}
    try:
        idx = searchlib.Index(settings.index_path(args.index))
        report = idx.update(args.paths or [settings.corpus_path()], wait=args.wait, jobs=args.jobs,
                            exclude=args.exclude)
        status, code = ("ok", OK) if report.ok else ("skipped", SKIPPED)
        fields = {"files": report.files, "added": report.added, "updated": report.updated,
                  "deleted": report.deleted, "unchanged": report.unchanged,
                  "skipped": len({s.path for s in report.skipped}), "ignored": len(report.ignored),
                  "articles": report.articles}
        details = [f"  skipped {s}" for s in report.skipped]
        if args.watch:
            done = idx.watches.run(digest_dir=args.digest_dir, mail_command=args.mail_command,
                                   mail_to=args.mail_to, wait=max(args.wait, 60.0))
            fields.update((f"new.{o.name}", o.new) for o in done.outcomes)
            details += [f"  {error}" for error in done.errors]
            if done.errors:
                status, code = "watch-error", ERROR
    except searchlib.IndexLockedError as exc:
        status, code, details = "locked", LOCKED, [f"  {exc}"]
    except searchlib.SearchlibError as exc:
        status, code, details = "error", ERROR, [f"  {exc}"]
    except Exception as exc:  # a cron job must log its failure, whatever it is
        status, code, details = "error", ERROR, [f"  {type(exc).__name__}: {exc}"]
    fields["seconds"] = f"{time.perf_counter() - started:.2f}"
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    line = " ".join([stamp, "searchlib-reindex", f"status={status}"] + [f"{k}={v}" for k, v in fields.items()])
    text = "\n".join([line] + [escape(detail) for detail in details]) + "\n"
    if args.log:
        with args.log.open("a", encoding="utf-8") as log:
            log.write(text)
    else:
        sys.stderr.write(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
