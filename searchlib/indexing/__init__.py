"""Stage 2, indexing: `Article`s → commits of the index, incrementally, one run at a time (the
manifest, the run lock, parallel building).
"""
