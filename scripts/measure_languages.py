#!/usr/bin/env python3
"""Measure language detection and stemming on the real corpora (issue 17).

    python scripts/measure_languages.py detect   # which detector: accuracy on short news texts, speed
    python scripts/measure_languages.py bound    # the chosen one: accuracy and speed by prefix length
    python scripts/measure_languages.py ingest   # what detection costs read_articles over the corpora
    python scripts/measure_languages.py stem     # PyStemmer against Whoosh's pure-Python stemmers

`detect` compares detectors that install from PyPI with their model inside the package (py3langid,
langid, langdetect with a fixed seed, lingua, CLD2) on the titles and the first 300 characters of
the bodies of the real pages in ../shared/corpora/html (truth: the language the page declares,
normalised; the pages that declare none were read by eye, see EYE_LABELS), and of BBC and Reuters
articles (English). It prints accuracy per language and overall (an answer of "unknown" counts as
wrong), the share of answers that are wrong (a wrong code is worse than none), articles per
second, whether a second pass gives the same answers, and each package's size on disk.

Needs the candidates installed: pip install py3langid langid langdetect lingua-language-detector
pycld2 PyStemmer (not dependencies of searchlib, except the one chosen).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from searchlib.article import Article  # noqa: E402
from searchlib.errors import ParseError  # noqa: E402
from searchlib.ingest import language  # noqa: E402
from searchlib.ingest.parsers import parse_file  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
LEAD_CHARS = 300
MAX_BOUND = 20_000  # the longest prefix `bound` tries
PASSAGES = 8  # later passages of each non-English page (the `passages` texts)
# Pages that declare no language, read by eye (their titles and first paragraphs, 2026-12-06).
# Every other page that declares none is in English (checked the same way).
EYE_LABELS = {"la-nacion": "es", "gmw": "zh", "qq": "zh", "youth": "zh"}


def page_name(path: Path) -> str:
    return path.parent.name if path.name == "source.html" else path.stem


class Sample:
    __slots__ = ("corpus", "name", "truth", "title", "lead", "prefix", "declared", "parts", "passages")

    def __init__(self, corpus, name, truth, article: Article, declared):
        self.corpus, self.name, self.truth, self.declared = corpus, name, truth, declared
        self.title = article.title
        self.parts = (article.title, article.summary, article.body[:MAX_BOUND])
        self.lead = article.body[:LEAD_CHARS]
        # later 300-character passages of a non-English page, for more than one text per page
        self.passages = ([article.body[i:i + LEAD_CHARS] for i in range(LEAD_CHARS, len(article.body), LEAD_CHARS)
                          if len(article.body) - i >= LEAD_CHARS // 2][:PASSAGES] if truth != "en" else [])
        self.prefix = language.detection_text(article.title, article.summary, article.body)


def articles(path: Path):
    try:
        for item in parse_file(path):
            if isinstance(item, Article):
                yield item
    except ParseError:
        return


def load_samples(english: int) -> list[Sample]:
    """The HTML pages (each with its truth), and `english` BBC and `english` Reuters articles
    spread evenly over each corpus."""
    samples = []
    real_settle = language.settle
    language.settle = lambda article: None  # keep the declared tags as the pages write them
    try:
        for path in sorted((CORPORA / "html").rglob("*.html")):
            for article in articles(path):
                name = page_name(path)
                declared = article.lang
                truth = language.normalise_tag(declared)[0] or EYE_LABELS.get(name, "en")
                samples.append(Sample("html", name, truth, article, declared))
        for corpus, pattern in (("bbc", "*/*.txt"), ("reuters", "*.sgm")):
            found = [a for path in sorted((CORPORA / ("bbc" if corpus == "bbc" else "reuters21578")).glob(pattern))
                     for a in articles(path)]
            step = max(1, len(found) // english)
            for article in found[::step][:english]:
                samples.append(Sample(corpus, str(article.path.name), "en", article, None))
    finally:
        language.settle = real_settle
    return samples


def _passage(sample: Sample, text: str) -> Sample:
    passage = object.__new__(Sample)
    for name in Sample.__slots__:
        setattr(passage, name, getattr(sample, name))
    passage.lead = text
    return passage


# --- the candidates: each a function text -> (code or None, confidence or None) -----------------

def make_detectors(names: list[str]):
    detectors = {}
    for name in names:
        started = time.perf_counter()
        detectors[name] = (BUILDERS[name](), time.perf_counter() - started)
    return detectors


def _py3langid():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: ident.classify(text)


def _langid():
    from langid.langid import LanguageIdentifier, model
    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    return lambda text: ident.classify(text)


def _langdetect():
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException
    DetectorFactory.seed = 0  # without it, the same text may get another answer on another run

    def run(text):
        try:
            best = detect_langs(text)[0]
        except LangDetectException:
            return None, None
        return best.lang, best.prob
    return run


def _lingua(low=False):
    def build():
        from lingua import LanguageDetectorBuilder
        builder = LanguageDetectorBuilder.from_all_languages()
        if low:
            builder = builder.with_low_accuracy_mode()
        detector = builder.build()

        def run(text):
            values = detector.compute_language_confidence_values(text)
            if not values or values[0].value <= 0:
                return None, None
            return values[0].language.iso_code_639_1.name.lower(), values[0].value
        return run
    return build


def _cld2():
    import pycld2

    def run(text):
        try:
            reliable, _, found = pycld2.detect(text)
        except pycld2.error:
            return None, None
        code = found[0][1]
        return (None, None) if code == "un" else (code, 1.0 if reliable else 0.0)
    return run


BUILDERS = {"py3langid": _py3langid, "langid": _langid, "langdetect": _langdetect,
            "lingua": _lingua(), "lingua-low": _lingua(low=True), "cld2": _cld2}
PACKAGES = {"py3langid": "py3langid", "langid": "langid", "langdetect": "langdetect",
            "lingua": "lingua-language-detector", "lingua-low": "lingua-language-detector",
            "cld2": "pycld2"}


def installed_mb(package: str) -> float:
    """The size on disk of a distribution and the distributions it requires (one level), MB."""
    names, total = [package], 0
    try:
        for requirement in importlib.metadata.requires(package) or []:
            if "extra ==" not in requirement:
                names.append(re.split(r"[ ;<>=!~\[]", requirement, 1)[0])
    except importlib.metadata.PackageNotFoundError:
        return float("nan")
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            try:
                total += file.locate().stat().st_size
            except OSError:
                pass
    return total / 1e6


def normalised(answer):
    code, confidence = answer
    return (language.normalise_tag(code)[0] if code else None), confidence


def run_detector(run, texts):
    started = time.perf_counter()
    answers = [normalised(run(text)) for text in texts]
    return answers, time.perf_counter() - started


def report_accuracy(samples, answers, kind):
    by_lang = defaultdict(Counter)
    for sample, (code, _) in zip(samples, answers):
        by_lang[sample.truth]["n"] += 1
        by_lang[sample.truth]["right" if code == sample.truth else "unknown" if code is None else "wrong"] += 1
    return by_lang


def cmd_detect(args):
    samples = load_samples(args.english)
    counts = Counter((s.corpus if s.truth == "en" else "html", s.truth) for s in samples)
    print(f"samples: {len(samples)} articles: " + ", ".join(f"{c}/{lang} {n}" for (c, lang), n in sorted(counts.items())))
    detectors = make_detectors(args.detectors)
    langs = sorted({s.truth for s in samples}, key=lambda lang: (lang != "en", lang))
    everything = samples
    for kind in ("title", "lead", "passages", "prefix"):
        if kind == "passages":  # one Sample per passage, standing in for its lead
            samples = [_passage(s, text) for s in everything for text in s.passages]
            print(f"\n## passages: up to {PASSAGES} later {LEAD_CHARS}-character passages of each "
                  f"non-English page's body ({len(samples)} texts)")
            kind = "lead"
        else:
            samples = everything
            print(f"\n## {kind}: " + {"title": "the title alone",
                                       "lead": f"the first {LEAD_CHARS} characters of the body",
                                       "prefix": f"title + summary + body, the first {language.DETECT_CHARS} "
                                                 "characters (what searchlib reads)"}[kind])
        texts = [getattr(s, kind) for s in samples]
        print(f"{'detector':<11} " + " ".join(f"{lang:>9}" for lang in langs)
              + "  overall  non-en  wrong  unknown   art/s  same")
        for name, (run, _) in detectors.items():
            passes = [run_detector(run, texts) for _ in range(args.rounds)]
            answers = passes[0][0]
            same = all([a[0] for a in p[0]] == [a[0] for a in answers] for p in passes[1:])
            by_lang = report_accuracy(samples, answers, kind)
            total = sum(c["n"] for c in by_lang.values())
            right = sum(c["right"] for c in by_lang.values())
            wrong = sum(c["wrong"] for c in by_lang.values())
            unknown = sum(c["unknown"] for c in by_lang.values())
            non_en = [c for lang, c in by_lang.items() if lang != "en"]
            non_en_acc = sum(c["right"] for c in non_en) / max(1, sum(c["n"] for c in non_en))
            speed = len(texts) / statistics.median(p[1] for p in passes)
            cells = " ".join(f"{by_lang[lang]['right']:>4}/{by_lang[lang]['n']:<4}" for lang in langs)
            print(f"{name:<11} {cells}  {right / total:7.1%}  {non_en_acc:6.1%}  {wrong / total:5.1%}"
                  f"  {unknown / total:7.1%}  {speed:6.0f}  {'yes' if same else 'NO'}")
            confused = Counter(f"{s.truth}->{code}" for s, (code, _) in zip(samples, answers)
                               if code is not None and code != s.truth)
            if confused:
                print(f"{'':<11} wrong: " + ", ".join(f"{k} {n}" for k, n in confused.most_common(6)))
            if args.show and kind == "lead" and samples is everything:
                for sample, (code, conf) in zip(samples, answers):
                    if code != sample.truth and sample.truth != "en":
                        print(f"    {sample.name}: truth {sample.truth}, said {code} ({conf})")
    samples = everything
    print("\nmodel load (s) and size on disk (MB, with the packages it requires):")
    for name, (_, load) in detectors.items():
        print(f"  {name:<11} load {load:6.2f} s   {installed_mb(PACKAGES[name]):6.1f} MB")
    if args.show:
        print("\npages where every detector disagrees with the declared language (lead):")
        runs = {name: run for name, (run, _) in detectors.items()}
        for sample in samples:
            if sample.corpus != "html" or not sample.lead:
                continue
            said = {normalised(run(sample.lead))[0] for run in runs.values()}
            if sample.truth not in said:
                print(f"  {sample.name}: declared {sample.declared!r} -> {sample.truth}; detectors say {sorted(map(str, said))}")


def cmd_bound(args):
    """searchlib's detector (language.detect, CLD2) by prefix length, reliability and letter minimum."""
    samples = load_samples(args.english)
    language.detect("warm up the model: load it before timing anything")
    print(f"{len(samples)} articles: title + summary + body, cut at each bound (MIN_DETECT_LETTERS "
          f"{language.MIN_DETECT_LETTERS}); art/s: median of {args.rounds} rounds")
    print(f"{'chars':>6}  {'right':>6}  {'non-en':>6}  {'wrong':>6}  {'unknown':>7}  {'art/s':>6}")
    saved = language.DETECT_CHARS
    try:
        for bound in args.bounds:
            language.DETECT_CHARS = min(bound, MAX_BOUND)
            texts = [language.detection_text(*s.parts) for s in samples]
            timings, answers = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                answers = [language.detect(t) for t in texts]
                timings.append(time.perf_counter() - started)
            right = sum(a == s.truth for a, s in zip(answers, samples))
            wrong = sum(a is not None and a != s.truth for a, s in zip(answers, samples))
            unknown = sum(a is None for a in answers)
            non_en = [(a, s) for a, s in zip(answers, samples) if s.truth != "en"]
            print(f"{bound:>6}  {right / len(samples):6.1%}  "
                  f"{sum(a == s.truth for a, s in non_en) / len(non_en):6.1%}"
                  f"  {wrong / len(samples):6.1%}  {unknown / len(samples):7.1%}"
                  f"  {len(texts) / statistics.median(timings):6.0f}")
    finally:
        language.DETECT_CHARS = saved
    print("\nCLD2's best answer on that prefix, kept only when reliable (searchlib's rule) or always:")
    answers = [language.identify(s.prefix) for s in samples]
    for label, keep in (("reliable only", lambda r: r), ("always", lambda r: True)):
        kept = [(code, s) for (code, reliable), s in zip(answers, samples) if code and keep(reliable)]
        wrong = [(c, s) for c, s in kept if c != s.truth]
        print(f"  {label:<14} kept {len(kept) / len(samples):6.1%}  wrong {len(wrong):3}  "
              + ", ".join(f"{s.name}: {s.truth}->{c}" for c, s in wrong[:5]))
    print("\nthe letter minimum (below it: unknown without asking CLD2), on titles alone:")
    saved = language.MIN_DETECT_LETTERS
    try:
        for least in (1, 10, 20, 40):
            language.MIN_DETECT_LETTERS = least
            said = [language.detect(s.title) for s in samples]
            print(f"  {least:>3} letters: right {sum(a == s.truth for a, s in zip(said, samples)) / len(samples):6.1%}"
                  f"  wrong {sum(a is not None and a != s.truth for a, s in zip(said, samples)):3}"
                  f"  unknown {sum(a is None for a in said) / len(samples):6.1%}")
    finally:
        language.MIN_DETECT_LETTERS = saved


