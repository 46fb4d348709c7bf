"""i15 candidates keep their organisation's and requester's names, read from Zendesk when found

Revision ID: 0016_i15_candidate_names
Revises: 0015_i13_counts_lock_order
Create Date: 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0016_i15_candidate_names'
down_revision = '0015_i13_counts_lock_order'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_name', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('requester_name', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_column('requester_name')
        batch_op.drop_column('organization_name')
