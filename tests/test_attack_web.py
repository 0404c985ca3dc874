"""Attacks on the web page: a watches file edited by hand must not take the article page down
(the article is what was asked for), and the Host check must not be fooled by a Host header
that only starts like a local one."""
from __future__ import annotations

import json

import pytest

from .conftest import index_of

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from searchlib.web.app import create_app  # noqa: E402

ALPHA = "corpus/fixture.jsonl#alpha"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("webattack")
    with index_of(folder) as idx:
        idx.watches.add("floods", "flood")
    return folder


def test_a_broken_watches_file_leaves_the_article_page_up(folder, tmp_path):
    path = folder / "index" / "watches.json"
    kept = path.read_text(encoding="utf-8")
    data = json.loads(kept)
    data["watches"]["bad"] = dict(data["watches"]["floods"], name="bad", since=5)
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
            response = client.get("/article", params={"id": ALPHA})
    finally:
        path.write_text(kept, encoding="utf-8")
    assert response.status_code == 200
    assert "<h1>Alpha river flood</h1>" in response.text.replace("\n", "")
    assert "the watches that match it could not be read" in response.text


@pytest.mark.parametrize("host", ["127.0.0.1:80@evil.com", "localhost:evil", "[::1]evil.com",
                                  "127.0.0.1:", "localhost:80:80", "evil.com", "127.0.0.1.evil.com"])
def test_a_host_that_only_starts_like_a_local_one_gets_400(folder, host):
    with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
        response = client.get("/", params={"q": "flood"}, headers={"Host": host})
    assert response.status_code == 400, host
    assert response.text == "unknown Host header"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost", "LOCALHOST:8000",
                                  "[::1]", "[::1]:8000"])
def test_the_local_hosts_are_answered(folder, host):
    with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
        response = client.get("/", params={"q": "flood"}, headers={"Host": host})
    assert response.status_code == 200, host
