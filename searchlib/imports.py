"""Imports: a short start for the `search` command, by not loading modules a search never uses.

Stage: process start-up, for the command line only (cli.py calls `defer_unused()` before Whoosh
is imported; the library never does, so a program that imports searchlib keeps its modules as
they are). At its own import time Whoosh loads three things that searching never touches,
about a third of the command's start (`python -X importtime -m searchlib.cli`):

- `urllib.request` (by whoosh.compat, for `urlretrieve`), which brings http.client, ssl, email;
- `cached_property` (by whoosh.reading, for one decorator), which imports asyncio for its
  async variant;
- `whoosh.lang.morph_en` (by whoosh.query.terms, for Variations queries), which compiles a
  large regular expression.

Each is replaced by a stand-in that imports the real module the moment anything in it is used,
so nothing changes for code that does use them. The stand-in for `cached_property` hands out
the standard library's `functools.cached_property`, which does the same for Whoosh's one use
(a segment's deleted documents, computed once per reader).
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
    "cached_property": (),
}


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
        return getattr(self._real(), attr)


def defer_unused() -> None:
    """Put the stand-ins in place, for modules not imported yet."""
    for name, names in DEFERRED.items():
        if name in sys.modules:
            continue
        stand_in = _Deferred(name, names)
        if name == "cached_property":
            stand_in.cached_property = functools.cached_property
        sys.modules[name] = stand_in
        parent, _, child = name.rpartition(".")
        if parent:  # `import urllib.request` then `urllib.request.x` reads the package's attribute
            setattr(importlib.import_module(parent), child, stand_in)
