"""Sharding: one index split into N ordinary searchlib indexes (shards), built and searched as one.

Stage: over `indexing` and `querying`. `layout` says where the shards are and which shard an
article goes to; `execution` runs one function per shard, here in this process or on a cluster
(`searchlib.cluster`), so building and searching are written once for both.
"""
