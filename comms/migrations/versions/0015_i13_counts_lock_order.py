"""i13 on PostgreSQL, the counts trigger locks the updates it moves in the order of their ids

Revision ID: 0015_i13_counts_lock_order
Revises: 0014_i12_push_pending
Create Date: 2026-12-02 14:45:00
"""

from collections.abc import Callable

from alembic import op


revision = '0015_i13_counts_lock_order'
down_revision = '0014_i12_push_pending'
branch_labels = None
depends_on = None

STATES = ("pending", "sending", "sent", "retrying", "failed", "uncertain", "superseded")


def _moved(rows: str) -> str:
    """UPDATE updates by the rows moved (update_id, state, n = +1 or -1), summed per update."""
    sums = ", ".join(
        f"sum(CASE WHEN state = '{s}' THEN n ELSE 0 END) AS {s}" for s in STATES
    )
    moves = ", ".join(f"{s}_count = {s}_count + moved.{s}" for s in STATES)
    return (
        f"UPDATE updates SET {moves} FROM (SELECT update_id, {sums} FROM ({rows}) AS r"
        " GROUP BY update_id) AS moved WHERE updates.id = moved.update_id;"
    )


def _counted(rows: str) -> str:
    """Lock the updates of the rows moved in the order of their ids, then move their counts."""
    return (
        f"PERFORM 1 FROM updates WHERE id IN (SELECT update_id FROM ({rows}) AS r)"
        f" ORDER BY id FOR UPDATE; {_moved(rows)}"
    )


def _function(counted: Callable[[str], str]) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION count_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {counted("SELECT update_id, state, 1 AS n FROM new_rows")}
            ELSIF TG_OP = 'DELETE' THEN
                {counted("SELECT update_id, state, -1 AS n FROM old_rows")}
            ELSE
                {counted(
                    "SELECT update_id, state, 1 AS n FROM new_rows"
                    " UNION ALL SELECT update_id, state, -1 AS n FROM old_rows"
                )}
            END IF;
            RETURN NULL;
        END $$
    """


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has one writer at a time: no two statements wait on each other
    # One statement of the sender writes one row's outcome and claims the next, maybe of
    # another update; two of them moving two updates the other way round would deadlock
    # unless both lock in one order.
    op.execute(_function(_counted))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return

    op.execute(_function(_moved))
