"""Hostile corpus files (issue 15, items 12-15): DTDs in feeds, many records in one file, deeply
nested JSON, giant words. Each test reproduces what the issue saw, at a size a test can afford."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import searchlib
from searchlib.article import Article
from searchlib.errors import ParseError
from searchlib.ingest.parsers import parse_file

from .conftest import write_file

ITEM = "<item><title>Harbour fire</title><description>Crews fought it.</description></item>"
LAUGHS = ('<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">')


def feed(prolog: str, title: str = "Harbour fire") -> str:
    return (f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>Wire</title>'
            f"<item><title>{title}</title><description>Crews fought it.</description></item>"
            "</channel></rss>")


# --- item 12: every DTD is refused, by the XML parser's own doctype hook ----------------------

@pytest.mark.parametrize("prolog", [
    f'<!DOCTYPE rss SYSTEM "a>b" [{LAUGHS}]>',                      # a quoted '>' hid the subset
    f"<!DOCTYPE rss SYSTEM 'x>[y' [{LAUGHS}]>",
    f'<!DOCTYPE rss PUBLIC "-//a b//EN" "c>d" [{LAUGHS}]>',
    f"<!DOCTYPE rss [{LAUGHS}]>",                                    # an ordinary internal subset
    '<!DOCTYPE rss [<!ENTITY % p "<!ENTITY e \'boom\'>"> %p;]>',     # parameter entities
    '<!DOCTYPE rss SYSTEM "http://example.com/rss.dtd">',            # external only
    '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
    "<!-- a comment first -->\n<!DOCTYPE rss>",
])
def test_every_dtd_is_refused(tmp_path, prolog):
    path = write_file(tmp_path / "f.rss", feed(prolog, "&d;" if "&" in prolog else "Harbour fire"))
    with pytest.raises(ParseError, match="feed has a DTD"):
        list(parse_file(path))


def test_a_quoted_gt_in_the_system_id_does_not_let_entities_expand(tmp_path):
    """The issue's case: 8 MB of entity references to a 10 KB entity. Refused at the DOCTYPE,
    so nothing expands and it is quick."""
    subset = LAUGHS + '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    text = feed(f'<!DOCTYPE rss SYSTEM "a>b" [{subset}]>', "&e;" * 100_000)
    path = write_file(tmp_path / "bomb.rss", text)
    started = time.monotonic()
    with pytest.raises(ParseError, match="feed has a DTD"):
        list(parse_file(path))
    assert time.monotonic() - started < 2


def test_feeds_without_a_dtd_still_parse(tmp_path):
    path = write_file(tmp_path / "ok.rss", feed("", "Harbour fire &amp; smoke&nbsp;at dawn"))
    (article,) = parse_file(path)
    assert (article.title, article.source) == ("Harbour fire & smoke\u00a0at dawn".replace("\u00a0", " "), "Wire")
    atom = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>1</id>'
            "<title>Atom entry</title><summary>Text</summary></entry></feed>")
    (entry,) = parse_file(write_file(tmp_path / "a.atom", atom))
    assert entry.title == "Atom entry"


# --- item 15: no indexed word is longer than 255 characters; snippets stay linear -------------

def test_words_over_255_characters_are_dropped_by_both_chains():
    from searchlib.engine.analysis import MAX_TOKEN_CHARS, NAME, TEXT
    assert MAX_TOKEN_CHARS == 255
    text = "harbour " + "q" * 256 + " fire " + "é" * 255
    assert TEXT.term_positions(text) == {"harbour": [0], "fire": [1], "e" * 255: [2]}
    assert [(t.text, t.pos) for t in TEXT(text, positions=True)] == [("harbour", 0), ("fire", 1), ("e" * 255, 2)]
    assert NAME.term_positions(text) == {"harbour": [0], "fire": [1], "e" * 255: [2]}
    assert [(t.text, t.pos) for t in NAME(text, positions=True)] == [("harbour", 0), ("fire", 1), ("e" * 255, 2)]
    # a dropped token takes no position (positions count the kept tokens, in both passes)
    assert NAME.term_positions("q" * 300 + " jo") == {"jo": [0]}
    assert [(t.text, t.pos) for t in NAME("q" * 300 + " jo", positions=True)] == [("jo", 0)]
    assert TEXT.term("q" * 300) is None and list(TEXT("q" * 300)) == []


def test_a_giant_word_is_not_indexed_and_prefix_queries_stay_fast(tmp_path):
    corpus = tmp_path / "corpus"
    write_file(corpus / "blob.jsonl",
               json.dumps({"id": "blob", "title": "Blob", "body": "Harbour text. " + "q" * 4_000_000 + " end."}) + "\n"
               + json.dumps({"id": "word", "title": "Word", "body": "Harbour qqqqqqz text " + "r" * 255}) + "\n")
    with searchlib.Index(tmp_path / "index") as idx:
        assert idx.update([corpus], jobs=1).articles == 2
        started = time.monotonic()
        results = idx.search("qqqqqq*")
        assert time.monotonic() - started < 2
        assert [h.title for h in results] == ["Word"]
        assert idx.search("q" * 300).total == 0
        assert [h.title for h in idx.search("r" * 255)] == ["Word"]
        assert idx.search("harbour").total == 2


def test_a_snippet_of_a_2_mb_body_with_a_giant_word_and_many_matches_is_quick(monkeypatch):
    from searchlib.querying import snippets as snippets_module
    from searchlib.engine.analysis import TEXT
    from searchlib.querying.snippets import Terms, make_snippets
    monkeypatch.setattr(snippets_module, "MAX_ANALYZED_CHARS", 3_000_000)  # all of it, here
    body = "Flood warning. " + "f" * 1_000_000 + " " + "The flood rose and the river flooded. " * 27_000
    assert len(body) > 2_000_000
    started = time.monotonic()
    (snippet,) = make_snippets(body, Terms(frozenset({"flood", "river"})), TEXT)
    assert time.monotonic() - started < 3
    assert len(snippet.text) < 300
    marked = {snippet.text[s:e].lower() for s, e in snippet.spans}
    assert marked == {"flood", "river", "flooded"}
    started = time.monotonic()
    snippets = make_snippets(body, Terms(frozenset({"flood", "river"})), TEXT, count=3)
    assert time.monotonic() - started < 3 and len(snippets) == 3


# --- item 14: a deeply nested JSON file is refused quickly, with the variable to raise --------

def test_deeply_nested_json_is_refused_quickly_with_a_reason(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    write_file(corpus / "deep.json", "[" * 10_000_000 + "]" * 10_000_000)
    write_file(corpus / "wrapped.json", '{"articles": [' + "[" * 5_000_000 + "]" * 5_000_000 + "]}")
    write_file(corpus / "fine.jsonl", json.dumps({"title": "Harbour fire", "body": "Crews fought it."}) + "\n")
    started = time.monotonic()
    with searchlib.Index(tmp_path / "index") as idx:
        report = idx.update([corpus], jobs=1)
    assert time.monotonic() - started < 5
    assert report.articles == 1
    assert {s.path.name: s.reason for s in report.skipped} == {
        name: "JSON nested more than 512 deep (SEARCHLIB_MAX_JSON_DEPTH); not read"
        for name in ("deep.json", "wrapped.json")}
    monkeypatch.setenv("SEARCHLIB_MAX_RECORD_MB", "0.001")
    monkeypatch.setenv("SEARCHLIB_MAX_JSON_DEPTH", "4")
    records = [{"title": f"T{i}", "body": "b", "tags": [["x"]] if i else []} for i in range(100)]
    shallow = write_file(tmp_path / "shallow.json", json.dumps(records))
    assert [a.title for a in parse_file(shallow) if isinstance(a, Article)] == [f"T{i}" for i in range(100)]
    records[5]["tags"] = [[["x"]]]
    with pytest.raises(ParseError, match=r"nested more than 4 deep \(SEARCHLIB_MAX_JSON_DEPTH\)"):
        list(parse_file(write_file(tmp_path / "deeper.json", json.dumps(records))))


# --- item 13: a file of many records is read and written in bounded batches -----------------

def records_file(path: Path, n: int, title: str = "Record") -> Path:
    return write_file(path, "".join(json.dumps({"id": f"r{i}", "title": f"{title} {i}", "body": f"harbour {i}",
                                                "date": "2022-09-06"}) + "\n" for i in range(n)))


def live_titles(idx) -> list[str]:
    return sorted(h.title for h in idx.search("harbour", limit=1000))


def update(idx, corpus: Path, **options):
    """Index.update with the indexer's own batch settings (segment_postings too)."""
    from searchlib.indexing.update import update_index
    return update_index(idx.path, [corpus], base=corpus.parent, jobs=1, **options)


