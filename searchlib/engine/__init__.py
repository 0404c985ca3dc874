"""The storage engine inside Whoosh's format: one schema and one analysis, our segment writer and
postings, BM25F scoring from the postings, and the storage layer (what Lucene's `codecs` and
tantivy's `postings`/`store` are).
"""
