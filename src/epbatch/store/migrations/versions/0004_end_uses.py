"""Results: the annual end uses (GJ, every fuel summed: lighting, equipment, fans, pumps, ...)
beside heating and cooling, and the peak hourly demand of the study's ``timeseries`` meters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "interior_lighting_gj",
    "exterior_lighting_gj",
    "interior_equipment_gj",
    "exterior_equipment_gj",
    "fans_gj",
    "pumps_gj",
    "heat_rejection_gj",
    "humidification_gj",
    "heat_recovery_gj",
    "water_systems_gj",
    "refrigeration_gj",
    "generators_gj",
    "peak_electricity_w",
    "peak_natural_gas_w",
)


def upgrade() -> None:  # nullable columns: a plain ALTER TABLE ADD COLUMN, SQLite included
    for name in COLUMNS:
        op.add_column("results", sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:  # SQLite drops columns by copying the table
    with op.batch_alter_table("results") as table:
        for name in reversed(COLUMNS):
            table.drop_column(name)
