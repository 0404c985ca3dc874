"""The indexing fast paths write exactly what Whoosh's own code writes."""
import hashlib
from datetime import datetime

import pytest
from hypothesis import given, settings, strategies as st
from whoosh import index as whoosh_index
from whoosh.formats import Positions
from whoosh.writing import SegmentWriter

from searchlib.engine import analysis
from searchlib.engine.schema import build_schema
from searchlib.engine.postings import INLINE_POSTINGS
from searchlib.engine.writer import open_writer

WORDS = ["The", "the", "U.S.", "café", "Café", "shells", "shelling", "a", "I", "of", "o'neill",
         "naïve", "2022", "x", "running", "ran", "İstanbul", "ß", "déjà", "and", "North", "korea"]


def chain_positions(text: str, analyzer=analysis.TEXT) -> dict[str, list[int]]:
    """Term → positions as Whoosh's Positions format gets them through the whole chain."""
    plain = Positions()
    return {word: plain.decode_positions(value)
            for word, _, _, value in plain.word_values(text, analyzer, mode="index")}


texts = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=40).map(
    lambda parts: " ".join(parts))


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_fused_pass_gives_the_chains_terms_and_positions(text):
    assert analysis.TEXT.term_positions(text) == chain_positions(text)
    assert analysis.QUESTION_TEXT.term_positions(text) == chain_positions(text, analysis.QUESTION_TEXT)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_terms_with_chars_gives_the_chains_tokens(text):
    assert analysis.TEXT.terms_with_chars(text) == \
        [(t.text, t.startchar, t.endchar) for t in analysis.TEXT(text, chars=True, mode="index")]


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_fused_name_pass_gives_the_chains_terms_and_positions(text):
    assert analysis.NAME.term_positions(text) == chain_positions(text, analysis.NAME)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_spell_words_are_whooshs_spellable_words(text):
    assert analysis.TEXT.spell_words(text) == list(build_schema()["title"].spellable_words(text))


def test_the_fused_pass_on_an_example():
    # tokens: The U.S café s shells the shelling of a café; stop words are kept (schema 7), one-letter
    # tokens dropped and the kept ones numbered on
    text = "The U.S. café's shells: the shelling of a café."
    assert analysis.TEXT.term_positions(text) == {"the": [0, 4], "u.": [1], "cafe": [2, 7], "shell": [3, 5],
                                                 "of": [6]}
    assert analysis.TEXT.term_positions("the of a") == {"the": [0], "of": [1]}
    assert analysis.NAME.term_positions("The Café de la Paix, the café") == \
        {"the": [0, 5], "cafe": [1, 6], "de": [2], "la": [3], "paix": [4]}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**20), min_size=1, max_size=300).map(sorted))
def test_fast_positions_encode_gives_positions_bytes(poslist):
    assert analysis.FastPositions().encode(poslist) == Positions().encode(poslist)


def test_fast_positions_encodes_as_positions():
    fast, plain = analysis.FastPositions(field_boost=2.0), Positions(field_boost=2.0)
    text = "Artillery shells fell; shells again, artillery."
    assert list(fast.word_values(text, analysis.TEXT, mode="index")) == \
        list(plain.word_values(text, analysis.TEXT, mode="index"))


DOCS = [
    dict(id="a", path="/c/a.txt", title="North Korea fires artillery",
         body="North Korea fired artillery shells into the sea. The shells fell near the border.",
         source="Example News", section="World", topics="korea,defence", date=datetime(2022, 9, 6)),
    dict(id="b", path="/c/b.txt", title="Café prices", body="Prices at the café rose; the café's owner said so.",
         author="Ann Lee", date=datetime(2021, 1, 2)),
    dict(id="c", path="/c/c.txt", title="Untitled", body="", summary="Only a summary here."),
]


