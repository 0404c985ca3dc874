"""Imports: a short start for the `search` command, by not loading modules a search never uses.

Stage: process start-up, for the command line only (cli.py calls `defer_unused()` before Whoosh
is imported; the library never does, so a program that imports searchlib keeps its modules as
they are). At its own import time Whoosh loads three things that searching never touches,
about a third of the command's start (`python -X importtime -m searchlib.cli`):

- `urllib.request` (by whoosh.compat, for `urlretrieve`), which brings http.client, ssl, email;
- `cached_property` (by whoosh.reading, for one decorator), which imports asyncio for its
  async variant;
- `whoosh.lang.morph_en` (by whoosh.query.terms, for Variations queries), which compiles a
  large regular expression;
- `whoosh.lang.porter` (by whoosh.analysis, the default of StemFilter): our analyzer stems with
  Porter2, so this one is never called, and it compiles a dozen regular expressions;
- `tempfile` (by whoosh.filedb.filestore, for a temporary storage searching never makes) and
  `shutil` (by whoosh.filedb.compound, for writing compound files), which bring bz2 and lzma;
- `random` (by whoosh.util, for the names of files a search never writes), `calendar` (by
  whoosh.util.times, for date arithmetic in date queries, which brings locale) and `queue` (by
  whoosh.compat, for its multiprocessing writer);
- `hashlib` (by whoosh.filedb.filetables, for `md5`, which hashes a term to find it in the term
  table), which loads OpenSSL.

Each is replaced by a stand-in that imports the real module the moment anything in it is used,
so nothing changes for code that does use them. Two stand-ins hand out something else that
does the same job: `cached_property`'s gives the standard library's `functools.cached_property`
(Whoosh's one use: a segment's deleted documents, computed once per reader), and `hashlib`'s
gives `md5` from `_md5`, Python's built-in MD5 (the same digests; where a Python lacks it,
hashlib is left alone).
"""
from __future__ import annotations

import functools
import importlib
import sys
import types

# module → names taken from it with `from module import name` while Whoosh is imported
DEFERRED = {
    "urllib.request": ("urlretrieve",),
    "whoosh.lang.morph_en": ("variations",),
    "whoosh.lang.porter": ("stem",),
    "cached_property": (),
    "tempfile": (),
    "shutil": ("copyfileobj",),
    "random": (),
    "calendar": (),
    "queue": (),
    "hashlib": (),
}


def _substitutes(name: str) -> dict | None:
    """What the stand-in for `name` hands out itself (None: leave `name` alone)."""
    if name == "cached_property":
        return {"cached_property": functools.cached_property}
    if name == "hashlib":
        try:
            from _md5 import md5
        except ImportError:  # a Python built without its own MD5
            return None
        return {"md5": md5}
    return {}


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is used, then imports the real one."""

    def __init__(self, name: str, names: tuple[str, ...]):
        super().__init__(name)
        for attr in names:
            setattr(self, attr, self._forwarder(attr))

    def _forwarder(self, attr: str):
        def forward(*args, **kwargs):
            return getattr(self._real(), attr)(*args, **kwargs)
        forward.__name__ = forward.__qualname__ = attr
        forward.__module__ = self.__name__  # pickles by reference, as the real function would
        return forward

    def _real(self) -> types.ModuleType:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        module = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
        return module

    def __getattr__(self, attr: str):  # only for attributes the stand-in does not have
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        value = getattr(self._real(), attr)
        setattr(self, attr, value)  # (a module that kept the stand-in finds it here next time)
        return value


def defer_unused() -> None:
    """Put the stand-ins in place, for modules not imported yet."""
    for name, names in DEFERRED.items():
        substitutes = _substitutes(name)
        if name in sys.modules or substitutes is None:
            continue
        stand_in = _Deferred(name, names)
        for attr, value in substitutes.items():
            setattr(stand_in, attr, value)
        sys.modules[name] = stand_in
        parent, _, child = name.rpartition(".")
        if parent:  # `import urllib.request` then `urllib.request.x` reads the package's attribute
            setattr(importlib.import_module(parent), child, stand_in)
