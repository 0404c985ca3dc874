"""A `kill -9` of the process writing the summaries (engine.summaries), in the middle of its one
transaction: the file is left with a hot journal. Searches and `search stats` still answer as
before (a reading process cannot roll the journal back: it makes what it needs itself), and
the next run rolls it back and keeps the parts again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import searchlib
from searchlib.engine.layout import SUMMARIES_FILE

from .test_summaries import _part_names, _truth, grown  # noqa: F401 (the fixture)

KILLED_WHILE_KEEPING = r"""
import sys, time
from pathlib import Path
from searchlib.engine import summaries

def keep(self, wanted):  # the real keep's transaction, stopped half-way
    db = self._db
    db.execute("PRAGMA cache_size = 1")  # (its changed pages go to the file before the commit)
    db.execute("BEGIN IMMEDIATE")
    db.execute("DELETE FROM parts")
    db.executemany("INSERT OR REPLACE INTO parts VALUES (?, ?)",
                   [(name + "x", blob) for name, blob in self.pending.items()] * 4)
    print("inside", flush=True)
    time.sleep(60)

summaries.Store.keep = keep
from searchlib.indexing.update import keep_summaries
folder = Path(sys.argv[1])
(folder / "{name}").unlink()  # (the parts all made again, all in the transaction)
keep_summaries(folder)
"""


def _answers(path) -> tuple:
    with searchlib.Index(path, create=False) as idx:
        stats = idx.stats()
        hits = idx.search("Marlow OR river", limit=10).hits
        return (stats.articles, stats.files, stats.sources, stats.sections, stats.first_date,
                [(h.id, h.copies, h.outlets) for h in hits])


def test_a_kill_9_while_the_summaries_are_written(grown):  # noqa: F811 (the fixture)
    before = _answers(grown)
    parts = _part_names(grown)
    code = KILLED_WHILE_KEEPING.replace("{name}", SUMMARIES_FILE)
    with subprocess.Popen([sys.executable, "-c", code, str(grown)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline().strip() == "inside"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    journal = grown / (SUMMARIES_FILE + "-journal")
    assert journal.exists() and journal.stat().st_size > 0  # (a hot journal: the state tried here)
    started = time.perf_counter()
    assert _answers(grown) == before  # searches and stats as before, the journal left alone
    assert time.perf_counter() - started < 20  # (not waiting out a lock)
    assert journal.exists()
    assert _truth(grown)["articles"] == before[0]
    with searchlib.Index(grown) as idx:  # the next run: nothing changed, the file mended
        report = idx.update([grown.parent / "corpus"], jobs=1)
    assert report.ok and report.commits == 0
    assert not journal.exists() or journal.stat().st_size == 0
    assert _part_names(grown) == parts
    assert _answers(grown) == before
