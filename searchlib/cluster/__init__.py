"""Cluster: sharded indexes built and searched on a Dask cluster (`distributed`).

Stage: execution, beside `sharding.execution`'s LocalExecutor. `connection` reaches a scheduler
(an address such as tcp://HOST:8786, or a `distributed.Client` the caller made) and turns what
can go wrong into one-line errors; `executor` runs `Executor.map` on the cluster's workers, so
the shards' building and searching (`sharding`) run there unchanged. Dask is imported only here,
and only when a cluster is asked for: `pip install 'searchlib[cluster]'`.
"""
