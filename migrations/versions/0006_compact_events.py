"""Compact event rows (issue 21: about 12 KB a symbol-day down to under 3 KB).

The events table is rebuilt: keyed by (run_key, session_date, seq), a run's small integer key
(`runs.run_key`, new) in place of its 32-character id; no `id` column, and on SQLite no rowid (WITHOUT
ROWID: the key is the table); no stored `prev_hash` (the hash of the row before, which readers derive);
`hash` as its 32 bytes; `kind` as its number (`eventlog.kinds`); on SQLite, times as integer
microseconds (`recorded_at` in milliseconds, the precision of SQLite's clock) and dates as day
numbers; the payload as `eventlog.codec` stores it (the canonical text compressed against a fixed
dictionary). Every stored payload decompresses to the very text that was
hashed, so every chain verifies as before and every seal stays what it was.

A downgrade writes the rows back in the old layout, with each `prev_hash` taken from the row before.
Rows are copied one stream at a time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from eventlog import codec
from eventlog.hashing import genesis_hash
from eventlog.kinds import kind_code, kind_name
from eventlog.schema import DayNumber, UTCDateTime, UTCMicros, UTCMillis

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "events_0005"
_NEW = "events_0006"
_ENVELOPE = ("seq", "schema_version", "symbol", "request_id", "sim_time", "recorded_at")


def _old_events(name: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column("run_id", sa.String),
        sa.column("session_date", sa.Date),
        sa.column("seq", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("schema_version", sa.SmallInteger),
        sa.column("symbol", sa.String),
        sa.column("request_id", sa.String),
        sa.column("sim_time", UTCDateTime),
        sa.column("recorded_at", UTCDateTime),
        sa.column("payload_json", sa.Text),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )


def _new_events(name: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("run_key", sa.Integer),
        sa.column("session_date", DayNumber),
        sa.column("seq", sa.Integer),
        sa.column("kind", sa.SmallInteger),
        sa.column("schema_version", sa.SmallInteger),
        sa.column("symbol", sa.String),
        sa.column("request_id", sa.String),
        sa.column("sim_time", UTCMicros),
        sa.column("recorded_at", UTCMillis),
        sa.column("payload", sa.LargeBinary),
        sa.column("hash", sa.LargeBinary),
    )


_runs = sa.table("runs", sa.column("run_id", sa.String), sa.column("run_key", sa.Integer))


def _stored_hash(text: str) -> bytes:
    """The 32 bytes of a hex hash; text that is no such hash (a damaged row) is kept as its bytes, so the
    audit still reports it."""
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        return text.encode()
    return digest if len(digest) == 32 else text.encode()


def _hash_text(stored: bytes) -> str:
    return stored.hex() if len(stored) == 32 else stored.decode(errors="replace")


def _create_new_events(name: str) -> None:
    op.create_table(
        name,
        sa.Column("run_key", sa.Integer(), nullable=False),
        sa.Column("session_date", DayNumber(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("sim_time", UTCMicros(), nullable=True),
        sa.Column("recorded_at", UTCMillis(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.ForeignKeyConstraint(["run_key"], ["runs.run_key"], name="fk_events_run_key_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_key", "session_date", "seq", name="pk_" + name),
        sqlite_with_rowid=False,
    )


def _create_old_events(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("sim_time", UTCDateTime(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_events_run_id_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_" + name),
        sa.UniqueConstraint("run_id", "session_date", "seq", name="uq_events_run_id_session_date_seq"),
    )


def _rename_events(old: str, new: str) -> None:
    op.rename_table(old, new)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")


def _streams(connection: sa.Connection, table: sa.TableClause, run_column: str) -> list[tuple[Any, dt.date]]:
    run, day = table.c[run_column], table.c.session_date
    return [(row[0], row[1]) for row in connection.execute(sa.select(run, day).distinct().order_by(run, day))]


def _dates_to_day_numbers(to_numbers: bool) -> None:
    """SQLite's `sessions.session_date`: ISO text to day numbers (or back)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    if to_numbers:
        op.execute("UPDATE sessions SET session_date = CAST(julianday(session_date) - 2440587.5 AS INTEGER)")
    else:
        op.execute("UPDATE sessions SET session_date = date(session_date * 86400, 'unixepoch')")


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("run_key", sa.Integer(), nullable=True))
    run_ids = connection.execute(sa.text("SELECT run_id FROM runs ORDER BY started_at, run_id")).scalars().all()
    for key, run_id in enumerate(run_ids, start=1):
        connection.execute(sa.update(_runs).where(_runs.c.run_id == run_id).values(run_key=key))
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("run_key", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_runs_run_key", ["run_key"])
    keys = dict(zip(run_ids, range(1, len(run_ids) + 1), strict=True))

    _rename_events("events", _OLD)
    _create_new_events(_NEW)
    old, new = _old_events(_OLD), _new_events(_NEW)
    for run_id, day in _streams(connection, old, "run_id"):
        rows = connection.execute(
            sa.select(old).where(old.c.run_id == run_id, old.c.session_date == day).order_by(old.c.seq)
        ).all()
        values = [
            {
                "run_key": keys[run_id],
                "session_date": day,
                "kind": kind_code(row.kind),
                **{name: getattr(row, name) for name in _ENVELOPE},
                "payload": codec.pack(row.payload_json.encode()),
                "hash": _stored_hash(row.hash),
            }
            for row in rows
        ]
        connection.execute(sa.insert(new), values)
    op.drop_table(_OLD)
    _rename_events(_NEW, "events")
    _dates_to_day_numbers(True)


def downgrade() -> None:
    connection = op.get_bind()
    _dates_to_day_numbers(False)
    _rename_events("events", _NEW)
    _create_old_events(_OLD)
    old, new = _old_events(_OLD), _new_events(_NEW)
    run_ids = dict(connection.execute(sa.select(_runs.c.run_key, _runs.c.run_id)).all())
    for run_key, day in _streams(connection, new, "run_key"):
        rows = connection.execute(
            sa.select(new).where(new.c.run_key == run_key, new.c.session_date == day).order_by(new.c.seq)
        ).all()
        prev = genesis_hash(day)
        values = []
        for row in rows:
            digest = _hash_text(row.hash)
            values.append(
                {
                    "run_id": run_ids[run_key],
                    "session_date": day,
                    "kind": kind_name(row.kind),
                    **{name: getattr(row, name) for name in _ENVELOPE},
                    "payload_json": codec.unpack(row.payload).decode(),
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        connection.execute(sa.insert(old), values)
    op.drop_table(_NEW)
    _rename_events(_OLD, "events")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("uq_runs_run_key", type_="unique")
        batch.drop_column("run_key")
