"""Observations, feedback and dead letters.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("pk", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("obs_id", sa.String(200), nullable=False),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("inputs", JSONType, nullable=False),
        sa.Column("output", JSONType, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("meta", JSONType, nullable=False),
        sa.UniqueConstraint("system", "obs_id", name="uq_observation_id"),
    )
    op.create_index("ix_observations_system_ts", "observations", ["system", "ts"])
    op.create_table(
        "feedback",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("observation_id", sa.String(200), nullable=False),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("thumbs_up", sa.Boolean, nullable=True),
        sa.Column("meta", JSONType, nullable=False),
    )
    op.create_index("ix_feedback_system_obs", "feedback", ["system", "observation_id"])
    op.create_table(
        "dead_letters",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("item_index", sa.Integer, nullable=True),
        sa.Column("raw", JSONType, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_dead_letters_system", "dead_letters", ["system", "received_at"])


def downgrade() -> None:
    for table in ("dead_letters", "feedback", "observations"):
        op.drop_table(table)
