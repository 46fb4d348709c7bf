"""i14 indexes for what the incident page, the dashboard and the sender ask

Revision ID: 0008_i14_indexes
Revises: 0008_i16_slack_posts
Create Date: 2026-12-02 02:30:00
"""

from alembic import op


revision = '0008_i14_indexes'
down_revision = '0008_i16_slack_posts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_timeline_events_incident_at', 'timeline_events', ['incident_id', 'at', 'id'])
    op.create_index(
        'ix_linked_tickets_incident_linked', 'linked_tickets', ['incident_id', 'linked_at', 'ticket_id']
    )
    op.create_index('ix_linked_tickets_incident_state', 'linked_tickets', ['incident_id', 'state'])
    op.create_index('ix_deliveries_state_id', 'deliveries', ['state', 'id'])
    op.create_index('ix_deliveries_update_state', 'deliveries', ['update_id', 'state'])
    op.drop_index('ix_deliveries_state', table_name='deliveries')
    op.create_index('ix_deliveries_update_order', 'deliveries', ['update_id', 'id'])
    op.drop_index('ix_deliveries_update_id', table_name='deliveries')
    op.create_index(
        'ix_stored_contacts_incident_excluded', 'stored_contacts', ['incident_id', 'excluded', 'position']
    )


def downgrade() -> None:
    op.drop_index('ix_stored_contacts_incident_excluded', table_name='stored_contacts')
    op.create_index('ix_deliveries_update_id', 'deliveries', ['update_id'])
    op.drop_index('ix_deliveries_update_order', table_name='deliveries')
    op.create_index('ix_deliveries_state', 'deliveries', ['state'])
    op.drop_index('ix_deliveries_update_state', table_name='deliveries')
    op.drop_index('ix_deliveries_state_id', table_name='deliveries')
    op.drop_index('ix_linked_tickets_incident_state', table_name='linked_tickets')
    op.drop_index('ix_linked_tickets_incident_linked', table_name='linked_tickets')
    op.drop_index('ix_timeline_events_incident_at', table_name='timeline_events')
