"""i14 an index of the deliveries that went wrong, per update, for the history's first problems

Revision ID: 0011_i14_problems_index
Revises: 0010_i14_counts_per_statement
Create Date: 2026-12-02 04:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011_i14_problems_index'
down_revision = '0010_i14_counts_per_statement'
branch_labels = None
depends_on = None

IS_PROBLEM = "state IN ('failed', 'uncertain', 'retrying')"


def upgrade() -> None:
    op.create_index(
        'ix_deliveries_update_problems',
        'deliveries',
        ['update_id', 'id'],
        postgresql_where=sa.text(IS_PROBLEM),
        sqlite_where=sa.text(IS_PROBLEM),
    )


def downgrade() -> None:
    op.drop_index('ix_deliveries_update_problems', table_name='deliveries')