def test_a_file_of_many_records_is_written_in_batches(tmp_path, monkeypatch):
    import searchlib.indexing.update as indexing
    corpus = tmp_path / "corpus"
    records_file(corpus / "many.jsonl", 10)
    batches = []
    real = indexing.Run.article_batches

    def counted(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            batches.append(len(batch))
            yield batch

    monkeypatch.setattr(indexing.Run, "article_batches", counted)
    with searchlib.Index(tmp_path / "index") as idx:
        report = update(idx, corpus, batch_articles=3)  # one commit: the writer's memory allows it
        assert (report.articles, report.commits, report.added, batches) == (10, 1, 1, [3, 3, 3, 1])
        assert live_titles(idx) == sorted(f"Record {i}" for i in range(10))
        records_file(corpus / "many.jsonl", 7, "Second")  # changed: replaced, a commit per record
        batches.clear()  # (the writer is over its share of segment_postings after each record)
        report = update(idx, corpus, batch_articles=3, segment_postings=1)
        assert (report.articles, report.commits, report.updated, report.removed) == (7, 7, 1, 10)
        assert batches == [3, 3, 1]
        assert live_titles(idx) == sorted(f"Second {i}" for i in range(7))
        assert idx.update([corpus], jobs=1).unchanged == 1


@pytest.mark.parametrize("changed", [False, True])
def test_a_run_killed_mid_file_leaves_the_index_consistent_and_the_next_run_completes_it(
        tmp_path, monkeypatch, changed):
    import searchlib.indexing.run as indexing  # (where articles become documents)
    corpus = tmp_path / "corpus"
    with searchlib.Index(tmp_path / "index") as idx:
        if changed:
            records_file(corpus / "many.jsonl", 4, "Old")
            idx.update([corpus], jobs=1)
        records_file(corpus / "many.jsonl", 10)
        real, calls = indexing.to_document, []

        def dies_at_the_eighth(article):
            calls.append(article.key)
            if len(calls) == 8:
                raise KeyboardInterrupt  # (as a kill would: nothing after it runs)
            return real(article)

        monkeypatch.setattr(indexing, "to_document", dies_at_the_eighth)
        with pytest.raises(KeyboardInterrupt):
            update(idx, corpus, batch_articles=3, segment_postings=1)
        monkeypatch.setattr(indexing, "to_document", real)
        # the seven records written were committed (the writer is over its share after each one),
        # with the old articles deleted in the first commit
        assert live_titles(idx) == sorted(f"Record {i}" for i in range(7))
        report = update(idx, corpus, batch_articles=3, segment_postings=1)  # redone, not "unchanged"
        assert (report.articles, report.unchanged) == (10, 0)
        assert live_titles(idx) == sorted(f"Record {i}" for i in range(10))
        assert idx.update([corpus], jobs=1).unchanged == 1


def test_a_worker_hands_a_file_of_many_records_back_to_the_writer(tmp_path):
    from searchlib.indexing.update import parse_worker
    from searchlib.ingest.limits import current
    path = records_file(tmp_path / "many.jsonl", 10)
    assert parse_worker(str(path), current(), most=10) is not None
    assert parse_worker(str(path), current(), most=9) is None  # more than that: the writer reads it


def test_parallel_runs_and_rebuilds_index_a_many_record_file_whole(tmp_path):
    corpus = tmp_path / "corpus"
    records_file(corpus / "many.jsonl", 40)
    for i in range(20):
        write_file(corpus / f"f{i:02}.jsonl", json.dumps({"title": f"File {i}", "body": "harbour"}) + "\n")
    with searchlib.Index(tmp_path / "index") as idx:
        report = idx.update([corpus], jobs=2, batch_articles=7)
        assert (report.articles, report.skipped) == (60, [])
        assert len(live_titles(idx)) == 60
        report = idx.update([corpus], jobs=2, batch_articles=7, rebuild=True)
        assert (report.articles, report.skipped) == (60, [])
        assert len(live_titles(idx)) == 60


def test_snippets_look_at_a_bounded_prefix_of_a_huge_body(tmp_path, monkeypatch):
    """A match is shown from the first MAX_ANALYZED_CHARS characters only (as Elasticsearch's
    max_analyzed_offset): a hostile multi-megabyte record cannot make every search that hits it
    slow, and a match beyond the bound still finds the article."""
    from searchlib.querying import snippets
    monkeypatch.setattr(snippets, "MAX_ANALYZED_CHARS", 1000)
    body = "The ferry sailed. " + "calm water " * 200 + "A walrus appeared."
    write_file(tmp_path / "c" / "a.jsonl", json.dumps({"title": "Harbour", "body": body}) + "\n")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([tmp_path / "c"], jobs=1)
    (near,) = idx.search("ferry").hits
    assert near.snippet[slice(*near.highlights[0])] == "ferry"
    (far,) = idx.search("walrus").hits  # found, shown without marks: beyond the bound
    assert far.highlights == [] and far.snippet.startswith("The ferry sailed.")


def test_similar_reads_a_bounded_prefix_of_a_huge_body(tmp_path, monkeypatch):
    """More-like-this takes its key words from the first MAX_ANALYZED_CHARS characters, as
    snippets do: a multi-megabyte record cannot make `search similar` take seconds."""
    from searchlib.querying import snippets
    body = "The ferry sailed from the harbour. " * 3 + "calm water " * 200 + "walrus walrus walrus"
    write_file(tmp_path / "c" / "a.jsonl", "".join(json.dumps(r) + "\n" for r in (
        {"id": "a", "title": "Harbour", "body": body},
        {"id": "b", "title": "Walrus", "body": "A walrus walrus appeared."},
        {"id": "c", "title": "Ferry", "body": "The ferry left the harbour late."})))
    idx = searchlib.Index(tmp_path / "index")
    idx.update([tmp_path / "c"], jobs=1)
    assert {h.id[-1] for h in idx.similar("c/a.jsonl#a")} == {"b", "c"}
    monkeypatch.setattr(snippets, "MAX_ANALYZED_CHARS", 200)
    assert {h.id[-1] for h in idx.similar("c/a.jsonl#a")} == {"c"}
