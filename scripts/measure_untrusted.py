#!/usr/bin/env python3
"""Peak memory and time of the hostile cases in tests/test_untrusted.py (issue 8), for the record:
tracemalloc peaks in this process, and VmHWM (peak RSS) of a child process running
Index.update over a 100 MB one-line file, a 1 GB gzip bomb and a page nested 5,000 deep.

    python scripts/measure_untrusted.py      # about 30 s; writes only to a temporary folder
    python scripts/measure_untrusted.py --many [N]   # only: `search index` of one JSON Lines
        file of N (600,000) tiny records, --jobs 1 and default jobs, and a --rebuild: peak RSS
        of the whole process tree (the sum of its processes' PSS, sampled every 20 ms) and
        of its largest process (RSS; GNU time's for the search process), about 10 minutes
    python scripts/measure_untrusted.py --vocabulary   # only: `search index --jobs 1` (GNU
        time's peak RSS) of a JSON Lines file of 2 records of 780,000 distinct words each and of
        a .txt of 1.5 M distinct words (cut at SEARCHLIB_MAX_RECORD_MB, then at
        SEARCHLIB_MAX_FIELD_TOKENS), about a minute
"""
import os, shutil, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import searchlib
from searchlib import read_articles
from searchlib.ingest.limits import Limits
from searchlib.ingest.parsers import parse_file
from tests.test_untrusted import BODY, MB, gzip_bomb, peak_memory, record, write

from measuring import status_kb, tree_pids  # (scripts/ is on the path of a script run from it)



def tree_rss(pid: int) -> tuple[int, int]:
    """The memory (bytes) of process `pid` and all its descendants, from /proc: the sum of their
    proportional set sizes (PSS: pages shared by forked workers counted once, not once in each),
    and the largest RSS of any one of them."""
    total, largest = 0, 0
    for p in tree_pids(pid):
        rss = status_kb(p) * 1024
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += int(rollup.split("Pss:", 1)[1].split()[0]) * 1024
        except (OSError, IndexError, ValueError):
            total += rss
        largest = max(largest, rss)
    return total, largest


