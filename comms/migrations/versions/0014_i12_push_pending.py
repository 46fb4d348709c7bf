"""i12 the fields being sent to incident.io, so that its older value is not taken back

Revision ID: 0014_i12_push_pending
Revises: 0013_i14_kept_list_counts
Create Date: 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa

import comms.db


revision = '0014_i12_push_pending'
down_revision = '0013_i14_kept_list_counts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident_io_incidents', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('push_pending', sa.String(length=40), nullable=False, server_default='')
        )
        batch_op.add_column(sa.Column('push_pending_since', comms.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident_io_incidents', schema=None) as batch_op:
        batch_op.drop_column('push_pending_since')
        batch_op.drop_column('push_pending')
