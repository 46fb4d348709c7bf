"""i14 the contact list stored per incident, with its counts

Revision ID: i14_stored_contacts
Revises: 0004_i12_throttle_sessions
Create Date: 2026-12-02 01:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'i14_stored_contacts'
down_revision = '0004_i12_throttle_sessions'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('stored_contacts',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('incident_id', BIGINT, nullable=False),
    sa.Column('position', BIGINT, nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('organizations', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('senior', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Boolean(), nullable=False),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_stored_contacts_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_contacts')),
    sa.UniqueConstraint('incident_id', 'position', name=op.f('uq_stored_contacts_incident_id_position'))
    )
    with op.batch_alter_table('affected_organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contacts', BIGINT, nullable=False, server_default='0'))
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_count', BIGINT, nullable=False, server_default='0'))
    # The lists of incidents already open are built by `comms init-db` (it knows the settings).


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('contact_count')
    with op.batch_alter_table('affected_organizations', schema=None) as batch_op:
        batch_op.drop_column('contacts')
    op.drop_table('stored_contacts')
