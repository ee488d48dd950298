"""Parameters: ``variants.sample_id`` (the parameter sample a variant used) and the
``samples`` table (each sample's parameter values, long form: a number or a text).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("variants", sa.Column("sample_id", sa.String(16), nullable=True))
    op.create_table(
        "samples",
        sa.Column("batch_id", sa.String(80), nullable=False),
        sa.Column("sample_id", sa.String(16), nullable=False),
        sa.Column("parameter", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.batch_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_id", "sample_id", "parameter"),
    )


def downgrade() -> None:  # SQLite drops columns by copying the table
    op.drop_table("samples")
    with op.batch_alter_table("variants") as table:
        table.drop_column("sample_id")
