"""HTML body: the article text of a news page, without navigation, link lists, banners or comments.

Stage: ingestion, used by `parsers.html` once the page's metadata has been read (this stage
removes elements from the tree). A readability-style extractor:

1. drop what is never article text (scripts, styles, forms, navigation, footers, asides, hidden
   elements) and elements whose class or id says they are boilerplate (`comments`, `share`,
   `related`, `cookie-banner`, ...) unless it also says they are content (`article-body`);
2. score every paragraph-like block by its length and commas, crediting its parent fully and its
   grandparents less; scale each candidate by the share of its text that is not link text;
3. take the best candidate (an `itemprop="articleBody"` element with real text wins outright),
   widen it to a common ancestor when the runners-up live there too (an article split by ads),
   and add siblings that score well or read as prose;
4. write out its blocks as paragraphs, leaving out link lists, boilerplate-classed blocks,
   short runs that are mostly links ("Read more: ..."), and repeats of a paragraph.

When that yields less than `MIN_CHARS`, as when a whole article sits inside a
`float-sidebar-container`, it is tried again on a fresh parse with less trust in class names:
first without step 1's class-based removal, then also without class weights and block cleaning.
A retry's text replaces the first one only when it is more than twice as long.
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Callable

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

# Never article text.
DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "button", "select",
             "input", "textarea", "object", "embed", "canvas", "dialog", "menu", "nav", "footer",
             "aside", "link", "meta", "head", "label", "audio", "video", "map", "area", "picture")
# Class/id words marking boilerplate, and those marking content (which keep an element).
UNLIKELY = re.compile(
    r"-ad-|\bads?\b|advert|ai2html|banner|breadcrumb|combx|comment|community|consent|cookie|"
    r"cover-wrap|disqus|extra|gdpr|header|legends|menu|modal|newsletter|outbrain|pager|pagination|"
    r"paywall|popup|promo|related|remark|replies|rss|share|sharing|shoutbox|sidebar|signup|"
    r"skyscraper|social|sponsor|subscri|supplemental|taboola|trending|most-?read|recommend|"
    r"agegate|tool-?bar|widget|yom-remote|masthead|byline|dateline|author-?bio|timestamp", re.I)
MAYBE = re.compile(r"and|article|body|column|content|main|shadow|story|entry|post-?text", re.I)
NEGATIVE = re.compile(
    r"-ad-|hidden|^hid$| hid$| hid |^hid |banner|combx|comment|com-|contact|footer|gdpr|masthead|"
    r"media|meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|"
    r"tags|widget|byline|caption|credit|newsletter|subscribe|social|toolbar|timestamp|author", re.I)
POSITIVE = re.compile(r"article|body|content|entry|hentry|h-entry|main|page|pagination|post|text|"
                      r"blog|story|prose", re.I)
BAD_ROLES = {"menu", "menubar", "complementary", "navigation", "alert", "alertdialog", "dialog",
             "banner", "contentinfo", "search"}
PARAGRAPHS = ("p", "pre", "td", "blockquote")
BLOCKS = {"p", "div", "section", "article", "main", "pre", "blockquote", "ul", "ol", "li", "dl",
          "dt", "dd", "table", "tr", "td", "th", "tbody", "thead", "h1", "h2", "h3", "h4", "h5",
          "h6", "figure", "figcaption", "header", "hr", "address", "center", "form", "fieldset",
          "details", "summary"}
_DIV_BLOCK_CHILDREN = ("blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul", "section",
                       "article", "figure", "h1", "h2", "h3", "h4", "h5", "h6")
_TAG_SCORE = {"div": 5, "article": 5, "section": 3, "pre": 3, "td": 3, "blockquote": 3, "address": -3,
              "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3, "h1": -5,
              "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5}
# A <time> directly in one of these is a dateline, not part of a sentence.
_CONTAINERS = {"div", "article", "section", "header", "main", "body", "footer", "aside", "figure"}
_MIN_PARAGRAPH = 25
MIN_CHARS = 500
_COMMAS = re.compile(r"[,،，、]")
_SENTENCE_END = re.compile(r"[.!?。！？](\s|$)")
_SPACES = re.compile(r"\s+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_SKIP_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)


@dataclass(frozen=True)
class _Pass:
    """How much one extraction attempt trusts class and id names."""

    strip_unlikely: bool = True
    weigh_classes: bool = True
    clean: bool = True


_PASSES = (_Pass(), _Pass(strip_unlikely=False), _Pass(strip_unlikely=False, weigh_classes=False, clean=False))


def extract(soup: BeautifulSoup, reparse: Callable[[], BeautifulSoup] | None = None) -> str:
    """The article text of a parsed page, paragraphs separated by blank lines ("" if none).

    The tree is used up (decomposed: a tree is a web of cycles the garbage collector would free
    only later, and only one should be in memory at a time). `reparse` gives a fresh tree for
    the retries (none without it).
    """
    best = ""
    for number, settings in enumerate(_PASSES):
        if number:
            if reparse is None:
                break
            soup = reparse()
        text = _extract(soup, settings)
        soup.decompose()
        if len(text) > 2 * len(best):  # a retry must find much more, not just let junk back in
            best = text
        if len(best) >= MIN_CHARS:
            break
    return best


def _extract(soup: BeautifulSoup, settings: _Pass) -> str:
    _prune(soup, settings)
    root = soup.body or soup
    top = _marked_body(root) or _best_candidate(root, settings)
    if top is None:
        return _text(root, set(), settings)
    nodes = _with_siblings(top, settings)
    keep = {id(node) for node in nodes}
    paragraphs = "\n\n".join(_text(node, keep, settings) for node in nodes).split("\n\n")
    return "\n\n".join(dict.fromkeys(p for p in paragraphs if p))  # pages repeat blocks (mobile copies)


# --- 1. pruning ------------------------------------------------------------------------------

def _prune(soup: BeautifulSoup, settings: _Pass) -> None:
    for tag in _tags(soup, _DROP):
        if not _gone(tag):
            tag.decompose()
    for tag in _tags(soup, _FORM):  # ASP.NET pages wrap the whole page in one <form>
        if not _gone(tag) and _paragraph_chars(tag) < 200:
            tag.decompose()
    tags = _tags(soup)
    marked = [tag for tag in tags if _ARTICLE_BODY.search(_attr(tag, "itemprop"))]
    holds_body = {id(parent) for tag in marked for parent in tag.parents}
    for tag in tags:
        if _gone(tag) or tag.name in ("html", "body", "article", "main"):
            continue
        if _hidden(tag) or (settings.strip_unlikely and _unlikely(tag) and id(tag) not in holds_body):
            tag.decompose()


def _hidden(tag: Tag) -> bool:
    if tag.has_attr("hidden") or _HIDDEN_STYLE.search(_attr(tag, "style")):
        return True
    return _attr(tag, "role").lower() in BAD_ROLES


def _unlikely(tag: Tag) -> bool:
    names = _names(tag)
    return bool(names) and bool(UNLIKELY.search(names)) and not MAYBE.search(names)


# --- 2. and 3. choosing the content ----------------------------------------------------------

def _marked_body(root: Tag) -> Tag | None:
    """An `itemprop="articleBody"` element with real text (not an empty `<meta>`)."""
    marked = [t for t in _tags(root) if _ARTICLE_BODY.search(_attr(t, "itemprop"))
              and t.name not in ("meta", "link") and len(t.get_text(strip=True)) >= 200]
    return max(marked, key=_paragraph_chars) if marked else None


def _best_candidate(root: Tag, settings: _Pass) -> Tag | None:
    scores: dict[int, float] = {}
    tags: dict[int, Tag] = {}
    for node, text in _paragraphs(root):
        if len(text) < _MIN_PARAGRAPH:
            continue
        score = 1 + len(_COMMAS.findall(text)) + min(len(text) // 100, 3)
        ancestor, level = node, 0
        while isinstance(ancestor, Tag) and ancestor.name not in ("[document]", "html") and level < 5:
            if id(ancestor) not in scores:
                scores[id(ancestor)] = _initial_score(ancestor, settings)
                tags[id(ancestor)] = ancestor
            scores[id(ancestor)] += score / (1 if level == 0 else 2 if level == 1 else level * 3)
            ancestor, level = ancestor.parent, level + 1
    if not scores:
        return None
    final = {key: score * (1 - _link_density(tags[key])) for key, score in scores.items()}
    ranked = sorted(final, key=final.get, reverse=True)
    top = tags[ranked[0]]
    return _widen(top, [tags[k] for k in ranked[1:6] if final[k] >= 0.75 * final[ranked[0]]], final)


def _paragraphs(root: Tag):
    """(node scored as a paragraph, its text): `p`-like blocks, and divs that hold only inline content."""
    for tag in _tags(root, _SCORED):
        if tag.name == "div" and _holds(tag, _DIV_BLOCKS):
            loose = " ".join(s.strip() for s in tag.children
                             if isinstance(s, NavigableString) and not isinstance(s, _SKIP_STRINGS))
            if len(loose) >= _MIN_PARAGRAPH:  # text directly in a div, between its blocks
                yield tag, loose
        elif isinstance(tag.parent, Tag):
            yield tag.parent, tag.get_text(" ", strip=True)


def _initial_score(tag: Tag, settings: _Pass) -> float:
    return _TAG_SCORE.get(tag.name, 0) + _class_weight(tag, settings)


def _class_weight(tag: Tag, settings: _Pass) -> int:
    if not settings.weigh_classes:
        return 0
    weight = 0
    for value in (" ".join(_classes(tag)), _attr(tag, "id")):
        if value:
            weight += -25 if NEGATIVE.search(value) else 0
            weight += 25 if POSITIVE.search(value) else 0
    return weight


def _widen(top: Tag, runners_up: list[Tag], final: dict[int, float]) -> Tag:
    """The closest ancestor of `top` that also holds at least two strong runners-up."""
    if len(runners_up) < 2:
        return top
    for ancestor in top.parents:
        if not isinstance(ancestor, Tag) or ancestor.name in ("body", "html", "[document]"):
            break
        inside = sum(1 for r in runners_up if r is not ancestor and any(p is ancestor for p in r.parents))
        if inside >= 2:
            return ancestor
    return top


def _with_siblings(top: Tag, settings: _Pass) -> list[Tag]:
    parent = top.parent
    if not isinstance(parent, Tag) or parent.name in ("[document]",):
        return [top]
    top_score = _initial_score(top, settings) + _paragraph_chars(top) / 100
    threshold = max(10.0, top_score * 0.2)
    top_class = " ".join(_classes(top))
    nodes = []
    for sibling in [child for child in parent.children if isinstance(child, Tag)]:
        if sibling is top:
            nodes.append(sibling)
            continue
        bonus = top_score * 0.2 if top_class and " ".join(_classes(sibling)) == top_class else 0
        text = sibling.get_text(" ", strip=True)
        density = _link_density(sibling, text)
        score = _initial_score(sibling, settings) + _paragraph_chars(sibling) / 100 + bonus
        if sibling.name in ("p", "blockquote"):
            prose = (len(text) > 80 and density < 0.25) or \
                    (0 < len(text) <= 80 and density == 0 and _SENTENCE_END.search(text))
            if prose:
                nodes.append(sibling)
        elif score >= threshold and _paragraph_chars(sibling) >= 80 and density < 0.5:
            nodes.append(sibling)
    return nodes


# --- 4. writing the text -----------------------------------------------------------------------

def _text(node: Tag, keep: set[int], settings: _Pass) -> str:
    """Block-structured text of a node, leaving out boilerplate blocks (iteratively: deep pages)."""
    parts: list[str] = []
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and not isinstance(item, NavigableString):  # a separator we pushed
            parts.append(item)
            continue
        if isinstance(item, NavigableString):
            if not isinstance(item, _SKIP_STRINGS):
                parts.append(str(item))
            continue
        tag = item
        if not isinstance(tag, Tag) or _gone(tag):
            continue
        if tag.name == "br":
            parts.append("\n")
            continue
        if tag.name == "h1" or (tag.name == "time" and getattr(tag.parent, "name", "") in _CONTAINERS) \
                or (settings.clean and id(tag) not in keep and _left_out(tag, settings)):
            continue
        block = tag.name in BLOCKS
        if block:
            parts.append("\n\n")
            stack.append("\n\n")
        stack.extend(reversed(list(tag.children)))
    return _tidy("".join(parts))


def _left_out(tag: Tag, settings: _Pass) -> bool:
    """A block inside the content that is not article text."""
    if tag.name not in BLOCKS:
        return False
    weight = _class_weight(tag, settings)
    if weight < 0:
        return True
    text = tag.get_text(" ", strip=True)
    if not text:
        return False
    density = _link_density(tag, text)
    if tag.name in ("ul", "ol", "table", "dl", "div", "section", "figure", "form", "fieldset"):
        paragraphs = len(_tags(tag, _P))
        if density > 0.5 or (weight < 25 and density > 0.2 and paragraphs < 2 and len(text) < 400):
            return True
    return tag.name in ("p", "li", "h2", "h3", "h4", "h5", "h6", "dd") and \
        density > 0.6 and len(text.split(None, 25)) < 25


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]  # (no list of every word)
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


# --- helpers -----------------------------------------------------------------------------------

# bs4's find_all() matches through a general filter object per element, which made it most of
# the extractor's time; these walk `descendants` (what find_all walks) with a set lookup.
_DROP, _FORM, _P, _A = frozenset(DROP_TAGS), frozenset({"form"}), frozenset({"p"}), frozenset({"a"})
_PARAGRAPHS, _SCORED = frozenset(PARAGRAPHS), frozenset(PARAGRAPHS + ("div",))
_DIV_BLOCKS = frozenset(_DIV_BLOCK_CHILDREN)
_ARTICLE_BODY = re.compile(r"\barticleBody\b")


def _tags(root: Tag, names: frozenset | None = None) -> list[Tag]:
    """`root.find_all(names)` (every element with `names=None`), in document order."""
    if names is None:
        return [node for node in root.descendants if isinstance(node, Tag)]
    return [node for node in root.descendants if isinstance(node, Tag) and node.name in names]


def _holds(root: Tag, names: frozenset) -> bool:
    """`root.find(names) is not None`."""
    return any(isinstance(node, Tag) and node.name in names for node in root.descendants)


def _gone(tag: Tag) -> bool:
    """Whether the element was decomposed. (Not `tag.decomposed`: on a live tag, bs4 looks up
    the missing `_decomposed` attribute as a search of the whole subtree for a `<_decomposed>`
    child, which made pruning quadratic.)"""
    return vars(tag).get("_decomposed", False)


def _paragraph_chars(tag: Tag) -> int:
    return sum(len(p.get_text(strip=True)) for p in _tags(tag, _PARAGRAPHS))


def _link_density(tag: Tag, text: str | None = None) -> float:
    text = text if text is not None else tag.get_text(" ", strip=True)
    if not text:
        return 0.0
    linked = sum(len(a.get_text(" ", strip=True)) for a in _tags(tag, _A))
    return min(1.0, linked / len(text))


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class") if tag.attrs is not None else None
    if isinstance(value, str):
        return value.split()
    return [v for v in value or [] if isinstance(v, str)]


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name) if tag.attrs is not None else None
    if isinstance(value, list):
        return " ".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _names(tag: Tag) -> str:
    return (" ".join(_classes(tag)) + " " + _attr(tag, "id")).strip()
