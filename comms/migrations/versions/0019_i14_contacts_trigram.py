"""i14 on PostgreSQL, a trigram index on what the contacts filter reads (where pg_trgm is there)

Revision ID: 0019_i14_contacts_trigram
Revises: 0018_i14_organizations_order
Create Date: 2026-12-02 18:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0019_i14_contacts_trigram'
down_revision = '0018_i14_organizations_order'
branch_labels = None
depends_on = None

# Kept out of the models (SQLite has no such index): comms/contacts/models.py SEARCH_INDEX.
INDEX = 'ix_stored_contacts_search_trgm'


def _can_use_pg_trgm(bind: sa.engine.Connection) -> bool:
    """pg_trgm installed, or available and ours to create (a trusted extension: CREATE on
    the database is enough); otherwise the filter reads the incident's rows, as on SQLite."""
    installed = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
    if installed.first():
        return True
    available = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
            " AND has_database_privilege(current_database(), 'CREATE')"
        )
    )
    return available.first() is not None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql' or not _can_use_pg_trgm(bind):
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.execute(f'CREATE INDEX {INDEX} ON stored_contacts USING gin (search_text gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {INDEX}')
