"""Issue 22: an article's page shows its corrections (issue 20's kept versions) with the words
that changed, escaped, and /history.json is `search history --json`."""
import time

import pytest

import searchlib

from .conftest import write_records

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from searchlib.web.app import create_app  # noqa: E402

BODY = ("The council said on Monday that the bridge would reopen in March after repairs costing "
        "two million pounds, and that buses would run on the old road until then.")


def test_the_article_page_shows_its_corrections_and_the_twin_is_search_history(tmp_path, run):
    corpus = tmp_path / "corpus"
    write_records(corpus, {"bridge": {"title": "Bridge to reopen", "body": BODY, "date": "2024-01-09"}})
    with searchlib.Index(tmp_path / "index") as idx:
        idx.update([corpus], jobs=1)
        time.sleep(0.002)
        write_records(corpus, {"bridge": {"title": "Bridge to reopen", "date": "2024-01-09",
                                          "body": BODY.replace("two million", "<b>three</b> million")}})
        idx.update([corpus], jobs=1)
        article_id = idx.search("bridge").hits[0].id
    with TestClient(create_app(tmp_path / "index"), base_url="http://127.0.0.1") as client:
        page = client.get("/article", params={"id": article_id}).text
        twin = client.get("/history.json", params={"id": article_id}).text
    assert "Corrections" in page and "(2 versions)" in page
    assert "<del>two</del>" in page and "<ins>&lt;b&gt;three&lt;/b&gt;</ins>" in page
    assert "<b>three</b>" not in page
    cli = run("--index", str(tmp_path / "index"), "history", article_id, "--json")
    assert cli.exit_code == 0, cli.output
    assert twin == cli.output
