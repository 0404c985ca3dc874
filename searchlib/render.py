"""Render: results, articles, facets, timelines and reports as text lines and JSON, for any front end.

Stage: presentation. Every function returns strings (or JSON-ready dicts) and prints nothing, so
the CLI echoes them and a web page can reuse them (`marked_segments` gives the pieces to wrap in
its own markup). Article text is hostile: `safe` makes it fit for a terminal and `json_line` for
a line of JSON, and ANSI colour is added here, never taken from the data.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# ANSI styles, as click.style writes them (no import of click: the library never needs it)
RESET = "\x1b[0m"
BOLD, RED, GREEN, CYAN = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[36m"
PARTIAL_RULE = "-- partial matches: not all the words --"


@dataclass(frozen=True)
class Style:
    """How matches are shown: colour (a terminal), else `**stars**` or no marks at all."""

    color: bool = False
    marks: str = "stars"  # or "none"


# --- text fit for a terminal and JSON fit for a line ---------------------------------------

_BIDI = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}


def safe(text: str) -> str:
    """Article text and file names fit for a terminal: control characters (ESC, CR, ...) and bidi
    overrides become visible `\\x..` escapes, so only our own colours reach the terminal; a file
    name's undecodable byte (a surrogate escape) is shown as `\\xNN` rather than crash the output."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch == "\n" or (unicodedata.category(ch) not in ("Cc", "Cs") and ord(ch) not in _BIDI)
        else f"\\x{ord(ch) - 0xDC00:02x}" if 0xDC80 <= ord(ch) <= 0xDCFF
        else f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
        for ch in text)


def one_line(message: str) -> str:
    """A message as one line: a newline in a file name cannot forge another line."""
    return safe(message).replace("\n", "\\x0a")


