"""What a user does, one function each, called alike by the HTML and the JSON views.

An action takes the session, who acts and plain arguments, works across the domains below it
and owns the transaction: it commits what it did, or rolls it all back and raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def committing(db_session: Session) -> Iterator[None]:
    """Commit the work done inside; on any error roll it back and let the error through."""
    try:
        yield
        db_session.commit()
    except BaseException:
        db_session.rollback()
        raise
