"""The append-only event log (SQLite by default, PostgreSQL for many workers): store, reading, replay, audit, explain and diff."""
