"""Service tokens: a token may serve one system instead of acting as a person, and every token
says when it was last used.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("person", existing_type=sa.String(length=254), nullable=True)
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="person")
        )
        batch_op.add_column(sa.Column("system", sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column("name", sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_api_tokens_system", ["system"])


def downgrade() -> None:
    # a service token has no person to act as: it cannot survive the older schema
    op.execute("DELETE FROM api_tokens WHERE person IS NULL")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_system")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("name")
        batch_op.drop_column("system")
        batch_op.drop_column("kind")
        batch_op.alter_column("person", existing_type=sa.String(length=254), nullable=False)
