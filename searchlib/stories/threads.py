"""Threads: the articles that follow one story over time (follow-ups, reactions, corrections).

Stage: stories (querying side). A follow-up rarely repeats its story's text (that would be a
copy) but it shares its rare words: the same company, person, place, figures and subject. The
seed's *key terms* are its title's and body's words, analysed as the index analyses them, that
are in another article than its copies and in at most RARE_SHARE of the articles (RARE_LEAST to
RARE_MOST), weighted by their rarity (idf) and, a little, by how often the seed uses them; the
KEY_TERMS heaviest are kept. Each key term's postings in the title and
the body are read (term lookups: the cost follows the rare terms' postings, not the size of the
index), and each article within WINDOW_DAYS of the seed's date scores the weight of the key
terms it shares. It belongs to the thread when it shares at least MIN_SHARED of them and at
least MIN_SCORE of their total weight. The seed's own story (its copies) is left out, another
story's copies count once (the best scoring, with how many copies it has), and the best
`limit` are shown on a timeline, oldest first. The constants were chosen on Reuters-21578's
topic labels (scripts/eval_stories.py --parts thread; README "Stories and copies").
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from whoosh.reading import TermNotFound
from whoosh.util.times import datetime_to_long

from ..dates import isoformat, to_utc_aware
from ..errors import ArticleNotFoundError
from .fields import STORY_FIELD
from .grouping import table

WINDOW_DAYS = 14     # follow-ups are looked for within 14 days either side of the seed's date
KEY_TERMS = 30       # the seed's heaviest key terms looked up
RARE_SHARE = 0.05    # a key term is in at most 5 % of the articles ...
RARE_MOST = 5_000    # ... and at most 5,000 of them (what one lookup may read, however big the index)
RARE_LEAST = 20      # (in a small index, any word in at most 20: its weight, the idf, still tells)
MIN_SHARED = 3       # a follow-up shares at least 3 key terms with the seed ...
MIN_SCORE = 0.25     # ... and at least 25 % of their total weight
MOST_CHARS = 20_000  # the seed's first 20,000 characters of body give its key terms
FIELDS = ("title", "body")
TF_WEIGHT = 0.5     # a word the seed repeats weighs more: idf × (1 + 0.5 ln(times in the seed))


@dataclass
class Follow:
    """One article of a thread: its title, outlet and date, how closely it follows the seed
    (`score`: the share of the seed's key-term weight it carries), the seed's words it shares
    (as the seed writes them, the heaviest first), how many copies its story has (itself
    included) and their other outlets (as on a search hit)."""

    id: str
    title: str
    source: str | None
    date: datetime | None
    url: str | None
    score: float
    shared: list[str] = field(default_factory=list)
    copies: int = 1
    outlets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "source": self.source, "date": isoformat(self.date),
                "url": self.url, "score": round(self.score, 4), "shared": self.shared, "copies": self.copies,
                "outlets": self.outlets}


@dataclass
class Thread:
    """The follow-ups of the article `id` (its title and date), oldest first (undated ones
    last), found within `window_days` of its date (either side; any date when it has none)."""

    id: str
    title: str
    date: datetime | None
    story: str
    window_days: float
    articles: list[Follow]
    terms: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The summary object of `search thread --json`."""
        return {"id": self.id, "title": self.title, "date": isoformat(self.date), "story": self.story,
                "window_days": self.window_days, "articles": len(self.articles), "terms": self.terms}


def key_terms(searcher, fields: dict, copies: int = 1) -> list[tuple[str, float, str]]:
    """The seed's key terms (see the module's docstring): (term, weight, word as the seed
    writes it), the heaviest first; `copies`: the articles of the seed's story, itself included
    (a word in those alone links it to nothing else)."""
    from ..engine.schema import SCHEMA
    reader = searcher.reader()
    total = max(reader.doc_count(), 1)
    most = min(RARE_MOST, max(RARE_LEAST, int(total * RARE_SHARE)))
    analyzer = SCHEMA["body"].analyzer.for_language(fields.get("lang"))
    surface: dict[str, str] = {}
    counts: dict[str, int] = defaultdict(int)
    for text in ((fields.get("body") or "")[:MOST_CHARS], fields.get("title") or ""):  # (the body's spelling first)
        for token in analyzer(text, chars=True):
            surface.setdefault(token.text, text[token.startchar:token.endchar])
            counts[token.text] += 1
    found = []
    for term, word in surface.items():
        frequency = _frequency(reader, "body", term)  # (a title's words are almost always in its body)
        if copies < frequency <= most:  # (in other articles than the seed's story, and not common)
            found.append((term, math.log(total / frequency) * (1 + TF_WEIGHT * math.log(counts[term])), word))
    found.sort(key=lambda item: (-item[1], item[0]))
    return found[:KEY_TERMS]


def _frequency(reader, name: str, term: str) -> int:
    try:
        return reader.doc_frequency(name, term)
    except (KeyError, ValueError):  # (a field this index does not have)
        return 0


def thread_of(searcher, article_id: str, *, limit: int = 10, window_days: float = WINDOW_DAYS) -> Thread:
    """The thread of the article with this id (ArticleNotFoundError): at most `limit` other
    stories' articles that follow it, oldest first."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        raise ArticleNotFoundError(article_id)
    reader = searcher.reader()
    seed = searcher.stored_fields(docnum)
    seed_date = seed.get("date") if isinstance(seed.get("date"), datetime) else None
    story = seed.get(STORY_FIELD) or ""
    stories = table(reader) if STORY_FIELD in reader.schema else None
    terms = key_terms(searcher, seed, len(stories.members.get(story, ())) or 1 if stories is not None else 1)
    thread = Thread(id=article_id, title=seed.get("title", ""), story=story, window_days=window_days,
                    date=to_utc_aware(seed_date) if seed_date else None, articles=[],
                    terms=[word for _, _, word in terms])
    if not terms:
        return thread
    weight_of = {term: weight for term, weight, _ in terms}
    shares: dict[int, set[str]] = defaultdict(set)
    for term in weight_of:
        for name in FIELDS:
            try:
                found = reader.postings(name, term)
            except TermNotFound:  # (a body's word in no title)
                continue
            for other in found.all_ids():
                shares[other].add(term)
    total = sum(weight_of.values())
    if total <= 0:  # (every key term in every article: nothing tells one apart)
        return thread
    dates = reader.column_reader("date", translate=False) if seed_date and reader.has_column("date") else None
    low, high = (datetime_to_long(_shifted(seed_date, -window_days)),
                 datetime_to_long(_shifted(seed_date, window_days))) if seed_date else (0, 0)
    best: dict[str, tuple[float, int, set[str]]] = {}   # a story (or an article alone) → its best
    for other, shared in shares.items():
        if other == docnum or len(shared) < MIN_SHARED or reader.is_deleted(other):
            continue
        score = sum(weight_of[term] for term in shared) / total
        if score < MIN_SCORE:
            continue
        if dates is not None:
            if not low <= dates[other] <= high:  # (an undated article's is the field's default, 2^64 - 1)
                continue
        group = stories.story.get(other, "") if stories is not None else ""
        if group and group == story:
            continue  # a copy of the seed, not a follow-up
        group = group or f"#{other}"
        if group not in best or score > best[group][0]:
            best[group] = (score, other, shared)
    chosen = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1]))[:limit]
    for group, (score, other, shared) in chosen:
        fields = searcher.stored_fields(other)
        date = fields.get("date")
        members = stories.members.get(group, []) if stories is not None else []
        outlets: list[str] = []
        for member in sorted((searcher.stored_fields(d) for d in members if d != other), key=_order):
            source = member.get("source")
            if source and source != fields.get("source") and source not in outlets:
                outlets.append(source)
        thread.articles.append(Follow(
            id=fields.get("id", ""), title=fields.get("title", ""), source=fields.get("source"),
            date=to_utc_aware(date) if isinstance(date, datetime) else None, url=fields.get("url"),
            score=score, shared=[word for term, _, word in terms if term in shared],
            copies=len(members) or 1, outlets=outlets))
    thread.articles.sort(key=lambda f: (f.date is None, f.date.replace(tzinfo=None) if f.date else datetime.min, f.id))
    return thread


def _shifted(when: datetime, days: float) -> datetime:
    """`when` moved by `days`, kept within the dates Python has (a seed dated in year 5)."""
    try:
        return when + timedelta(days=days)
    except OverflowError:
        return datetime.max.replace(tzinfo=when.tzinfo) if days > 0 else datetime.min.replace(tzinfo=when.tzinfo)


def _order(fields: dict):
    date = fields.get("date")
    return (date is None, date or datetime.min, fields.get("id", ""))
