"""RSS and Atom feeds → Articles, one per `<item>` or `<entry>` (the standard library's ElementTree).

Stage: ingestion. Reads RSS 2.0 / 0.9x (`<rss><channel><item>`), RSS 1.0 (`<rdf:RDF>` with
`<item>`s) and Atom (`<feed><entry>`). Per item: title, link (Atom's `rel="alternate"` link),
date (`pubDate`, `dc:date`, `published`, else `updated`), author (`author`, `dc:creator`, Atom
`<author><name>`; an RSS `jo@x.org (Jo Bloggs)` gives `Jo Bloggs`), categories (the first is the
section, all are tags), and text: `content:encoded` or Atom `<content>`, else the description or
summary, with HTML reduced to plain text. The feed's title is each article's source; the key is
the item's guid/id, else its link, else its position.

Untrusted XML: a feed with any DTD (`<!DOCTYPE ...>`, where entities are declared: the "billion
laughs" attack) is refused as expat reports its start (the tree builder's `doctype` hook, expat's
StartDoctypeDeclHandler), before any declaration is read, so no entity is ever expanded and no
quoting inside the declaration can hide it; ElementTree never fetches external entities,
a feed of more than `limits.max_feed_elements` elements is refused (the tree is not built past
them) and an item over `limits.max_record_chars` characters is reported and skipped.
HTML entities such as `&nbsp;`, common in feeds though undefined in XML, are accepted.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from html.entities import html5 as _HTML5
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from ...article import Article, clean_line
from ...errors import ParseError
from ..limits import Limits, current as current_limits, size
from .records import date as parse_date

_NAMED_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_EMAIL_NAME = re.compile(r"^\s*\S+@\S+\s*\((.+)\)\s*$")
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
               "pre", "tr", "table", "section", "article", "figure", "hr", "dd", "dt"}
_SKIP_TAGS = {"script", "style", "noscript", "template"}


def parse(text: str, path: Path, limits: Limits | None = None) -> Iterator[Article | ParseError]:
    limits = current_limits(limits)
    root = _root(text, path, limits)
    kind = _local(root.tag).lower()
    if kind == "feed":
        channel, items = root, _children(root, "entry")
    elif kind in ("rss", "rdf"):
        channel = _child(root, "channel")
        items = _children(channel if kind == "rss" and channel is not None else root, "item")
        if kind == "rss" and channel is not None:  # some RSS 0.9x feeds put items beside the channel
            items += _children(root, "item")
    else:
        raise ParseError(path, f"XML is not an RSS or Atom feed (its root element is <{_local(root.tag)}>)")
    if not items:
        raise ParseError(path, "feed has no items")
    feed_title = _text(_child(channel, "title")) if channel is not None else None
    feed_lang = _lang(root, channel)
    feed_author = _author(channel) if kind == "feed" else None
    for number, item in enumerate(items, start=1):
        chars = _item_chars(item)
        if chars > limits.max_record_chars:
            yield ParseError(path, f"item of {size(chars, 'chars')} is over the "
                                   f"{size(limits.max_record_chars, 'chars')} limit "
                                   f"{limits.hint('max_record_chars')}; skipped", f"item {number}")
            continue
        yield _article(item, path, number, feed_title, feed_lang, feed_author)


def _root(text: str, path: Path, limits: Limits) -> ET.Element:
    text = _NAMED_REFERENCE.sub(_numeric_reference, text.lstrip("\ufeff"))
    parser = ET.XMLParser(target=_CountingBuilder(limits.max_feed_elements))
    try:
        parser.feed(text)
        return parser.close()
    except ET.ParseError as exc:
        raise ParseError(path, f"invalid XML: {exc}") from None
    except _HasDoctype:
        raise ParseError(path, "feed has a DTD (<!DOCTYPE ...>, which may declare entities); "
                               "refused as unsafe") from None
    except _TooManyElements:
        raise ParseError(path, f"feed has more than {limits.max_feed_elements:,} elements "
                               f"{limits.hint('max_feed_elements')}; not read") from None


class _TooManyElements(Exception):
    pass


class _HasDoctype(Exception):
    pass


class _CountingBuilder(ET.TreeBuilder):
    """A TreeBuilder that stops (raising _TooManyElements) at element number `limit + 1`:
    a tree costs ~100 bytes an element, and 4 characters (`<a/>`) make one. It also stops
    (raising _HasDoctype) at a document type declaration: the parser calls `doctype` from
    expat's StartDoctypeDeclHandler, before the declaration's internal subset is read."""

    def doctype(self, name, pubid, system):
        raise _HasDoctype

    def __init__(self, limit: int):
        super().__init__()
        self.left = limit

    def start(self, tag, attrs):
        self.left -= 1
        if self.left < 0:
            raise _TooManyElements
        return super().start(tag, attrs)


def _item_chars(item: ET.Element) -> int:
    """Characters of text and attribute values in an item (what its fields are made of)."""
    return sum(len(e.text or "") + len(e.tail or "") + sum(len(v) for v in e.attrib.values())
               for e in item.iter())


def _numeric_reference(match: re.Match) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES or name + ";" not in _HTML5:
        return match.group(0)
    return "".join(f"&#{ord(c)};" for c in _HTML5[name + ";"])


def _article(item: ET.Element, path: Path, number: int, feed_title, feed_lang, feed_author):
    where = f"item {number}"
    title = _markup_text(_child(item, "title"))
    content = _markup_text(_child(item, "encoded", "content"))
    description = _markup_text(_child(item, "description", "summary"))
    body = content or description
    if not (title or body):
        return ParseError(path, "item has no title or text", where)
    link = _link(item)
    guid = _text(_child(item, "guid", "id"))
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid
    categories = [c for c in (_category(e) for e in _children(item, "category") + _children(item, "subject")) if c]
    return Article(
        title=clean_line(title),
        body=body or "",
        summary=description if content and description and description != content else None,
        url=link,
        source=feed_title,
        author=_author(item) or feed_author,
        section=categories[0] if categories else None,
        tags=categories,
        date=_date(item),
        lang=item.get("{http://www.w3.org/XML/1998/namespace}lang") or feed_lang,
        key=guid or link or str(number),
    )


def _date(item: ET.Element):
    for name in ("pubDate", "date", "published", "issued", "updated", "modified"):
        value = parse_date(_text(_child(item, name)))
        if value:
            return value
    return None


def _link(item: ET.Element) -> str | None:
    fallback = None
    for link in _children(item, "link"):
        href = (link.get("href") or "").strip()
        if not href:
            value = _text(link)
            if value:
                return value
            continue
        if link.get("rel", "alternate") == "alternate":
            return href
        fallback = fallback or href
    return fallback


def _author(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    names = []
    for author in _children(element, "author") + _children(element, "creator"):
        name = _text(_child(author, "name")) or _text(author)
        if name:
            email = _EMAIL_NAME.match(name) if len(name) < 1000 else None  # (it backtracks)
            names.append(email.group(1).strip() if email else name)
    return ", ".join(dict.fromkeys(names)) or None


def _category(element: ET.Element) -> str | None:
    return clean_line(element.get("label") or element.get("term") or _text(element) or "") or None


def _lang(root: ET.Element, channel: ET.Element | None) -> str | None:
    lang = root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang and channel is not None:
        lang = _text(_child(channel, "language"))
    return lang


def _markup_text(element: ET.Element | None) -> str:
    """An element's text as plain text: Atom `type="xhtml"` children, or escaped HTML, stripped."""
    if element is None:
        return ""
    kind = (element.get("type") or "").lower()
    if kind == "xhtml" or len(element):
        return _tree_text(element)
    raw = element.text or ""
    if kind in ("text", "text/plain"):
        return raw.strip()
    return html_text(raw)


