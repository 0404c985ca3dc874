"""The benchmark's query set: the committed queries of `bench_queries.txt` by kind (keyword, OR,
phrase, date range, rare word, field), and how they were drawn from the real corpora
(`python scripts/bench.py --make-queries` writes them again, seeded).
"""
from __future__ import annotations

import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERIES_FILE = Path(__file__).with_name("bench_queries.txt")
KINDS = ("keyword", "or", "phrase", "date", "rare", "field")



@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    since: str | None = None  # inclusive, whole days, UTC
    until: str | None = None  # inclusive, whole days, UTC

    def line(self) -> str:
        cols = [self.kind, self.text] + ([self.since or "", self.until or ""] if self.since or self.until else [])
        return "\t".join(cols)


def load_queries(path: Path = QUERIES_FILE) -> list[Query]:
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[0] not in KINDS or len(cols) not in (2, 4):
            raise SystemExit(f"{path}:{number}: expected kind<TAB>query[<TAB>since<TAB>until]")
        since, until = (cols[2] or None, cols[3] or None) if len(cols) == 4 else (None, None)
        queries.append(Query(cols[0], cols[1], since, until))
    return queries


_STOP = frozenset("""a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from further
had has have having he her here hers him his how i if in into is it its itself just me more most my no nor
not now of off on once only or other our out over own same she should so some such than that the their
them then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your said says say reuter reuters year years new mln pct dlrs cts
vs told last first week month time one two three four five may us inc corp co ltd plc""".split())
_LETTERS = re.compile(r"[A-Za-z]+")


