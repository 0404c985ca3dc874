"""Statistics: what BM25F needs to know about the whole index, gathered shard by shard and summed,
and a searcher that scores one shard with the sums.

Stage: sharding (searching side). BM25F weighs a word by the number of articles (deleted ones
included, as Whoosh counts them), the number that have the word, and each field's average length.
On a shard alone those figures are the shard's, so its scores would differ from an unsharded
index's; here each shard reports its own (`ShardFacts`, `frequencies`), the caller sums them
(`Totals`) and each shard then scores with a `GlobalSearcher`, whose statistics answer from the
totals, so every score is the one a single index of the same articles gives.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from whoosh.searching import Searcher

from ..engine.ranking import language_counts
from ..querying.languages import languages_of


@dataclass
class ShardFacts:
    """One shard's part of the index-wide figures (plain data, sent back from a worker)."""

    articles: int                      # documents, deleted ones included (Whoosh's doc_count_all)
    lengths: dict[str, int]            # scorable field → its total length over the documents
    langs: dict[str, int]              # lang code → articles declaring it
    extra: int = 0                     # live articles that are not the first of their story here
    frequencies: dict = field(default_factory=dict)  # (field, term bytes) → articles with it
    languages: tuple = ()              # the shard's languages (querying.languages.languages_in)
    expansions: list = field(default_factory=list)  # (typed, words) of each wildcard / fuzzy word


@dataclass
class Totals:
    """The index-wide figures: the sums of every shard's."""

    articles: int
    lengths: dict[str, int]
    frequencies: dict  # (field, term bytes) → articles with it, in all shards

    def doc_frequency(self, fieldname: str, text: bytes) -> int:
        try:
            return self.frequencies[(fieldname, text)]
        except KeyError:  # a term nobody asked the shards about: a bug in the term gathering
            raise LookupError(f"no index-wide frequency gathered for {fieldname}:{text!r}") from None


def facts(reader, extra: int = 0) -> ShardFacts:
    """The article count, the scorable fields' total lengths and the language codes of a
    shard's reader."""
    schema = reader.schema
    lengths = {name: reader.field_length(name) for name in schema.names() if schema[name].scorable}
    return ShardFacts(articles=reader.doc_count_all(), lengths=lengths, langs=language_counts(reader),
                      extra=extra)


def frequencies(reader, terms) -> dict:
    """The shard's document frequency of each (field, text) term (text as str or bytes), keyed
    by (field, bytes); terms of fields the schema lacks are left out."""
    schema = reader.schema
    out = {}
    for name, text in terms:
        if name not in schema:
            continue
        if isinstance(text, str):
            try:
                text = schema[name].to_bytes(text)
            except ValueError:
                continue
        out[(name, text)] = reader.doc_frequency(name, text)
    return out


def query_terms(q) -> set:
    """Every (field, text) a query tree holds, phrase words included: what its scoring may ask
    the frequency of (after wildcards and fuzzy words were expanded into words)."""
    return set(q.iter_all_terms(phrases=True))


def total(parts: list[ShardFacts]) -> Totals:
    """The shards' figures summed (a term a shard did not report has no article there: its
    words came from that shard's own lexicon, or it was reported by every shard)."""
    lengths: dict[str, int] = {}
    freqs: dict = {}
    for part in parts:
        for name, length in part.lengths.items():
            lengths[name] = lengths.get(name, 0) + length
        for key, df in part.frequencies.items():
            freqs[key] = freqs.get(key, 0) + df
    return Totals(articles=sum(part.articles for part in parts), lengths=lengths, frequencies=freqs)


def languages(parts: list[ShardFacts]) -> tuple[str, ...]:
    """The languages of the whole index, as `querying.languages.languages_in` gives them for an
    unsharded one: from the shards' language counts summed."""
    counts: dict[str, int] = {}
    for part in parts:
        for code, df in part.langs.items():
            counts[code] = counts.get(code, 0) + df
    return languages_of(counts, sum(part.articles for part in parts))


class GlobalSearcher(Searcher):
    """A Whoosh searcher on one shard whose statistics are the whole index's (`totals`): the
    article count, document frequencies and field lengths that BM25F reads from the top
    searcher (its segments' searchers ask their parent, this one). Everything else (postings,
    stored fields, columns) is the shard's own. The reader is left open when it closes."""

    def __init__(self, reader, totals: Totals, weighting):
        super().__init__(reader, weighting=weighting, closereader=False)
        self.totals = totals
        self.doc_frequency = self._doc_frequency  # (Searcher copies the reader's method over)

    def _subsearcher(self, reader):
        return Searcher(reader, fromindex=self._ix, weighting=self.weighting, parent=self)

    def _doc_frequency(self, fieldname, text):
        if isinstance(text, str):
            text = self.schema[fieldname].to_bytes(text)
        return self.totals.doc_frequency(fieldname, text)

    def doc_count_all(self):
        return self.totals.articles

    def field_length(self, fieldname):
        return self.totals.lengths.get(fieldname, 0)

    def avg_field_length(self, fieldname, default=None):
        if not self.schema[fieldname].scorable:
            return default
        return self.field_length(fieldname) / (self.totals.articles or 1)
