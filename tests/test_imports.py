"""The `search` command does not load what a search never uses, and loads it the moment it is used."""
import json
import subprocess
import sys

import searchlib

UNUSED = ("urllib.request", "asyncio", "whoosh.lang.morph_en", "whoosh.lang.porter", "indexing", "bs4",
          "hashlib", "_hashlib", "tempfile", "shutil", "bz2", "random", "calendar", "queue",
          "whoosh.qparser", "dateutil.relativedelta", "spelling", "stats")


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


def test_stand_ins_for_hashing_files_and_stemming():
    from whoosh.lang.porter import stem as porter_stem  # (this process defers nothing)
    code = """
import json, pickle, sys
from searchlib.imports import defer_unused
defer_unused()
import whoosh.filedb.filetables as filetables, whoosh.analysis
import _md5
md5_is_builtin = filetables.md5 is _md5.md5
term_hash = filetables.md5_hash(b"artilleri")
forwarder = whoosh.analysis.StemFilter().stemfn
pickled = pickle.dumps(forwarder)  # by reference, as the real function pickles
stood_in = [type(sys.modules[n]).__name__ for n in ("hashlib", "tempfile", "shutil", "whoosh.lang.porter")]
import hashlib, tempfile, shutil
out = {
    "md5_is_builtin": md5_is_builtin, "stood_in": stood_in,
    "stem": forwarder("running"), "pickled": b"whoosh.lang.porter" in pickled,
    "sha256": hashlib.sha256(b"x").hexdigest()[:8],
    "tempdir": bool(tempfile.gettempdir()), "which": shutil.which("sh") is not None,
    "real_after_use": [type(sys.modules[n]).__name__ for n in ("hashlib", "tempfile", "shutil", "whoosh.lang.porter")],
    "unpickled": pickle.loads(pickled)("running"),
}
import hashlib as real_hashlib
out["same_hash"] = term_hash == int(real_hashlib.md5(b"artilleri").hexdigest(), 16) & 0xFFFFFFFF
print(json.dumps(out))
"""
    assert _run(code) == {
        "md5_is_builtin": True, "stood_in": ["_Deferred"] * 4,
        "stem": porter_stem("running"), "pickled": True, "sha256": "2d711642", "tempdir": True,
        "which": True, "real_after_use": ["module"] * 4, "unpickled": porter_stem("running"),
        "same_hash": True,
    }


def test_main_freezes_the_collector_only_at_exit():
    """main() leaves the objects of a finished command to reference counting at exit (Python's
    shutdown would run the cycle collector over all of them); a program calling it twice keeps
    its collector as it was until then, and the freeze is done once."""
    code = """
import atexit, gc, json, sys
calls = []
real_freeze = gc.freeze
gc.freeze = lambda: (calls.append(1), real_freeze())[1]
report = {}
atexit.register(lambda: print(json.dumps({**report, "freezes": len(calls), "frozen_at_exit": gc.get_freeze_count() > 0})))
from searchlib.cli import main
for _ in range(2):
    try:
        main(["--version"])
    except SystemExit:
        pass
report["frozen_before_exit"] = gc.get_freeze_count()
print()
"""
    assert _run(code) == {"frozen_before_exit": 0, "freezes": 1, "frozen_at_exit": True}


def test_a_stand_in_kept_by_a_module_is_as_fast_as_the_real_one_once_used():
    """A module that imported a stand-in keeps it (`import hashlib` at its top, then
    `hashlib.blake2b` an article): after the first use each name is the real module's, looked up
    without importing anything again (it cost an import_module call each time: 30,000 ids
    hashed in a sharded search's cold start)."""
    code = """
import json, sys, importlib
from searchlib.imports import defer_unused
defer_unused()
import hashlib as kept  # (the stand-in, as a module importing it keeps it)
first = kept.blake2b(b"x", digest_size=8).hexdigest()
imports = []
real_import = importlib.import_module
importlib.import_module = lambda *a, **k: imports.append(a) or real_import(*a, **k)
again = [kept.blake2b(b"x", digest_size=8).hexdigest() for _ in range(3)]
importlib.import_module = real_import
import hashlib
print(json.dumps({"stand_in": type(kept).__name__, "same": again == [first] * 3,
                  "imports": len(imports), "real": kept.blake2b is hashlib.blake2b,
                  "digest": first == hashlib.blake2b(b"x", digest_size=8).hexdigest()}))
"""
    assert _run(code) == {"stand_in": "_Deferred", "same": True, "imports": 0, "real": True, "digest": True}
