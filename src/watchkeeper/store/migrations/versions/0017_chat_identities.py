"""People's chat identities: the Slack and PagerDuty user ids their actions there are theirs by.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slack", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("pagerduty", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("pagerduty")
        batch_op.drop_column("slack")
