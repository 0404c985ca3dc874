"""ranking.top_matches scores and ranks exactly as Whoosh's own matchers and collector do."""
import math
from bisect import bisect_right
from unittest import mock

import pytest
from hypothesis import given, settings, strategies as st
from whoosh import collectors
from whoosh.matching import AndNotMatcher

import searchlib
from searchlib.engine import ranking
from searchlib.querying import searching
from searchlib.querying.query import parse_query
from searchlib.engine.ranking import top_matches

from .conftest import write_records

WORDS = ["river", "flood", "valley", "harvest", "mayor", "coast", "survey", "storm", "north",
         "desk", "festival", "korea", "artillery", "shells", "nowhere"]
BODIES = [
    "The river flooded the valley town overnight; the flood reached the coast.",
    "Voters in the valley chose a new mayor. Flood defences were the issue.",
    "The village festival celebrated the harvest by the river.",
    "Forecasters warned of a storm and a flood on the coast and in the river valley.",
    "North Korea fired artillery shells; the shells fell near the coast.",
    "Surveyors mapped the valley; the river itself was not measured. River, river, river.",
    "A harvest storm: the festival was cancelled and the mayor spoke at the desk.",
]


def _records(prefix: str, count: int) -> dict:
    return {f"{prefix}{i}": {"title": " ".join(WORDS[(i * 3 + k) % len(WORDS)] for k in range(2)),
                             "body": BODIES[i % len(BODIES)] + " " + " ".join(WORDS[: i % 7]),
                             "date": f"2022-0{1 + i % 9}-1{i % 10}", "source": ["North Desk", "South Desk"][i % 2],
                             "topics": [WORDS[i % 5]]}
            for i in range(count)}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    """Three segments, one of them with deleted articles."""
    root = tmp_path_factory.mktemp("ranking")
    idx = searchlib.Index(root / "ix")
    for name, count in (("a", 230), ("b", 170), ("c", 110)):
        write_records(root / name, _records(name, count))
        idx.update([root / name])
    write_records(root / "b", {k: v for k, v in _records("b", 170).items() if not k.endswith("3")})
    report = idx.update([root / "a", root / "b", root / "c"])
    assert report.removed == 170 and report.articles == 153
    with idx._whoosh.searcher(weighting=searching.RANKING) as s:
        assert len(s.leaf_searchers()) >= 3 and s.reader().has_deletions()
        yield s


def _find_first(self):
    """AndNotMatcher._find_first with Whoosh 2.7's bug fixed: it skips the excluded matcher to
    the first match only when both already sit on the same document, so `harvest -river` keeps
    its first match when that has `river` and another article with `river` comes before it."""
    if self.a.is_active() and self.b.is_active() and self.b.id() <= self.a.id():
        self._find_next()


def whoosh_top(s, q, limit, allow=None):
    """Whoosh's own top `limit` (with its AndNot bug fixed) and its match count."""
    with mock.patch.object(AndNotMatcher, "_find_first", _find_first):
        return _whoosh_top(s, q, limit, allow)


def _whoosh_top(s, q, limit, allow=None):
    collector = collectors.TopCollector(limit or 10**6, usequality=False, replace=0)
    if allow is not None:
        collector = collectors.FilterCollector(collector, allow=allow)
    s.search_with_collector(q, collector)
    results = collector.results()
    return [(hit.docnum, hit.score) for hit in results], len(results)


def assert_same(s, text, limit=10, allow=None, any_word=False):
    """The same matches, scores and count as Whoosh. Near-ties (scores equal to 1e-12, summed
    in another order) may come in either order, so rankings are compared in full, near-ties
    ordered by document number."""
    q = searching._bounded(parse_query(text, any_word=any_word), s.reader(), text)
    ours, total = top_matches(s, q, None, allow)
    theirs, their_total = whoosh_top(s, q, None, allow)
    assert total == their_total == len(ours), text
    assert dict(ours).keys() == dict(theirs).keys(), text
    for docnum, score in theirs:
        assert math.isclose(dict(ours)[docnum], score, rel_tol=1e-12), text

    def near_ties_by_docnum(pairs):
        return [d for d, _ in sorted(pairs, key=lambda pair: (-round(pair[1], 9), pair[0]))]

    assert near_ties_by_docnum(ours) == near_ties_by_docnum(theirs), text
    assert [d for d, _ in ours] == [d for d, _ in sorted(ours, key=lambda p: (-p[1], p[0]))]
    top, total = top_matches(s, q, limit, allow)
    assert top == ours[:limit] and total == len(ours), text
    return top


