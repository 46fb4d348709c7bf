"""i14 on PostgreSQL, delivery counts moved once per statement, not once per row

Revision ID: 0010_i14_counts_per_statement
Revises: 0008_i14_indexes
Create Date: 2026-12-02 03:00:00
"""

from alembic import op


revision = '0010_i14_counts_per_statement'
down_revision = '0008_i14_indexes'
branch_labels = None
depends_on = None

STATES = ("pending", "sending", "sent", "retrying", "failed", "uncertain", "superseded")


def _counted(rows: str) -> str:
    """UPDATE updates by the rows moved (update_id, state, n = +1 or -1), summed per update."""
    sums = ", ".join(
        f"sum(CASE WHEN state = '{s}' THEN n ELSE 0 END) AS {s}" for s in STATES
    )
    moves = ", ".join(f"{s}_count = {s}_count + moved.{s}" for s in STATES)
    return (
        f"UPDATE updates SET {moves} FROM (SELECT update_id, {sums} FROM ({rows}) AS r"
        " GROUP BY update_id) AS moved WHERE updates.id = moved.update_id;"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite updates a row in place: its row triggers stay
    op.execute("DROP TRIGGER deliveries_counted ON deliveries")
    op.execute("DROP FUNCTION count_deliveries()")
    # Once per statement, over its transition tables: publishing 10,000 deliveries in one
    # statement moves the counts with one UPDATE, not 10,000 of the same row (each would
    # walk the row's growing chain of versions in the open transaction).
    op.execute(f"""
        CREATE FUNCTION count_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {_counted("SELECT update_id, state, 1 AS n FROM new_rows")}
            ELSIF TG_OP = 'DELETE' THEN
                {_counted("SELECT update_id, state, -1 AS n FROM old_rows")}
            ELSE
                {_counted(
                    "SELECT update_id, state, 1 AS n FROM new_rows"
                    " UNION ALL SELECT update_id, state, -1 AS n FROM old_rows"
                )}
            END IF;
            RETURN NULL;
        END $$
    """)
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER deliveries_counted_{event.lower()} AFTER {event} ON deliveries"
            f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION count_deliveries()"
        )


def downgrade() -> None:
    raise NotImplementedError("the row trigger of i14_delivery_counts is too slow to go back to")
