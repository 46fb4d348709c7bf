"""The migrations build the same schema as the models, on SQLite and PostgreSQL."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from comms.contacts.models import SEARCH_INDEX
from comms.models import Base

# Indexes on expressions: SQLite's reflection cannot read them back (SQLAlchemy and Alembic
# warn and skip them), so there they are only looked up by name; PostgreSQL compares them whole.
EXPRESSION_INDEXES = {"ix_affected_organizations_incident_order"}


def modelled(_object, name, type_, reflected, _compare_to) -> bool:
    """Compare all but the indexes a migration adds only where the database can have them."""
    return not (type_ == "index" and reflected and name == SEARCH_INDEX)


def test_migrations_match_the_models(engine):
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection, warnings.catch_warnings():
        for name in EXPRESSION_INDEXES if sqlite else ():
            warnings.filterwarnings("ignore", f".*expression-based index '?{name}'?[;$]?")
        context = MigrationContext.configure(connection, opts={"include_object": modelled})
        differences = compare_metadata(context, Base.metadata)
        if sqlite:
            found = "SELECT name FROM sqlite_master WHERE type = 'index'"
            assert set(connection.exec_driver_sql(found).scalars()) >= EXPRESSION_INDEXES
    assert differences == []


def test_the_schema_is_at_head(engine):
    from alembic.script import ScriptDirectory

    from comms.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
