"""The indexing progress line (issue 18): articles/s and the time left (indexing.progress.Estimate)
on a fake clock, its rendering, the library telling the bar how many articles are written, and
the CLI's bar drawing the line on a terminal."""
from __future__ import annotations

import random

import pytest

import searchlib
from searchlib import render
from searchlib.indexing.progress import Estimate, Speed

from .conftest import write_file


class Clock:
    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_rate_is_counted_from_the_first_bytes_done_not_from_the_start():
    clock = Clock()
    estimate = Estimate(clock)
    assert estimate.update(0, 1000) == Speed(0.0, None, None, None)
    clock.now = 30.0  # listing, hashing, workers starting: paid once
    assert estimate.update(100, 1000, articles=10) == Speed(0.1, 10, None, None)
    clock.now = 31.0
    speed = estimate.update(200, 1000, articles=30)
    assert speed.seconds_left == pytest.approx(8.0)  # 800 bytes at 100 bytes/s, not at 200/31
    assert speed.articles_per_s == pytest.approx(20.0)
    assert speed.fraction == pytest.approx(0.2)
    clock.now = 35.0
    speed = estimate.update(1000, 1000, articles=110)
    assert speed.seconds_left == 0.0 and speed.fraction == 1.0
    assert speed.articles_per_s == pytest.approx(20.0)


def test_no_estimate_without_progress_or_time():
    clock = Clock(5.0)
    estimate = Estimate(clock)
    estimate.update(10, 100)
    assert estimate.update(10, 100).seconds_left is None  # no bytes since
    assert Estimate(clock).update(0, 0).fraction == 1.0   # nothing to read


def _run(files: list[tuple[int, float]], startup: float) -> list[tuple[float, float]]:
    """A simulated run: (bytes, seconds) per file after `startup` seconds; per progress call after
    the first tenth of the bytes, (estimated seconds left, true seconds left)."""
    clock = Clock()
    estimate = Estimate(clock)
    total = sum(size for size, _ in files)
    end = startup + sum(seconds for _, seconds in files)
    estimate.update(0, total)
    clock.now = startup
    done, out = 0, []
    for size, seconds in files:
        clock.now += seconds
        done += size
        speed = estimate.update(done, total)
        if done >= total / 10 and done < total:
            out.append((speed.seconds_left, end - clock.now))
    return out


def test_the_time_left_is_right_within_a_quarter_after_the_first_tenth():
    rng = random.Random(18)
    # two kinds of file interleaved (HTML pages: many bytes a second; JSON text: fewer), sizes
    # spread tenfold, and a start-up as long as a tenth of the run
    files = []
    for _ in range(400):
        size = rng.randint(20_000, 200_000)
        files.append((size, size / (3e6 if rng.random() < 0.3 else 1e6)))
    startup = 0.1 * sum(seconds for _, seconds in files)
    errors = [abs(left - true) / true for left, true in _run(files, startup=startup)]
    assert len(errors) > 300
    assert max(errors) <= 0.25
    # counted from the start instead, the start-up makes the estimate at a tenth too long
    total = sum(size for size, _ in files)
    done = elapsed = 0.0
    for size, seconds in files:
        done, elapsed = done + size, elapsed + seconds
        if done >= total / 10:
            break
    true_left = sum(seconds for _, seconds in files) - elapsed
    from_start = (total - done) / (done / (startup + elapsed))
    assert from_start / true_left > 1.5


def test_a_constant_rate_gives_the_exact_time_left():
    for left, true in _run([(1000, 1.0)] * 50, startup=12.0):
        assert left == pytest.approx(true)


def test_durations_and_the_line():
    assert [render.duration(s) for s in (0, 41.6, 60, 185, 3600, 4020)] == ["0s", "42s", "1m00s", "3m05s",
                                                                              "1h00m", "1h07m"]
    assert render.progress_line(Speed(0.45, 12345, 1234.4, 192.0), width=10) == (
        "Indexing [####------]  45%  12,345 articles  1,234 articles/s  3m12s left")
    assert render.progress_line(Speed(0.0, None, None, None), width=4) == "Indexing [----]   0%  estimating"


def test_the_library_tells_the_bar_the_articles_written(tmp_path):
    corpus = tmp_path / "corpus"
    for n in range(4):
        write_file(corpus / f"{n}.jsonl", "".join(
            f'{{"id": "a{n}-{i}", "title": "Ferry {i}", "body": "The ferry ran late."}}\n' for i in range(n + 1)))

    class Recorder:
        def __init__(self):
            self.articles = None
            self.calls = []

        def __call__(self, done, total, path):
            self.calls.append((done, self.articles))

    recorder = Recorder()
    report = searchlib.Index(tmp_path / "index").update([corpus], progress=recorder, jobs=1)
    assert report.articles == 10
    assert [a for _, a in recorder.calls] == [0, 1, 3, 6, 10]  # before each file, then at the end
