"""Layout: the names of the files searchlib keeps in an index folder beside Whoosh's.

Defined once for whoever needs them without the engine's imports (Whoosh): the facade that opens
and replaces index folders, the indexing run that locks one, the corpus walk that leaves any
index out, and the storage layer's reader locks.
"""
META_FILE = "searchlib.json"    # the folder's description: format and schema version
FORMAT = "searchlib-index"      # what META_FILE's "format" says
LOCK_FILE = "searchlib.lock"    # one indexing run at a time (an advisory flock)
READERS_LOCK = "readers.lock"   # searches opening files (shared) against a commit deleting them
READERS_GATE = "readers.gate"   # a deleter's turn, so searches cannot starve it
SUMMARIES_FILE = "summaries.sqlite"  # what passes over whole commits found (summaries.py)
# a parallel rebuild's records of what its workers wrote (indexing.building), in a temporary folder
# of the new index's own, removed when its segments are committed (left by a killed rebuild)
RECORDS_FOLDER_PREFIX, RECORDS_PREFIX, RECORDS_SUFFIX = "searchlib-build-", "written-", ".pickle"
RECORDS_FOLDER = RECORDS_FOLDER_PREFIX + r"[a-z0-9_]+"  # (tempfile's names: 8 of these characters)
RECORDS_FILE = RECORDS_PREFIX + r"[a-z0-9_]+" + RECORDS_SUFFIX.replace(".", r"\.")
# the files Whoosh writes for a segment (W3 codec, index name MAIN): the only segment-like names a
# commit may delete (Whoosh's own clean-up takes any `MAIN_x.y` not in the new commit)
SEGMENT_FILE = r"MAIN_[0-9a-z]+(\.[A-Za-z0-9_]+)?\.(seg|trm|pst|vps|col|fln|sto|vec|dag)"
TOC_FILE = r"_MAIN_([0-9]+)\.toc"  # a commit's table of contents, its number the commit's
