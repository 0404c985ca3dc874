"""Digests: a watch's new articles as a plain-text mail, piped to a command such as `sendmail -t`.

Stage: alerts → a mail. The text starts with mail headers (Subject, and To when given) and a
blank line, so `sendmail -t` can send it as it is; the body lists each article: title, date,
source and link, and its opening lines. Article text is hostile: control characters become
U+FFFD and no header takes text from an article, so an article cannot add a header.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import textwrap
from datetime import datetime, timezone

from ..errors import DigestError
from .arrivals import Arrivals

MAIL_TIMEOUT = 120  # seconds a mail command may take before the digest counts as failed
STDERR_TAIL = 4096  # bytes of a failed mail command's stderr read back for its message


def digest_text(watch, arrivals: Arrivals, now: datetime, *, to: str | None = None) -> str:
    """The digest of `arrivals` for `watch`, headers first."""
    count = len(arrivals)
    noun = "article" if count == 1 else "articles"
    lines = []
    if to:
        lines.append(f"To: {_header(to)}")
    lines += [f"Subject: {_header(f'searchlib: {count} new {noun} for {watch.name}')}",
              "Content-Type: text/plain; charset=utf-8", "",
              f"{count} new {noun} for the watch {watch.name} ({_clean(watch.query)}),",
              f"as of {now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC, newest first.", ""]
    for item in arrivals:
        hit = item.hit
        lines.append(f"{hit.rank}. {_clean(hit.title) or hit.id}")
        about = [hit.date.strftime("%Y-%m-%d") if hit.date else "undated"]
        about += [_clean(v) for v in (hit.source, hit.section) if v]
        lines.append("   " + " · ".join(about))
        lines.append("   " + _clean(hit.url or hit.id))
        for line in textwrap.wrap(_clean(hit.snippet), 76):
            lines.append("   " + line)
        lines.append("")
    lines.append(f"-- searchlib; stop with: search watch rm {watch.name}")
    return "\n".join(lines) + "\n"


def send_digest(command: str, text: str, watch_name: str) -> None:
    """Pipe `text` to `command` (split like a shell's words, run without a shell); DigestError
    naming the watch if it cannot be run, fails or takes longer than MAIL_TIMEOUT."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise DigestError(watch_name, f"bad mail command {command!r}: {exc}") from None
    if not argv:
        raise DigestError(watch_name, "the mail command is empty")
    try:
        # stderr goes to a file, read back only at its end, so a command that writes megabytes
        # costs no memory; its own session lets a timeout stop every process it started.
        with tempfile.TemporaryFile() as said_file:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=said_file, start_new_session=True)
            try:
                process.communicate(text.encode("utf-8"), timeout=MAIL_TIMEOUT)
            except subprocess.TimeoutExpired:
                _stop(process)
                raise DigestError(watch_name, f"mail command {command!r} took more than "
                                  f"{MAIL_TIMEOUT} s") from None
            finally:
                if process.poll() is None:
                    _stop(process)
            said_file.seek(max(0, said_file.seek(0, os.SEEK_END) - STDERR_TAIL))
            said = said_file.read().decode("utf-8", "replace").strip().splitlines()
    except FileNotFoundError:
        raise DigestError(watch_name, f"mail command {argv[0]!r} not found") from None
    except OSError as exc:
        raise DigestError(watch_name, f"cannot run mail command {command!r}: {exc.strerror or exc}") from None
    if process.returncode != 0:
        why = f": {_clean(said[-1][:400])[:200]}" if said else ""
        raise DigestError(watch_name, f"mail command {command!r} exited with status {process.returncode}{why}")


def _stop(process: subprocess.Popen) -> None:
    """Kill `process` and every process of its session (a shell's children too), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def _clean(text: str | None) -> str:
    """One line of text: whitespace runs as one space, control characters as U+FFFD."""
    text = " ".join((text or "").split())
    return "".join(c if c >= " " and c != "\x7f" and not "\x80" <= c <= "\x9f"
                   and not 0xD800 <= ord(c) <= 0xDFFF and c not in "\u202a\u202b\u202c\u202d\u202e"
                   "\u2066\u2067\u2068\u2069" else "\ufffd" for c in text)


def _header(text: str) -> str:
    """A header value on one line (a newline in a query or address cannot add a header)."""
    return _clean(text)
