"""The code version becomes text of any length: it now names the source digest and library versions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("code_version", existing_type=sa.String(64), type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    """Back to 64 characters: longer code versions are cut, since the older schema cannot hold them."""
    op.execute("UPDATE runs SET code_version = SUBSTR(code_version, 1, 64) WHERE LENGTH(code_version) > 64")
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("code_version", existing_type=sa.Text(), type_=sa.String(64), existing_nullable=False)