def cmd_ingest(args):
    """read_articles over the real corpora with and without detection (declared tags are still
    normalised), alternating, median of the rounds; CPU time of this process besides the wall
    clock (the machine is shared: CPU time is what other processes disturb least), and the CPU
    time spent inside `language.detect` itself."""
    from searchlib.ingest.corpus import read_articles
    paths = [CORPORA / name for name in args.corpora]
    real_detect = language.detect
    real_detect("warm up: load the detector before timing anything")
    inside = [0.0]

    def timed_detect(text):
        started = time.process_time()
        try:
            return real_detect(text)
        finally:
            inside[0] += time.process_time() - started

    runs = {"without detection": [], "with detection": []}
    langs, count = Counter(), 0
    for round_ in range(args.rounds):
        for label in runs:
            language.detect = timed_detect if label == "with detection" else (lambda text: None)
            inside[0], count = 0.0, 0
            wall, cpu = time.perf_counter(), time.process_time()
            for item in read_articles(paths):
                if isinstance(item, Article):
                    count += 1
                    if label == "with detection" and round_ == 0:
                        langs[item.lang] += 1
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs[label].append((wall, cpu, inside[0]))
            print(f"round {round_ + 1} {label}: {wall:.2f} s wall, {cpu:.2f} s CPU "
                  f"({inside[0]:.2f} s in detect), {count} articles", file=sys.stderr)
    language.detect = real_detect
    print(f"read_articles over {', '.join(args.corpora)}: {count} articles, median of {args.rounds} rounds")
    med = {label: [statistics.median(r[i] for r in rs) for i in range(3)] for label, rs in runs.items()}
    (bw, bc, _), (ww, wc, wd) = med["without detection"], med["with detection"]
    print(f"  wall: without detection {bw:.2f} s, with {ww:.2f} s ({(ww - bw) / bw:+.1%})")
    print(f"  CPU:  without detection {bc:.2f} s, with {wc:.2f} s ({(wc - bc) / bc:+.1%})")
    print(f"  CPU inside detect: {wd:.2f} s = {wd / bc:.1%} of parsing without it, "
          f"{wd / count * 1e6:.0f} µs an article")
    print("  languages: " + ", ".join(f"{lang}: {n}" for lang, n in langs.most_common()))


