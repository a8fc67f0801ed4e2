"""Access: token revocation and expiry, deliberate deactivation, keyed audit chain.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deactivated_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deactivated_by", sa.String(length=254), nullable=True))
        # when they left, however (people.yaml or `wk people deactivate`): vacancies name it
        batch_op.add_column(sa.Column("left_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=254), nullable=True))
    # entries written before this revision were hashed without a key: they stay verifiable
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keyed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("keyed")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("left_at")
        batch_op.drop_column("deactivated_by")
        batch_op.drop_column("deactivated_at")
