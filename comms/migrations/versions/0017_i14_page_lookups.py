"""i14 indexes for the page's name look-ups and the latest timeline entry of a kind

Revision ID: 0017_i14_page_lookups
Revises: 0016_i15_candidate_names
Create Date: 2026-12-02 18:30:00
"""

from alembic import op


revision = '0017_i14_page_lookups'
down_revision = '0016_i15_candidate_names'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_organization_people_incident_user', 'organization_people', ['incident_id', 'user_id']
    )
    op.create_index('ix_requesters_incident_user', 'requesters', ['incident_id', 'user_id'])
    op.create_index(
        'ix_timeline_events_incident_kind', 'timeline_events', ['incident_id', 'kind', 'id']
    )


def downgrade() -> None:
    op.drop_index('ix_timeline_events_incident_kind', table_name='timeline_events')
    op.drop_index('ix_requesters_incident_user', table_name='requesters')
    op.drop_index('ix_organization_people_incident_user', table_name='organization_people')
