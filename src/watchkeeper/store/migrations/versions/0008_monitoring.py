"""Monitoring and ingest hardening: each finding records when alerting took it in, so a finding
stored by a tick that then failed is still alerted by the next one.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("alerted_at", UTCDateTime(), nullable=True))
    # Every finding stored before this column existed went through alerting (or was a `check`'s,
    # which never did and never will): none of them is owed an alert now.
    op.execute("UPDATE findings SET alerted_at = created_at")
    op.create_index("ix_findings_system_alerted", "findings", ["system", "alerted_at"])
