"""i14 the excluded addresses and the affected organisations counted on the incident

Revision ID: 0013_i14_kept_list_counts
Revises: 0012_i13_delivery_position
Create Date: 2026-12-02 04:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013_i14_kept_list_counts'
down_revision = '0012_i13_delivery_position'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excluded_count', BIGINT, nullable=False, server_default='0'))
        batch_op.add_column(
            sa.Column('organization_count', BIGINT, nullable=False, server_default='0')
        )
    # What the stored lists hold now; from here on `rebuild` keeps them.
    op.execute(
        "UPDATE incidents SET"
        " excluded_count = (SELECT count(*) FROM stored_contacts"
        " WHERE stored_contacts.incident_id = incidents.id AND stored_contacts.excluded),"
        " organization_count = (SELECT count(*) FROM affected_organizations"
        " WHERE affected_organizations.incident_id = incidents.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('organization_count')
        batch_op.drop_column('excluded_count')