def make_queries(paths: list[Path], seed: int = 6) -> list[Query]:
    """A fixed, mixed query set drawn from the vocabulary of the articles in `paths` (single words
    and two- or three-word title phrases only). Deterministic for given files and seed."""
    sys.path.insert(0, str(ROOT))
    import searchlib

    articles = [a for a in searchlib.read_articles(paths)
                if isinstance(a, searchlib.Article)]
    df: Counter[str] = Counter()
    for a in articles:
        df.update({w.lower() for w in _LETTERS.findall(f"{a.title} {a.summary or ''} {a.body}")})
    rng = random.Random(seed)

    def good(word: str, low: int = 5, high: int = 3000) -> bool:
        return 4 <= len(word) <= 14 and word not in _STOP and low <= df[word] <= high

    def title_words(a, low=5, high=3000) -> list[str]:
        seen: list[str] = []
        for w in (w.lower() for w in _LETTERS.findall(a.title)):
            if good(w, low, high) and w not in seen:
                seen.append(w)
        return seen

    out: dict[tuple, Query] = {}

    def add(q: Query) -> bool:
        key = (q.kind, q.text, q.since, q.until)
        if key in out:
            return False
        out[key] = q
        return True

    def fill(kind: str, count: int, make) -> None:
        target = sum(q.kind == kind for q in out.values()) + count
        for _ in range(count * 200):
            if sum(q.kind == kind for q in out.values()) >= target:
                return
            q = make()
            if q is not None:
                add(q)
        raise SystemExit(f"could not make {count} {kind} queries")

    def keyword():
        a = rng.choice(articles)
        words = title_words(a, 10, 3000)
        k = rng.choice((2, 2, 3))
        if len(words) < k:
            return None
        picked = sorted(rng.sample(range(len(words)), k))
        return Query("keyword", " ".join(words[i] for i in picked))

    mid = sorted(w for w in df if good(w, 10, 1000))

    def or2():
        return Query("or", " OR ".join(rng.sample(mid, rng.choice((2, 3)))))

    def two_title_words() -> list[str] | None:
        """Two words from a random article's title (in random order), or None."""
        words = title_words(rng.choice(articles), 10, 3000)
        return rng.sample(words, 2) if len(words) >= 2 else None

    def or_and():
        pair = two_title_words()
        return Query("or", f"{pair[0]} ({pair[1]} OR {rng.choice(mid)})") if pair else None

    def phrase(n: int):
        def make():
            a = rng.choice(articles)
            tokens = list(_LETTERS.finditer(a.title))
            runs = []
            for i in range(len(tokens) - n + 1):
                span = tokens[i:i + n]
                words = [t.group().lower() for t in span]
                joined = all(a.title[x.end():y.start()] == " " for x, y in zip(span, span[1:]))
                if joined and all(good(w, 5, 5000) for w in words):
                    runs.append(" ".join(words))
            return Query("phrase", f'"{rng.choice(runs)}"') if runs else None
        return make

    dated = [a for a in articles if a.date is not None]

    def date_query(window: str):
        def make():
            a = rng.choice(dated)
            words = title_words(a, 20, 5000)
            if not words:
                return None
            text = " ".join(rng.sample(words, min(len(words), rng.choice((1, 2)))))
            d = a.date.date()
            if window == "week":
                since, until = d - timedelta(days=3), d + timedelta(days=3)
            elif window == "month":
                since = d.replace(day=1)
                until = (since + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            elif window == "quarter":
                since, until = d - timedelta(days=45), d + timedelta(days=45)
            else:  # the whole year
                since, until = d.replace(month=1, day=1), d.replace(month=12, day=31)
            return Query("date", text, since.isoformat(), until.isoformat())
        return make

    rare_vocab = sorted(w for w in df if 6 <= len(w) <= 14 and df[w] <= 3 and w not in _STOP)

    def rare_single():
        return Query("rare", rng.choice(rare_vocab))

    def rare_pair():
        a = rng.choice(articles)
        rare = [w.lower() for w in _LETTERS.findall(a.title) if 6 <= len(w) <= 14 and df[w.lower()] <= 3]
        other = [w for w in title_words(a, 10, 3000) if w not in rare]
        if not rare or not other:
            return None
        return Query("rare", f"{rng.choice(rare)} {rng.choice(other)}")

    def field_title():
        pair = two_title_words()
        return Query("field", f"title:{pair[0]} {pair[1]}") if pair else None

    def field_list(name: str):
        def make():
            a = rng.choice(articles)
            values = [v for v in getattr(a, name) if re.fullmatch(r"[a-z]+", v or "")]
            words = title_words(a, 10, 3000)
            if not values or not words:
                return None
            return Query("field", f"{name}:{rng.choice(values)} {rng.choice(words)}")
        return make

    def field_section():
        a = rng.choice(articles)
        words = title_words(a, 5, 3000)
        if not a.section or not re.fullmatch(r"[a-z]+", a.section) or not words:
            return None
        return Query("field", f"section:{a.section} {rng.choice(words)}")

    fill("keyword", 90, keyword)
    fill("or", 35, or2)
    fill("or", 10, or_and)
    fill("phrase", 40, phrase(2))
    fill("phrase", 10, phrase(3))
    for window in ("week", "month", "quarter", "year"):
        fill("date", 15, date_query(window))
    fill("rare", 30, rare_single)
    fill("rare", 10, rare_pair)
    fill("field", 20, field_title)
    fill("field", 12, field_list("topics"))
    fill("field", 10, field_list("places"))
    fill("field", 8, field_section)
    return sorted(out.values(), key=lambda q: KINDS.index(q.kind))


def write_queries(queries: list[Query], path: Path = QUERIES_FILE) -> None:
    header = [
        "# Fixed query set for scripts/bench.py (issue 6): single words and short title phrases drawn",
        "# from ../shared/corpora by `python scripts/bench.py --make-queries` (seed 6); committed so that",
        "# every run measures the same queries.",
        "# kind<TAB>query[<TAB>since<TAB>until]   dates inclusive, whole days, UTC",
        f"# {len(queries)} queries: " + ", ".join(f"{k} {sum(q.kind == k for q in queries)}" for k in KINDS),
    ]
    path.write_text("\n".join(header + [q.line() for q in queries]) + "\n", encoding="utf-8")


# --- the engines (used in child processes) -----------------------------------------------------