# Characters JSON may carry raw but a terminal or a line splitter must not meet: DEL and the C1
# controls (U+009B is CSI to some terminals), bidi overrides, the Unicode line separators, and
# lone surrogates (a file name's undecodable bytes), which are not UTF-8 at all.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def json_line(obj) -> str:
    """One line of JSON: UTF-8 text kept readable, the characters above escaped as \\uXXXX."""
    text = json.dumps(obj, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --- hits --------------------------------------------------------------------------------------

def marked_segments(text: str, spans) -> list[tuple[str, bool]]:
    """`text` cut at its match spans: (piece, is_match) pairs, in order, for any markup."""
    out, last = [], 0
    for start, end in spans:
        if start > last:
            out.append((text[last:start], False))
        out.append((text[start:end], True))
        last = end
    if last < len(text):
        out.append((text[last:], False))
    return out


def marked(text: str, spans, style: Style, bold: bool = False) -> str:
    """Text with its match spans marked: bold red on a terminal, else `**word**` or unmarked."""
    out = []
    for piece, is_match in marked_segments(text, spans):
        piece = safe(piece)
        if is_match:
            out.append(f"{RED}{BOLD}{piece}{RESET}" if style.color
                       else f"**{piece}**" if style.marks == "stars" else piece)
        else:
            out.append(f"{BOLD}{piece}{RESET}" if style.color and bold else piece)
    return "".join(out)


def shown_date(value: datetime | None) -> str:
    """A date as a reader wants it: UTC, to the second (no microseconds), `undated` if none."""
    if value is None:
        return "undated"
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def meta_parts(hit) -> list[str]:
    """A hit's metadata as a reader sees it (raw text: each front end escapes it its own way):
    its date, `source: …`, `section: …` where known, and its id."""
    return [x for x in (shown_date(hit.date), f"source: {hit.source}" if hit.source else "",
                        f"section: {hit.section}" if hit.section else "", hit.id) if x]


def first_partial(results) -> int | None:
    """Where the partial matches start among `results.hits` (None if the page holds none):
    the text output draws its rule there, a web page its note."""
    if not results.partial:
        return None
    return next((i for i, hit in enumerate(results.hits) if not hit.complete), None)


def hit_lines(hit, style: Style) -> list[str]:
    """One hit: its title (or `(untitled)`), a metadata line, its passages, a blank line. Each is
    one line whatever the data holds (a newline in a file name or title cannot forge a hit)."""
    title = (marked(hit.title, hit.title_highlights, style, bold=True).replace("\n", "\\x0a")
             if hit.title else "(untitled)")
    meta = " · ".join(one_line(x) for x in meta_parts(hit))
    lines = [title, f"{GREEN}{meta}{RESET}" if style.color else meta]
    if getattr(hit, "copies", 1) > 1:
        lines.append(one_line(copies_note(hit)))
    lines += ["  " + marked(f.text, f.spans, style).replace("\n", " ")
              for f in hit.fragments or [] if f.text]
    return lines + [""]


def copies_note(hit, most: int = 3) -> str:
    """`+36 other outlets (AP, The Guardian, …)`: the hit's story's other copies (stories)."""
    others, outlets = hit.copies - 1, list(hit.outlets)
    named = ", ".join(outlets[:most]) + (", …" if len(outlets) > most else "")
    if len(outlets) == others:  # each copy in an outlet of its own
        noun = "outlet" if others == 1 else "outlets"
    else:
        noun = "copy" if others == 1 else "copies"
    return f"+{others} other {noun}" + (f" ({named})" if named else "")


def results_lines(results, style: Style) -> list[str]:
    """The hits as text; a rule marks where the articles with all the words end."""
    lines, rule = [], first_partial(results)
    for i, hit in enumerate(results):
        if i == rule:
            lines += [PARTIAL_RULE, ""]
        lines += hit_lines(hit, style)
    return lines


def count_note(results) -> str:
    """`1,442 matching articles (showing 11–20)`."""
    last = results.offset + len(results.hits)
    stories = getattr(results, "stories", None)
    if getattr(results, "grouped", False) and stories != results.total:  # pages count stories
        more = stories is None or len(results.hits) < stories
        shown = f" (showing stories {results.offset + 1}–{last})" if more and results.hits else ""
        counted = f" in {stories} stor{'ies' if stories != 1 else 'y'}" if stories is not None else ""
        return f"{results.total} matching article{'s' if results.total != 1 else ''}{counted}{shown}"
    shown = (f" (showing {results.offset + 1}–{last})"
             if len(results.hits) < results.total and results.hits else "")
    return f"{results.total} matching article{'s' if results.total != 1 else ''}{shown}"


def partial_note(complete: int) -> str:
    if not complete:
        return "no article has all the words; showing the best partial matches"
    have = "article has" if complete == 1 else "articles have"
    return f"only {complete} {have} all the words; the best partial matches follow"


def summary_object(results, page: int | None, limit: int, asked=()) -> dict:
    """The last line of `--json`: the numbers a script needs, the same whatever page is shown."""
    complete = results.total if results.complete is None else results.complete
    final = {"total": results.total, "complete": complete, "partial": results.partial,
             "shown": len(results.hits), "page": page, "limit": limit}
    stories = getattr(results, "stories", None)
    if getattr(results, "grouped", False) and stories != results.total:  # pages count stories
        final.update(stories=stories, pages="stories")  # (stories None: not counted)
    if asked:
        final["facets"] = {name: dict(pairs) for name, pairs in results.facets.items()}
    if results.suggestion:
        final["suggestion"] = results.suggestion
    if getattr(results, "shards", None) is not None:  # a sharded index searched on a cluster
        final["shards"] = dict(results.shards)
    return final


def shards_note(shards: dict) -> str:
    """The warning when some shards did not answer on a cluster: the results are the others'."""
    return (f"warning: partial results: {shards['failed']} of {shards['total']} shards did not "
            f"answer on the cluster; these are the matches of the other {shards['ok']}")


def results_json(results, page: int | None, limit: int, asked=()) -> list[str]:
    """`--json` of a search (or of `similar`, page None): one line per hit, then the summary."""
    return [json_line(hit.to_dict()) for hit in results] + [
        json_line(summary_object(results, page, limit, asked))]


# --- facets and timelines ---------------------------------------------------------------------

def facet_lines(name: str, pairs) -> list[str]:
    width = max((len(value) for value, _ in pairs), default=0)
    return [f"{name}:"] + [f"  {safe(value).ljust(width)}  {count}" for value, count in pairs] + [""]


def bar_lengths(buckets, width: int) -> list[tuple[str, int, int]]:
    """(label, count, length) per timeline bucket: the longest bar `width` units, every other in
    proportion, a bucket holding anything at least 1 (the terminal's characters, a page's pixels)."""
    top = max((count for _, count in buckets), default=0) or 1
    return [(label, count, max(1 if count else 0, round(count / top * width)))
            for label, count in buckets]


def timeline_lines(buckets, color: bool, block: str = "█", width: int = 40) -> list[str]:
    """One bar per date bucket, the longest `width` characters (`block` "#" where not UTF-8)."""
    if not buckets:
        return []
    label_width = max(len(label) for label, _ in buckets)
    lines = []
    for label, count, length in bar_lengths(buckets, width):
        bar = block * length
        bar = f"{CYAN}{bar}{RESET}" if color and bar else bar
        lines.append(f"{label.ljust(label_width)} {bar} {count}")
    return lines


# --- stories ---------------------------------------------------------------------------------

def copies_lines(story) -> list[str]:
    """A story's copies, first published first: date, outlet, title, id, and what each changed."""
    count = len(story.copies)
    lines = [f"story {story.id}: {count} article{'s' if count != 1 else ''}"
             + ("" if count > 1 else " (no copies in other outlets)"), ""]
    for copy in story.copies:
        lines.append(one_line(f"{shown_date(copy.date)} · {copy.source or '(no source)'} · {copy.title or '(untitled)'}"))
        lines.append(one_line(f"  {copy.id}" + ("  (first published)" if copy.first else "")))
        changed = copy.changes
        if changed.headline is not None:
            lines.append(one_line(f"  headline: {changed.headline}"))
        for label, items in (("added", changed.added), ("cut", changed.cut), ("edited", changed.edited)):
            if items:
                lines.append(one_line(f"  {label} {len(items)} paragraph{'s' if len(items) != 1 else ''}: "
                                      f"{_clip(items[0])}" + (" …" if len(items) > 1 else "")))
        if not copy.first and changed.none:
            lines.append("  the same text")
        lines.append("")
    return lines


def _clip(text: str, most: int = 70) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def copies_json(story) -> list[str]:
    """`search copies --json`: one line per copy, then `{"story": …, "copies": N}`."""
    return [json_line(copy.to_dict()) for copy in story.copies] + [
        json_line({"story": story.id, "copies": len(story.copies)})]


def thread_lines(thread) -> list[str]:
    """A thread on a timeline, oldest first: date, outlet, title, id, the seed's words each
    shares and its story's other outlets; the seed itself in its place, marked."""
    count = len(thread.articles)
    days = f"{thread.window_days:g}"
    window = f"within {days} day{'s' if days != '1' else ''}" if thread.date else "of any date (it is undated)"
    lines = [one_line(f"thread of {thread.id}: {count} article{'s' if count != 1 else ''} {window}"), ""]
    seed_key = (thread.date is None, thread.date or datetime.min.replace(tzinfo=timezone.utc))
    placed = False
    for follow in thread.articles:
        key = (follow.date is None, follow.date or datetime.min.replace(tzinfo=timezone.utc))
        if not placed and key > seed_key:
            lines += _thread_seed(thread)
            placed = True
        lines.append(one_line(f"{shown_date(follow.date)} · {follow.source or '(no source)'} · "
                              f"{follow.title or '(untitled)'}"))
        lines.append(one_line(f"  {follow.id}"))
        if follow.copies > 1:
            lines.append(one_line("  " + copies_note(follow)))
        lines.append(one_line(f"  shares: {', '.join(follow.shared[:8])}" + (", …" if len(follow.shared) > 8 else "")))
        lines.append("")
    if not placed:
        lines += _thread_seed(thread)
    return lines


def _thread_seed(thread) -> list[str]:
    return [one_line(f"{shown_date(thread.date)} · {thread.title or '(untitled)'}  ◀ this article"), ""]


def thread_json(thread) -> list[str]:
    """`search thread --json`: one line per article, oldest first, then the summary object
    `{"id": …, "title": …, "date": …, "story": …, "window_days": D, "articles": N, "terms": […]}`."""
    return [json_line(follow.to_dict()) for follow in thread.articles] + [json_line(thread.to_dict())]


def history_lines(history, color: bool = False, context: int = 6) -> list[str]:
    """An article's versions, oldest first: when each entered the index and its title, then
    its changes from the one before, as `[-removed-]{+added+}` with `context` words around
    (red and green on a terminal)."""
    lines = [one_line(f"{history.id}: {len(history.versions)} version{'s' if len(history.versions) != 1 else ''}"), ""]
    for number, version in enumerate(history.versions, start=1):
        label = " (current)" if version.current else ""
        lines.append(one_line(f"{number}. {shown_date(version.seen)}{label} · {version.title or '(untitled)'}"))
        if number > 1:
            lines += ["  " + one_line(piece) for piece in _diff_pieces(version.diff, color, context)] \
                or ["  the same text"]
        lines.append("")
    return lines


def diff_stretches(diff, context: int = 6) -> list[tuple[bool, list[tuple[str, str]], bool]]:
    """The changed stretches of a word diff, each with `context` words either side (changes
    closer than twice that are one stretch): (words cut before it, its (op, text) items, words
    cut after it), for the terminal and the web page alike."""
    items: list[tuple[str, str]] = []
    for op, text in diff:
        items += [("=", word) for word in text.split()] if op == "=" else [(op, text)]
    changed = [i for i, (op, _) in enumerate(items) if op != "="]
    if not changed:
        return []
    groups = [[changed[0], changed[0]]]
    for i in changed[1:]:
        if i - groups[-1][1] <= 2 * context + 1:
            groups[-1][1] = i
        else:
            groups.append([i, i])
    stretches = []
    for first, last in groups:
        low, high = max(0, first - context), min(len(items), last + context + 1)
        stretches.append((low > 0, items[low:high], high < len(items)))
    return stretches


def _diff_pieces(diff, color: bool, context: int) -> list[str]:
    """diff_stretches as text, `[-removed-]{+added+}` (red and green with `color`)."""
    def mark(op: str, text: str) -> str:
        if op == "=":
            return text
        shown = f"[-{text}-]" if op == "-" else f"{{+{text}+}}"
        return f"{RED if op == '-' else GREEN}{shown}{RESET}" if color else shown
    return [("… " if before else "") + " ".join(mark(op, text) for op, text in items) + (" …" if after else "")
            for before, items, after in diff_stretches(diff, context)]


def history_json(history) -> list[str]:
    """`search history --json`: one line per version, oldest first, then `{"id": …, "versions": N}`."""
    return [json_line(v.to_dict()) for v in history.versions] + [
        json_line({"id": history.id, "versions": len(history.versions)})]


# --- articles and reports ---------------------------------------------------------------------

def article_lines(article) -> list[str]:
    """Every field of an article, then its body."""
    lines = [f"{name + ':':9} {one_line(str(value))}" for name, value in article.to_dict().items()
             if value not in (None, "", []) and name != "body"]
    return lines + [f"{'body:':9} {len(article.body)} characters\n{safe(article.body)}\n"]


def where(path: Path, record: str | None, cwd: Path | None = None) -> str:
    """A file as the user can read it (relative to `cwd` when inside it), and record."""
    try:
        shown = str(Path(path).relative_to(cwd or Path.cwd()))
    except (ValueError, OSError):  # elsewhere, or the current folder is gone
        shown = str(path)
    return f"{shown} [{record}]" if record else shown


def problem_lines(report, examples: int = 3) -> list[str]:
    """Each skipped file or record, then the warnings grouped by reason, each group with its
    count and the first few articles (file [record]); --json lists them all."""
    lines = [f"skipped {safe(str(skipped))}" for skipped in report.skipped]
    groups: dict[str, list] = {}
    for warning in report.warnings:
        groups.setdefault(warning.kind, []).append(warning)
    for kind, items in sorted(groups.items(), key=lambda group: -len(group[1])):  # (stable sort)
        count = f"{len(items):,} article{'s' if len(items) != 1 else ''}"
        reasons = {w.reason for w in items}
        if reasons == {"no date"}:
            what = f"{count} {'have' if len(items) != 1 else 'has'} no date"
        else:
            what = f"{count}: {items[0].reason if len(reasons) == 1 else kind + ' (reasons vary)'}"
        shown = ", ".join(where(w.path, w.record) for w in items[:examples])
        more = ", …; all in --json" if len(items) > examples else ""
        lines.append(f"warning: {safe(what)} ({safe(shown)}{more})")
    return lines


def duration(seconds: float) -> str:
    """A time left as a reader takes it in at a glance: 42s, 3m05s, 1h07m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress_line(speed, width: int = 20) -> str:
    """An indexing run's progress line (indexing.progress.Speed): a bar, the share done,
    articles/s once known, the time left once a rate is known."""
    filled = int(speed.fraction * width)
    parts = [f"Indexing [{'#' * filled}{'-' * (width - filled)}] {speed.fraction * 100:3.0f}%"]
    if speed.articles is not None:
        parts.append(f"{speed.articles:,} articles")
    if speed.articles_per_s is not None:
        parts.append(f"{speed.articles_per_s:,.0f} articles/s")
    parts.append(f"{duration(speed.seconds_left)} left" if speed.seconds_left is not None else "estimating")
    return "  ".join(parts)


def update_summary(report, index_path: Path) -> str:
    """One line: what an indexing run did."""
    skipped_files = len({s.path for s in report.skipped})
    return (f"{index_path}/: {report.added} added, {report.updated} updated, {report.deleted} deleted, "
            f"{report.unchanged} unchanged, {skipped_files} skipped, {len(report.ignored)} ignored files; "
            f"{report.articles} article{'s' if report.articles != 1 else ''} written "
            f"in {report.seconds:.1f} s.")


def stats_lines(info) -> list[str]:
    """`search stats`: size, articles, date span, top sources, sections and formats."""
    span = " to ".join(shown_date(d)[:10] for d in (info.first_date, info.last_date) if d) or "no dates"
    lines = [f"index     {info.path}/ ({info.size_bytes / 1e6:.1f} MB)",
             f"articles  {info.articles} from {info.files} files ({info.undated} undated)",
             f"dates     {span}"]
    for label, counts in (("sources", info.sources), ("sections", info.sections), ("formats", info.formats)):
        lines.append(f"{label:9} " + ", ".join(f"{safe(name)} ({n})" for name, n in counts))
    return lines


# --- watches and receipts ----------------------------------------------------------------------

def watch_object(watch) -> dict:
    """A watch as `search watch list/show --json` prints it."""
    return watch.to_dict()


def watch_line(watch) -> str:
    """`korea  "north korea"  found 12 in 3 runs, last 2026-12-06T10:00:00Z`."""
    last = shown_date(watch.last_run) if watch.last_run else "never run"
    dates = "".join(f" {name} {value}" for name, value in (("since", watch.since), ("until", watch.until)) if value)
    return one_line(f"{watch.name}  {watch.query!r}{dates}  found {watch.found:,} in {watch.runs:,} "
                    f"run{'s' if watch.runs != 1 else ''}, last: {last}")


def watch_lines(watch) -> list[str]:
    """Every field of a watch, one per line (`search watch show`)."""
    data = watch.to_dict()
    return [one_line(f"{name}: {'' if value is None else value}") for name, value in data.items()]


def arrival_heading(watch, count: int) -> str:
    return one_line(f"== {watch.name}: {count:,} new article{'s' if count != 1 else ''} "
                    f"for {watch.query!r} ==")


def arrival_lines(watch, arrivals, style: Style) -> list[str]:
    """A watch's new articles as `search watch run` prints them: a heading, then each hit."""
    lines = [arrival_heading(watch, len(arrivals))]
    if len(arrivals):
        lines.append("")
    for item in arrivals:
        lines += hit_lines(item.hit, style)
    return lines


def verdict_lines(verdict) -> list[str]:
    """What `search verify` found: same, or each article that came, went or changed."""
    if verdict.same:
        return [one_line(f"same: {verdict.query!r} returns what the receipt says "
                         f"({verdict.total_now:,} matching articles)")]
    lines = [one_line(f"different: {verdict.query!r}: {verdict.count('came')} came, "
                      f"{verdict.count('went')} went, {verdict.count('changed')} changed; "
                      f"{verdict.total_then:,} matching articles then, {verdict.total_now:,} now")]
    for change in verdict.changes:
        if change.kind == "came":
            what = f"came    #{change.rank_now} {change.id} (score {change.score_now:.6g})"
        elif change.kind == "went":
            what = f"went    #{change.rank_then} {change.id} (score {change.score_then:.6g})"
        else:
            what = (f"changed {change.id}: #{change.rank_then} → #{change.rank_now}, score "
                    f"{change.score_then:.6g} → {change.score_now:.6g}")
        lines.append("  " + one_line(what))
    return lines
