"""Serious incidents under the EU AI Act: the Art. 3(49) category, a death (Art. 73(4)) and a
widespread infringement (Art. 3(61), 73(3)) beside the deadline's basis already kept in
`serious_kind`; when the first report and the complete one (Art. 73(5)) went to the authority.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serious_category", sa.String(length=1), nullable=True))
        batch_op.add_column(
            sa.Column("serious_death", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("serious_widespread", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reported_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("report_complete_at", UTCDateTime(), nullable=True))
    # What the old kinds said of the new columns; "default" and "widespread" named no category,
    # which stays unknown until the incident is classified again.
    incidents = sa.table(
        "incidents",
        sa.column("serious_kind", sa.String),
        sa.column("serious_category", sa.String),
        sa.column("serious_death", sa.Boolean),
        sa.column("serious_widespread", sa.Boolean),
    )
    for kind, values in (
        ("critical-infrastructure", {"serious_category": "b"}),
        ("death", {"serious_category": "a", "serious_death": True}),
        ("widespread", {"serious_widespread": True}),
    ):
        op.execute(incidents.update().where(incidents.c.serious_kind == kind).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for column in (
            "report_complete_at",
            "reported_at",
            "serious_widespread",
            "serious_death",
            "serious_category",
        ):
            batch_op.drop_column(column)
