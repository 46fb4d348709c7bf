"""i14 an index in the organisations' list order, so a page of them is a range, not a sort

Revision ID: 0018_i14_organizations_order
Revises: 0017_i14_page_lookups
Create Date: 2026-12-02 18:35:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0018_i14_organizations_order'
down_revision = '0017_i14_page_lookups'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The expressions as each database's queries spell them (`priority IS 0` on SQLite), or
    # its planner does not recognise them.
    false = 'false' if op.get_bind().dialect.name == 'postgresql' else '0'
    op.create_index(
        'ix_affected_organizations_incident_order',
        'affected_organizations',
        [
            'incident_id',
            sa.text(f'(priority IS {false})'),
            sa.text('lower(name)'),
            'organization_id',
        ],
    )


def downgrade() -> None:
    op.drop_index('ix_affected_organizations_incident_order', table_name='affected_organizations')
