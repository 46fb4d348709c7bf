"""Deliver pending client e-mails exactly once, even when senders crash or run side by side.

A sender claims a small batch (state `sending`, PostgreSQL: FOR UPDATE SKIP LOCKED) and commits
the claim before talking SMTP. Before each message it commits `dispatched_at` on that row only,
guarded by its claim token; the result is committed together with the next row's dispatch.
So a sender killed at any moment leaves at most one row dispatched without a result: that one
becomes `uncertain`; claimed rows never dispatched go back to `pending` and are sent later.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from comms.clock import Clock
from comms.config import Settings
from comms.incidents.models import Incident
from comms.mail.render import EmailRenderer, TemplateProblem
from comms.mail.send import Mailer, MailServerUnavailable, SendOutcome
from comms.updates import messages, problems
from comms.updates.models import Delivery, Update

Outcome = tuple[Delivery, Update, SendOutcome]
BATCH_SIZE = 20
MAX_ATTEMPTS = 8
RESEND_DELAY = timedelta(minutes=1)
# A claim never dispatched may be taken over early: the dispatch guard stops a double send.
UNDISPATCHED_TIMEOUT = timedelta(minutes=2)


@dataclass
class SendReport:
    """What one pass of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    returned: int = 0
    recovered: int = 0
    problem: str = ""

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed + self.uncertain


def in_flight_timeout(settings: Settings) -> timedelta:
    """How long a dispatched message may take before its sender is presumed dead."""
    return max(timedelta(minutes=5), timedelta(seconds=settings.smtp.timeout * 10))


