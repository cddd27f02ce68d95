"""One row per stream with its status, for resume and `daytape runs`; filled from the existing events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eventlog.schema import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
INSERT INTO sessions (run_id, session_date, status, last_seq, end_seq, updated_at)
SELECT run_id, session_date,
       CASE WHEN SUM(CASE WHEN kind = 'SessionAborted' THEN 1 ELSE 0 END) > 0 THEN 'aborted'
            WHEN SUM(CASE WHEN kind = 'SessionFailed' THEN 1 ELSE 0 END) > 0 THEN 'failed'
            WHEN SUM(CASE WHEN kind = 'SessionEnded' THEN 1 ELSE 0 END) > 0 THEN 'ended'
            ELSE 'running' END,
       MAX(seq),
       MAX(CASE WHEN kind = 'SessionEnded' THEN seq END),
       MAX(recorded_at)
FROM events
GROUP BY run_id, session_date
"""


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("end_seq", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_sessions_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "session_date", name=op.f("pk_sessions")),
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_table("sessions")
