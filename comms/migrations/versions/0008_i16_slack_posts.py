"""i16: the Slack channel remembers each timeline entry it saw, not how far it got

Revision ID: 0008_i16_slack_posts
Revises: 0007_i17_operations_queue
"""

import sqlalchemy as sa
from alembic import op

import comms.db

revision = "0008_i16_slack_posts"
down_revision = "0007_i17_operations_queue"
branch_labels = None
depends_on = None
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "slack_posts",
        sa.Column("event_id", BIGINT, nullable=False),
        sa.Column("incident_id", BIGINT, nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.Column("posted_at", comms.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["timeline_events.id"], name=op.f("fk_slack_posts_event_id_timeline_events")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_slack_posts_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_slack_posts")),
    )
    with op.batch_alter_table("slack_posts") as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_posts_incident_id"), ["incident_id"])
    # What the channels saw so far: every entry up to their high-water mark.
    op.execute(
        "INSERT INTO slack_posts (event_id, incident_id, ts, posted_at) "
        "SELECT e.id, e.incident_id, '', e.at FROM timeline_events e "
        "JOIN slack_threads t ON t.incident_id = e.incident_id WHERE e.id <= t.posted_through"
    )
    with op.batch_alter_table("slack_threads") as batch_op:
        batch_op.drop_column("posted_through")


def downgrade() -> None:
    with op.batch_alter_table("slack_threads") as batch_op:
        batch_op.add_column(sa.Column("posted_through", BIGINT, nullable=False, server_default="0"))
    op.drop_table("slack_posts")
