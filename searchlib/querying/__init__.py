"""Stage 3, querying: query text → Whoosh query → `Hit`s and `Results` (snippets, facets, did-you-
mean, statistics).
"""
