"""Attacks on the digest's mail command: one that floods stderr must not flood memory, and one
that hangs is stopped with every process it started, not only the first."""
from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from searchlib.alerts import digests
from searchlib.errors import DigestError


def test_megabytes_on_stderr_keep_memory_bounded_and_report_the_last_line():
    # 40 MB of one line on stderr, then a last line: only the tail is kept and shown.
    command = ("sh -c 'head -c 40000000 /dev/zero | tr \"\\0\" x >&2; echo >&2; "
               "echo mailbox full >&2; exit 3'")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DigestError) as caught:
        digests.send_digest(command, "Subject: x\n\nbody\n", "floods")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert str(caught.value).endswith("exited with status 3: mailbox full")
    assert grown_mb < 20, f"the run grew by {grown_mb:.0f} MB for 40 MB of stderr"


def test_a_hanging_command_is_stopped_with_its_children(tmp_path, monkeypatch):
    monkeypatch.setattr(digests, "MAIL_TIMEOUT", 1)
    pids = tmp_path / "pids"
    # The shell starts a child that would outlive it and holds stderr open.
    command = f"sh -c 'sleep 300 & echo $! > {pids}; sleep 300'"
    started = time.monotonic()
    with pytest.raises(DigestError) as caught:
        digests.send_digest(command, "Subject: x\n\nbody\n", "floods")
    assert time.monotonic() - started < 10
    assert "took more than 1 s" in str(caught.value)
    child = int(pids.read_text())
    for _ in range(50):
        if not _running(child):
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        pytest.fail("the mail command's child is still running after the timeout")


def _running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_command_that_reads_nothing_and_succeeds_is_a_success():
    digests.send_digest("true", "x" * 5_000_000, "floods")
