"""The kill switch's roll call: each SDK process per system, the switch version it holds and
when it was last heard, so a flip can be confirmed by the processes that obey it.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "switch_processes",
        sa.Column("system", sa.String(63), primary_key=True),
        sa.Column("process", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("sdk", sa.String(32), nullable=False),
        sa.Column("service", sa.String(100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("fail_mode", sa.String(8), nullable=True),
        sa.Column("heartbeat", sa.Float(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("version_since", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_switch_processes_system_seen", "switch_processes", ["system", "last_seen"])


def downgrade() -> None:
    op.drop_index("ix_switch_processes_system_seen", "switch_processes")
    op.drop_table("switch_processes")
