"""Fields: the names of the index fields the stories stage writes and reads (see schema.py)."""

BANDS_FIELD = "bands"   # band keys: a term field of indexes written before the band table (bands.py)
STORY_FIELD = "story"   # the id of the story the article belongs to, stored and a column