@pytest.mark.parametrize("text", [
    "river", "river valley", "river OR storm", "flood -coast", "flood NOT coast", "+flood storm",
    "flood ANDMAYBE storm", "title:river valley", "source:north flood", "topics:flood",
    '"the river"', '"river valley" coast', "harv*", "rivr~", "*", "nowhere", "river AND nowhere",
    "(river OR storm) AND (valley OR coast)", "river^3 storm", "date:2022-03 river", "date:2022",
    "NOT river", "river OR NOT storm", "korea artillery shells",
    '"flood defences"', '"river river"', 'source:"north desk"', '"valley river"~3', '"korea fired artillery"',
    '"river valley" OR "the coast"', 'title:"river flood"', 'topics:"flood river"',
    # phrases whose words are each at several positions of an article, or repeated
    '"river river river"', '"the river flooded"', '"the flood"', '"the shells fell"', '"the valley"',
    '"the the"', '"river itself"', '"flood river valley"', '"shells the"~2',
])
def test_the_same_hits_scores_and_totals_as_whoosh(searcher, text):
    assert_same(searcher, text)


def test_partial_match_queries_and_filters(searcher):
    assert_same(searcher, "what river storm festival", any_word=True)
    allow = set(range(0, 60, 3))
    assert assert_same(searcher, "river", allow=allow)
    assert assert_same(searcher, "valley", allow={-1}) == []


def test_excluded_words_exclude_every_article_that_has_them(searcher):
    q = parse_query("harvest -valley")
    hits, total = top_matches(searcher, q, None)
    texts = [searcher.stored_fields(d)["title"] + " " + searcher.stored_fields(d)["body"] for d, _ in hits]
    assert total == len(hits) > 0 and not any("valley" in text.lower() for text in texts)
    # Whoosh's own matcher, as engine.fixes mends it (it used to keep some with "valley")
    theirs, their_total = _whoosh_top(searcher, q, None)
    assert their_total == total and {d for d, _ in theirs} == {d for d, _ in hits}
    assert AndNotMatcher._find_first.__module__ == "searchlib.engine.fixes"


def test_deleted_articles_are_never_matched(searcher):
    reader = searcher.reader()
    deleted = {offset + d for sub, offset in searcher.leaf_searchers()
               for d in sub.reader().deleted_docs_set} if hasattr(reader, "leaf_readers") else set()
    assert deleted
    hits, _ = top_matches(searcher, parse_query("*"), None)
    assert not deleted & {d for d, _ in hits}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(["OR", "AND", "NOT", "-", "+"])),
                min_size=1, max_size=6))
def test_random_boolean_queries(searcher, parts):
    text = " ".join(parts).replace("- ", "-").replace("+ ", "+")
    try:
        parse_query(text)
    except searchlib.QueryError:
        return
    assert_same(searcher, text, limit=5)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(["OR", "AND", "NOT", "-", "+"])),
                min_size=1, max_size=5),
       st.sets(st.integers(0, 520), max_size=120))
def test_random_queries_within_a_filter(searcher, parts, allow):
    """A filter (dates, languages) is handed to each segment as its allowed documents, so its
    terms are read and scored only there: the same hits, scores and totals as Whoosh's
    FilterCollector."""
    text = " ".join(parts).replace("- ", "-").replace("+ ", "+")
    try:
        parse_query(text)
    except searchlib.QueryError:
        return
    assert_same(searcher, text, limit=5, allow=allow or {-1})


