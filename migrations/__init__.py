"""Alembic environment and versions for the event log."""
