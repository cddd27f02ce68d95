"""The append-only event log: SQLite by default, PostgreSQL for many workers.

One module per job: the store's interface (`store`) and its backends as peers (`sqlite`, `postgres`,
on the SQL they share in `sqlstore`), schema, reading, replay, audit, explain, diff, upcast, hashing,
migrate. The readers reach the log only through the store's methods (an import-linter contract).
This package's `__init__` imports nothing, so `migrations` can import
`eventlog.schema` without pulling in statemachine.
"""