def backoff(attempts: int) -> timedelta:
    """Wait 1, 2, 4 … minutes between attempts, at most 30."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 30))


def recover_stuck(db_session: Session, settings: Settings, *, now: datetime) -> int:
    """Release rows whose sender died: undispatched ones to pending, dispatched ones uncertain."""
    released = db_session.execute(
        update(Delivery)
        .where(
            Delivery.state == "sending",
            Delivery.dispatched_at.is_(None),
            Delivery.claimed_at < now - UNDISPATCHED_TIMEOUT,
        )
        .values(state="pending", claimed_by="")
    )
    stuck = db_session.execute(
        select(Delivery.id, Delivery.claimed_by, Update.kind, Delivery.uncertain_resent)
        .join(Update)
        .where(
            Delivery.state == "sending",
            Delivery.dispatched_at < now - in_flight_timeout(settings),
        )
    ).all()
    lost = SendOutcome("uncertain", "the sender stopped while sending this message")
    for delivery_id, token, kind, resent in stuck:
        _record(db_session, delivery_id, token, kind, resent, lost, now=now, attempts=None)
    return int(getattr(released, "rowcount", 0) or 0) + len(stuck)


def claim(db_session: Session, token: str, *, now: datetime, size: int) -> list[int]:
    """Mark up to `size` due rows `sending` for this sender; the caller commits at once.

    Pending rows come first, then retries that are due; each kind is its own query so the
    state index also gives the order (no sort of every pending row on each batch).
    """
    claimed: list[int] = []
    for due in (
        Delivery.state == "pending",
        and_(Delivery.state == "retrying", Delivery.next_attempt_at <= now),
    ):
        if len(claimed) >= size:
            break
        chosen = select(Delivery.id).where(due).order_by(Delivery.id).limit(size - len(claimed))
        rows = db_session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(chosen.with_for_update(skip_locked=True).scalar_subquery()))
            .where(due)
            .values(state="sending", claimed_by=token, claimed_at=now, dispatched_at=None)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        claimed += rows.all()
    return sorted(claimed)


def _record(
    db_session: Session,
    delivery_id: int,
    token: str,
    kind: str,
    resent: bool,
    outcome: SendOutcome,
    *,
    now: datetime,
    attempts: int | None,
) -> str:
    """Write one outcome, guarded by the claim token; return the state written."""
    values: dict[str, Any] = {"smtp_reply": outcome.reply}
    tries = attempts if attempts is not None else Delivery.attempts + 1
    values["attempts"] = tries
    state = outcome.state
    if state == "sent":
        values["sent_at"] = now
    elif state == "retrying" and attempts is not None and attempts >= MAX_ATTEMPTS:
        state, values["smtp_reply"] = (
            "failed",
            f"gave up after {attempts} attempts: {outcome.reply}",
        )
    elif state == "retrying":
        values["next_attempt_at"] = now + backoff(attempts or 1)
    elif state == "uncertain" and kind == "resolved" and not resent:
        # The last word to clients matters more than a rare duplicate: send it once more.
        state = "retrying"
        values.update(uncertain_resent=True, next_attempt_at=now + RESEND_DELAY)
        values["smtp_reply"] = f"{outcome.reply}; the resolved update will be sent once more"
    db_session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.claimed_by == token)
        .where(Delivery.state.in_(("sending", "uncertain")))
        .values(state=state, **values)
        .execution_options(synchronize_session=False)
    )
    return state


class _Pass:
    """One run of the sender over one SMTP connection."""

    def __init__(
        self, db_session: Session, settings: Settings, clock: Clock, report: SendReport
    ) -> None:
        self.db, self.settings, self.clock, self.report = db_session, settings, clock, report
        self.token = uuid.uuid4().hex
        self.renderer = EmailRenderer(settings)
        self.updates: dict[int, tuple[Update, Incident]] = {}
        self.cleared: set[int] = set()

    def load(self, ids: list[int]) -> list[Delivery]:
        """Read the claimed rows and their updates, then end the read transaction."""
        rows = list(
            self.db.scalars(
                select(Delivery)
                .where(Delivery.id.in_(ids))
                .order_by(Delivery.id)
                .execution_options(populate_existing=True)
            )
        )
        for row in rows:
            if row.update_id not in self.updates:
                found = self.db.get(Update, row.update_id)
                assert found is not None
                self.updates[row.update_id] = (found, self.db.get_one(Incident, found.incident_id))
        self.db.commit()  # end the read, so each write below starts its own transaction
        return rows

    def send_batch(self, mailer: Mailer, rows: list[Delivery]) -> bool:
        """Send a claimed batch; False when sending must stop (server down, broken template)."""
        waiting: Outcome | None = None  # written with the next row's dispatch: one commit each
        for index, row in enumerate(rows):
            update_row, incident = self.updates[row.update_id]
            try:
                message = messages.build(self.renderer, self.settings, incident, update_row, row)
            except TemplateProblem as problem:
                self._finish(waiting)
                self._stop(rows[index:], str(problem))
                return False
            except ValueError as error:
                self._finish(waiting)
                waiting = None
                self._finish((row, update_row, SendOutcome("failed", f"not sent: {error}")))
                self.db.commit()
                continue
            self._finish(waiting)
            waiting = None
            dispatched = self._dispatch(row)
            self.db.commit()
            if not dispatched:
                continue  # another sender took this row over; it is theirs now
            try:
                outcome = mailer.send(message)
            except MailServerUnavailable as unavailable:
                self._stop(rows[index:], str(unavailable))
                return False
            waiting = (row, update_row, outcome)
        self._finish(waiting)
        self.db.commit()
        return True

    def _dispatch(self, row: Delivery) -> bool:
        """Mark this row handed to SMTP, only if this sender still holds its claim."""
        result = self.db.execute(
            update(Delivery)
            .where(
                Delivery.id == row.id,
                Delivery.claimed_by == self.token,
                Delivery.state == "sending",
                Delivery.dispatched_at.is_(None),
            )
            .values(dispatched_at=self.clock.now())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def _finish(self, waiting: Outcome | None) -> None:
        """Write a row's outcome (the caller commits)."""
        if waiting is None:
            return
        row, update_row, outcome = waiting
        state = _record(
            self.db,
            row.id,
            self.token,
            update_row.kind,
            row.uncertain_resent,
            outcome,
            now=self.clock.now(),
            attempts=row.attempts + 1,
        )
        setattr(self.report, state, getattr(self.report, state) + 1)
        if state == "sent" and update_row.id not in self.cleared:
            self.cleared.add(update_row.id)
            problems.clear(self.db, update_row.id)

    def _stop(self, rows: list[Delivery], problem: str) -> None:
        """Give the rest of the batch back untouched and say why, once, where people look."""
        ids = [row.id for row in rows]
        self.db.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.claimed_by == self.token)
            .where(Delivery.state == "sending")
            .values(state="pending", claimed_by="", dispatched_at=None, smtp_reply=problem)
        )
        self.report.returned += len(ids)
        self.report.problem = problem
        update_ids = sorted({row.update_id for row in rows})
        problems.note(self.db, [self.updates[i] for i in update_ids], problem, now=self.clock.now())
        self.db.commit()


def send_pending(
    session_factory: Callable[[], Session],
    settings: Settings,
    *,
    clock: Clock,
    limit: int | None = None,
) -> SendReport:
    """Send every due delivery (at most `limit`) over one connection; report what happened."""
    report = SendReport()
    with session_factory() as db_session:
        report.recovered = recover_stuck(db_session, settings, now=clock.now())
        db_session.commit()
        work = _Pass(db_session, settings, clock, report)
        with Mailer(settings.smtp) as mailer:
            while limit is None or report.attempted + report.returned < limit:
                room = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - report.attempted)
                ids = claim(db_session, work.token, now=clock.now(), size=room)
                db_session.commit()
                if not ids or not work.send_batch(mailer, work.load(ids)):
                    break
    return report
