"""Hostile corpus files (issue 15, items 12-15): DTDs in feeds, many records in one file, deeply
nested JSON, giant words. Each test reproduces what the issue saw, at a size a test can afford."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

import searchlib
from searchlib.article import Article
from searchlib.errors import ParseError
from searchlib.parsers import parse_file

from .conftest import write_file

ITEM = "<item><title>Harbour fire</title><description>Crews fought it.</description></item>"
LAUGHS = ('<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">')


def feed(prolog: str, title: str = "Harbour fire") -> str:
    return (f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>Wire</title>'
            f"<item><title>{title}</title><description>Crews fought it.</description></item>"
            "</channel></rss>")


# --- item 12: every DTD is refused, by the XML parser's own doctype hook ----------------------

@pytest.mark.parametrize("prolog", [
    f'<!DOCTYPE rss SYSTEM "a>b" [{LAUGHS}]>',                      # a quoted '>' hid the subset
    f"<!DOCTYPE rss SYSTEM 'x>[y' [{LAUGHS}]>",
    f'<!DOCTYPE rss PUBLIC "-//a b//EN" "c>d" [{LAUGHS}]>',
    f"<!DOCTYPE rss [{LAUGHS}]>",                                    # an ordinary internal subset
    '<!DOCTYPE rss [<!ENTITY % p "<!ENTITY e \'boom\'>"> %p;]>',     # parameter entities
    '<!DOCTYPE rss SYSTEM "http://example.com/rss.dtd">',            # external only
    '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
    "<!-- a comment first -->\n<!DOCTYPE rss>",
])
def test_every_dtd_is_refused(tmp_path, prolog):
    path = write_file(tmp_path / "f.rss", feed(prolog, "&d;" if "&" in prolog else "Harbour fire"))
    with pytest.raises(ParseError, match="feed has a DTD"):
        list(parse_file(path))


def test_a_quoted_gt_in_the_system_id_does_not_let_entities_expand(tmp_path):
    """The issue's case: 8 MB of entity references to a 10 KB entity. Refused at the DOCTYPE,
    so nothing expands and it is quick."""
    subset = LAUGHS + '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    text = feed(f'<!DOCTYPE rss SYSTEM "a>b" [{subset}]>', "&e;" * 100_000)
    path = write_file(tmp_path / "bomb.rss", text)
    started = time.monotonic()
    with pytest.raises(ParseError, match="feed has a DTD"):
        list(parse_file(path))
    assert time.monotonic() - started < 2


def test_feeds_without_a_dtd_still_parse(tmp_path):
    path = write_file(tmp_path / "ok.rss", feed("", "Harbour fire &amp; smoke&nbsp;at dawn"))
    (article,) = parse_file(path)
    assert (article.title, article.source) == ("Harbour fire & smoke\u00a0at dawn".replace("\u00a0", " "), "Wire")
    atom = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>1</id>'
            "<title>Atom entry</title><summary>Text</summary></entry></feed>")
    (entry,) = parse_file(write_file(tmp_path / "a.atom", atom))
    assert entry.title == "Atom entry"
