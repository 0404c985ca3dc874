"""The web application: a results page, an article page and their JSON twins, GET only.

Stage: presentation. Each page reads its whole state from the URL (`/?q=…&since=…&page=2`), makes
the library calls a CLI command would make (`Index.search`, `get`, `marks`, `similar`, `stats`)
and renders them with Jinja2 (autoescaped) and `render`, which the CLI uses too; a JSON twin
(`/search.json`, `/article.json`, `/similar.json`, `/stats.json`) prints exactly what the CLI's
`--json` prints for the same request. Article text is hostile: every field is escaped, made
visible as the terminal shows it (`render.safe`), and links only to http(s) URLs; a strict
Content-Security-Policy forbids inline script and style, and the Host header is checked, so a
page elsewhere cannot read a local archive through DNS rebinding. Nothing here writes: the index
is opened read-only, once, and its searcher follows new commits (the cron job's) by itself.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import render, settings
from ..errors import ArgumentError, ArticleNotFoundError, SearchlibError
from ..index import Index
from ..querying.facets import DATE_FACETS, FACETS, NONE, UNDATED
from ..querying.searching import SORTS

HERE = Path(__file__).parent
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_HOST = re.compile(r"(?:\[([0-9a-f:.]+)\]|([^:\[\]@/\s]+))(?::[0-9]{1,5})?")  # host[:port]
# The facet panel's fields unless the URL names others (`facet=author&facet=places`): the cheap
# ones. A keyword field (tags, topics, …) is counted over its whole word list, tens of ms on a
# newswire each, so it is one click away ("more facets") rather than in every search as you type.
DEFAULT_FACETS = ("source", "section", "year")
MAX_LIMIT = 100         # hits on one page
MAX_SNIPPETS = 20       # passages per hit, as `search --snippets`
MAX_WINDOW = 10_000     # page × limit at most (a page deep in the hits costs a top-N that deep)
SIMILAR_SHOWN = 5       # similar articles on an article page
THREAD_SHOWN = settings.DEFAULT_LIMIT  # follow-ups on an article page (and /thread.json's default, as search thread's)
HEADERS = {
    "content-security-policy": "default-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'; object-src 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
NDJSON = "application/x-ndjson; charset=utf-8"
# A query that could be a command's name (`stats`, and any command added later) is written
# `search query WORD` in the command a results page shows, as the CLI reads it.
_COMMAND_LIKE = re.compile(r"[a-z][a-z0-9_-]*")
_YEAR_LIKE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_DECADE = re.compile(r"(\d{4})s")
_CENTURY = re.compile(r"(\d{4})-(\d{4})")
_WHOLE = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class State:
    """A results page's whole state, as its URL holds it: what `search QUERY` takes as options."""

    q: str = ""
    since: str = ""
    until: str = ""
    lang: str = ""  # language codes as `--lang` takes them (`de,fr`); checked by Index.search
    sort: str = "relevance"
    fresh: bool = False
    all_copies: bool = False  # every copy of a story, not one hit per story (`--all-copies`)
    page: int = 1
    limit: int = settings.DEFAULT_LIMIT
    snippets: int = 1
    facets: tuple[str, ...] = DEFAULT_FACETS

    @classmethod
    def from_query(cls, params) -> "State":
        """The state in a URL's query parameters; a bad value is an ArgumentError (a 400 page)."""
        facets = tuple(dict.fromkeys(params.getlist("facet"))) or DEFAULT_FACETS
        for name in facets:
            if name not in FACETS or name == "date":
                raise ArgumentError("facet", name, f"count by one of {', '.join(FACETS[:-1])}")
        sort = params.get("sort") or "relevance"
        if sort not in SORTS:
            raise ArgumentError("sort", sort, f"use one of {', '.join(SORTS)}")
        state = cls(q=params.get("q", "").strip(), since=params.get("since", "").strip(),
                    until=params.get("until", "").strip(), lang=params.get("lang", "").strip(), sort=sort,
                    fresh=params.get("fresh", "") not in ("", "0"),
                    all_copies=params.get("all_copies", "") not in ("", "0"),
                    page=_whole(params, "page", 1, 1, None),
                    limit=_whole(params, "limit", settings.DEFAULT_LIMIT, 1, MAX_LIMIT),
                    snippets=_whole(params, "snippets", 1, 1, MAX_SNIPPETS), facets=facets)
        if state.page * state.limit > MAX_WINDOW:
            raise ArgumentError("page", state.page, f"at most the first {MAX_WINDOW:,} hits are "
                                                    f"shown ({MAX_WINDOW // state.limit} pages of "
                                                    f"{state.limit}); narrow the search instead")
        return state

    def url(self, path: str = "/", **changes) -> str:
        """This state's URL, with `changes` (any change but a page's goes back to page 1)."""
        state = replace(self, **({"page": 1} | changes))
        pairs = [(name, value) for name, value in (
            ("q", state.q), ("since", state.since), ("until", state.until), ("lang", state.lang),
            ("sort", state.sort if state.sort != "relevance" else ""), ("fresh", "1" if state.fresh else ""),
            ("all_copies", "1" if state.all_copies else ""),
            ("limit", state.limit if state.limit != settings.DEFAULT_LIMIT else ""),
            ("snippets", state.snippets if state.snippets != 1 else ""),
            ("page", state.page if state.page != 1 else "")) if value != ""]
        if state.facets != DEFAULT_FACETS:
            pairs += [("facet", name) for name in state.facets]
        return f"{path}?{urlencode(pairs)}" if pairs else path

    @property
    def asked(self) -> list[str]:
        """The facets asked of the library: the panel's, then `date`, the timeline (as --timeline)."""
        return list(self.facets) + ["date"]

    def cli_args(self) -> list[str]:
        """The same search as `search` arguments: its --json prints what /search.json does."""
        args = []
        for name, value in (("--since", self.since), ("--until", self.until), ("--lang", self.lang)):
            if value:
                args += [name, value]
        if self.sort != "relevance":
            args += ["--sort", self.sort]
        if self.fresh:
            args.append("--fresh")
        if self.all_copies:
            args.append("--all-copies")
        if self.limit != settings.DEFAULT_LIMIT:
            args += ["--limit", str(self.limit)]
        if self.page != 1:
            args += ["--page", str(self.page)]
        if self.snippets != 1:
            args += ["--snippets", str(self.snippets)]
        for name in self.facets:
            args += ["--facet", name]
        args.append("--timeline")
        if self.q.startswith("-"):
            return args + ["--", self.q]
        return (["query"] if _COMMAND_LIKE.fullmatch(self.q) else []) + [self.q] + args

    def cli_command(self) -> str:
        """The same search as a command line to paste into a shell (quoted where needed)."""
        return shlex.join(["search", *self.cli_args()])


