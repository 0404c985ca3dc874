"""HTML news pages → Article (BeautifulSoup, the standard library's html.parser).

Stage: ingestion. Metadata comes from the page's own declarations, best first: Open Graph and
`article:*` meta tags, JSON-LD (`NewsArticle` and kin), `itemprop` microdata, then the visible
page (`<h1>`, `<time>`, bylines) and, last, `<title>` and the URL. The body is the text of the
article container (`itemprop=articleBody`, `<article>`, `<main>`, else the element holding the
most paragraph text), with scripts, navigation, forms, asides, share bars and link lists removed.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from bs4 import BeautifulSoup, Tag

from ..article import Article, clean_line, clean_text
from ..dates import parse_article_date
from ..errors import ParseError

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "form", "button",
              "nav", "footer", "aside", "select", "input", "textarea", "figcaption", "object",
              "embed", "canvas", "dialog", "menu")
_BOILERPLATE = re.compile(
    r"(^|[\s_-])(comments?|share|sharing|social|related|promo|advert\w*|ads?|newsletter|cookies?|"
    r"banner|subscribe|subscription|breadcrumbs?|footer|nav|navigation|menu|sidebar|popup|modal|"
    r"outbrain|taboola|recommended|trending|most-read|paywall|signup|byline|dateline)($|[\s_-])", re.I)
_BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "li")
_ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                  "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "report",
                  "liveblogposting", "webpage"}
_URL_DATE = re.compile(r"/((?:19|20)\d\d)/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?:/|$)")
_TITLE_SUFFIX = re.compile(r"\s+[|\-–—:»]\s+[^|\-–—:»]{2,60}$")


def parse(text: str, path: Path) -> Iterator[Article | ParseError]:
    soup = BeautifulSoup(text, "html.parser")
    meta = _meta(soup)
    ld = _json_ld(soup)
    url = _first(meta.get("og:url"), _link(soup, "canonical"), _ld_text(ld.get("url")),
                 _ld_text(ld.get("mainEntityOfPage")))
    html_tag = soup.find("html")
    lang = html_tag.get("lang") if isinstance(html_tag, Tag) else None
    article = Article(  # metadata first: extracting the body removes bylines, <time> tags, ...
        title=_title(soup, meta, ld) or "",
        url=url,
        source=_first(meta.get("og:site_name"), _ld_text(ld.get("publisher")),
                      meta.get("application-name"), _site(url)),
        section=_first(meta.get("article:section"), _ld_text(ld.get("articleSection")),
                       meta.get("section")),
        author=_author(soup, meta, ld),
        summary=_first(meta.get("og:description"), meta.get("description"), _ld_text(ld.get("description"))),
        date=_date(soup, meta, ld, url),
        lang=_first(_as_str(lang), meta.get("og:locale"), meta.get("content-language")),
        tags=_tags(meta, ld),
    )
    article.body = clean_text(_body(soup))
    if not article.has_text:
        raise ParseError(path, "no article text found in the page")
    yield article


def _meta(soup: BeautifulSoup) -> dict[str, str]:
    """`<meta>` name/property/itemprop → content (first occurrence wins), keys lower-cased."""
    found: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = tag.get("property") or tag.get("name") or tag.get("itemprop") or tag.get("http-equiv")
        content = tag.get("content")
        if isinstance(key, str) and isinstance(content, str) and content.strip():
            found.setdefault(key.strip().lower(), content.strip())
    return found


def _json_ld(soup: BeautifulSoup) -> dict:
    """The first JSON-LD object that describes an article (searching lists and `@graph`)."""
    candidates: list[dict] = []
    for script in soup.find_all("script", type=re.compile(r"ld\+json", re.I)):
        try:
            data = json.loads(script.string or "")
        except (json.JSONDecodeError, TypeError, RecursionError):
            continue
        stack = [data]
        while stack:
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
        if any(isinstance(t, str) and t.lower() in _ARTICLE_TYPES - {"webpage"} for t in types):
            return item
    return next((c for c in candidates if "headline" in c), {})


def _title(soup, meta, ld) -> str | None:
    h1 = soup.find("h1")
    title_tag = soup.find("title")
    page_title = title_tag.get_text(" ", strip=True) if title_tag else None
    if page_title:
        page_title = _TITLE_SUFFIX.sub("", page_title)
    return _first(meta.get("og:title"), _ld_text(ld.get("headline")),
                  h1.get_text(" ", strip=True) if h1 else None, meta.get("twitter:title"), page_title)


def _author(soup, meta, ld) -> str | None:
    author = meta.get("author") or meta.get("article:author") or meta.get("byl")
    if author and author.startswith("http"):
        author = None
    if not author:
        author = _ld_text(ld.get("author"))
    if not author:
        tag = soup.find(attrs={"rel": "author"}) or soup.find(attrs={"itemprop": "author"}) \
            or soup.find(class_=re.compile(r"\bbyline\b", re.I))
        author = tag.get_text(" ", strip=True) if tag else None
    if author:
        author = re.sub(r"^by\s+", "", clean_line(author), flags=re.I)
    return author or None


def _date(soup, meta, ld, url):
    candidates = [meta.get(k) for k in ("article:published_time", "datepublished", "og:published_time",
                                        "pubdate", "publishdate", "date", "dc.date", "dc.date.issued",
                                        "sailthru.date", "parsely-pub-date")]
    candidates.append(_ld_text(ld.get("datePublished")))
    item = soup.find(attrs={"itemprop": "datePublished"})
    if item:
        candidates.append(item.get("datetime") or item.get("content") or item.get_text(" ", strip=True))
    time_tag = soup.find("time", datetime=True)
    if time_tag:
        candidates.append(time_tag["datetime"])
    for value in candidates:
        parsed = parse_article_date(_as_str(value))
        if parsed:
            return parsed
    m = _URL_DATE.search(url or "")
    return parse_article_date("-".join(m.groups())) if m else None


def _tags(meta, ld) -> list[str]:
    raw = _first(meta.get("news_keywords"), meta.get("keywords"), meta.get("article:tag"),
                 _ld_text(ld.get("keywords")))
    return [t.strip() for t in raw.split(",") if t.strip()] if raw else []


def _body(soup: BeautifulSoup) -> str:
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    container = _container(soup)
    if container is None:
        return ""
    for tag in container.find_all(True):
        if not tag.decomposed and tag.attrs is not None and _is_boilerplate(tag):
            tag.decompose()
    paragraphs = []
    for block in container.find_all(_BLOCKS):
        if block.find_parent(_BLOCKS):  # nested block: its text is in its parent's
            continue
        text = block.get_text(" ", strip=True)
        if text and not _link_list(block, text):
            paragraphs.append(text)
    if not paragraphs:
        return container.get_text("\n\n", strip=True)
    return "\n\n".join(paragraphs)


def _container(soup: BeautifulSoup) -> Tag | None:
    marked = soup.find(attrs={"itemprop": "articleBody"})
    if marked:
        return marked
    articles = soup.find_all("article")
    if articles:
        return max(articles, key=_paragraph_chars)
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    if main:
        return main
    scores: dict[int, tuple[int, Tag]] = {}
    for p in soup.find_all("p"):
        parent = p.parent
        if isinstance(parent, Tag):
            score, _ = scores.get(id(parent), (0, parent))
            scores[id(parent)] = (score + len(p.get_text(strip=True)), parent)
    if scores:
        return max(scores.values(), key=lambda pair: pair[0])[1]
    return soup.body or soup


def _paragraph_chars(tag: Tag) -> int:
    return sum(len(p.get_text(strip=True)) for p in tag.find_all("p"))


def _is_boilerplate(tag: Tag) -> bool:
    if tag.name in ("article", "main", "body", "html") or tag.get("itemprop") == "articleBody":
        return False
    names = " ".join(tag.get("class") or []) + " " + (tag.get("id") or "")
    return bool(names.strip()) and bool(_BOILERPLATE.search(names))


def _link_list(block: Tag, text: str) -> bool:
    """A paragraph that is mostly link text (a 'read more' list), not prose."""
    linked = sum(len(a.get_text(strip=True)) for a in block.find_all("a"))
    return linked > 0.6 * len(text) and len(text.split()) < 25


def _link(soup: BeautifulSoup, rel: str) -> str | None:
    tag = soup.find("link", rel=rel, href=True)
    return tag["href"].strip() if tag else None


def _ld_text(value) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _ld_text(value.get("name") or value.get("@id") or value.get("url"))
    if isinstance(value, list):
        parts = [p for p in (_ld_text(v) for v in value) if p]
        return ", ".join(dict.fromkeys(parts)) or None
    return None


def _site(url: str | None) -> str | None:
    if not url:
        return None
    host = urlparse(url).hostname or ""
    return host.removeprefix("www.") or None


def _as_str(value) -> str | None:
    if isinstance(value, list):
        value = " ".join(value)
    return value if isinstance(value, str) else None


def _first(*values) -> str | None:
    for value in values:
        value = _as_str(value)
        if value and value.strip():
            return clean_line(value)
    return None
