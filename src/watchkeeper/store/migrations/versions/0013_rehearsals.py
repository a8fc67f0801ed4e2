"""Runbook rehearsals: each run of a scenario on a throwaway copy of a system, the manifest it
ran on (by digest) and whether it paged, with the whole report.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rehearsals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("scenario", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("runbook_digest", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("time_to_page_s", sa.Float(), nullable=True),
        sa.Column("rehearsed_at", UTCDateTime(), nullable=False),
        sa.Column("rehearsed_by", sa.String(254), nullable=False),
        sa.Column("report", JSONType, nullable=False),
    )
    op.create_index("ix_rehearsals_system", "rehearsals", ["system", "scenario", "rehearsed_at"])


def downgrade() -> None:
    op.drop_index("ix_rehearsals_system", "rehearsals")
    op.drop_table("rehearsals")
