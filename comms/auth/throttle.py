"""Throttle password guessing without letting a stranger lock anyone out (OWASP's rules).

- An address and an account together: 5 failures lock that pair for 15 minutes.
- An address: 20 failures, whatever the accounts, lock it for 15 minutes.
- An account, from every address: after 5 failures each further guess waits a growing delay
  (1 s, 2 s, 4 s ... at most 5 minutes), so guessing slows but nobody is shut out for good.
- A known device (a browser holding the signed cookie of an earlier sign-in to that account)
  counts only its own failures (5 lock that cookie); the others do not apply to it.

The rows of an attempt are locked before the password is checked and updated after, in one
transaction: parallel guesses at several web workers wait for each other, so no more than the
limit is ever checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from comms.auth.models import LoginThrottle

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_PAIR = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_PER_DEVICE = 5
SLOW_AFTER_ACCOUNT_FAILURES = 5
LONGEST_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class Attempt:
    """The throttle rows of one sign-in attempt, locked until the transaction ends."""

    rows: dict[str, LoginThrottle]

    def record_failure(self, now: datetime) -> None:
        for row in self.rows.values():
            row.failures += 1
            row.last_failure_at = now

    def record_success(self) -> None:
        """The right password: this pair, device and account start again; the address does not."""
        for key, row in self.rows.items():
            if not key.startswith("address:"):
                row.failures = 0


def keys(*, email: str, address: str, device: str | None) -> list[str]:
    if device is not None:
        return [f"device:{email}|{device}"]
    return [f"pair:{email}|{address}", f"address:{address}", f"account:{email}"]


def lock(db_session: Session, keys: list[str], *, now: datetime) -> Attempt:
    """Make and lock the rows of these keys; counts older than the window are forgotten."""
    dialect = postgresql if db_session.get_bind().dialect.name == "postgresql" else sqlite
    ordered = sorted(keys)  # one order for everyone, so two attempts cannot deadlock
    for key in ordered:
        # A write first: on SQLite it takes the database's write lock for the whole attempt.
        db_session.execute(
            dialect.insert(LoginThrottle).values(key=key, failures=0).on_conflict_do_nothing()
        )
    found = db_session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.key.in_(ordered))
        .order_by(LoginThrottle.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = {row.key: row for row in found}
    for row in rows.values():
        if row.last_failure_at is not None and row.last_failure_at + WINDOW <= now:
            row.failures = 0
    return Attempt(rows)


def refused_until(attempt: Attempt, *, now: datetime) -> datetime | None:
    """When this attempt may be checked, if not now."""
    waits = []
    for key, row in attempt.rows.items():
        if row.last_failure_at is None:
            continue
        kind = key.partition(":")[0]
        if kind == "account":
            extra = row.failures - SLOW_AFTER_ACCOUNT_FAILURES
            if extra >= 0:
                delay = min(timedelta(seconds=2 ** min(extra, 20)), LONGEST_DELAY)
                waits.append(row.last_failure_at + delay)
        elif row.failures >= LIMITS[kind]:
            waits.append(row.last_failure_at + WINDOW)
    later = [wait for wait in waits if wait > now]
    return max(later) if later else None


LIMITS = {
    "pair": MAX_FAILURES_PER_PAIR,
    "address": MAX_FAILURES_PER_ADDRESS,
    "device": MAX_FAILURES_PER_DEVICE,
}