# --- stemming ------------------------------------------------------------------------------------

WORD = re.compile(r"[^\W\d_]{2,}")
SNOWBALL = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "pt": "portuguese"}


def vocabularies() -> dict[str, list[str]]:
    """Distinct lower-cased words per language: English from BBC and Reuters, the others from the
    HTML pages declaring them."""
    words = defaultdict(set)
    for path in sorted((CORPORA / "bbc").glob("*/*.txt")) + sorted((CORPORA / "reuters21578").glob("*.sgm")):
        for article in articles(path):
            words["en"].update(w.lower() for w in WORD.findall(article.title + " " + article.body))
    for path in sorted((CORPORA / "html").rglob("*.html")):
        for article in articles(path):
            if article.lang in SNOWBALL and article.lang != "en":
                words[article.lang].update(w.lower() for w in WORD.findall(article.title + " " + article.body))
    return {lang: sorted(found) for lang, found in words.items()}


def cmd_stem(args):
    import Stemmer
    from whoosh.lang import porter2
    from whoosh.lang.snowball import classes
    vocab = vocabularies()
    print(f"{'language':<11} {'words':>7}  {'PyStemmer w/s':>14}  {'Whoosh w/s':>11}  {'ratio':>6}  Whoosh's")
    for lang, words in sorted(vocab.items(), key=lambda kv: (kv[0] != "en", kv[0])):
        fast = Stemmer.Stemmer(SNOWBALL[lang], 0)  # no cache: the algorithm's own speed
        whoosh_stem = porter2.stem if lang == "en" else classes[lang]().stem
        which = "porter2.stem" if lang == "en" else f"snowball.{classes[lang].__name__}"
        reps = max(1, args.words // len(words))
        work = words * reps
        timings = {"py": [], "whoosh": []}
        for _ in range(args.rounds):
            started = time.perf_counter()
            for w in work:
                fast.stemWord(w)
            timings["py"].append(time.perf_counter() - started)
            started = time.perf_counter()
            for w in work:
                whoosh_stem(w)
            timings["whoosh"].append(time.perf_counter() - started)
        py = len(work) / statistics.median(timings["py"])
        wh = len(work) / statistics.median(timings["whoosh"])
        print(f"{SNOWBALL[lang]:<11} {len(words):>7}  {py:>14,.0f}  {wh:>11,.0f}  {py / wh:5.0f}×  {which}")
    print(f"(distinct words of the corpora, stemmed one at a time, repeated to at least {args.words:,}; "
          f"median of {args.rounds} rounds)")
    english = vocab["en"]
    fast = Stemmer.Stemmer("english", 0)
    differ = [(w, fast.stemWord(w), porter2.stem(w)) for w in english if fast.stemWord(w) != porter2.stem(w)]
    print(f"\nPyStemmer 'english' against whoosh.lang.porter2.stem on {len(english):,} English words: "
          f"{len(differ):,} differ ({len(differ) / len(english):.2%})")
    for w, a, b in differ[:: max(1, len(differ) // args.show)][:args.show]:
        print(f"  {w!r}: PyStemmer {a!r}, porter2 {b!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    detect = sub.add_parser("detect", help="compare detectors on short news texts")
    detect.add_argument("--detectors", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    detect.add_argument("--english", type=int, default=500, help="BBC and Reuters articles each (500)")
    detect.add_argument("--rounds", type=int, default=3)
    detect.add_argument("--show", action="store_true", help="list the wrong answers on non-English pages")
    bound = sub.add_parser("bound", help="searchlib's detector by prefix length, reliability, letters")
    bound.add_argument("--english", type=int, default=500)
    bound.add_argument("--rounds", type=int, default=3)
    bound.add_argument("--bounds", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000])
    ingest = sub.add_parser("ingest", help="the cost of detection in read_articles")
    ingest.add_argument("--corpora", nargs="+", default=["html", "bbc", "reuters21578", "newsarticles_dai2017"])
    ingest.add_argument("--rounds", type=int, default=3)
    stem = sub.add_parser("stem", help="PyStemmer against Whoosh's stemmers")
    stem.add_argument("--rounds", type=int, default=5)
    stem.add_argument("--words", type=int, default=200_000, help="words stemmed per round and language")
    stem.add_argument("--show", type=int, default=12, help="differences shown")
    args = parser.parse_args(argv)
    {"detect": cmd_detect, "bound": cmd_bound, "ingest": cmd_ingest, "stem": cmd_stem}[args.command](args)


if __name__ == "__main__":
    main()