def _segment_files(folder) -> dict[str, str]:
    """Each segment file's digest, keyed by what follows the segment's random name."""
    out = {}
    for file in folder.iterdir():
        if file.name.startswith("MAIN_") and "." in file.name and not file.name.endswith("WRITELOCK"):
            out[file.name.split(".", 1)[1]] = hashlib.sha1(file.read_bytes()).hexdigest()
    return out


def _many_docs(count: int) -> list[dict]:
    """Enough articles for posting lists longer than one block (128), spelling words repeated
    across articles, lengths that vary, fields some articles lack, and deleted ones."""
    words = ["shells", "korea", "artillery", "café", "prices", "border", "sea", "rose", "fell", "owner"]
    docs = []
    for i in range(count):
        body = " ".join(words[(i * k) % len(words)] for k in range(1, 3 + i % 17))
        doc = dict(id=f"d{i}", path=f"/c/{i}.txt", title=f"{words[i % 10]} {words[(i * 7) % 10]} {i}",
                   body=body, topics=f"{words[i % 3]},{words[i % 5]}", date=datetime(2022, 1, 1 + i % 28))
        if i % 4:
            doc["summary"] = words[i % 10] * (1 + i % 3)
        if i % 5 == 0:
            doc["source"] = f"Desk {i % 3}"
        docs.append(doc)
    return docs


def _postings_of(folder) -> dict:
    """Every term's statistics and postings (document, weight, encoded value), as read back."""
    out = {}
    with whoosh_index.open_dir(str(folder)).reader() as reader:
        for fieldname, text in reader.all_terms():
            info = reader.term_info(fieldname, text)
            matcher = reader.postings(fieldname, text)
            postings = []
            while matcher.is_active():
                postings.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
            out[fieldname, text] = (info.weight(), info.doc_frequency(), info.min_length(),
                                    info.max_length(), info.max_weight(), postings)
    return out


def _write(folder, schema, make, docs, **options) -> None:
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), schema)
    writer = make(ix, compound=False, **options)
    for doc in docs:
        writer.add_document(**{k: v for k, v in doc.items() if v})
    writer.commit(merge=False)


def _plain_schema():
    schema = build_schema()
    fused = [name for name in schema.names() if isinstance(schema[name].format, analysis.FastPositions)]
    assert set(fused) == {"title", "summary", "body", "source", "section", "author", "dateline"}
    for name in fused:
        schema[name].format = Positions(field_boost=schema[name].format.field_boost)
    return schema


@pytest.mark.parametrize("docs", [DOCS, _many_docs(700)], ids=["three", "many"])
def test_the_writer_writes_what_whoosh_writes(tmp_path, docs):
    """With inlining and small uncompressed blocks turned off, the same files byte for byte, but
    for the postings and terms files, which hold the same terms and postings: a term's
    single-position values are shared objects in our writer, and pickle writes an object that
    repeats in a block once (Whoosh reads back equal lists)."""
    _write(tmp_path / "whoosh", _plain_schema(), SegmentWriter, docs)
    _write(tmp_path / "ours", build_schema(), open_writer, docs, inline=0, compress_from=0, protocol=2)
    written = {name: _segment_files(tmp_path / name) for name in ("whoosh", "ours")}
    assert {"pst", "trm"} <= set(written["ours"])
    assert {k: v for k, v in written["ours"].items() if k not in ("pst", "trm")} == \
        {k: v for k, v in written["whoosh"].items() if k not in ("pst", "trm")}
    read = {name: _postings_of(tmp_path / name) for name in ("whoosh", "ours")}
    assert len(read["ours"]) > 20 and read["ours"] == read["whoosh"]


def test_the_writer_writes_whooshs_bytes_where_no_value_repeats(tmp_path):
    """Terms file and postings file too, byte for byte, when no position list repeats."""
    docs = [dict(id="a", path="/a", title="North Korea", body="artillery shells"),
            dict(id="b", path="/b", title="Korea border", body="shells fell near the border")]
    _write(tmp_path / "whoosh", _plain_schema(), SegmentWriter, docs)
    _write(tmp_path / "ours", build_schema(), open_writer, docs, inline=0, compress_from=0, protocol=2)
    written = {name: _segment_files(tmp_path / name) for name in ("whoosh", "ours")}
    assert {"pst", "trm"} <= set(written["ours"]) and written["ours"] == written["whoosh"]


