"""The append-only event log: SQLite by default, PostgreSQL for many workers.

One module per job: schema, store (appends), reading, replay, audit, explain, diff, upcast,
hashing, migrate. This package's `__init__` imports nothing, so `migrations` can import
`eventlog.schema` without pulling in statemachine.
"""
