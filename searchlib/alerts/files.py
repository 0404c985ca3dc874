"""Files: replacing a small file of searchlib's (a feed, a receipt, the list of watches) so that a
reader, or a run killed half-way, sees the old file or the new one, never half of one.

Stage: alerts, the one place that writes them.
"""
from __future__ import annotations

import os
from pathlib import Path


def replace_file(path: Path, data: bytes, *, temp: Path | None = None, mode: int = 0o644) -> None:
    """Write `data` to `temp` (default: `.NAME.PID.tmp` beside `path`; never through a symbolic
    link), flush it to disk, and rename it over `path`; `temp` is removed if anything fails."""
    temp = temp or path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        with open(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