@pytest.mark.parametrize("text", ["korea", "artillery shells", "river", "flood -coast", '"river valley"',
                                  "harv*", "storm OR festival", "date:2022-03 river"])
@pytest.mark.parametrize("step", [2, 7])
def test_a_wide_filter_keeps_out_what_it_does_not_allow(searcher, text, step):
    """A filter wider than a word's postings (every other article): nothing outside it."""
    assert assert_same(searcher, text, allow=set(range(0, 520, step))) is not None


def _read_postings(matcher, values=False, within=None):
    """Reference for ranking._read_extent: the matcher's own block reads, skipping the blocks
    whose last document number is below the next wanted one."""
    ids, weights, encoded = [], [], [] if values else None
    targets = sorted(within) if within is not None else None
    next_target = 0
    while matcher.is_active():
        if targets is not None:
            if next_target == len(targets):
                break
            last = matcher.block_max_id()
            if targets[next_target] > last:
                matcher._next_block()
                continue
            next_target = bisect_right(targets, last, next_target)
        matcher._read_ids()
        matcher._read_weights()
        ids.extend(matcher._ids)
        weights.extend(matcher._weights)
        if values:
            matcher._read_values()
            encoded.extend(matcher._values)
        matcher._next_block()
    return ids, weights, encoded


def _stored_postings(terms, fieldname, text):
    info = terms.term_info(fieldname, text)
    offset, length = info.extent()
    return info, terms._postfile.get(offset, length[0] if isinstance(length, tuple) else length)


def test_blocks_without_wanted_documents_are_skipped_and_none_else(searcher):
    sub = max((sub for sub, _ in searcher.leaf_searchers()), key=lambda s: s.doc_count_all())
    _, data = _stored_postings(sub.reader()._terms, "body", b"river")

    def read(within=None):
        return ranking._read_extent(data, sub.schema["body"].format, within=within)[0]

    everything = read()
    assert len(everything) > 128  # several blocks
    block_ends = set(everything[127::128]) | {everything[-1]}
    for within in (block_ends, {everything[0]}, {everything[128]}, set(everything[100:140]), {10**6}, set()):
        found = read(within)
        assert set(found) & within == set(everything) & within
        assert len(found) < len(everything) or within & set(everything[-128:])


def test_postings_decoded_from_their_bytes_equal_whooshs_matcher(searcher):
    """ranking._read_extent (blocks decoded from the stored bytes) against the matcher's own
    block reads (_read_postings), for every term of every segment, whole and with skipping."""
    from whoosh.codec.whoosh3 import W3LeafMatcher

    checked = skipped = inlined = 0
    for sub, _ in searcher.leaf_searchers():
        reader = sub.reader()
        terms = reader._terms
        for fieldname, text in reader.all_terms():
            fmt = reader.schema[fieldname].format
            info = terms.term_info(fieldname, text)
            if info.is_inlined():  # a rare term's postings, in its record: Whoosh's ListMatcher
                matcher = terms._codec.postings_reader(terms._postfile, info, fmt)  # deleted too
                expected = ([], [], [])
                while matcher.is_active():
                    for part, got in zip(expected, (matcher.id(), matcher.weight(), matcher.value())):
                        part.append(got)
                    matcher.next()
                segment = ranking._Segment(searcher, sub, {})
                assert segment._read(fieldname, text, True, None)[0] == expected[0]
                assert list(map(list, info.inlined_postings())) == list(expected)
                inlined += 1
                continue
            info, data = _stored_postings(terms, fieldname, text)
            for within in (None, {1, 140, 141}, {200}, set()):
                matcher = terms._codec.postings_reader(terms._postfile, info, fmt)
                assert isinstance(matcher, W3LeafMatcher)
                expected = _read_postings(matcher, True, within)
                assert ranking._read_extent(data, fmt, True, within) == expected
                checked += 1
                skipped += within is not None and len(expected[0]) < info.doc_frequency()
    assert checked > 1000 and skipped > 100 and inlined > 100


@pytest.mark.parametrize("text", ["river", "river OR storm", "harv*", "*", "riv* OR fl*", "rivr~",
                                  '"the river"', "flood -coast", "source:north flood", "date:2022"])
