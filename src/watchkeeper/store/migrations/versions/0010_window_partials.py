"""Window partials: what each ingested batch adds to each window a check reads, merged when read,
so the monitor never rescans a window's raw rows and replicas ingest with no lock.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "window_partials",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("key", sa.String(240), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("origin", sa.String(64), nullable=True),
        sa.UniqueConstraint("system", "key", "window_start", "origin", name="uq_partial_origin"),
    )
    op.create_index(
        "ix_window_partials_system_key_start", "window_partials", ["system", "key", "window_start"]
    )


def downgrade() -> None:
    op.drop_index("ix_window_partials_system_key_start", "window_partials")
    op.drop_table("window_partials")
