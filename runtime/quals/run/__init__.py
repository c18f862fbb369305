"""Where scoring runs: a pool of local worker processes (pool) or Ray Data actors (ray), each with its own Scorer.

Both take batches of records and give their results in input order, with the numbers a single Scorer gives.
"""
