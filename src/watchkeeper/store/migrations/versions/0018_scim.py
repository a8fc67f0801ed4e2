"""SCIM provisioning: people and teams get the stable id an identity provider knows them by, its
own id for them (externalId), when they were created, and whether SCIM deleted them; a person
says whether the identity provider provisions them (`source`), a team its name there.

Revision ID: 0018
Revises: 0017
"""

import uuid

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TABLES = {"people": "email", "teams": "name"}


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("scim_id", sa.String(length=36), nullable=True))
            batch_op.add_column(sa.Column("external_id", sa.String(length=254), nullable=True))
            if table == "people":
                batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
            else:
                batch_op.add_column(sa.Column("display_name", sa.String(length=254), nullable=True))
            batch_op.add_column(sa.Column("created_at", UTCDateTime(), nullable=True))
            batch_op.add_column(sa.Column("scim_deleted_at", UTCDateTime(), nullable=True))
    connection = op.get_bind()
    for table, key in _TABLES.items():
        rows = connection.execute(sa.text(f"SELECT {key} FROM {table}")).scalars().all()
        for value in rows:  # every existing person and team gets its id now: ids never change
            connection.execute(
                sa.text(f"UPDATE {table} SET scim_id = :id WHERE {key} = :key"),
                {"id": str(uuid.uuid4()), "key": value},
            )
        op.create_index(f"ix_{table}_scim_id", table, ["scim_id"], unique=True)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_scim_id", table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("scim_deleted_at")
            batch_op.drop_column("created_at")
            batch_op.drop_column("source" if table == "people" else "display_name")
            batch_op.drop_column("external_id")
            batch_op.drop_column("scim_id")
