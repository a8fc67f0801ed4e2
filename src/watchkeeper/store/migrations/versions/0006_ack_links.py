"""Acknowledge links: single use. Dashboard sessions: held on the server, so they can end.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ack_links_used",
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("link"),
    )
    with op.batch_alter_table("ack_links_used", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ack_links_used_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "dashboard_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("person", sa.String(length=254), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dashboard_sessions_person"), ["person"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dashboard_sessions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("dashboard_sessions")
    op.drop_table("ack_links_used")