def measure_many(records: int) -> None:
    """`search index` of one file of many tiny records (plus 20 small files, so that the
    parallel path starts workers), in a child process per run."""
    import subprocess
    base = Path(tempfile.mkdtemp(prefix="searchlib-many-"))
    corpus = base / "corpus"
    corpus.mkdir()
    with (corpus / "many.jsonl").open("w") as out:
        for i in range(records):
            out.write(f'{{"id": "r{i}", "title": "T {i}", "body": "w{i % 977} x{i % 131}", "date": "2022-09-06"}}\n')
    for i in range(20):
        (corpus / f"small{i:02}.jsonl").write_text(record(f"Small {i}"))
    size = (corpus / "many.jsonl").stat().st_size
    search = [sys.executable, "-c", "import sys; from searchlib.cli import main; main(sys.argv[1:])"]
    runs = [("--jobs 1", ["index", "--jobs", "1"]), ("default jobs", ["index"]),
            ("default jobs, --rebuild", ["index", "--rebuild"])]
    for name, args in runs:
        if "--rebuild" not in args:
            shutil.rmtree(base / "ix", ignore_errors=True)
        t = time.monotonic()
        child = subprocess.Popen(["/usr/bin/time", "-f", "maxrss %M"] + search + args
                                 + ["--index", str(base / "ix"), str(corpus)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak_tree = peak_any = 0
        while child.poll() is None:
            tree, largest = tree_rss(child.pid)
            peak_tree, peak_any = max(peak_tree, tree), max(peak_any, largest)
            time.sleep(0.02)
        stderr = child.stderr.read().strip().splitlines()
        peak_main = int(stderr[-1].split()[-1]) * 1024  # GNU time: the search process's own peak
        print(f"{records:,} records ({size / MB:.1f} MB), search {name:24} exit {child.returncode}: "
              f"peak tree (PSS) {peak_tree / MB:7.1f} MB, largest process (RSS) "
              f"{max(peak_any, peak_main) / MB:7.1f} MB, "
              f"{time.monotonic() - t:5.1f} s")
        print("   ", next((line for line in stderr if " added, " in line), stderr[-2:]))
    shutil.rmtree(base, ignore_errors=True)


def measure_vocabulary() -> None:
    """`search index --jobs 1` of files whose records hold very many distinct words."""
    import json, subprocess
    base = Path(tempfile.mkdtemp(prefix="searchlib-vocabulary-"))
    search = [sys.executable, "-c", "import sys; from searchlib.cli import main; main(sys.argv[1:])"]
    cases = {"2 JSON Lines records of 780,000 distinct words": ("words.jsonl", "".join(
                 json.dumps({"id": f"r{r}", "title": f"T{r}", "body": " ".join(f"u{r}x{i}" for i in range(780_000)),
                             "date": "2022-09-06"}) + "\n" for r in range(2))),
             ".txt of 1.5 M distinct words": ("words.txt", "Word list\n\n" + " ".join(f"v{i}" for i in range(1_500_000)))}
    for name, (file_name, text) in cases.items():
        corpus = base / file_name.replace(".", "-")
        corpus.mkdir()
        (corpus / file_name).write_text(text)
        text = None
        t = time.monotonic()
        child = subprocess.run(["/usr/bin/time", "-f", "maxrss %M"] + search
                               + ["index", "--jobs", "1", "--index", str(base / f"ix-{corpus.name}"), str(corpus)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        lines = child.stderr.strip().splitlines()
        size = (corpus / file_name).stat().st_size
        print(f"{name} ({size / MB:.1f} MB), search index --jobs 1, exit {child.returncode}: peak RSS "
              f"{int(lines[-1].split()[-1]) * 1024 / MB:7.1f} MB, {time.monotonic() - t:5.1f} s")
    shutil.rmtree(base, ignore_errors=True)


if sys.argv[1:2] == ["--vocabulary"]:
    measure_vocabulary()
    sys.exit(0)

if sys.argv[1:2] == ["--many"]:
    measure_many(int(sys.argv[2]) if len(sys.argv) > 2 else 600_000)
    sys.exit(0)

base = Path(tempfile.mkdtemp(prefix="searchlib-untrusted-"))
def show(name, memory, t):
    print(f"{name:58} peak {memory['peak'] / MB:7.1f} MB  {time.monotonic() - t:5.2f} s")

c = base / "bomb"; gzip_bomb(c / "bomb.jsonl.gz", 10 * 1024 * MB); write(c / "fine.jsonl", record("Harbour fire"))
t = time.monotonic()
with peak_memory() as m: r = searchlib.Index(base / "ix1").update([c])
show("gzip bomb 10 GB expanded, Index.update, defaults", m, t)

c = base / "big"; c.mkdir()
with (c / "huge.jsonl").open("w") as out:
    out.write('{"title": "huge", "body": "')
    for _ in range(100): out.write("a" * MB)
    out.write('"}\n')
t = time.monotonic()
with peak_memory() as m: list(read_articles(c))
show("100 MB single-line JSONL, defaults (skipped unread)", m, t)
t = time.monotonic()
with peak_memory() as m: list(read_articles(c, limits=Limits(max_file_bytes=256 * MB)))
show("100 MB single-line JSONL, file limit 256 MB (line refused)", m, t)
os.environ["SEARCHLIB_MAX_FILE_MB"] = "256"
t = time.monotonic()
with peak_memory() as m: searchlib.Index(base / "ix2").update([c])
show("  same through Index.update (hashing + parsing)", m, t)
del os.environ["SEARCHLIB_MAX_FILE_MB"]

p = write(base / "deep.html", "<html><head><title>Deep</title></head><body>" + "<div>" * 5000 + f"<p>{BODY}</p>" + "</div>" * 5000)
t = time.monotonic()
with peak_memory() as m: list(parse_file(p))
show("HTML nested 5,000 deep, parse_file", m, t)
p = write(base / "tags.html", "<html><body>" + "<b>x</b>" * 200_000 + "</body></html>")
t = time.monotonic()
with peak_memory() as m: list(parse_file(p))
show("HTML with 200,000 tags (read up to 50,000), parse_file", m, t)
p = write(base / "ff.txt", b"\xff" * (64 * MB))
t = time.monotonic()
with peak_memory() as m:
    try: list(parse_file(p))
    except Exception: pass
show("64 MB of invalid UTF-8 bytes, parse_file", m, t)
p = write(base / "j.jsonl", "[" + '{"a":1},' * (8 * MB // 8 - 2) + '{"a":1}]\n')
t = time.monotonic()
with peak_memory() as m: list(parse_file(p))
show("JSON line of 8 MB: a list of 1M one-key objects", m, t)

import subprocess
c = base / "e2e"; c.mkdir()
with (c / "line.txt").open("w", encoding="ascii") as out:
    for _ in range(100):
        out.write("word " * (MB // 5) + "word")
gzip_bomb(c / "bomb.txt.gz", 1024 * MB)
write(c / "deep.html", "<html><body>" + "<div>" * 5000 + f"<p>{BODY}</p>" + "</div>" * 5000)
write(c / "fine.jsonl", record("Harbour fire"))
script = ("import json, resource, sys, searchlib\n"
          "report = searchlib.Index(sys.argv[1]).update([sys.argv[2]])\n"
          "import re; print(report.articles, len(report.skipped), re.search(r'VmHWM:.*', open('/proc/self/status').read()).group())\n")
for env in ({"SEARCHLIB_MAX_FILE_MB": "128", "SEARCHLIB_MAX_RECORD_MB": "0.25"}, {}):
    shutil.rmtree(base / "ix3", ignore_errors=True)
    t = time.monotonic()
    out = subprocess.run([sys.executable, "-c", script, str(base / "ix3"), str(c)], capture_output=True, text=True,
                         env={**os.environ, **env}).stdout.strip()
    print("child Index.update of e2e corpus", env or "defaults", "->", out, f"{time.monotonic() - t:.1f} s")
shutil.rmtree(base, ignore_errors=True)
