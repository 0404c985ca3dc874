"""Doubts about indexed articles (a guessed encoding, a page cut off, no date) reach the
UpdateReport as warnings, with file, record and reason; they do not make a run fail."""
import json
from pathlib import Path

import searchlib
from searchlib.ingest.corpus import Flagged

ENCODING_GUESS = "encoding: not valid UTF-8 and no charset declared: decoded as Windows-1252 (a guess)"
CUT_OFF = "truncated page: it opens <html> or <body> but ends without closing either (a truncated file?)"
PROSE = "The council voted on Tuesday to rebuild the harbour wall, which storms damaged last winter."
SGML = """<REUTERS NEWID="1"><DATE>26-FEB-1987 15:01:01.79</DATE><TEXT><TITLE>FIRST</TITLE>
<BODY>Plain text.</BODY></TEXT></REUTERS>
<REUTERS NEWID="2"><DATE>26-FEB-1987 15:02:01.79</DATE><TEXT><TITLE>SECOND</TITLE>
<BODY>A caf\xe9 byte.</BODY></TEXT></REUTERS>
<REUTERS NEWID="3"><DATE>26-FEB-1987 15:03:01.79</DATE><TEXT><TITLE>THIRD</TITLE>
<BODY>Plain text.</BODY></TEXT></REUTERS>
"""


def corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "dated.json").write_text(json.dumps({"title": "Dated", "body": PROSE, "date": "2022-09-06"}),
                                       encoding="utf-8")
    (folder / "undated.txt").write_text(f"Undated\n\n{PROSE}", encoding="utf-8")
    (folder / "legacy.json").write_bytes(
        json.dumps({"title": "Caf\u00e9", "body": PROSE, "date": "2022-09-07"}, ensure_ascii=False).encode("cp1252"))
    (folder / "cut.html").write_text("<html><head><meta property='article:published_time' content='2022-09-08'>"
                                     f"<title>Cut</title></head><body><p>{PROSE}</p><p>The rest was lo",
                                     encoding="utf-8")
    (folder / "wire.jsonl").write_text('{"id": "a", "title": "With date", "date": "2022-09-06"}\n'
                                       '{"id": "b", "title": "Without"}\n', encoding="utf-8")
    # a big Reuters file with one stray byte, in record 2
    (folder / "reut2-017.sgm").write_bytes(SGML.encode("latin-1") + b"\n" * 5000)
    return folder


def test_update_reports_each_doubtful_article_and_stays_ok(tmp_path):
    folder = corpus(tmp_path / "c").resolve()
    report = searchlib.Index(tmp_path / "ix").update([folder])
    assert (report.articles, report.skipped, report.ok) == (9, [], True)
    assert report.warnings == [
        Flagged(folder / "cut.html", CUT_OFF),
        Flagged(folder / "legacy.json", ENCODING_GUESS),
        Flagged(folder / "reut2-017.sgm", "encoding: 1 byte not valid UTF-8: read as Windows-1252 (a guess)", "2"),
        Flagged(folder / "undated.txt", "no date"),
        Flagged(folder / "wire.jsonl", "no date", "b"),
    ]
    assert [w.kind for w in report.warnings] == ["truncated page", "encoding", "encoding", "no date", "no date"]
    assert str(report.warnings[2]) == (f"{folder / 'reut2-017.sgm'} [2]: encoding: 1 byte not valid UTF-8: "
                                       "read as Windows-1252 (a guess)")
    assert json.loads(json.dumps(report.to_dict()))["warnings"] == [
        {"path": str(folder / "cut.html"), "record": None, "reason": CUT_OFF},
        {"path": str(folder / "legacy.json"), "record": None, "reason": ENCODING_GUESS},
        {"path": str(folder / "reut2-017.sgm"), "record": "2",
         "reason": "encoding: 1 byte not valid UTF-8: read as Windows-1252 (a guess)"},
        {"path": str(folder / "undated.txt"), "record": None, "reason": "no date"},
        {"path": str(folder / "wire.jsonl"), "record": "b", "reason": "no date"},
    ]
    # the doubtful articles are searchable all the same; unchanged files are not re-read or re-reported
    idx = searchlib.Index(tmp_path / "ix")
    assert idx.search("caf\u00e9").total == 2 and idx.search("without").total == 1
    again = idx.update([folder])
    assert (again.unchanged, again.warnings, again.to_dict()["warnings"]) == (6, [], [])


def test_warnings_are_the_same_when_workers_parse(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    for i in range(20):  # enough files for worker processes (indexing.PARALLEL_FROM)
        (folder / f"{i:02}.txt").write_text(f"Story {i}\n\n{PROSE}", encoding="utf-8")
    reports = [searchlib.Index(tmp_path / f"ix{jobs}").update([folder], jobs=jobs) for jobs in (1, 2)]
    assert [[(w.path.name, w.reason) for w in r.warnings] for r in reports] == [
        [(f"{i:02}.txt", "no date") for i in range(20)]] * 2


def test_rebuild_reports_warnings_too(tmp_path):
    folder = corpus(tmp_path / "c")
    idx = searchlib.Index(tmp_path / "ix")
    idx.update([folder])
    report = idx.update([folder], rebuild=True)
    assert len(report.warnings) == 5 and report.ok
