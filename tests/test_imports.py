"""The `search` command does not load what a search never uses, and loads it the moment it is used."""
import json
import subprocess
import sys

import searchlib

UNUSED = ("urllib.request", "asyncio", "whoosh.lang.morph_en", "indexing", "bs4")


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_search_from_the_command_line_loads_none_of_them(index):
    code = f"""
import json, sys
from searchlib.cli import main
try:
    main(["flood", "--index", sys.argv[1], "--color", "never"])
except SystemExit as exc:
    status = exc.code
real = lambda name: type(sys.modules.get(name)).__name__ == "module"
print()
print(json.dumps({{"status": status, "loaded": [n for n in {UNUSED!r} if real(n) or real("searchlib." + n)]}}))
"""
    assert _run(code, str(index.path)) == {"status": 0, "loaded": []}


def test_stand_ins_load_the_real_modules_when_used():
    code = """
import json, sys, functools
from searchlib.imports import defer_unused
defer_unused()
import whoosh.compat, whoosh.reading, whoosh.query
stood_in = type(sys.modules["urllib.request"]).__name__
import urllib.request
has_request = hasattr(urllib.request, "Request")  # first use: the real module comes in
from cached_property import cached_property
import cached_property as package
print(json.dumps({
    "stood_in": stood_in,
    "real_after_use": type(sys.modules["urllib.request"]).__name__,
    "has_request": has_request,
    "same_function": urllib.request.urlretrieve is sys.modules["urllib.request"].urlretrieve,
    "decorator": cached_property is functools.cached_property,
    "whoosh_decorator": type(whoosh.reading.SegmentReader.__dict__["deleted_docs_set"]).__name__,
    "threaded": package.threaded_cached_property.__module__,
    "variations": sorted(whoosh.query.terms.variations("floods"))[:2],
}))
"""
    assert _run(code) == {
        "stood_in": "_Deferred", "real_after_use": "module", "has_request": True, "same_function": True,
        "decorator": True, "whoosh_decorator": "cached_property", "threaded": "cached_property",
        "variations": ["flood", "floods"],
    }


def test_the_library_alone_changes_no_modules():
    code = """
import json, sys
import searchlib
idx = searchlib.Index
print(json.dumps({"real": type(sys.modules.get("urllib.request")).__name__}))
"""
    assert _run(code) == {"real": "module"}
    assert searchlib.Index  # the lazy names resolve
