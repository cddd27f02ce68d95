"""A run's seal: `runs.seal`, the digest over its manifest and each day's head hash (eventlog.seal).

Runs that had already ended are sealed by the upgrade over their streams as they stand, so a log
written before seals existed audits as before; runs still running (or interrupted) stay unsealed
until they end.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eventlog.seal import seal_digest

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENDED = ("completed", "failed", "aborted")

_runs = sa.table(
    "runs",
    sa.column("run_id", sa.String),
    sa.column("config_hash", sa.String),
    sa.column("data_digest", sa.String),
    sa.column("code_version", sa.Text),
    sa.column("seed", sa.BigInteger),
    sa.column("status", sa.String),
    sa.column("seal", sa.String),
)
_events = sa.table(
    "events",
    sa.column("run_id", sa.String),
    sa.column("session_date", sa.Date),
    sa.column("seq", sa.Integer),
    sa.column("hash", sa.String),
)


def _heads(connection: sa.Connection, run_id: str) -> list[tuple]:
    last = (
        sa.select(_events.c.session_date, sa.func.max(_events.c.seq).label("last_seq"))
        .where(_events.c.run_id == run_id)
        .group_by(_events.c.session_date)
        .subquery()
    )
    query = (
        sa.select(_events.c.session_date, _events.c.seq, _events.c.hash)
        .join(last, (_events.c.session_date == last.c.session_date) & (_events.c.seq == last.c.last_seq))
        .where(_events.c.run_id == run_id)
        .order_by(_events.c.session_date)
    )
    return [(row.session_date, int(row.seq), row.hash) for row in connection.execute(query)]


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("seal", sa.String(64), nullable=True))
    connection = op.get_bind()
    ended = connection.execute(sa.select(_runs).where(_runs.c.status.in_(_ENDED))).all()
    for run in ended:
        seal = seal_digest(
            config_hash=run.config_hash,
            data_digest=run.data_digest,
            code_version=run.code_version,
            seed=run.seed,
            heads=_heads(connection, run.run_id),
        )
        connection.execute(sa.update(_runs).where(_runs.c.run_id == run.run_id).values(seal=seal))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("seal")
