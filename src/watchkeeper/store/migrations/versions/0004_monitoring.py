"""Signal values per window, findings, baseline profiles.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signal_values",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("signal", sa.String(100), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("system", "signal", "window_start", name="uq_signal_window"),
    )
    op.create_table(
        "findings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("fingerprint", sa.String(300), nullable=False),
        sa.Column("check", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(63), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("evidence", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("fingerprint", "window_start", name="uq_finding_window"),
    )
    op.create_index("ix_findings_system_created", "findings", ["system", "created_at"])
    op.create_table(
        "baselines",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("column", sa.String(200), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("profile", JSONType, nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("system", "column", name="uq_baseline_column"),
    )


def downgrade() -> None:
    for table in ("baselines", "findings", "signal_values"):
        op.drop_table(table)
