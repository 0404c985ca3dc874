"""Stage 1, ingest: files and folders → `Article`s (which files, how each format is read, within
what limits).
"""
