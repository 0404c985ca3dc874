"""A sharded index searches as one unsharded index of the same articles: the same hits (tied
ones as sets: shards break ties in another order), scores to 1e-6, totals, facets, did-you-mean,
story collapse and similar articles, across the query language and the search options.

The fixture: 40 hand-written articles, one JSON file each (several outlets, dates, three
languages, two copies of one story, words for wildcards and fuzzy words), indexed once
unsharded and once as 2 and as 3 shards. The shards are made here (an ordinary index per shard
of the articles `shard_of` routes there, plus the top searchlib.json), so that these tests stand
on the searching side alone.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import searchlib
from searchlib.engine.layout import META_FILE
from searchlib.indexing.update import update_index
from searchlib.sharding import searching as sharded
from searchlib.sharding.layout import describe, shard_of, shard_paths

NOW = datetime(2022, 11, 1, 12, 0, tzinfo=timezone.utc)

# (source, date, lang, title, body). a05 and a07 are copies of one story (both route to shard 0
# of 2 and of 3, since the stories of this helper's shards are linked within a shard).
ARTICLES = [
    ("North Desk", "2022-09-01T08:00:00Z", "en", "River flood hits valley town",
     "The river flooded the valley town overnight. Residents left their homes as the water rose."),
    ("North Desk", "2022-09-02T09:00:00Z", "en", "Flood defences fail on the river",
     "Flood defences along the river failed. The council will review the flood barriers."),
    ("South Desk", "2022-09-03T10:00:00Z", "en", "Harbour bridge repairs delayed",
     "The council delayed repairs to the harbour bridge. Engineers said the bridge needs new cables."),
    ("South Desk", "2022-09-05T11:00:00Z", "en", "Storm closes harbour",
     "A storm closed the harbour. Ferries stayed in port while the wind blew."),
    ("East Desk", "2022-09-06T12:00:00Z", "en", "Artillery fire near the border",
     "Artillery fire was heard near the border. The army said artillery units moved north."),
    ("Wire Service", "2022-09-07T06:00:00Z", "en", "Council approves harbour budget",
     "The city council approved a budget for the harbour. The budget pays for dredging the harbour "
     "channel and for new lights on the harbour wall, the council said on Wednesday."),
    ("East Desk", "2022-09-08T07:00:00Z", "en", "Artilleries and tanks on parade",
     "Tanks and artilleries rolled past the crowd. The parade marked the end of the war."),
    ("Valley Times", "2022-09-07T09:30:00Z", "en", "City council approves harbour budget",
     "The city council approved a budget for the harbour. The budget pays for dredging the harbour "
     "channel and for new lights on the harbour wall, the council said on Wednesday."),
    ("Valley Times", "2022-09-10T08:00:00Z", "en", "Valley school reopens",
     "The valley school reopened after the flood. Pupils returned to dry classrooms."),
    ("North Desk", "2022-09-12T08:00:00Z", "en", "Rain expected on the coast",
     "Forecasters expect heavy rain on the coast. A flood warning covers the river valley."),
    ("South Desk", "2022-09-14T13:00:00Z", "en", "Fishermen protest harbour fees",
     "Fishermen protested new harbour fees. They said the fees would end their trade."),
    ("Wire Service", "2022-09-15T14:00:00Z", "en", "Sanctions on shipping firms",
     "New sanctions hit shipping firms. The sanctions bar ships from the harbour."),
    ("East Desk", "2022-09-16T15:00:00Z", "en", "Army moves artillery north",
     "The army moved artillery north. Officials said the artillery would guard the river crossing."),
    ("Valley Times", "2022-09-18T16:00:00Z", "en", "Who will lead the council?",
     "The council meets to choose a leader. The who and the why of the vote remain unclear."),
    ("North Desk", "2022-09-20T08:00:00Z", "en", "River levels fall",
     "River levels fell after the flood. The valley begins to dry out."),
    ("South Desk", "2022-09-22T08:00:00Z", "en", "Bridge cables replaced",
     "Engineers replaced the bridge cables. The harbour bridge reopens next week."),
    ("Wire Service", "2022-09-25T08:00:00Z", "en", "Shipping rates rise",
     "Shipping rates rose as ports closed. Rates for containers doubled in a month."),
    ("East Desk", "2022-09-28T08:00:00Z", "en", "Border calm after shelling",
     "The border was calm after a night of shelling. Shells hit an empty field."),
    ("Valley Times", "2022-09-30T23:30:00Z", "en", "Mayor praises flood volunteers",
     "The mayor praised the volunteers who filled sandbags during the flood on the river."),
    ("North Desk", "2022-10-02T08:00:00Z", "en", "Valley farmers count losses",
     "Farmers in the valley counted their losses. The flood ruined the harvest."),
    ("South Desk", "2022-10-04T08:00:00Z", "en", "Harbour dredging begins",
     "Dredging began in the harbour channel. The work will take a month."),
    ("Wire Service", "2022-10-05T08:00:00Z", "en", "Storm warning for ferries",
     "A storm warning stopped the ferries. The harbour master closed the port."),
    ("East Desk", "2022-10-07T08:00:00Z", "en", "Artilery drill postponed",
     "An artilery drill was postponed. The misspelt notice said the drill would resume."),
    ("Valley Times", "2022-10-09T08:00:00Z", "en", "Council debates river bridge",
     "The council debated a new river bridge. The bridge would link the valley and the coast."),
    ("North Desk", "2022-10-11T08:00:00Z", "en", "Coast road reopens",
     "The coast road reopened after the storm. Drivers returned to the coast."),
    ("Wire Service", "2022-10-13T08:00:00Z", "de", "Hochwasser am Fluss",
     "Das Hochwasser erreichte die Stadt. Der Fluss trat über die Ufer und die Straßen wurden gesperrt."),
    ("Wire Service", "2022-10-14T08:00:00Z", "de", "Hafen wegen Sturm geschlossen",
     "Der Hafen wurde wegen eines Sturms geschlossen. Die Fähren blieben im Hafen."),
    ("Wire Service", "2022-10-15T08:00:00Z", "de", "Brücke über den Fluss gesperrt",
     "Die Brücke über den Fluss wurde gesperrt. Ingenieure prüfen die Kabel der Brücke."),
    ("Wire Service", "2022-10-16T08:00:00Z", "fr", "Inondation dans la vallée",
     "La rivière a inondé la vallée. Les habitants ont quitté leurs maisons."),
    ("Wire Service", "2022-10-17T08:00:00Z", "fr", "Tempête sur le port",
     "Une tempête a fermé le port. Les ferries sont restés à quai."),
    ("South Desk", "2022-10-18T08:00:00Z", "en", "Harbour lights switched on",
     "New lights on the harbour wall were switched on. The council paid for them."),
    ("East Desk", "2022-10-20T08:00:00Z", "en", "Talks at the border",
     "Talks at the border eased fears of artillery fire. Both sides pulled back their guns."),
    ("Valley Times", "2022-10-22T08:00:00Z", "en", "Flood insurance claims rise",
     "Insurance claims rose after the flood. Valley homes on the river were worst hit."),
    ("North Desk", None, "en", "Undated note on the river",
     "An undated note about the river and the valley flood, found in the archive."),
    ("South Desk", None, "en", "Undated harbour memo",
     "An undated memo about harbour fees and the harbour bridge."),
    ("Wire Service", "2022-10-25T08:00:00Z", "en", "Ferries resume service",
     "Ferries resumed service after the storm. The harbour reopened to passengers."),
    ("East Desk", "2022-10-27T08:00:00Z", "en", "Shelling resumes at dawn",
     "Shelling resumed at dawn near the river crossing. Artillery units returned fire."),
    ("Valley Times", "2022-10-29T08:00:00Z", "en", "Valley festival cancelled",
     "The valley festival was cancelled because of the flood damage to the park by the river."),
    ("North Desk", "2022-10-30T08:00:00Z", "en", "Rivers and floods: a history",
     "Rivers flood. The valley has flooded many times; the river flooded in 1953 and in 1987."),
    ("Wire Service", "2022-10-31T08:00:00Z", "en", "Council names new harbour master",
     "The council named a new harbour master. She will run the harbour and the ferries."),
]
TAGS = {0: ["floods"], 1: ["floods", "defences"], 9: ["floods"], 18: ["floods", "volunteers"], 3: ["storms"]}


def _write_corpus(root: Path) -> list[Path]:
    files = []
    for n, (source, date, lang, title, body) in enumerate(ARTICLES):
        record = {"id": f"a{n:02d}", "title": title, "body": body, "source": source, "lang": lang}
        if date:
            record["date"] = date
        if n in TAGS:
            record["tags"] = TAGS[n]
        path = root / "corpus" / f"a{n:02d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record), encoding="utf-8")
        files.append(path)
    return files


def make_sharded(root: Path, count: int) -> Path:
    """A sharded index at root/index of the corpus at root/corpus: each shard an ordinary index
    of the articles routed to it (ids relative to root, as an unsharded index there has them),
    the top searchlib.json that of a shard plus the shards entry."""
    files = _write_corpus(root)
    top = root / "index"
    top.mkdir()
    for number, shard in enumerate(shard_paths(top, count)):
        mine = [f for f in files if shard_of(f"corpus/{f.name}#{f.stem}", count) == number]
        searchlib.Index(shard).close()  # an empty ordinary index
        update_index(shard, mine, base=root, jobs=1)
    meta = json.loads((shard_paths(top, count)[0] / META_FILE).read_text())
    (top / META_FILE).write_text(json.dumps({**meta, **describe(count)}))
    return top


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    _write_corpus(root)
    with searchlib.Index(root / "index") as idx:
        idx.update([root / "corpus"], jobs=1)
        yield idx


@pytest.fixture(scope="module", params=[2, 3])
def shards(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"shards{request.param}")
    top = make_sharded(root, request.param)
    return [str(p) for p in shard_paths(top, request.param)]


def test_the_fixture_routes_articles_to_every_shard(shards):
    counts = [searchlib.Index(path, create=False).__len__() for path in shards]
    assert sum(counts) == len(ARTICLES) and all(counts)


def _key(hit, sort: str):
    return round(hit.score, 6) if sort == "relevance" else hit.date


def assert_same(one, other, sort: str = "relevance", everything=None):
    """Equal results: the same totals, facets and suggestion, the same scores at each rank,
    and within each run of tied hits the same ids (a run at a page's edge: ids among the ids
    the unsharded index has with that score, `everything`)."""
    assert (other.total, other.complete, other.partial) == (one.total, one.complete, one.partial)
    assert other.facets == one.facets
    assert other.suggestion == one.suggestion
    assert other.stories == one.stories
    assert len(other.hits) == len(one.hits)
    for a, b in zip(one.hits, other.hits):
        assert b.score == pytest.approx(a.score, abs=1e-6), (a.id, b.id)
        assert b.rank == a.rank and b.complete == a.complete
    groups: dict = {}
    for a, b in zip(one.hits, other.hits):
        groups.setdefault(_key(a, sort), ([], []))
        groups[_key(a, sort)][0].append(a.id)
        groups[_key(a, sort)][1].append(b.id)
    edge = {_key(one.hits[0], sort), _key(one.hits[-1], sort)} if one.hits else set()
    for key, (ours, theirs) in groups.items():
        if key in edge and everything is not None:
            allowed = {h.id for h in everything.hits if _key(h, sort) == key}
            assert set(theirs) <= allowed, key
        else:
            assert sorted(theirs) == sorted(ours), key
    by_id = {b.id: b for b in other.hits}
    for a in one.hits:
        b = by_id.get(a.id)
        if b is not None:  # the same hit shown the same way
            assert (b.title, b.snippet, b.highlights, b.title_highlights, b.copies, b.outlets, b.lang) == \
                   (a.title, a.snippet, a.highlights, a.title_highlights, a.copies, a.outlets, a.lang)


QUERIES = [
    "river flood",
    "flood",
    "river OR harbour",
    "river NOT flood",
    "(river OR harbour) AND storm",
    "+harbour -council",
    '"harbour bridge"',
    '"bridge harbour"~2',
    '"river valley"~3',
    "title:flood",
    'source:"valley times"',
    "tags:floods",
    "artill*",
    "artilery~",
    "artilery~2",
    "harbo?r",
    "council^2 harbour",
    "date:2022-09",
    "flood date:[2022-09-10 TO 2022-10-15]",
    "harbour date:>=2022-10-01",
    "lang:de",
    "hochwasser",
    "fluss brücke",
    "RIVER AND FLOOD",
    "the who",
    "flood river valley sandbags zzzz",       # a partial fallback (fewer than 10 with all)
    "harbour sanctions",
    "artilery",                                # did you mean
    "harbur fees",                             # did you mean, partial
    "what did the council decide about the harbour bridge repairs",  # feedback (5+ content words)
    "council harbour budget dredging lights wall",                  # feedback, complete matches
    "nothingatall",
]


@pytest.mark.parametrize("text", QUERIES)
def test_queries_equal(plain, shards, text):
    one = plain.search(text, limit=100, now=NOW)
    other = sharded.search(shards, sharded.Request(text=text, limit=100, now=NOW))
    assert_same(one, other)


OPTIONS = [
    dict(sort="newest"),
    dict(sort="oldest"),
    dict(sort="newest", text="harbour"),
    dict(since=datetime(2022, 9, 10), until=datetime(2022, 10, 1)),
    dict(langs=("de", "fr")),
    dict(langs=("en",), text="harbour OR hafen OR port"),
    dict(fresh=30.0),
    dict(fresh=7.0, text="harbour"),
    dict(facets=("source", "month", "tags", "lang")),
    dict(facets=("date", "day", "year", "section"), text="harbour"),
    dict(all_copies=True, text="harbour budget"),
    dict(text="harbour budget"),
    dict(fragments=3, text="harbour bridge"),
    dict(offset=3, limit=5),
    dict(offset=10, limit=10, text="harbour"),
    dict(offset=0, limit=1, text="harbour"),
    dict(offset=2, limit=2, text="what did the council decide about the harbour bridge repairs"),
    dict(offset=1, limit=3, sort="oldest", text="flood"),
    dict(fresh=15.0, text="what did the council decide about the harbour bridge repairs"),
    dict(sort="newest", text="council harbour budget dredging lights wall"),
    dict(facets=("month", "source", "tags"), text="flood river valley sandbags zzzz"),
    dict(langs=("de",), text="fluss brücke", facets=("lang",)),
    dict(offset=5, limit=5, all_copies=True, text="harbour OR council", facets=("date",)),
    dict(since=datetime(2022, 10, 1), text="harbur fees"),
]


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_options_equal(plain, shards, options):
    options = dict(options)
    text = options.pop("text", "river flood")
    limit, offset = options.pop("limit", 100), options.pop("offset", 0)
    fragments = options.pop("fragments", 1)
    index_options = dict(options)
    if "langs" in index_options:
        index_options["lang"] = list(index_options.pop("langs"))
    if "facets" in index_options:
        index_options["facets"] = list(index_options["facets"])
    one = plain.search(text, limit=limit, offset=offset, now=NOW, snippets=fragments, **index_options)
    everything = plain.search(text, limit=100, now=NOW, snippets=fragments, **index_options)
    if "since" in options:
        options["since"], options["until"] = (one.since.replace(tzinfo=None),
                                              one.until.replace(tzinfo=None) if one.until else None)
    other = sharded.search(shards, sharded.Request(text=text, limit=limit, offset=offset, now=NOW,
                                                   fragments=fragments, **options))
    assert_same(one, other, options.get("sort", "relevance"), everything)
    assert [f.text for h in other.hits for f in h.fragments] == [f.text for h in one.hits for f in h.fragments] \
        or len({_key(h, options.get("sort", "relevance")) for h in one.hits}) < len(one.hits)


def test_copies_collapse_to_one_hit_with_their_outlets(plain, shards):
    one = plain.search("harbour budget", now=NOW)
    other = sharded.search(shards, sharded.Request(text="harbour budget", now=NOW))
    copies = [h for h in other.hits if h.copies == 2]
    assert len(copies) == 1 and copies[0].outlets  # the story's other outlet
    assert [h.id for h in copies] == [h.id for h in one.hits if h.copies == 2]


def test_pages_continue_each_other(shards):
    whole = sharded.search(shards, sharded.Request(text="harbour OR river", limit=40, now=NOW))
    pages = [sharded.search(shards, sharded.Request(text="harbour OR river", limit=7, offset=o, now=NOW))
             for o in range(0, 40, 7)]
    assert [h.id for p in pages for h in p.hits] == [h.id for h in whole.hits]
    assert {p.total for p in pages} == {whole.total}


def test_a_bad_query_is_the_same_error(plain, shards):
    from searchlib.errors import QueryError
    for text in ("titel:flood", "flood^abc", "oil~abc", "date:2022-13"):
        with pytest.raises(QueryError) as one:
            plain.search(text)
        with pytest.raises(QueryError) as other:
            sharded.search(shards, sharded.Request(text=text))
        assert str(other.value) == str(one.value)


def test_a_story_across_shards_collapses_as_on_one_index(tmp_path):
    """A third copy of a05's story in a file routed to another shard (b00: shard 1 of 3), linked
    to it by sharding.building: collapsed, counted and annotated as on one index, on every page."""
    from searchlib.sharding.building import update_sharded
    files = _write_corpus(tmp_path)
    record = json.loads(files[5].read_text())
    (tmp_path / "corpus" / "b00.json").write_text(json.dumps({**record, "id": "b00", "source": "Copy Desk"}))
    assert shard_of("corpus/b00.json#b00", 3) != shard_of("corpus/a05.json#a05", 3)
    plain = searchlib.Index(tmp_path / "plain")
    plain.update([tmp_path / "corpus"], jobs=1)
    top = tmp_path / "index"
    top.mkdir()
    paths = [str(p) for p in shard_paths(top, 3)]
    for path in paths:
        searchlib.Index(path).close()
    meta = json.loads((Path(paths[0]) / META_FILE).read_text())
    (top / META_FILE).write_text(json.dumps({**meta, **describe(3)}))
    update_sharded(top, [tmp_path / "corpus"], 3, base=tmp_path, jobs=1)
    assert sum(searchlib.Index(p, create=False).__len__() for p in paths) == len(ARTICLES) + 1
    for limit, offset in ((100, 0), (10, 2), (3, 0), (2, 2), (1, 12)):
        one = plain.search("harbour", limit=limit, offset=offset, now=NOW)
        everything = plain.search("harbour", limit=100, now=NOW)
        other = sharded.search(paths, sharded.Request(text="harbour", limit=limit, offset=offset, now=NOW))
        assert_same(one, other, everything=everything)
    whole = sharded.search(paths, sharded.Request(text="harbour budget", now=NOW))
    story = [h for h in whole.hits if h.copies == 3]
    assert len(story) == 1 and sorted(story[0].outlets + [story[0].source]) == ["Copy Desk", "Valley Times", "Wire Service"]


class PicklingExecutor:
    """Runs each task as a worker process would get it: the function, its arguments and its
    value through pickle (a cluster sends them over the wire)."""

    def __init__(self):
        self.calls = []

    def map(self, function, tasks, *, timeout=None):
        import pickle
        from searchlib.sharding.execution import Outcome
        self.calls.append(function.__name__)
        out = []
        for task in tasks:
            function2, task2 = pickle.loads(pickle.dumps((function, task)))
            out.append(Outcome(pickle.loads(pickle.dumps(function2(*task2)))))
        return out


@pytest.mark.parametrize("text", ["river flood", "harbur fees", "what did the council decide about the harbour bridge repairs"])
def test_every_task_and_answer_pickles(plain, shards, text):
    executor = PicklingExecutor()
    one = plain.search(text, limit=20, now=NOW, facets=["source", "date"], fresh=10.0)
    other = sharded.search(shards, sharded.Request(text=text, limit=20, now=NOW, facets=("source", "date"),
                                                   fresh=10.0), executor)
    assert_same(one, other)
    assert {"survey", "matches", "page"} <= set(executor.calls)
    similar = sharded.similar(shards, "corpus/a00.json#a00", limit=5, executor=executor)
    assert [h.id for h in similar.hits] == [h.id for h in plain.similar("corpus/a00.json#a00", limit=5).hits] \
        or len({round(h.score, 6) for h in similar.hits}) < len(similar.hits)


def test_a_shard_without_articles_and_an_empty_index(tmp_path):
    """3 shards of 1 article (two shards empty), then none at all: answers, no error."""
    files = _write_corpus(tmp_path)
    top = tmp_path / "index"
    top.mkdir()
    paths = [str(p) for p in shard_paths(top, 3)]
    for path in paths:
        searchlib.Index(path).close()
    meta = json.loads((Path(paths[0]) / META_FILE).read_text())
    (top / META_FILE).write_text(json.dumps({**meta, **describe(3)}))
    found = sharded.search(paths, sharded.Request(text="river", facets=("source",)))
    assert (found.total, found.hits, found.facets) == (0, [], {"source": []})
    one = files[0]
    update_index(Path(paths[shard_of(f"corpus/{one.name}#{one.stem}", 3)]), [one], base=tmp_path, jobs=1)
    found = sharded.search(paths, sharded.Request(text="river valley", facets=("source",)))
    assert [h.id for h in found.hits] == ["corpus/a00.json#a00"] and found.facets == {"source": [("North Desk", 1)]}
    assert sharded.count(paths) == 1


def test_story_ids_are_made_as_linking_makes_them():
    from searchlib.stories.linking import new_story_id
    for article_id in ("corpus/a00.json#a00", "x", "Straße/北京.html#1", ""):
        assert sharded.story_id_of(article_id.encode("utf-8")) == new_story_id(article_id)


def test_fallback_words_the_survey_missed_are_asked_for(plain, shards, monkeypatch):
    """The survey gathers the frequencies of the query's words only (the any-word fallback has
    the same or fewer); a fallback word without them is asked of every shard before scoring."""
    survey_terms = sharded._frequencies

    def without_sandbags(searcher, request, languages):
        return {key: df for key, df in survey_terms(searcher, request, languages).items()
                if not key[1].startswith(b"sandbag")}

    monkeypatch.setattr(sharded, "_frequencies", without_sandbags)
    calls = []
    monkeypatch.setattr(sharded, "term_frequencies",
                        lambda path, terms, real=sharded.term_frequencies: calls.append(terms) or real(path, terms))
    text = "flood river valley sandbags zzzz"
    other = sharded.search(shards, sharded.Request(text=text, limit=100, now=NOW))
    assert calls and all(any(t.startswith("sandbag") for _, t in terms) for terms in calls)
    assert_same(plain.search(text, limit=100, now=NOW), other)


def test_a_language_added_after_a_search_is_searched_in(plain, tmp_path):
    """The whole index's languages are remembered from the last search (the query is parsed in
    them first): a commit that brings German articles makes the next search parse in German too."""
    files = _write_corpus(tmp_path)
    top = tmp_path / "index"
    top.mkdir()
    paths = [str(p) for p in shard_paths(top, 2)]
    english = [f for f in files if json.loads(f.read_text())["lang"] == "en"]
    others = [f for f in files if f not in english]
    for number, path in enumerate(paths):
        searchlib.Index(path).close()
        update_index(Path(path), [f for f in english if shard_of(f"corpus/{f.name}#{f.stem}", 2) == number],
                     base=tmp_path, jobs=1)
    meta = json.loads((Path(paths[0]) / META_FILE).read_text())
    (top / META_FILE).write_text(json.dumps({**meta, **describe(2)}))
    assert sharded.search(paths, sharded.Request(text="Straßen Fluss", now=NOW)).total == 0
    for number, path in enumerate(paths):
        mine = [f for f in others if shard_of(f"corpus/{f.name}#{f.stem}", 2) == number]
        if mine:
            update_index(Path(path), mine, base=tmp_path, jobs=1)
    for text in ("Straßen Fluss", "rivière vallée", "hafen OR harbour"):
        assert_same(plain.search(text, limit=100, now=NOW),
                    sharded.search(paths, sharded.Request(text=text, limit=100, now=NOW)))


def test_wildcard_limits_hold_for_all_shards_together(tmp_path):
    """`zq*` stands for 600 words in each of 2 shards, 1,200 in all: refused as by one index
    (more than MAX_EXPANSIONS), with the same message; `zqa*` (26 x 26 words) is not."""
    import itertools
    from searchlib.errors import QueryError
    words = ["zq" + "".join(letters) for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=3)]
    (tmp_path / "corpus").mkdir()
    for name, part in (("a00", words[:600]), ("a04", words[600:1200])):
        (tmp_path / "corpus" / f"{name}.json").write_text(json.dumps(
            {"id": name, "title": "Words", "body": " ".join(part), "lang": "en"}))
    assert [shard_of(f"corpus/{n}.json#{n}", 2) for n in ("a00", "a04")] == [0, 1]
    one = searchlib.Index(tmp_path / "plain")
    one.update([tmp_path / "corpus"], jobs=1)
    top = tmp_path / "index"
    top.mkdir()
    paths = [str(p) for p in shard_paths(top, 2)]
    for number, path in enumerate(paths):
        searchlib.Index(path).close()
        update_index(Path(path), [tmp_path / "corpus" / ("a00.json", "a04.json")[number]], base=tmp_path, jobs=1)
    with pytest.raises(QueryError) as refused:
        one.search("zq*")
    with pytest.raises(QueryError) as also:
        sharded.search(paths, sharded.Request("zq*"))
    assert str(also.value) == str(refused.value) and "1,024" in str(also.value)
    assert sharded.search(paths, sharded.Request("zqa*")).total == one.search("zqa*").total == 2
