"""The initial schema: batches, variants, results (what ``create_all`` made before Alembic).

Revision ID: 0001
Revises:
Create Date: 2026-05-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(80), nullable=False),
        sa.Column("study_name", sa.String(64), nullable=False),
        sa.Column("study_file", sa.Text(), nullable=False),
        sa.Column("output_dir", sa.Text(), nullable=False),
        sa.Column("engine_version", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_variants", sa.Integer(), nullable=False),
        sa.Column("n_succeeded", sa.Integer(), nullable=False),
        sa.Column("n_failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_table(
        "variants",
        sa.Column("batch_id", sa.String(80), nullable=False),
        sa.Column("variant_id", sa.String(255), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("weather", sa.Text(), nullable=False),
        sa.Column("construction_set", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.batch_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_id", "variant_id"),
    )
    op.create_table(
        "results",
        sa.Column("batch_id", sa.String(80), nullable=False),
        sa.Column("variant_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("runtime_s", sa.Float(), nullable=False),
        *(
            sa.Column(name, sa.Float(), nullable=True)
            for name in (
                "site_energy_gj",
                "eui_mj_m2",
                "floor_area_m2",
                "heating_gj",
                "cooling_gj",
                "electricity_gj",
                "natural_gas_gj",
                "unmet_hours_heating",
                "unmet_hours_cooling",
            )
        ),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("severe_errors", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id", "variant_id"],
            ["variants.batch_id", "variants.variant_id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "variant_id"),
    )


def downgrade() -> None:
    op.drop_table("results")
    op.drop_table("variants")
    op.drop_table("batches")
