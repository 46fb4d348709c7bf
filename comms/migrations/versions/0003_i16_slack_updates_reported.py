"""i16: Slack remembers which updates' outcomes it posted

Revision ID: 0003_i16_slack_updates_reported
Revises: i16_incident_io_slack
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_i16_slack_updates_reported"
down_revision = "i16_incident_io_slack"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slack_threads") as batch_op:
        batch_op.add_column(
            sa.Column(
                "updates_reported",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_threads") as batch_op:
        batch_op.drop_column("updates_reported")