@pytest.mark.parametrize("limit", [1, 3, 10, 40])
def test_the_best_of_many_matches_are_picked_as_ranking_all_of_them_gives(searcher, text, limit):
    """A segment of many matches has its best picked with NumPy (ranking._best): the same
    pairs, ties (a wildcard's constant score; `*`) going to the lowest document numbers, as
    ranking every match gives. _MANY at 0 takes that way for every segment here."""
    q = searching._bounded(parse_query(text), searcher.reader(), text)
    every, total = top_matches(searcher, q, None)
    with mock.patch.object(ranking, "_MANY", 0):
        top, picked_total = top_matches(searcher, q, limit)
    assert picked_total == total
    assert top == every[:limit], text
    assert top and len(top) == min(limit, total)


@pytest.mark.parametrize("text", ["harv*", "riv* OR fl*", "*", "harv* river", "fl* -coast", "title:riv*"])
@pytest.mark.parametrize("allow", [None, set(range(0, 520, 3))])
def test_a_wildcard_scores_its_constant_from_its_words_postings_unscored(searcher, text, allow):
    """A wildcard's words are read and not scored (ranking._Segment._docs), their OR a union:
    the same hits, constant scores and totals as Whoosh, with deleted articles and a filter."""
    assert_same(searcher, text, allow=allow)
    q = searching._bounded(parse_query(text), searcher.reader(), text)
    scored = mock.patch.object(ranking._Segment, "_norms", side_effect=AssertionError("scored"))
    if text in ("harv*", "riv* OR fl*", "*", "title:riv*"):  # (river and coast are scored)
        with scored:
            top_matches(searcher, q, 10, allow)


@pytest.mark.parametrize("text", ["harv*", "riv* OR fl*", "rivr~", '"river valley"', '"valley river"',
                                  "river nowhere", "title:riv* storm", "festiv* -coast", "korea~ shells"])
def test_the_matched_words_told_by_the_search_are_those_the_index_holds(searcher, text):
    """The words a page marks: from the search's memo where it tells (a segment held the word,
    or every segment lacked it), the same as looking each word up; a wildcard's words are not
    looked up again."""
    reader = searcher.reader()
    memo: dict = {}
    q = searching._bounded(parse_query(text), reader, text, memo)
    top_matches(searcher, q, 10, None, memo)
    looked_up = []
    real = searching.has_term

    def counting(*args):
        looked_up.append(args[1:])
        return real(*args)
    with mock.patch.object(searching, "has_term", counting):
        told = searching._matched_words(q, reader, memo)
    assert told == searching._matched_words(q, reader)
    assert told  # (each of these marks some word)
    if "*" in text:
        assert not [(f, w) for f, w in looked_up if f in ("title", "body") and isinstance(w, bytes)]


def test_the_memo_tells_a_term_held_lacking_or_unknown():
    memo = {0: {("info", "body", b"river"): None}, 30: {("info", "body", b"river"): "info"}}
    assert ranking.held(memo, 2, "body", b"river") is True
    memo[30][("info", "body", b"river")] = None
    assert ranking.held(memo, 2, "body", b"river") is False
    assert ranking.held(memo, 3, "body", b"river") is None  # (a segment not looked in)
    assert ranking.held(memo, 2, "title", b"river") is None


@pytest.fixture(scope="module")
def needles(tmp_path_factory):
    """Two segments of 120 articles that all say "haystack", a few of them "needle" too."""
    root = tmp_path_factory.mktemp("needles")
    idx = searchlib.Index(root / "ix")
    for part in ("a", "b"):
        records = {f"{part}{i}": {"title": f"farm report {i}", "body": "the haystack stood in the field; "
                                  "a haystack again. " * (1 + i % 3), "date": "2022-05-01"} for i in range(120)}
        records[f"{part}7"]["body"] = "They found the needle haystack at last, and a haystack."
        records[f"{part}50"]["body"] = "A haystack needle: the haystack hid the needle."
        records[f"{part}90"]["body"] = "the needle was in a needle haystack near the haystack"
        write_records(root / part, records)
        idx.update([root / part])
    with idx._whoosh.searcher(weighting=searching.RANKING) as s:
        assert len(s.leaf_searchers()) == 2
        yield idx, s


