"""The CLI's indexing progress line (issue 18) on a terminal: articles/s and the time left, drawn
from indexing.progress.Estimate on a fake clock; nothing drawn when stderr is not a terminal."""
from __future__ import annotations

import io
import sys

from searchlib.indexing.progress import Estimate


class Clock:
    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_cli_bar_draws_articles_per_second_and_time_left(monkeypatch):
    from searchlib import cli

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = cli._ProgressBar()
    clock = Clock()
    bar.estimate = Estimate(clock)
    total = 4 << 20
    for step in range(5):
        clock.now = 10.0 + step
        bar.articles = 500 * step
        bar(step * (1 << 20), total, None)
    text = terminal.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n")
    assert "Indexing [##########----------]  50%  1,000 articles  500 articles/s  2s left" in text
    assert "100%  2,000 articles  500 articles/s  0s left" in text
    quiet = cli._ProgressBar()  # not a terminal: nothing drawn
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    quiet(1 << 20, total, None)
    assert sys.stderr.getvalue() == ""
