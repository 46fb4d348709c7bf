"""i14 delivery counts kept per update by a trigger on deliveries

Revision ID: i14_delivery_counts
Revises: i14_stored_contacts
Create Date: 2026-12-02 02:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'i14_delivery_counts'
down_revision = 'i14_stored_contacts'
branch_labels = None
depends_on = None

STATES = ("pending", "sending", "sent", "retrying", "failed", "uncertain", "superseded")
BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _moves(sign: str, row: str) -> str:
    """`x_count = x_count + (CASE WHEN NEW.state = 'x' THEN 1 ELSE 0 END)`, for every state."""
    return ", ".join(
        f"{s}_count = {s}_count {sign} (CASE WHEN {row}.state = '{s}' THEN 1 ELSE 0 END)"
        for s in STATES
    )


def _both() -> str:
    return ", ".join(
        f"{s}_count = {s}_count + (CASE WHEN NEW.state = '{s}' THEN 1 ELSE 0 END)"
        f" - (CASE WHEN OLD.state = '{s}' THEN 1 ELSE 0 END)"
        for s in STATES
    )


def upgrade() -> None:
    with op.batch_alter_table('updates', schema=None) as batch_op:
        for state in STATES:
            batch_op.add_column(
                sa.Column(f'{state}_count', BIGINT, nullable=False, server_default='0')
            )
    for state in STATES:
        op.execute(
            f"UPDATE updates SET {state}_count = (SELECT count(*) FROM deliveries"
            f" WHERE deliveries.update_id = updates.id AND deliveries.state = '{state}')"
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION count_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    UPDATE updates SET {_moves('+', 'NEW')} WHERE id = NEW.update_id;
                ELSIF TG_OP = 'DELETE' THEN
                    UPDATE updates SET {_moves('-', 'OLD')} WHERE id = OLD.update_id;
                ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
                    UPDATE updates SET {_both()} WHERE id = NEW.update_id;
                END IF;
                RETURN NULL;
            END $$
        """)
        op.execute(
            "CREATE TRIGGER deliveries_counted AFTER INSERT OR DELETE OR UPDATE OF state"
            " ON deliveries FOR EACH ROW EXECUTE FUNCTION count_deliveries()"
        )
        return
    op.execute(
        "CREATE TRIGGER deliveries_counted_insert AFTER INSERT ON deliveries BEGIN"
        f" UPDATE updates SET {_moves('+', 'NEW')} WHERE id = NEW.update_id; END"
    )
    op.execute(
        "CREATE TRIGGER deliveries_counted_delete AFTER DELETE ON deliveries BEGIN"
        f" UPDATE updates SET {_moves('-', 'OLD')} WHERE id = OLD.update_id; END"
    )
    op.execute(
        "CREATE TRIGGER deliveries_counted_update AFTER UPDATE OF state ON deliveries"
        f" WHEN OLD.state IS NOT NEW.state BEGIN"
        f" UPDATE updates SET {_both()} WHERE id = NEW.update_id; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER deliveries_counted ON deliveries")
        op.execute("DROP FUNCTION count_deliveries()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER deliveries_counted_{name}")
    with op.batch_alter_table('updates', schema=None) as batch_op:
        for state in STATES:
            batch_op.drop_column(f'{state}_count')