@pytest.mark.parametrize("docs", [DOCS, _many_docs(700)], ids=["three", "many"])
def test_inlined_postings_and_plain_blocks_read_back_the_same(tmp_path, docs):
    """By default, terms with few postings keep them in their record and small blocks are not
    compressed: Whoosh's own reader reads the same terms, statistics and postings."""
    _write(tmp_path / "whoosh", _plain_schema(), SegmentWriter, docs)
    _write(tmp_path / "ours", build_schema(), open_writer, docs)
    read = {name: _postings_of(tmp_path / name) for name in ("whoosh", "ours")}
    assert len(read["ours"]) > 20 and read["ours"] == read["whoosh"]
    with whoosh_index.open_dir(str(tmp_path / "ours")).reader() as reader:
        infos = [reader.term_info(f, t) for f, t in reader.all_terms()]
    inlined = [info for info in infos if info.is_inlined()]
    assert inlined and all(info.doc_frequency() <= INLINE_POSTINGS for info in inlined)
    assert all(info.is_inlined() for info in infos if info.doc_frequency() <= INLINE_POSTINGS)
    sizes = {name: sum(f.stat().st_size for f in (tmp_path / name).glob("*.pst")) for name in ("whoosh", "ours")}
    assert sizes["ours"] < sizes["whoosh"]


@pytest.mark.parametrize("options", [dict(inline=0, compress_from=0, protocol=2), {}], ids=["plain", "default"])
def test_merging_segments_writes_what_whoosh_writes(tmp_path, options):
    """A commit that merges earlier segments (with deleted articles) into the new one: with
    inlining and small plain blocks off, the same bytes; by default, the same postings."""
    written, read = {}, {}
    for name, make in (("whoosh", SegmentWriter), ("ours", open_writer)):
        folder = tmp_path / name
        folder.mkdir()
        schema = build_schema()
        ix = whoosh_index.create_in(str(folder), schema)
        docs = _many_docs(300)
        for part in (docs[:150], docs[150:]):
            writer = make(ix, compound=False, **(options if name == "ours" else {}))
            for doc in part:
                writer.add_document(**{k: v for k, v in doc.items() if v})
            writer.commit(merge=False)
        writer = make(ix, compound=False, **(options if name == "ours" else {}))
        writer.delete_by_term("id", "d7")
        writer.add_document(**{k: v for k, v in docs[0].items() if v})
        writer.commit(optimize=True)
        written[name] = sorted(_segment_files(folder).values())
        read[name] = _postings_of(folder)
    assert len(read["ours"]) > 20 and read["ours"] == read["whoosh"]
    if not options:
        assert written["ours"] != written["whoosh"]
    else:
        assert written["ours"] == written["whoosh"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.lists(st.text(max_size=8), max_size=5),
       st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_direct_terms_are_what_the_fields_index(text, parts, when):
    """writer.direct_terms (text, name, ID, DATETIME and keyword-list fields) against field.index.
    (`url`, split into its words since schema version 6, goes through Whoosh's own chain.)"""
    from searchlib.engine.writer import direct_terms
    schema = build_schema()
    direct = {name: direct_terms(schema[name]) for name in schema.names()}
    assert {name for name, f in direct.items() if f} == {
        "id", "path", "format", "lang", "region", "date", "tags", "topics", "places", "people", "orgs",
        "title", "summary", "body", "source", "section", "author", "dateline", "story"}
    keywords = ",".join(parts + [" " + text.upper() + " "] + parts[:2])
    for name, terms in direct.items():
        if terms is None:
            continue
        values = [when] if name == "date" else [text, keywords]
        for value in values:
            assert terms(value) == list(schema[name].index(value)), (name, value)
    assert direct["id"](when) is None and direct["date"]("2022") is None