def _whole(params, name: str, default: int, least: int, most: int | None) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    # ASCII digits only, and few (str.isdigit() takes '²', which int() refuses, and int() refuses
    # more than 4,300 digits): anything else is the user's error, not a crash
    if not _WHOLE.fullmatch(raw) or int(raw) < least or (most is not None and int(raw) > most):
        span = f"from {least} to {most}" if most is not None else f"{least} or more"
        raise ArgumentError(name, raw, f"give a whole number {span}")
    return int(raw)


# --- what the templates show -----------------------------------------------------------------

def bucket_window(label: str) -> tuple[str, str] | None:
    """The since/until values that select a timeline or date-facet bucket (None: undated)."""
    if _YEAR_LIKE.fullmatch(label):
        return label, label
    if m := _DECADE.fullmatch(label):
        return m[1], str(int(m[1]) + 9)
    if m := _CENTURY.fullmatch(label):
        return m[1], m[2]
    return None


def clause(name: str, value: str) -> str:
    """The query words that keep the matches holding `value` in field `name`."""
    value = " ".join(value.replace('"', " ").split())
    return f'{name}:"{value}"'


def with_clause(q: str, words: str) -> str:
    return f"{q} {words}".strip()


def without_clause(q: str, words: str) -> str:
    return " ".join(q.replace(words, " ").split())


