"""i13 each delivery's place in its update, so the sender starts every due update at once

Revision ID: 0012_i13_delivery_position
Revises: 0011_i14_problems_index
Create Date: 2026-12-02 04:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_i13_delivery_position'
down_revision = '0011_i14_problems_index'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('position', BIGINT, nullable=False, server_default='0'))
    op.create_index(
        'ix_deliveries_state_position', 'deliveries', ['state', 'position', 'id']
    )
    op.drop_index('ix_deliveries_state_id', table_name='deliveries')


def downgrade() -> None:
    op.create_index('ix_deliveries_state_id', 'deliveries', ['state', 'id'])
    op.drop_index('ix_deliveries_state_position', table_name='deliveries')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('position')
