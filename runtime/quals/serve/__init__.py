"""`quals serve`: the scorer as a small HTTP service (the `serve` extra: Starlette on uvicorn).

One server process answers HTTP; the records of every request go into one bounded queue, served by a pool of
scoring processes (quals.run.pool.ScorerPool, each with its own model). A record's score depends on that record
alone, so a result is the same, bit for bit, whichever requests it was queued with: exactly the JSON
`quals score` writes for it.

Modules: limits (what the service accepts, in one frozen dataclass), contract (request bodies in, error bodies
out), dispatch (the queue, the pool, deadlines, overload, draining), service (the model, the signatures, the
jobs), metrics (Prometheus), app (the Starlette routes), server (uvicorn with a drain on shutdown).
The API is `openapi.json` beside this file (served at /v1/openapi.json; tests/test_serve.py checks the app
against it).
"""
