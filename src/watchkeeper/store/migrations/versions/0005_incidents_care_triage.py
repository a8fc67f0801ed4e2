"""Alerts, incidents and their timeline, escalation steps, deliveries, silences, leases;
eval runs, reviews, the care ledger, knowledge records and the triage queue.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from watchkeeper.store._tables import JSONType, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("fingerprint", sa.String(length=300), nullable=False),
        sa.Column("rule", sa.String(length=63), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", JSONType, nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("cleared", sa.Integer(), nullable=False),
        sa.Column("muted_by", sa.Text(), nullable=True),
        sa.Column("incident_id", BigId, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_system"), ["system"], unique=False)

    op.create_table(
        "care_entries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("by", sa.String(length=254), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("care_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_entries_system"), ["system"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("incident_id", BigId, nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index("ix_deliveries_system_at", ["system", "at"], unique=False)

    op.create_table(
        "escalation_steps",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "cycle", "level", name="uq_step"),
    )
    op.create_table(
        "eval_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("suite", sa.String(length=63), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("dataset_sha256", sa.String(length=64), nullable=False),
        sa.Column("pass_rate", sa.Float(), nullable=False),
        sa.Column("mean_score", sa.Float(), nullable=False),
        sa.Column("run", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("eval_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_eval_runs_system_suite", ["system", "suite", "started_at"], unique=False
        )

    op.create_table(
        "incident_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("detail", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_events_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "incidents",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("escalation_from", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=254), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=254), nullable=True),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("serious_kind", sa.String(length=32), nullable=True),
        sa.Column("aware_at", UTCDateTime(), nullable=True),
        sa.Column("report_due", UTCDateTime(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_system_status", ["system", "status"], unique=False)

    op.create_table(
        "knowledge",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("fields", JSONType, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("assigned_to", sa.String(length=254), nullable=True),
        sa.Column("incident_id", BigId, nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "kind", "number", name="uq_knowledge_number"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.Column("reviewer", sa.String(length=254), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("report", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_system"), ["system"], unique=False)

    op.create_table(
        "silences",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("matchers", JSONType, nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "triage_items",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=63), nullable=False),
        sa.Column("observation_id", sa.String(length=200), nullable=False),
        sa.Column("observed_at", UTCDateTime(), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("rule", sa.String(length=63), nullable=False),
        sa.Column("condition", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=254), nullable=True),
        sa.Column("snapshot", JSONType, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "observation_id", name="uq_triage_observation"),
    )
    with op.batch_alter_table("triage_items", schema=None) as batch_op:
        batch_op.create_index("ix_triage_system_status", ["system", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("triage_items", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_system_status")

    op.drop_table("triage_items")
    op.drop_table("silences")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_system"))

    op.drop_table("reviews")
    op.drop_table("leases")
    op.drop_table("knowledge")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_system_status")

    op.drop_table("incidents")
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_events_incident_id"))

    op.drop_table("incident_events")
    with op.batch_alter_table("eval_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_eval_runs_system_suite")

    op.drop_table("eval_runs")
    op.drop_table("escalation_steps")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_system_at")
        batch_op.drop_index(batch_op.f("ix_deliveries_incident_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("care_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_entries_system"))

    op.drop_table("care_entries")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_system"))

    op.drop_table("alerts")
