"""Feeds: a watch's new articles as an Atom 1.0 feed (RFC 4287), one file per watch, kept up to date.

Stage: alerts → a file any feed reader can subscribe to (or a web server serve). Each run puts
the new articles first and keeps the newest MAX_ENTRIES in all; an article delivered again (its
text changed) replaces its earlier entry, which has the same id. The file is replaced
atomically (written beside, synced, renamed), so a reader never sees half a feed. A file at the
path that is not a feed searchlib wrote is never overwritten.
"""
from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..errors import DigestError
from .arrivals import Arrival, Arrivals
from .files import replace_file

ATOM = "http://www.w3.org/2005/Atom"
GENERATOR = "searchlib"
MAX_ENTRIES = 200  # entries kept in a feed, newest runs first
_A = f"{{{ATOM}}}"


def entry_id(article_id: str) -> str:
    """A stable IRI for an article's entry: the same article keeps its id across runs."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"searchlib:article:{article_id}").urn


def write_feed(path: Path, watch, arrivals: Arrivals, now: datetime, *, base: Path | None = None,
               max_entries: int = MAX_ENTRIES) -> Path:
    """Write (or update) the Atom feed of `watch` at `path` with `arrivals` first. `base`: the
    folder that relative article paths are relative to (for links to articles without a URL).
    Raises OSError when it cannot be written, DigestError when the file there is not ours."""
    path = Path(path)
    ET.register_namespace("", ATOM)
    old_entries = _old_entries(path, watch.name)
    feed = ET.Element(f"{_A}feed")
    _text(feed, "id", watch.feed_id or entry_id(f"watch:{watch.name}"))
    _text(feed, "title", f"searchlib watch {watch.name}: {watch.query}")
    _text(feed, "subtitle", "Articles matching the query, as they entered the index")
    _text(feed, "updated", _rfc3339(now))
    author = ET.SubElement(feed, f"{_A}author")
    _text(author, "name", "searchlib")
    ET.SubElement(feed, f"{_A}generator", {"version": __version__}).text = GENERATOR
    new_ids = set()
    entries = []
    for item in arrivals:
        entry = _entry(item, base)
        new_ids.add(entry.findtext(f"{_A}id"))
        entries.append(entry)
    entries += [e for e in old_entries if e.findtext(f"{_A}id") not in new_ids]
    for entry in entries[:max_entries]:
        feed.append(entry)
    ET.indent(feed)
    data = ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
    replace_file(path, data)
    return path


def _entry(item: Arrival, base: Path | None) -> ET.Element:
    hit = item.hit
    entry = ET.Element(f"{_A}entry")
    _text(entry, "id", entry_id(hit.id))
    _text(entry, "title", hit.title or hit.id)
    _text(entry, "updated", _rfc3339(item.entered))
    if hit.date:
        _text(entry, "published", _rfc3339(hit.date))
    ET.SubElement(entry, f"{_A}link", {"rel": "alternate", "href": _link(hit, base)})
    byline = hit.author or hit.source
    if byline:
        author = ET.SubElement(entry, f"{_A}author")
        _text(author, "name", byline)
    if hit.source:
        ET.SubElement(entry, f"{_A}category", {"term": hit.source})
    _text(entry, "summary", hit.snippet)
    return entry


def _link(hit, base: Path | None) -> str:
    """The article's URL if it has a web one, else its file as a file: URI, else its id."""
    if hit.url and hit.url.lower().startswith(("http://", "https://")):
        return hit.url
    if hit.path is not None:
        where = hit.path if hit.path.is_absolute() or base is None else base / hit.path
        return Path(os.path.abspath(where)).as_uri()
    return entry_id(hit.id)


def _old_entries(path: Path, name: str) -> list[ET.Element]:
    """The entries of the feed already at `path` (none if there is no file)."""
    try:
        with open(path, "rb") as file:
            data = file.read(64 << 20)
    except FileNotFoundError:
        return []
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        root = None
    if root is None or root.tag != f"{_A}feed" or root.findtext(f"{_A}generator") != GENERATOR:
        raise DigestError(name, f"{path} is there and is not a feed searchlib wrote; move it away "
                                "or choose another --digest-dir")
    return root.findall(f"{_A}entry")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{_A}{tag}")
    element.text = _xml_safe(text)
    return element


def _xml_safe(text: str) -> str:
    """Text XML 1.0 can carry: control characters (but tab and newline) and lone surrogates
    from an article become U+FFFD rather than a feed no reader can parse."""
    return "".join(c if c in "\t\n\r" or (" " <= c and not 0xD800 <= ord(c) <= 0xDFFF
                                          and c not in "\ufffe\uffff") else "\ufffd"
                   for c in text or "")


def _rfc3339(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
