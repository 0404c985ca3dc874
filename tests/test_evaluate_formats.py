"""scripts/evaluate.py: how NPL's and LISA's files are read, and the query cases (hand-written
snippets in each format; no collection files needed)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import evaluate as ev  # noqa: E402

NPL_DOCS = """1
compact memories have flexible capacities  a digital data storage
system is described
   /
2
an electronic analogue computer
   /
"""
NPL_QRELS = """1
 1239  1502
 7923
   /
2
  414
   /"""
LISA_DOCS = """Document    1
THE INDIAN COUNCIL OF LIBRARY SERVICES:
A PROPOSAL.

CRITICALLY EXAMINES THE INDIAN LIBRARY SCENE.
LITTLE RESEARCH.
********************************************
Document   12
XXV ALL INDIA LIBRARY CONFERENCE 14-18 MAY 1979.
     
PAPERS OF THE CONFERENCE.
********************************************
"""
LISA_QUERIES = """1
I AM INTERESTED IN NOVEL
COMPUTER ARCHITECTURES. #
2
NON-USE, LIBRARY USE. #
"""
LISA_QRELS = """Query 1
2 Relevant Refs:
3392 3396 -1

Query 2
4 Relevant Refs:
2623 4291
17 5 -1
"""


def test_npl_records_are_number_then_lines_up_to_a_slash():
    assert ev.npl_records(NPL_DOCS) == [
        ("1", "compact memories have flexible capacities  a digital data storage\nsystem is described"),
        ("2", "an electronic analogue computer")]
    # a last record whose `/` ends the file without a newline is kept
    assert [key for key, _ in ev.npl_records(NPL_QRELS)] == ["1", "2"]


def test_lisa_documents_split_title_from_abstract_at_the_first_blank_line():
    assert ev.lisa_documents(LISA_DOCS) == [
        ("1", "THE INDIAN COUNCIL OF LIBRARY SERVICES: A PROPOSAL.",
         "CRITICALLY EXAMINES THE INDIAN LIBRARY SCENE. LITTLE RESEARCH."),
        ("12", "XXV ALL INDIA LIBRARY CONFERENCE 14-18 MAY 1979.", "PAPERS OF THE CONFERENCE.")]


def test_lisa_queries_are_numbered_paragraphs_ending_in_a_hash():
    assert ev.lisa_queries(LISA_QUERIES) == [
        ("1", "I AM INTERESTED IN NOVEL COMPUTER ARCHITECTURES."), ("2", "NON-USE, LIBRARY USE.")]


def test_judgments_of_npl_and_lisa(tmp_path):
    (tmp_path / "npl").mkdir()
    (tmp_path / "npl" / "rlv-ass").write_text(NPL_QRELS, encoding="utf-8")
    (tmp_path / "lisa").mkdir()
    (tmp_path / "lisa" / "LISA.REL").write_text(LISA_QRELS, encoding="utf-8")
    assert ev.load_qrels(ev.COLLECTIONS["npl"], tmp_path) == {
        "1": {"1239": 1, "1502": 1, "7923": 1}, "2": {"414": 1}}
    assert ev.load_qrels(ev.COLLECTIONS["lisa"], tmp_path) == {
        "1": {"3392": 1, "3396": 1}, "2": {"2623": 1, "4291": 1, "17": 1, "5": 1}}


def test_lisa_documents_become_json_lines_from_its_files_in_name_order(tmp_path):
    data, work = tmp_path / "data", tmp_path / "work"
    (data / "lisa").mkdir(parents=True)
    work.mkdir()
    first, second = LISA_DOCS.split("Document   12")
    (data / "lisa" / "LISA0.501").write_text("Document   12" + second, encoding="utf-8")
    (data / "lisa" / "LISA0.001").write_text(first, encoding="utf-8")
    (data / "lisa" / "LISA.QUE").write_text(LISA_QUERIES, encoding="utf-8")  # not a document file
    out = ev.docs_file(ev.COLLECTIONS["lisa"], data, work)
    assert out.parent == work
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["title"][:9]) for r in rows] == [("1", "THE INDIA"), ("12", "XXV ALL I")]


def test_query_cases():
    queries = {"1": "What is NASA doing?"}
    assert ev.in_case(queries, "typed") == queries
    assert ev.in_case(queries, "lower") == {"1": "what is nasa doing?"}
    assert ev.in_case(queries, "upper") == {"1": "WHAT IS NASA DOING?"}