@dataclass
class FacetRow:
    value: str
    count: int
    href: str | None  # adds the filter (None: (none), or a date bucket outside any window)
    remove: str | None = None  # where the filter is on: the link that takes it off


@dataclass
class Panel:
    name: str
    rows: list[FacetRow] = field(default_factory=list)


def facet_panels(state: State, facets: dict) -> list[Panel]:
    panels = []
    for name in state.facets:
        panel = Panel(name)
        for value, count in facets.get(name, []):
            if name in DATE_FACETS:
                window = bucket_window(value)
                on = window is not None and window == (state.since, state.until)
                href = state.url(since=window[0], until=window[1]) if window else None
                remove = state.url(since="", until="") if on else None
            elif value == NONE:
                href = remove = None
            else:
                words = clause(name, value)
                on = words in state.q
                href = None if on else state.url(q=with_clause(state.q, words))
                remove = state.url(q=without_clause(state.q, words)) if on else None
            panel.rows.append(FacetRow(value, count, href, remove))
        panels.append(panel)
    return panels


@dataclass
class Bar:
    label: str
    count: int
    height: int
    x: int
    href: str | None


BAR_WIDTH, CHART_HEIGHT = 10, 100  # the timeline's units (its SVG viewBox)


def timeline_bars(state: State, buckets) -> list[Bar]:
    """The timeline as SVG bars (render.bar_lengths, as the terminal's); a bar links to its period."""
    bars = []
    for i, (label, count, height) in enumerate(render.bar_lengths(buckets, CHART_HEIGHT)):
        window = bucket_window(label) if label != UNDATED else None
        href = state.url(since=window[0], until=window[1]) if window and count else None
        bars.append(Bar(label, count, height, i * BAR_WIDTH, href))
    return bars


