"""Window profiles: each watched column's mergeable profile per day, so drift pools recent days
and calibrates on the baseline's days without reading their observations again.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "window_profiles",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("column", sa.String(200), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("profile", JSONType, nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("system", "column", "window_start", name="uq_window_profile"),
    )


def downgrade() -> None:
    op.drop_table("window_profiles")
