"""Kill-switch drills: each version bump that exercised the switch without changing its state,
who started it, and how the live SDK processes confirmed it.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "switch_drills",
        sa.Column("system", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(254), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("live", sa.Integer(), nullable=True),
        sa.Column("confirmed", sa.Integer(), nullable=True),
        sa.Column("confirmed_in_ms", sa.Float(), nullable=True),
        sa.Column("stragglers", JSONType, nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("switch_drills")