def page_links(state: State, total: int) -> list[tuple[str, str | None]]:
    """(label, href) for the pages around this one; href None for this page and the gaps."""
    last = min(max(1, -(-total // state.limit)), MAX_WINDOW // state.limit)
    shown = sorted({1, last, *range(max(1, state.page - 2), min(last, state.page + 2) + 1)})
    links, before = [], 0
    for n in shown:
        if n > before + 1:
            links.append(("…", None))
        links.append((str(n), None if n == state.page else state.url(page=n)))
        before = n
    return links if last > 1 else []


def safe_href(url: str | None) -> str | None:
    """An article's URL as a link only if it is http(s): never `javascript:` or `data:`."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def marked(text: str, spans) -> list[tuple[str, bool]]:
    """Pieces of text to show, each made visible as the terminal shows it (render.safe), and
    whether it is a match: the templates wrap matches in <mark>, Jinja2 escapes every piece."""
    return [(render.safe(piece), is_match) for piece, is_match in render.marked_segments(text, spans)]


def changes_note(copy) -> str:
    """What a copy of a story changed against the first published, in a few words."""
    if copy.first:
        return "first published"
    changed = copy.changes
    parts = [f"{label} {len(items)} paragraph{'s' if len(items) != 1 else ''}"
             for label, items in (("added", changed.added), ("cut", changed.cut), ("edited", changed.edited))
             if items]
    if changed.headline is not None:
        parts.insert(0, f"headline: {changed.headline}")
    return "; ".join(parts) or "the same text"


def field_rows(article) -> list[tuple[str, str]]:
    """Every field of an article but its body, as `search show` lists them."""
    rows = []
    for name, value in article.to_dict().items():
        if name == "body" or value in (None, "", []):
            continue
        rows.append((name, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    return rows


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["safe_text"] = render.safe
    env.globals.update(marked=marked, shown_date=render.shown_date, safe_href=safe_href,
                       copies_note=render.copies_note, changes_note=changes_note,
                       diff_stretches=render.diff_stretches,
                       SORTS=SORTS, BAR_WIDTH=BAR_WIDTH, CHART_HEIGHT=CHART_HEIGHT,
                       MAX_WINDOW=MAX_WINDOW)
    return env


# --- the application -------------------------------------------------------------------------

class Site:
    """The pages of one index: the Index opened once (read-only), the templates compiled once."""

    def __init__(self, index_path: Path):
        self.index = Index(index_path, create=False)  # IndexNotFoundError before anything listens
        self.env = _environment()

    def page(self, name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def error_page(self, exc: Exception, state: State | None = None) -> HTMLResponse:
        return self.page("results.html", _status(exc), state=state or State(), error=str(exc),
                         results=None, title="error")

    def search(self, state: State):
        return self.index.search(state.q, since=state.since or None, until=state.until or None,
                                 lang=state.lang or None,
                                 limit=state.limit, offset=(state.page - 1) * state.limit,
                                 sort=state.sort, snippets=state.snippets, facets=state.asked,
                                 fresh=settings.FRESH_HALF_LIFE if state.fresh else None,
                                 all_copies=state.all_copies)

    async def results(self, request: Request) -> Response:
        state = None
        try:
            state = State.from_query(request.query_params)
            if not state.q:
                return self.page("results.html", state=state, results=None, articles=len(self.index),
                                 title="search")
            results = self.search(state)
        except SearchlibError as exc:
            return self.error_page(exc, state)
        return self.page(
            "results.html", state=state, results=results, title=state.q,
            more=[(name, state.url(facets=state.facets + (name,))) for name in FACETS
                  if name not in state.facets and name != "date"],
            fewer={name: state.url(facets=tuple(n for n in state.facets if n != name) or DEFAULT_FACETS)
                   for name in state.facets},
            count_note=render.count_note(results), first_partial=render.first_partial(results),
            partial_note=render.partial_note(results.complete) if results.partial else None,
            panels=facet_panels(state, results.facets),
            bars=timeline_bars(state, results.facets.get("date", [])),
            pages=page_links(state, results.total), cli=state.cli_command())

    async def results_json(self, request: Request) -> Response:
        try:
            state = State.from_query(request.query_params)
            results = self.search(state)
        except SearchlibError as exc:
            return _json_error(exc)
        return _lines(render.results_json(results, state.page, state.limit, state.asked))

    async def article(self, request: Request) -> Response:
        article_id, q = request.query_params.get("id", ""), request.query_params.get("q", "").strip()
        try:
            article = self.index.get(article_id)
            if article is None:
                raise ArticleNotFoundError(article_id)
            marks, note = {}, None
            if q:
                try:
                    marks = self.index.marks(article_id, q)
                except SearchlibError as exc:  # the article still shows, unmarked
                    note = str(exc)
            similar = self.index.similar(article_id, limit=SIMILAR_SHOWN)
            story = self.index.copies(article_id)
            try:
                watches, watches_note = self.index.watching(article_id), None
            except SearchlibError as exc:  # (watches.json edited by hand: the article still shows)
                watches, watches_note = [], str(exc)
            history = self.index.history(article_id)
            thread = self.index.thread(article_id, limit=THREAD_SHOWN)
        except SearchlibError as exc:
            return self.error_page(exc)
        return self.page("article.html", article=article, q=q, marks=marks, note=note,
                         fields=field_rows(article), similar=similar, state=State(q=q),
                         copies=story.copies if len(story.copies) > 1 else [],
                         watches=watches, watches_note=watches_note,
                         versions=history.versions if len(history.versions) > 1 else [],
                         thread=thread, title=article.title or article.id)

    async def article_json(self, request: Request) -> Response:
        try:
            article = self.index.get(request.query_params.get("id", ""))
            if article is None:
                raise ArticleNotFoundError(request.query_params.get("id", ""))
        except SearchlibError as exc:
            return _json_error(exc)
        return _lines([render.json_line(article.to_dict())])

    async def similar_json(self, request: Request) -> Response:
        try:
            limit = _whole(request.query_params, "limit", settings.DEFAULT_LIMIT, 1, MAX_LIMIT)
            results = self.index.similar(request.query_params.get("id", ""), limit=limit)
        except SearchlibError as exc:
            return _json_error(exc)
        return _lines(render.results_json(results, None, limit))

    async def copies_json(self, request: Request) -> Response:
        try:
            story = self.index.copies(request.query_params.get("id", ""))
        except SearchlibError as exc:
            return _json_error(exc)
        return _lines(render.copies_json(story))

    async def thread_json(self, request: Request) -> Response:
        try:
            limit = _whole(request.query_params, "limit", THREAD_SHOWN, 1, MAX_LIMIT)
            thread = self.index.thread(request.query_params.get("id", ""), limit=limit)
        except SearchlibError as exc:
            return _json_error(exc)
        return _lines(render.thread_json(thread))

    async def history_json(self, request: Request) -> Response:
        try:
            history = self.index.history(request.query_params.get("id", ""))
        except SearchlibError as exc:
            return _json_error(exc)
        return _lines(render.history_json(history))

    async def stats(self, request: Request) -> Response:
        try:
            info = self.index.stats()
        except SearchlibError as exc:
            return self.error_page(exc)
        return self.page("stats.html", lines=render.stats_lines(info), state=State(), title="stats")

    async def stats_json(self, request: Request) -> Response:
        try:
            info = self.index.stats()
        except SearchlibError as exc:
            return _json_error(exc)
        return _lines([render.json_line(info.to_dict())])

    async def help(self, request: Request) -> Response:
        return self.page("help.html", state=State(), title="query language")


def _status(exc: Exception) -> int:
    return 404 if isinstance(exc, ArticleNotFoundError) else 400


def _lines(lines: list[str]) -> Response:
    return Response("".join(line + "\n" for line in lines), media_type=NDJSON)


def _json_error(exc: Exception) -> Response:
    return Response(render.json_line({"error": str(exc)}) + "\n", status_code=_status(exc),
                    media_type=NDJSON)


class Guard:
    """ASGI middleware: the security headers on every response, and only the allowed Host
    headers (a page elsewhere that rebinds its name to 127.0.0.1 gets a 400, not the archive)."""

    def __init__(self, app, hosts: tuple[str, ...]):
        self.app, self.hosts = app, {h.lower() for h in hosts}
        self.raw = [(name.encode(), value.encode()) for name, value in HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "*" not in self.hosts and _host(scope) not in self.hosts:
            response = PlainTextResponse("unknown Host header", status_code=400, headers=HEADERS)
            return await response(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.raw]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _host(scope) -> str:
    """The Host header without its port (`[::1]:8000` → `::1`), lower-cased; "" when it is not
    a host with an optional port of digits (`127.0.0.1:80@evil.com`, `[::1]evil.com`)."""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            found = _HOST.fullmatch(host)
            return (found.group(1) or found.group(2)) if found else ""
    return ""


def create_app(index_path: Path, hosts: tuple[str, ...] = LOCAL_HOSTS):
    """The ASGI application for the index at `index_path` (opened now: IndexNotFoundError if
    there is none). `hosts`: the Host headers answered ("*": any, for a page served beyond
    localhost on purpose)."""
    site = Site(Path(index_path))
    routes = [
        Route("/", site.results, methods=["GET"]),
        Route("/search.json", site.results_json, methods=["GET"]),
        Route("/article", site.article, methods=["GET"]),
        Route("/article.json", site.article_json, methods=["GET"]),
        Route("/similar.json", site.similar_json, methods=["GET"]),
        Route("/copies.json", site.copies_json, methods=["GET"]),
        Route("/history.json", site.history_json, methods=["GET"]),
        Route("/thread.json", site.thread_json, methods=["GET"]),
        Route("/stats", site.stats, methods=["GET"]),
        Route("/stats.json", site.stats_json, methods=["GET"]),
        Route("/help", site.help, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.site = site
    return Guard(app, tuple(hosts))
