"""scripts/ingest_quality.py on a tiny hand-written stand-in for ../shared/corpora: its exit
status says whether every target was met."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ingest_quality.py"
PROSE = ("The council voted on Tuesday to rebuild the harbour wall, which storms damaged last winter, "
         "and the work will start in the spring, officials said.")


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("ingest_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpora(root: Path, expected_title: str) -> Path:
    def write(relative: str, text: str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    page = ('<html><head><meta property="og:title" content="Wall to be rebuilt">'
            '<meta property="article:published_time" content="2022-09-06T10:00:00Z"></head>'
            f'<body><article><p>{PROSE}</p><p>{PROSE.replace("harbour", "river")}</p></article></body></html>')
    write("html/newspaper3k-tests/html/gazette.html", page)
    write("html/newspaper3k-tests/text/gazette.txt", f"{PROSE}\n\n{PROSE.replace('harbour', 'river')}\n")
    write("html/readability-test-pages/gazette/source.html", page)
    write("html/readability-test-pages/gazette/expected-metadata.json",
          json.dumps({"title": expected_title, "publishedTime": "2022-09-06T10:00:00Z"}))
    write("reuters21578/reut2-000.sgm", '<REUTERS NEWID="1"><DATE>26-FEB-1987 15:01:01.79</DATE>'
                                        "<TEXT><TITLE>WALL</TITLE><BODY>Rebuilt.</BODY></TEXT></REUTERS>\n")
    write("bbc/business/001.txt", f"Wall to be rebuilt\n\n{PROSE}\n")
    write("newsarticles_dai2017/NewsArticles.csv", "article_id,publish_date,article_source_link,title,subtitle,text\n"
          f'1,2017/02/07,http://www.gazette.example/a/1,Wall,,"{PROSE}"\n')
    return root


def test_exit_status_is_0_when_every_target_is_met(quality, tmp_path, capsys):
    assert quality.main(["--corpora", str(corpora(tmp_path, "Wall to be rebuilt"))]) == 0
    out = capsys.readouterr().out
    assert "  title             1/1   = 100.0%  (target >= 90%)\n" in out
    assert out.endswith("\ntargets: all met\n")


def test_exit_status_is_1_when_a_target_is_missed(quality, tmp_path, capsys):
    assert quality.main(["--corpora", str(corpora(tmp_path, "Another title"))]) == 1
    assert capsys.readouterr().out.endswith("\ntargets: missed: title match\n")


def test_exit_status_is_2_without_corpora(quality, tmp_path, capsys):
    assert quality.main(["--corpora", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err == f"no corpora at {tmp_path / 'none'}\n"
