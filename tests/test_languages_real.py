"""Known-item search in every language of the real pages in ../shared/corpora/html (issue 17):
each non-English page is found in the top 3 by its title, and by a word of two to four
characters of its text (the rarest such word of the page: a reader who remembers one)."""
import re
from collections import Counter

import pytest

import searchlib

from .conftest import SHARED

pytestmark = pytest.mark.shared
HTML = SHARED / "corpora" / "html"
TOP = 3


def _pages() -> list:
    return sorted([*(HTML / "newspaper3k-tests" / "html").glob("*.html"),
                   *(HTML / "readability-test-pages").glob("*/source.html")])


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The pages' articles (non-English ones), and an index of all the pages."""
    folder = tmp_path_factory.mktemp("multilingual")
    files = _pages()
    articles = [a for a in searchlib.read_articles(files) if isinstance(a, searchlib.Article)]
    with searchlib.Index(folder / "index") as idx:
        idx.update(files, jobs=1)
        yield idx, articles


def _words(article) -> list[str]:
    """The words of two to four characters in the page's text: space-separated words, and the
    substrings of runs of unspaced script (Chinese, Japanese, Thai are written without spaces)."""
    from searchlib.engine.analysis import RUN, TOKEN, is_run
    words = []
    for token in TOKEN.findall(f"{article.title} {article.body}"):
        if is_run(token):
            words += [token[i:i + n] for n in (2, 3, 4) for i in range(len(token) - n + 1)]
        elif 2 <= len(token) <= 4 and not token.isdigit() and not RUN.search(token):
            words.append(token)
    return words


def test_every_non_english_page_is_found_by_its_title_and_a_short_word(pages):
    idx, articles = pages
    foreign = [a for a in articles if a.lang and a.lang != "en"]
    langs = Counter(a.lang for a in foreign)
    # the languages the issue names are all there (detected where a page declares none)
    assert {"ja", "de", "zh", "th", "pt", "fr", "es", "cs", "ar"} <= set(langs)
    # how many pages of the whole set hold each word: the rarest word of a page is its own
    df = Counter(w for a in articles for w in set(map(str.lower, _words(a))))
    missed = []
    for article in foreign:
        title = re.sub(r'["()\[\]{}^~*?:+\-]', " ", article.title)  # typed as words, not syntax
        if article.path not in [hit.path for hit in idx.search(title, limit=TOP)]:
            missed.append((article.lang, "title", article.title))
        words = sorted(set(_words(article)), key=lambda w: (df[w.lower()], -len(w), w))
        word = words[0]
        if article.path not in [hit.path for hit in idx.search(word, limit=TOP)]:
            missed.append((article.lang, "word", word))
    assert missed == [], f"{len(missed)} of {2 * len(foreign)} known-item searches missed"
