"""Stories: syndicated copies of one article found at indexing time and grouped at search time.

Stage: stories. `signatures` (shingles, MinHash, LSH band keys) and `linking` (the story an
article joins, looked up in the index's own commits) serve indexing; `grouping` serves
querying (collapsing hits to one per story, a story's copies and what each changed).
"""
