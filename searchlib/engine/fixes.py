"""Fixes: Whoosh 2.7 bugs mended where its classes are defined, once, when the engine's ranking
is imported, so that every path through Whoosh's matchers (facet counts, date sorts, the web
page) gets them, not only our own ranking.

- AndNotMatcher (`river -flood`, `river ANDNOT flood`) checks its first article against the
  excluded word only when the excluded word's first article is the same one; when that comes
  earlier (an article with `flood` alone before the first with both), the first article with
  both words was kept. The check is now made whenever both words have articles left: the
  `_find_next` it calls skips the excluded word's postings up to the article first.
"""
from __future__ import annotations

from whoosh.matching import binary


def _find_first(self) -> None:
    if self.a.is_active() and self.b.is_active():
        self._find_next()


binary.AndNotMatcher._find_first = _find_first