def _tree_text(element: ET.Element) -> str:
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        name = _local(node.tag).lower() if isinstance(node.tag, str) else ""
        if name in _SKIP_TAGS:
            parts.append(node.tail or "")
            return
        block = name in _BLOCK_TAGS
        parts.append("\n\n" if block else "")
        parts.append(node.text or "")
        for child in node:
            walk(child)
        parts.append("\n\n" if block else "")
        parts.append(node.tail or "")

    parts.append(element.text or "")
    for child in element:
        walk(child)
    return "".join(parts).strip()


def html_text(markup: str) -> str:
    """An HTML fragment (a feed description) as plain text, paragraphs separated by blank lines."""
    if "<" not in markup:
        return html.unescape(markup).strip()
    reader = _FragmentText()
    reader.feed(markup)
    reader.close()
    return "".join(reader.parts).strip()


class _FragmentText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n" if tag == "br" else "\n\n")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: ET.Element | None, name: str) -> list[ET.Element]:
    if element is None:
        return []
    return [child for child in element if _local(child.tag) == name]


def _child(element: ET.Element | None, *names: str) -> ET.Element | None:
    """The first child with the first of these local names that occurs."""
    for name in names:
        found = _children(element, name)
        if found:
            return found[0]
    return None


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    value = clean_line("".join(element.itertext()))
    return value or None
