"""HTML news pages → Article (BeautifulSoup, the standard library's html.parser).

Stage: ingestion. Metadata comes from the page's own declarations, best first: JSON-LD
(`NewsArticle` and kin), Open Graph and `article:*` meta tags, Dublin Core and `itemprop`
microdata, then the visible page (`<h1>`, `<time>`, bylines) and, last, `<title>` and the URL.
A title loses a site name stuck to it ("… - BBC News"): one the page names, or in a bare `<title>`
a short last part after a separator; `<h1>` beats a `<title>` that is the h1 plus recognisable
decoration (parts set off by separators, or a known site name), while a `<title>` such as
"Headline_Section_Site" on a page that names no site is kept as the page gives it. The body is
extracted afterwards by `htmlbody` (which prunes the tree).

Bounded (`searchlib.ingest.limits`): a page is read up to its `max_html_tags`-th tag (a parsed tag costs
~1 KB), and elements nested deeper than `max_html_depth` are flattened into their text (deep
nesting makes the extractor's work grow with the square of the depth); both are noted on the
article. `parse_file` has already truncated the page to `max_record_chars`. A page that opens
`<html>` / `<body>` but closes neither looks cut off (a truncated download): it is read, and noted.
"""
from __future__ import annotations

import json
import re
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import urljoin, urlparse

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.exceptions import ParserRejectedMarkup

from ...article import Article, clean_line, clean_text
from ...dates import to_utc_aware
from ...errors import ParseError
from ..limits import Limits, current as current_limits
from . import CUT_OFF_NOTE, htmlbody
from .records import date as parse_date, site_name

_ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                  "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "report",
                  "liveblogposting", "socialmediaposting", "scholarlyarticle", "techarticle"}
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|$|[^\d])")
# The Guardian's `/2019/nov/18/`: a month's English name or its abbreviation (`sept` too).
_URL_NAMED_DATE = re.compile(r"/((?:19|20)\d\d)/(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*/"
                             r"(0?[1-9]|[12]\d|3[01])(?:/|$|[^\d])", re.I)
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# How far past the file's own modification time a date may lie (time zones, clocks a little off).
_DATE_SLACK = timedelta(days=1)
_SEPARATOR = re.compile(r"\s+[|\-–—:»«/·•]\s+|\s+::\s+|\s*\|\s*")
# Meta tags naming the publication date: the Open Graph ones (trusted before JSON-LD), then others.
_OG_DATE_KEYS = ("article:published_time", "og:article:published_time")
_OTHER_DATE_KEYS = ("datepublished", "og:published_time", "article.published", "published-date", "pubdate",
                    "publishdate", "publish-date", "date", "dc.date", "dc.date.issued", "dcterms.created",
                    "sailthru.date", "parsely-pub-date", "article:published", "original-source-date")
_AUTHOR_KEYS = ("author", "article:author", "og:article:author", "dc.creator", "dcterms.creator", "byl",
                "sailthru.author", "parsely-author", "citation_author")
_BYLINE_CLASS = re.compile(r"byline|author|writer|reporter", re.I)
_NOT_BYLINE_CLASS = re.compile(r"bio|avatar|image|photo|img|thumb|pic|follow|social|more|box|list|"
                               r"date|time|icon", re.I)
_BY = re.compile(r"^(?:by|par|von|por|door|written by|posted by)\s*:?\s+", re.I)
_BYLINE_TAIL = re.compile(
    r"\s*(?:\||\bupdated\b|\bpublished\b|\bposted\b|\bon\s+\w+day\b|\b\d{1,2}[/.:-]\d{1,2}|\b(?:19|20)\d\d\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|\d{1,2}\s+"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b).*$", re.I | re.S)
_MAX_BYLINE_WORDS = 12
_MAX_TITLE_SITE_WORDS = 6
_MAX_TITLE_PARTS = 20  # separators looked at in a <title>
_START_TAG = re.compile(r"<[A-Za-z]")
_OPENS_DOCUMENT = re.compile(r"<(?:html|body)[\s>/]", re.I)
_CLOSES_DOCUMENT = re.compile(r"</(?:html|body)\s*>", re.I)


