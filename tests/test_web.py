"""The web page (`search serve`, searchlib.web) through Starlette's TestClient: its pages, their
JSON twins (equal to the CLI's --json), hostile article fields rendered inert, the security
headers, nothing written, the CLI's query bounds, the whole state in the URL, new commits seen
without a restart, and the `serve` command's errors."""
from __future__ import annotations

import json
import os
import re
import socket
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

pytest.importorskip("starlette")  # the web extra (installed by the test extra)
from starlette.testclient import TestClient  # noqa: E402

import searchlib  # noqa: E402
from searchlib import cli as searchlib_cli  # noqa: E402
from searchlib.web import app as web_app  # noqa: E402
from searchlib.web import create_app  # noqa: E402

from .conftest import RECORDS, index_of, write_records  # noqa: E402
from .test_untrusted import ESCAPES  # noqa: E402

ALPHA = "corpus/fixture.jsonl#alpha"
ALPHA_Q = "corpus/fixture.jsonl%23alpha"  # in a URL (a bare # starts the fragment)
PAGE_FACETS = [a for name in web_app.DEFAULT_FACETS for a in ("--facet", name)] + ["--timeline"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(client, index folder) over the conftest fixture articles."""
    folder = tmp_path_factory.mktemp("web")
    with index_of(folder):
        pass
    with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
        yield client, folder / "index"


def cli_json(run, *args) -> str:
    result = run(*args)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


# --- pages ----------------------------------------------------------------------------------

def test_results_page_shows_marked_hits_counts_partial_note_and_facets(site):
    client, _ = site
    page = client.get("/", params={"q": "river flood"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    # titles and snippets with the matches marked (stems too: flood marks "flooded")
    assert '<a class="title" href="/article?id=corpus%2Ffixture.jsonl%23alpha&amp;q=river+flood">' \
           'Alpha <mark>river</mark> <mark>flood</mark></a>' in html
    assert "The <mark>river</mark> <mark>flooded</mark> the valley town overnight." in html
    assert "5 matching articles" in html
    # 2 articles have both words: the note comes between them and the partial matches
    note = html.index('<p class="partial-note">only 2 articles have all the words; the best partial matches follow</p>')
    assert html.index("Delta <mark>flood</mark>") < note < html.index("Epsilon valley <mark>river</mark>")
    assert '<li><a href="/?q=river+flood+source%3A%22North+Desk%22">North Desk</a> <span class="n">3</span></li>' in html
    # the timeline: Sept 2022 to Jan 2023 by month, zeros included, then the undated bar
    labels = re.findall(r'class="bar(?: empty)?" data-label="([^"]+)"', html)
    assert labels == ["2022-09", "2022-10", "2022-11", "2022-12", "2023-01", "undated"]


def test_did_you_mean_is_a_link_and_pages_link_on(site):
    client, _ = site
    html = client.get("/", params={"q": "rivr"}).text
    assert 'Did you mean <a href="/?q=river">river</a>?' in html
    html = client.get("/", params={"q": "valley", "limit": "2"}).text
    assert "4 matching articles (showing 1–2)" in html
    assert '<a rel="next" href="/?q=valley&amp;limit=2&amp;page=2">next ›</a>' in html
    second = client.get("/", params={"q": "valley", "limit": "2", "page": "2"}).text
    assert "4 matching articles (showing 3–4)" in second and 'rel="prev" href="/?q=valley&amp;limit=2"' in second


def test_article_page_shows_every_field_the_whole_body_marked_and_similar_articles(site):
    client, _ = site
    html = client.get("/article", params={"id": ALPHA, "q": "flood"}).text
    assert "<h1>Alpha river <mark>flood</mark></h1>" in html
    assert '<div class="body">The river <mark>flooded</mark> the valley town overnight.</div>' in html
    for name, value in (("author", "Ann Lee"), ("source", "North Desk"), ("tags", "floods"),
                        ("date", "2022-09-06T11:50:00Z"), ("id", ALPHA)):
        assert f"<dt>{name}</dt><dd>{value}</dd>" in html
    assert "Similar articles" in html and "Delta flood warning issued" in html
    missing = client.get("/article", params={"id": "corpus/nothing#1"})
    assert missing.status_code == 404 and "corpus/nothing#1" in missing.text


def test_marks_cover_the_whole_text_stems_and_phrases(site):
    _, index_dir = site
    with searchlib.Index(index_dir, create=False) as idx:
        article = idx.get("corpus/fixture.jsonl#delta")
        marks = idx.marks("corpus/fixture.jsonl#delta", '"river valley" flooding')
        assert [article.body[s:e] for s, e in marks["body"]] == ["flood", "river valley"]
        assert [article.title[s:e] for s, e in marks["title"]] == ["flood"]
        assert marks["summary"] == []
        with pytest.raises(searchlib.ArticleNotFoundError):
            idx.marks("corpus/nothing#1", "flood")


def test_help_and_stats_pages(site):
    client, _ = site
    assert "<code>date:[2022-09-01 TO 2022-09-30]</code>" in client.get("/help").text
    stats = client.get("/stats").text
    assert re.search(r"articles  5 from 1 files \(1 undated\)", stats)
    home = client.get("/").text
    assert "5 articles." in home and 'id="q"' in home


# --- JSON twins: what the CLI's --json prints -------------------------------------------------

def test_search_json_equals_the_clis_json_for_the_same_search(site, run):
    client, index_dir = site
    for params, args in (
            ({"q": "river flood"}, ["river flood"]),
            ({"q": "valley", "since": "2022-09", "until": "2022-12", "sort": "newest", "limit": "2",
              "page": "2", "snippets": "2"},
             ["valley", "--since", "2022-09", "--until", "2022-12", "--sort", "newest", "--limit",
              "2", "--page", "2", "--snippets", "2"]),
            ({"q": "flood", "fresh": "1"}, ["flood", "--fresh"])):
        twin = client.get("/search.json", params=params)
        assert twin.headers["content-type"] == "application/x-ndjson; charset=utf-8"
        cli = cli_json(run, *args, *PAGE_FACETS, "--json", "--index", str(index_dir))
        assert twin.text == cli
        assert json.loads(twin.text.splitlines()[-1])["facets"]["date"]  # the timeline is in both
    # the page names that command, and its JSON link is this twin
    html = client.get("/", params={"q": "river flood"}).text
    assert "<code>search &#39;river flood&#39; --facet source --facet section --facet year --timeline</code>" in html
    assert '<a href="/search.json?q=river+flood">JSON</a>' in html


def test_the_terminal_command_shown_runs_as_shown(site, run):
    """The command a results page names is quoted for a shell, and a query that is a command's
    name or starts with - is put where the CLI reads it as a query."""
    import shlex
    client, index_dir = site
    for q, shown in (('"river valley" date:>=2022-09', """search '"river valley" date:>=2022-09' --since 2022"""),
                     ("stats", "search query stats --since 2022"),
                     ("-election valley", "search --since 2022 --facet source --facet section --facet year "
                                          "--timeline -- '-election valley'")):
        html = client.get("/", params={"q": q, "since": "2022"}).text
        (code,) = re.findall(r"In the terminal: <code>([^<]+)</code>", html)
        command = code.replace("&#39;", "'").replace("&#34;", '"').replace("&gt;", ">").replace("&amp;", "&")
        assert command.startswith(shown), command
        args = shlex.split(command)[1:]
        twin = client.get("/search.json", params={"q": q, "since": "2022"}).text
        assert cli_json(run, "--json", "--index", str(index_dir), *args) == twin
    for name in searchlib_cli.cli.commands:  # whatever commands the CLI has now
        assert web_app.State(q=name).cli_args()[:2] == ["query", name]
    assert web_app.State(q="Flood").cli_args()[0] == "Flood"


def test_each_hit_shows_its_date_source_section_and_author(site):
    client, _ = site
    html = client.get("/", params={"q": "alpha"}).text
    assert '<p class="meta">2022-09-06T11:50:00Z · <span class="source">North Desk</span> · Weather · Ann Lee · ' \
           '<span class="id">corpus/fixture.jsonl#alpha</span></p>' in html


def test_a_language_filter_is_in_the_url_the_form_and_the_twin_as_with_lang(site, run):
    client, index_dir = site
    english = client.get("/", params={"q": "valley", "lang": "en-US"}).text
    assert "4 matching articles · language en-US" in english
    assert '<input type="hidden" name="lang" value="en-US">' in english
    assert '<a class="clear-lang" href="/?q=valley">all languages</a>' in english
    assert "--lang en-US" in english
    assert "0 matching articles" in client.get("/", params={"q": "valley", "lang": "de,fr"}).text
    for lang in ("en-US", "de,fr"):
        twin = client.get("/search.json", params={"q": "valley", "lang": lang}).text
        assert twin == cli_json(run, "valley", "--lang", lang, *PAGE_FACETS, "--json", "--index", str(index_dir))
    bad = client.get("/", params={"q": "valley", "lang": "zz"})
    assert bad.status_code == 400 and "bad argument lang=" in bad.text
    assert web_app.State(q="a", lang="de").url(page=2) == "/?q=a&lang=de&page=2"


def test_article_similar_and_stats_json_equal_the_clis(site, run):
    client, index_dir = site
    where = ["--index", str(index_dir)]
    assert client.get("/article.json", params={"id": ALPHA}).text == cli_json(run, "show", ALPHA, "--json", *where)
    assert client.get("/similar.json", params={"id": ALPHA}).text == cli_json(run, "similar", ALPHA, "--json", *where)
    assert client.get("/similar.json", params={"id": ALPHA, "limit": "2"}).text == \
        cli_json(run, "similar", ALPHA, "--limit", "2", "--json", *where)
    assert client.get("/stats.json").text == cli_json(run, "stats", "--json", *where)


def test_json_errors_are_one_json_object_with_the_clis_message(site, run):
    client, index_dir = site
    twin = client.get("/search.json", params={"q": "oil~abc"})
    cli = run("oil~abc", "--index", str(index_dir))
    assert twin.status_code == 400 and cli.exit_code == 2
    assert cli.stderr == f"search: error: {json.loads(twin.text)['error']}\n"
    assert client.get("/article.json", params={"id": "nope"}).status_code == 404


# --- hostile articles -------------------------------------------------------------------------

HOSTILE = {
    "evil": {"title": "<script>alert('t')</script> harbour <img src=x onerror=alert(1)>",
             "body": "The harbour fire </div><script>alert('b')</script><iframe src=//evil.example> "
                     "\"><svg onload=alert(2)> burned overnight.",
             "summary": "<a href=\"javascript:alert(3)\">harbour summary</a>",
             "source": "\"><b onmouseover=alert(4)>Desk", "section": "<style>body{display:none}</style>",
             "author": "Eve <marquee>", "url": "javascript:alert(5)", "date": "2022-09-06",
             "tags": ["<img src=y onerror=alert(6)>", "harbour"]},
    "escapes": {**ESCAPES, "date": "2022-09-07"},
    "linked": {"title": "Harbour link", "body": "Harbour ferries.", "url": "https://news.example/a?x=1&y=\"2\"",
               "date": "2022-09-08"},
}
ALLOWED_TAGS = {"html", "head", "meta", "title", "link", "script", "body", "header", "a", "form",
                "input", "select", "option", "label", "button", "main", "footer", "div", "section",
                "p", "code", "ol", "li", "h1", "h2", "h3", "mark", "span", "figure", "svg", "g",
                "rect", "figcaption", "nav", "aside", "ul", "article", "dl", "dt", "dd", "pre",
                "table", "thead", "tbody", "tr", "th", "td", "em", "kbd", "strong"}


class Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's parser would see them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    with index_of(folder, HOSTILE):
        pass
    with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
        yield client


def hostile_pages(client) -> list[str]:
    urls = ["/?q=harbour", "/?q=harbour&facet=tags&facet=author&facet=section&facet=source",
            "/?q=harbour+alert", "/?q=%3Cscript%3E"]
    pages = [client.get(url) for url in urls]
    # the articles as the results link them (an article's id is its URL where it has one)
    links = re.findall(r'<a class="title" href="([^"]+)">', pages[0].text)
    assert len(links) == len(HOSTILE)
    pages += [client.get(link.replace("&amp;", "&")) for link in links]
    assert all(page.status_code == 200 for page in pages), [p.status_code for p in pages]
    return [page.text for page in pages]


def test_every_hostile_field_renders_inert(hostile):
    for html in hostile_pages(hostile):
        parser = Tags()
        parser.feed(html)
        for tag, attrs in parser.tags:
            assert tag in ALLOWED_TAGS, (tag, attrs)
            assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
            if tag == "script":
                assert attrs == {"src": "/static/app.js", "defer": None}
            for name in ("href", "src", "action"):
                value = (attrs.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "//")), (tag, attrs)
        assert "\x1b" not in html and "\u202e" not in html and "\r" not in html
    article = hostile.get("/article", params={"id": "javascript:alert(5)", "q": "harbour"}).text  # its URL
    # shown as text, escaped, not dropped; the javascript: URL is not a link
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; <mark>harbour</mark> &lt;img src=x onerror=alert(1)&gt;" in article
    assert "<dt>url</dt><dd>javascript:alert(5)</dd>" in article
    escapes = hostile.get("/article", params={"id": "corpus/fixture.jsonl#escapes"}).text
    assert "\\x1b[31mfire" in escapes and "\\u202eevil" in escapes  # made visible as in the terminal
    linked = hostile.get("/article", params={"id": HOSTILE["linked"]["url"]}).text
    assert '<a href="https://news.example/a?x=1&amp;y=&#34;2&#34;" rel="noopener noreferrer nofollow">' in linked


def test_a_hostile_facet_value_becomes_a_quoted_filter_that_works(hostile):
    html = hostile.get("/", params={"q": "harbour", "facet": "source"}).text
    (href,) = re.findall(r'<a href="([^"]+)">&#34;&gt;&lt;b onmouseover=alert\(4\)&gt;Desk</a>', html)
    narrowed = hostile.get(href.replace("&amp;", "&"))
    assert "1 matching article" in narrowed.text


# --- headers, methods, writes ------------------------------------------------------------------

def test_every_response_carries_the_content_security_policy(site):
    client, _ = site
    for url in ("/", "/?q=flood", "/search.json?q=flood", f"/article?id={ALPHA_Q}", "/static/app.js",
                "/static/style.css", "/help", "/stats", "/nothing-here", "/?q=oil~abc"):
        response = client.get(url)
        assert response.headers["content-security-policy"].startswith("default-src 'self';"), url
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    html = client.get("/?q=flood").text  # nothing inline for the policy to block
    assert "<style" not in html and " style=" not in html and re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/app.js" defer>']


def test_only_get_and_nothing_is_written(site):
    client, index_dir = site
    root = index_dir.parent

    def snapshot():
        return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
                for p in sorted(root.rglob("*"))}

    before = snapshot()
    for url in ("/", "/?q=flood&facet=author", "/search.json?q=river", f"/article?id={ALPHA_Q}&q=river",
                f"/article.json?id={ALPHA_Q}", f"/similar.json?id={ALPHA_Q}", "/stats", "/stats.json", "/help"):
        assert client.get(url).status_code == 200, url
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/?q=flood").status_code == 405
        assert getattr(client, method)("/search.json?q=flood").status_code == 405
    assert snapshot() == before


def test_a_foreign_host_header_is_refused(site):
    client, _ = site
    assert client.get("/?q=flood", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/?q=flood", headers={"host": "localhost:8000"}).status_code == 200
    assert client.get("/?q=flood", headers={"host": "[::1]:8000"}).status_code == 200


# --- the CLI's bounds ------------------------------------------------------------------------

def test_query_bounds_apply(site):
    client, _ = site
    too_long = client.get("/", params={"q": "flood " * 700})
    assert too_long.status_code == 400 and "characters long; the most is 4,096 characters" in too_long.text
    for params, words in (({"q": "flood", "limit": "101"}, "limit"), ({"q": "flood", "limit": "0"}, "limit"),
                          ({"q": "flood", "page": "0"}, "page"), ({"q": "flood", "page": "x"}, "page"),
                          ({"q": "flood", "limit": "\u00b2"}, "limit"),  # a digit to isdigit(), not to int()
                          ({"q": "flood", "page": "9" * 5000}, "page"),  # past int()'s digit limit
                          ({"q": "flood", "page": "1001"}, "at most the first 10,000 hits"),
                          ({"q": "flood", "snippets": "21"}, "snippets"),
                          ({"q": "flood", "facet": "colour"}, "facet"),
                          ({"q": "flood", "sort": "random"}, "sort"),
                          ({"q": "flood", "since": "someday"}, "someday"),
                          ({"q": "flood", "since": "2023", "until": "2022"}, "swap the two dates")):
        page = client.get("/", params=params)
        assert page.status_code == 400 and words in page.text, (params, page.text[-600:])
        twin = client.get("/search.json", params=params)
        assert twin.status_code == 400 and words in json.loads(twin.text)["error"]
    similar = client.get("/similar.json", params={"id": ALPHA, "limit": "\u00b2"})
    assert similar.status_code == 400 and "limit" in json.loads(similar.text)["error"]


# --- the state in the URL --------------------------------------------------------------------

def follow(client, html: str, pattern: str) -> str:
    (href,) = re.findall(pattern, html)
    return client.get(href.replace("&amp;", "&")).text


def test_facets_add_and_remove_filters_through_the_url(site):
    client, _ = site
    start = client.get("/", params={"q": "valley"}).text
    assert "4 matching articles" in start and 'data-facet="tags"' not in start
    start = follow(client, start, r'<a href="([^"]+)">tags</a>')  # "more facets": tags
    assert 'data-facet="tags"' in start and 'data-facet="source"' in start
    narrowed = follow(client, start, r'<a href="([^"]+)">Weather</a>')
    assert "2 matching articles" in narrowed and 'value="valley section:&#34;Weather&#34;"' in narrowed
    tagged = follow(client, narrowed, r'<a href="([^"]+)">floods</a>')  # a list field
    assert "1 matching article" in tagged and "Alpha river flood" in tagged
    back = follow(client, narrowed, r'<a class="on" href="([^"]+)" title="remove this filter">✕ Weather</a>')
    assert "4 matching articles" in back


def test_a_timeline_bar_narrows_the_dates_and_the_state_round_trips(site):
    client, _ = site
    html = client.get("/", params={"q": "valley"}).text
    (href,) = re.findall(r'<a href="([^"]+)" class="bar" data-label="2022-09">', html)
    assert dict(parse_qsl(urlsplit(href.replace("&amp;", "&")).query)) == {
        "q": "valley", "since": "2022-09", "until": "2022-09"}
    september = client.get(href.replace("&amp;", "&")).text
    assert "2 matching articles" in september and "Beta election result" in september
    state = web_app.State(q="a b", since="2022", until="2023-01", lang="de,fr", sort="oldest", fresh=True,
                          all_copies=True, page=3, limit=5, snippets=2, facets=("author", "month"))
    url = state.url(page=3)

    class Params(dict):
        def getlist(self, name):
            return [v for k, v in parse_qsl(urlsplit(url).query) if k == name]

    assert web_app.State.from_query(Params(parse_qsl(urlsplit(url).query))) == state
    assert web_app.bucket_window("2020s") == ("2020", "2029")
    assert web_app.bucket_window("1900-1999") == ("1900", "1999")
    assert web_app.bucket_window("undated") is None


def test_new_commits_are_seen_without_a_restart(tmp_path):
    index_of(tmp_path).close()
    with TestClient(create_app(tmp_path / "index"), base_url="http://127.0.0.1") as client:
        assert "No article" not in client.get("/", params={"q": "lighthouse"}).text
        assert json.loads(client.get("/search.json", params={"q": "lighthouse"}).text)["total"] == 0
        write_records(tmp_path / "corpus", {**RECORDS, "zeta": {"title": "Lighthouse keeper retires",
                                                                 "body": "The lighthouse goes dark."}})
        with searchlib.Index(tmp_path / "index") as writer:
            writer.update([tmp_path / "corpus"], jobs=1)
        assert json.loads(client.get("/search.json", params={"q": "lighthouse"}).text.splitlines()[-1])["total"] == 1
        assert "<mark>Lighthouse</mark> keeper retires" in client.get("/", params={"q": "lighthouse"}).text


def test_a_rebuild_swapped_in_under_the_page_is_seen_without_a_restart(tmp_path):
    from searchlib.index import rebuild_index
    index_of(tmp_path).close()
    with TestClient(create_app(tmp_path / "index"), base_url="http://127.0.0.1") as client:
        assert json.loads(client.get("/search.json", params={"q": "lighthouse"}).text)["total"] == 0
        write_records(tmp_path / "corpus", {"zeta": {"title": "Lighthouse keeper retires",
                                                      "body": "The lighthouse goes dark."}})
        rebuild_index(tmp_path / "index", [tmp_path / "corpus"], jobs=1)
        last = json.loads(client.get("/search.json", params={"q": "lighthouse OR valley"}).text.splitlines()[-1])
        assert last["total"] == 1  # the new index alone: the old articles went with the old one
        assert "<p>1 article. Type words" in client.get("/").text


# --- search serve --------------------------------------------------------------------------

def test_serve_says_where_it_listens_and_warns_beyond_localhost(site, run, monkeypatch):
    _, index_dir = site
    import uvicorn
    served = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: served.append(sockets[0].getsockname()))
    local = run("serve", "--index", str(index_dir), "--port", "0")
    assert local.exit_code == 0, local.output
    port = served[-1][1]
    assert local.stderr == f"serving the index at http://127.0.0.1:{port}/, to this machine only (Ctrl-C stops)\n" and local.stdout == ""
    wide = run("serve", "--index", str(index_dir), "--host", "0.0.0.0", "--port", "0")
    assert wide.exit_code == 0 and served[-1][0] == "0.0.0.0"
    assert wide.stderr.startswith(f"serving the index at http://0.0.0.0:{served[-1][1]}/ (Ctrl-C stops)\n"
                                  "search: warning: listening beyond this machine")


def test_serve_errors_are_one_line_and_exit_2(site, run, monkeypatch, tmp_path):
    _, index_dir = site
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = run("serve", "--index", str(index_dir), "--port", str(port))
    assert busy.exit_code == 2
    assert busy.stderr == f"search: error: cannot listen on 127.0.0.1:{port}: the port is taken; choose another with --port\n"
    missing = run("serve", "--index", str(tmp_path / "none"), "--port", "0")
    assert missing.exit_code == 2 and missing.stderr.startswith("search: error: no index at ")
    assert not (tmp_path / "none").exists()
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # the web extra not installed
    bare = run("serve", "--index", str(index_dir), "--port", "0")
    assert (bare.exit_code, bare.stderr) == (2, "search: error: the web page needs uvicorn, which is not "
                                                "installed; install it with: pip install 'searchlib[web]'\n")


def test_the_package_ships_its_templates_and_static_files():
    root = Path(web_app.__file__).parent
    assert {p.name for p in (root / "static").iterdir()} >= {"app.js", "style.css"}
    assert {p.name for p in (root / "templates").iterdir()} >= {"base.html", "results.html", "article.html"}
    setup = (Path(__file__).resolve().parents[1] / "setup.cfg").read_text(encoding="utf-8")
    assert "searchlib.web = templates/*.html, static/*.css, static/*.js" in setup
    assert os.path.getsize(root / "static" / "app.js") < 8_000  # our own small script, nothing vendored


# --- stories: copies of one article in other outlets ------------------------------------------

@pytest.fixture(scope="module")
def stories(tmp_path_factory):
    from .test_stories import RECORDS as STORY_RECORDS
    folder = tmp_path_factory.mktemp("stories")
    with index_of(folder, STORY_RECORDS):
        pass
    with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
        yield client, folder / "index"


def test_a_story_is_one_hit_with_its_other_outlets_and_every_copy_is_a_click_away(stories, run):
    client, index_dir = stories
    html = client.get("/", params={"q": "+Tamsin +Marlow"}).text
    assert "6 matching articles in 2 stories" in html
    assert html.count('<p class="copies">') == 1
    (href, note) = re.findall(r'<p class="copies"><a href="([^"]+)">([^<]+)</a></p>', html)[0]
    assert note == "+4 other outlets (Evening News, The Courier, Daily Post, …)"
    assert href.endswith("#copies") and href.startswith("/article?id=")
    (every,) = re.findall(r'<a class="all-copies" href="([^"]+)">every copy</a>', html)
    assert every == "/?q=%2BTamsin+%2BMarlow&amp;all_copies=1"
    flat = client.get(every.replace("&amp;", "&")).text
    assert "6 matching articles" in flat and flat.count('<li class="hit') == 6
    assert '<input type="hidden" name="all_copies" value="1">' in flat
    assert "--all-copies" in flat and '<a class="all-copies" href="/?q=%2BTamsin+%2BMarlow">one hit per story</a>' in flat
    for params, args in (({"q": "+Tamsin +Marlow"}, []), ({"q": "+Tamsin +Marlow", "all_copies": "1"}, ["--all-copies"])):
        twin = client.get("/search.json", params=params).text
        assert twin == cli_json(run, "+Tamsin +Marlow", *args, *PAGE_FACETS, "--json", "--index", str(index_dir))


def test_the_article_page_lists_the_storys_copies_and_its_twin_is_search_copies(stories, run):
    client, index_dir = stories
    first = json.loads(client.get("/search.json", params={"q": "+Tamsin +Marlow"}).text.splitlines()[0])
    html = client.get("/article", params={"id": first["id"], "q": "Tamsin"}).text
    section = html[html.index('<section class="copies" id="copies">'):]
    section = section[:section.index("</section>")]
    assert "<h2>Copies in other outlets <span class=\"n\">(5)</span></h2>" in section
    items = re.findall(r"<li>(.*?)</li>", section, re.S)
    assert len(items) == 5 and "first published" in items[0]
    assert sum("this article" in item for item in items) == 1
    assert any("headline: Hundreds flee as Marlow floods" in item for item in items)
    links = re.findall(r'<a href="(/article\?[^"]+)">', section)
    assert len(links) == 4  # every copy but this one
    other = client.get(links[0].replace("&amp;", "&"))
    assert other.status_code == 200 and '<section class="copies" id="copies">' in other.text
    twin = client.get("/copies.json", params={"id": first["id"]}).text
    assert twin == cli_json(run, "copies", first["id"], "--json", "--index", str(index_dir))
    lone = json.loads(client.get("/search.json", params={"q": "+Tamsin +Marlow"}).text.splitlines()[1])
    assert lone["copies"] == 1
    assert 'id="copies"' not in client.get("/article", params={"id": lone["id"]}).text
    assert client.get("/copies.json", params={"id": "no/such#id"}).status_code == 404
