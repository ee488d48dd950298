"""Results: ``cached_from`` (the batch whose outputs a cached variant reused) and the zones'
design loads from the sizing calculation (``design_heating_kw``, ``design_cooling_kw``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:  # nullable columns: a plain ALTER TABLE ADD COLUMN, SQLite included
    op.add_column("results", sa.Column("cached_from", sa.String(80), nullable=True))
    op.add_column("results", sa.Column("design_heating_kw", sa.Float(), nullable=True))
    op.add_column("results", sa.Column("design_cooling_kw", sa.Float(), nullable=True))


def downgrade() -> None:  # SQLite drops columns by copying the table
    with op.batch_alter_table("results") as table:
        table.drop_column("design_cooling_kw")
        table.drop_column("design_heating_kw")
        table.drop_column("cached_from")