def parse(text: str, path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    limits = current_limits(limits)
    soup, notes = bounded_soup(text, path, limits)
    if looks_cut_off(text):
        notes.append(f"{CUT_OFF_NOTE}: it opens <html> or <body> but ends without closing either "
                     "(a truncated file?)")
    meta = _meta(soup)
    ld = _json_ld(soup)
    url = _url(soup, meta, ld)
    sites = [s for s in (meta.get("og:site_name"), _ld_text(_get(ld, "publisher")), meta.get("application-name"),
                         meta.get("apple-mobile-web-app-title"), site_name(url)) if s]
    article = Article(  # metadata first: extracting the body prunes the tree
        title=_title(soup, meta, ld, sites) or "",
        url=url,
        source=_first(meta.get("og:site_name"), _ld_text(_get(ld, "publisher")), meta.get("application-name"),
                      site_name(url)),
        section=_first(meta.get("article:section"), _ld_text(_get(ld, "articleSection")), meta.get("section")),
        author=_author(soup, meta, ld),
        summary=_first(meta.get("og:description"), meta.get("description"), _ld_text(_get(ld, "description")),
                       meta.get("twitter:description")),
        date=_date(soup, meta, ld, url, _newest_date(path)),
        lang=_lang(soup, meta, ld),
        tags=_tags(meta, ld),
        notes=notes,
    )
    # extract() decomposes each tree when done with it: one tree in memory at a time
    article.body = clean_text(htmlbody.extract(soup, reparse=lambda: bounded_soup(text, path, limits)[0]))
    if not article.has_text:
        raise ParseError(path, "no article text found in the page" + (f" ({'; '.join(notes)})" if notes else ""))
    yield article


def looks_cut_off(text: str) -> bool:
    """Whether a page begins a document (`<html>`, `<body>`) but never closes it: a file cut off
    in transfer. Browsers forgive the omission, but whole pages hardly ever make it (of the 197
    real pages in the test corpora, only a bare redirect stub does)."""
    return bool(_OPENS_DOCUMENT.search(text)) and not _CLOSES_DOCUMENT.search(text)


def bounded_soup(text: str, path: Path, limits: Limits) -> tuple[BeautifulSoup, list[str]]:
    """The parsed page within `limits` (see the module docstring), and notes on what was cut."""
    notes = []
    cut = _tag_cut(text, limits.max_html_tags)
    if cut is not None:
        text = text[:cut]
        notes.append(f"truncated: only the first {limits.max_html_tags:,} tags were read "
                     f"{limits.hint('max_html_tags')}")
    soup = make_soup(text, path)
    deepest = flatten_deep(soup, limits.max_html_depth)
    if deepest:
        notes.append(f"elements nested {deepest:,} levels deep: flattened to text below level "
                     f"{limits.max_html_depth} {limits.hint('max_html_depth')}")
    return soup, notes


def _tag_cut(text: str, max_tags: int) -> int | None:
    """Where the page's tag number `max_tags + 1` starts (counting `<` + letter, so an over-count:
    `<a` in a script counts too), or None if it has no more tags than that."""
    for number, m in enumerate(_START_TAG.finditer(text), start=1):
        if number > max_tags:
            return m.start()
    return None


def flatten_deep(soup: BeautifulSoup, max_depth: int) -> int:
    """Replace the children of each element at depth `max_depth` by their text, if they nest
    deeper; return how deep the tree went (0 if it was within the limit). Iterative, linear."""
    deepest, boundary = 0, []
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = [c for c in node.contents if isinstance(c, Tag)]
        if depth == max_depth and children:
            boundary.append(node)
        stack.extend((child, depth + 1) for child in children)
    if deepest <= max_depth:
        return 0
    for tag in boundary:
        text = tag.get_text(" ")
        tag.clear(decompose=True)
        tag.append(text)
    return deepest


def make_soup(text: str, path: Path) -> BeautifulSoup:
    """Parse a page; BeautifulSoup's advisory warnings (XHTML, URL-like text) are not errors here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        try:
            return BeautifulSoup(text, "html.parser")
        except ParserRejectedMarkup as exc:
            raise ParseError(path, f"unreadable HTML: {exc}") from None


def _meta(soup: BeautifulSoup) -> dict[str, str]:
    """`<meta>` name/property/itemprop → content (first occurrence wins), keys lower-cased."""
    found: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        content = tag.get("content")
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            key = tag.get(attribute)
            if isinstance(key, str) and isinstance(content, str) and content.strip():
                found.setdefault(key.strip().lower(), content.strip())
    return found


def _json_ld(soup: BeautifulSoup) -> dict:
    """The first JSON-LD object that describes an article (searching lists and `@graph`)."""
    candidates: list[dict] = []
    for script in soup.find_all("script", type=re.compile(r"ld\+json", re.I)):
        data = _load_json(script.string or "")
        stack = [data]
        while stack and len(candidates) < 200:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                candidates.append(item)
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])
    for item in candidates:
        types = item.get("@type")
        types = types if isinstance(types, list) else [types]
        if any(isinstance(t, str) and t.lower() in _ARTICLE_TYPES for t in types):
            return item
    return next((c for c in candidates if "headline" in c), {})


def _load_json(text: str):
    """JSON-LD as found in pages: maybe wrapped in `<![CDATA[ ]]>` or comments, maybe with raw newlines."""
    text = re.sub(r"^\s*(?://\s*)?(?:<!\[CDATA\[|<!--)|(?://\s*)?(?:\]\]>|-->)\s*$", "", text.strip())
    for attempt in (text, re.sub(r",\s*([}\]])", r"\1", text)):
        try:
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


def _url(soup: BeautifulSoup, meta: dict, ld: dict) -> str | None:
    og = meta.get("og:url")
    canonical = _link(soup, "canonical")
    for candidate in (canonical, og, _ld_text(_get(ld, "url")), _ld_text(_get(ld, "mainEntityOfPage"))):
        if not candidate:
            continue
        if urlparse(candidate).scheme in ("http", "https"):
            return candidate
        if og and urlparse(og).scheme in ("http", "https"):  # a relative canonical link
            return urljoin(og, candidate)
    return None


def _title(soup: BeautifulSoup, meta: dict, ld: dict, sites: list[str]) -> str | None:
    declared = _first(_ld_text(_get(ld, "headline")), meta.get("og:title"), meta.get("twitter:title"),
                      meta.get("dc.title"), meta.get("title"))
    if declared:
        return _strip_site(declared, sites)
    title_tag = soup.find("title")
    page_title = clean_line(title_tag.get_text(" ")) if title_tag else ""
    headings = [clean_line(h.get_text(" ")) for h in soup.find_all("h1", limit=5)]
    headings = [h for h in headings if h]
    if not page_title:
        return headings[0] if headings else None
    for heading in headings:  # the <title> is this heading plus the site's name, section, ...
        if _decorates(page_title, heading, sites):
            return heading
    return _strip_site(page_title, sites, loose=True)


def _decorates(page_title: str, heading: str, sites: list[str]) -> bool:
    """Whether `page_title` is `heading` plus decoration we can recognise: parts set off by title
    separators ("Heading - Section | Site"), or text naming one of the page's known `sites`.

    Anything else stays: in "Heading_Section_Site" or "Heading [Site]" of a page that declares no
    site name, nothing tells the decoration from the headline, and the page's `<title>` is kept.
    """
    target = _norm(heading)
    if not target:
        return False
    separators = list(_SEPARATOR.finditer(page_title))[:_MAX_TITLE_PARTS]
    starts = [0] + [m.end() for m in separators]
    ends = [m.start() for m in separators] + [len(page_title)]
    if any(_norm(page_title[start:end]) == target for start in starts for end in ends if end > start):
        return True
    whole = _norm(page_title)
    if len(heading) < 0.3 * len(page_title) or target not in whole:
        return False
    rest = whole.replace(target, " ", 1)
    return any(len(site) >= 3 and site in rest for site in (_norm(s) for s in sites))


def _strip_site(title: str, sites: list[str], loose: bool = False) -> str:
    """The title without a leading or trailing site name ("Title - BBC News" → "Title").

    With `loose`, any short trailing part after a separator goes (for a bare `<title>`).
    """
    title = clean_line(title)
    parts = _SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    known = [_norm(s) for s in sites if len(_norm(s)) >= 3]

    def is_site(part: str) -> bool:
        part = _norm(part)
        return len(part) >= 3 and any(part in s or s in part for s in known)

    separators = _SEPARATOR.findall(title)
    if is_site(parts[-1]):
        return title[:title.rfind(separators[-1])].strip() or title
    if is_site(parts[0]):
        return title[title.find(separators[0]) + len(separators[0]):].strip() or title
    last = parts[-1]
    if loose and len(last.split()) <= _MAX_TITLE_SITE_WORDS and len(title) - len(last) > len(last):
        return title[:title.rfind(separators[-1])].strip() or title
    return title


def _author(soup: BeautifulSoup, meta: dict, ld: dict) -> str | None:
    handles: list[str] = []
    for candidate in [_ld_author(_get(ld, "author"))] + [meta.get(k) for k in _AUTHOR_KEYS]:
        name = _clean_byline(candidate)
        if name and " " not in name and name.islower():  # "devindra": a user name; keep looking
            handles.append(name)
        elif name:
            return name
    for tag in _byline_tags(soup):
        name = _clean_byline(tag.get("content") if tag.name == "meta" else _byline_text(tag))
        if name:
            return name
    return handles[0] if handles else None


def _ld_author(value) -> str | None:
    if isinstance(value, list):
        names = [n for n in (_ld_author(v) for v in value) if n]
        return ", ".join(dict.fromkeys(names)) or None
    if isinstance(value, dict):
        return _ld_text(value.get("name"))
    return _ld_text(value)


def _byline_tags(soup: BeautifulSoup) -> Iterator[Tag]:
    for tag in soup.find_all(attrs={"itemprop": re.compile(r"\bauthor\b")}):
        name = tag.find(attrs={"itemprop": "name"})
        yield name if isinstance(name, Tag) else tag
    for tag in soup.find_all(attrs={"rel": "author"}):
        if tag.name != "link":
            yield tag
    for tag in soup.find_all(class_=_BYLINE_CLASS):
        classes = " ".join(tag.get("class") or [])
        if not _NOT_BYLINE_CLASS.search(classes):
            yield tag


def _byline_text(tag: Tag) -> str:
    """A byline element's text, up to a line break (after which a date usually follows)."""
    text = ""
    for piece in tag.descendants:
        if isinstance(piece, Tag) and piece.name == "br" and text.strip():
            break
        if type(piece) is NavigableString and piece.parent is not None \
                and piece.parent.name not in ("script", "style", "time"):
            text += piece
    return text


def _clean_byline(value) -> str | None:
    value = clean_line(value) if isinstance(value, str) else ""
    if not value or value.startswith(("http://", "https://", "@")):
        return None
    value = _BY.sub("", value)
    value = _BYLINE_TAIL.sub("", value).strip(" ,;|-–—·")
    if not value or len(value.split(None, _MAX_BYLINE_WORDS)) > _MAX_BYLINE_WORDS \
            or not any(c.isalpha() for c in value):
        return None
    return value


def _newest_date(path: Path) -> datetime:
    """The latest date the page can carry: its file's modification time (else now) and a day.
    A publication date after the page was saved is a misreading (`14-12-29` read as 2029)."""
    try:
        written = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    except (OSError, OverflowError, ValueError):
        written = datetime.now(timezone.utc)
    return written + _DATE_SLACK


def _date(soup: BeautifulSoup, meta: dict, ld: dict, url: str | None, newest: datetime | None = None):
    """The publication date: the first candidate (meta tags, JSON-LD, <time>) that reads as a
    date no later than `newest`, else one in the URL (`/2019/11/18/`, `/2019/nov/18/`)."""
    candidates = [meta.get(k) for k in _OG_DATE_KEYS] + [_ld_text(_get(ld, "datePublished"))]
    candidates += [meta.get(k) for k in _OTHER_DATE_KEYS]
    item = soup.find(attrs={"itemprop": "datePublished"})
    if isinstance(item, Tag):
        candidates.append(item.get("datetime") or item.get("content") or item.get_text(" ", strip=True))
    for time_tag in soup.find_all("time", limit=5):
        candidates.append(time_tag.get("datetime"))
    candidates.append(_ld_text(_get(ld, "dateCreated")))
    for value in candidates + [_url_date(url)]:
        parsed = to_utc_aware(parse_date(value if isinstance(value, str) else None))
        if parsed and (newest is None or parsed <= newest):
            return parsed
    return None


def _url_date(url: str | None) -> str | None:
    """The date in a URL's path as `YYYY-MM-DD`, or None."""
    m = _URL_DATE.search(url or "")
    if m:
        return "-".join(m.groups())
    m = _URL_NAMED_DATE.search(url or "")
    if m:
        return f"{m.group(1)}-{_MONTHS[m.group(2).lower()[:3]]:02}-{int(m.group(3)):02}"
    return None


def _lang(soup: BeautifulSoup, meta: dict, ld: dict) -> str | None:
    html_tag = soup.find("html")
    lang = html_tag.get("lang") or html_tag.get("xml:lang") if isinstance(html_tag, Tag) else None
    value = _first(lang, meta.get("og:locale"), meta.get("content-language"), meta.get("language"),
                   _ld_text(_get(ld, "inLanguage")))
    return value.replace("_", "-") if value else None


def _tags(meta: dict, ld: dict) -> list[str]:
    raw = _first(meta.get("news_keywords"), meta.get("keywords"), meta.get("article:tag"),
                 _ld_text(_get(ld, "keywords")))
    return [t.strip() for t in raw.split(",") if t.strip()] if raw else []


def _link(soup: BeautifulSoup, rel: str) -> str | None:
    tag = soup.find("link", rel=rel, href=True)
    href = tag.get("href") if isinstance(tag, Tag) else None
    return href.strip() if isinstance(href, str) and href.strip() else None


def _get(data: dict, key: str):
    return data.get(key) if isinstance(data, dict) else None


def _ld_text(value) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _ld_text(value.get("name") or value.get("@id") or value.get("url"))
    if isinstance(value, list):
        parts = [p for p in (_ld_text(v) for v in value) if p]
        return ", ".join(dict.fromkeys(parts)) or None
    return None


def _norm(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _as_str(value) -> str | None:
    if isinstance(value, list):
        value = " ".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else None


def _first(*values) -> str | None:
    for value in values:
        value = _as_str(value)
        if value and value.strip():
            return clean_line(value)
    return None
