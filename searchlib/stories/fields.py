"""Fields: the names of the index fields the stories stage writes and reads (see schema.py)."""

BANDS_FIELD = "bands"   # an article's LSH band keys (signatures.py), as terms
STORY_FIELD = "story"   # the id of the story the article belongs to, stored and a column
