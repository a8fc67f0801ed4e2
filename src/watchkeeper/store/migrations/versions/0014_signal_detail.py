"""Signal values keep what came with them: an estimated metric's interval.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signal_values", sa.Column("detail", JSONType, nullable=True))


def downgrade() -> None:
    op.drop_column("signal_values", "detail")