@pytest.mark.parametrize("text", ['"needle haystack"', '"haystack needle"', '"the needle"', '"needle haystack"~2',
                                  '"the haystack"', '"haystack stood"'])
def test_a_phrase_of_a_rare_word_and_a_common_one_is_found_where_they_follow(needles, text):
    """A rare word's few articles are each looked up in a common word's long postings (not the
    postings scanned): the same hits and scores as Whoosh's."""
    assert_same(needles[1], text)


def test_a_rare_and_a_common_word_in_order_are_exactly_those_articles(needles):
    idx, _ = needles
    assert sorted(hit.id.rsplit("#", 1)[-1] for hit in idx.search('"needle haystack"', limit=20)) == ["a7", "a90", "b7", "b90"]
    assert sorted(hit.id.rsplit("#", 1)[-1] for hit in idx.search('"haystack needle"', limit=20)) == ["a50", "b50"]


@pytest.fixture(scope="module")
def french_few(tmp_path_factory):
    """A segment of 36 English articles and 4 French ones, and a segment of English only: the
    French stem `march` ("marchés") is also the English stem of the month."""
    root = tmp_path_factory.mktemp("french")
    idx = searchlib.Index(root / "ix")
    english = {f"en{i}": {"title": f"Markets report {i}", "body": "Markets fell in March; financial news "
                          f"from London, day {i}.", "lang": "en", "date": "2022-03-01"} for i in range(36)}
    french = {f"fr{i}": {"title": f"Bourse {i}", "body": "Les marchés financiers ont chuté à Paris "
                         + "encore " * i, "lang": "fr", "date": "2022-03-02"} for i in range(4)}
    write_records(root / "a", {**english, **french})
    idx.update([root / "a"])
    write_records(root / "b", {f"late{i}": {"title": "March markets", "body": f"In March, financial markets "
                                            f"rose, week {i}.", "lang": "en", "date": "2022-03-03"}
                               for i in range(20)})
    idx.update([root / "a", root / "b"])
    with idx._whoosh.searcher(weighting=searching.RANKING) as s:
        assert len(s.leaf_searchers()) == 2
        yield idx, s


@pytest.mark.parametrize("text", ["marchés financiers", '"marchés financiers"', "marchés", "marchés OR london"])
def test_a_form_by_a_few_articles_language_is_found_in_each_of_them_and_no_other(french_few, text):
    """A word's form by French rules is looked for only in the French articles (a tenth of the
    first segment; none of the second): the same hits and scores as Whoosh's, and every French
    article, however few, and no English one with the same stem."""
    idx, s = french_few
    assert_same(s, text)
    complete = [hit.id.rsplit("#", 1)[-1] for hit in idx.search(text, limit=50) if hit.complete]
    if "OR" not in text:  # (the other words' articles after them: the partial matches)
        assert sorted(complete) == ["fr0", "fr1", "fr2", "fr3"]


@pytest.mark.parametrize("text", ["river flood", "river OR coast OR storm", "coast -korea",
                                  "harvest festival mayor", "korea artillery shells"])
def test_an_or_merged_at_once_or_one_by_one_gives_the_same_scores(searcher, monkeypatch, text):
    """An OR's large parts are merged with dict.update, its small ones one by one: either way
    the same additions in the same order, so the very same scores (the fixture's parts are small:
    both ways are forced here)."""
    q = searching._bounded(parse_query(text), searcher.reader(), text)
    monkeypatch.setattr(ranking, "_OR_AT_ONCE", 10**9)  # every part one by one
    one_by_one = top_matches(searcher, q, None)
    monkeypatch.setattr(ranking, "_OR_AT_ONCE", 1)  # every part at once
    at_once = top_matches(searcher, q, None)
    assert at_once == one_by_one and at_once[1] > 0
    assert_same(searcher, text)
