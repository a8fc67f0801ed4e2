"""Alembic environment: always run programmatically with a live connection (see _migrate.py)."""

from alembic import context

from watchkeeper.store._tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
