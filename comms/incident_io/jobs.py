"""Background work: process the webhooks received, and the reconcile that catches missed ones."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comms.clock import Clock
from comms.config import Settings
from comms.incident_io.gateway import IncidentIoError, IncidentIoGateway, IncidentNotFound
from comms.incident_io.models import ReceivedWebhook, SyncState
from comms.incident_io.service import follow

log = logging.getLogger(__name__)
# One worker per process at a time: webhooks about one incident often come in a burst.
_working = threading.Lock()
OVERLAP = timedelta(minutes=1)  # the reconcile looks back a little further than its last look
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class SyncReport:
    processed: int
    reconciled: int
    error: str


def _fetch_and_follow(
    db_session: Session, gateway: IncidentIoGateway, incident_id: str, settings: Settings, now
) -> None:
    remote = gateway.incident(incident_id)
    follow(
        db_session,
        remote,
        latest_update=gateway.latest_update(remote.id),
        settings=settings,
        now=now,
    )


def process_webhooks(
    session_factory: Callable[[], Session], settings: Settings, *, clock: Clock
) -> int:
    """Fetch each hinted incident from the API and follow it; failures wait for the next tick."""
    if not settings.incident_io.configured:
        return 0
    done = 0
    with (
        _working,
        session_factory() as db_session,
        IncidentIoGateway(settings.incident_io) as gateway,
    ):
        pending = db_session.scalars(
            select(ReceivedWebhook)
            .where(ReceivedWebhook.processed_at.is_(None))
            .where(ReceivedWebhook.attempts < MAX_ATTEMPTS)
            .order_by(ReceivedWebhook.id)
        ).all()
        fetched: set[str] = set()
        for received in pending:
            received.attempts += 1
            try:
                if received.external_id and received.external_id not in fetched:
                    _fetch_and_follow(
                        db_session, gateway, received.external_id, settings, clock.now()
                    )
                    fetched.add(received.external_id)
                received.processed_at, received.error = clock.now(), ""
                db_session.commit()
                done += 1
            except IncidentNotFound as error:
                db_session.rollback()
                _note_failure(db_session, received.id, str(error), processed_at=clock.now())
                db_session.commit()
            except (IncidentIoError, IntegrityError) as error:
                db_session.rollback()
                _note_failure(db_session, received.id, str(error), processed_at=None)
                db_session.commit()
                log.warning("incident.io webhook %s waits: %s", received.webhook_id, error)
    return done


def _note_failure(
    db_session: Session, row_id: int, error: str, *, processed_at: datetime | None
) -> None:
    received = db_session.get(ReceivedWebhook, row_id)
    if received is not None:
        received.attempts += 1
        received.error, received.processed_at = error[:2000], processed_at


def process_in_background(
    session_factory: Callable[[], Session], settings: Settings, *, clock: Clock
) -> threading.Thread:
    """The webhook answers at once; the API call and the follow-up happen here."""

    def work() -> None:
        try:
            process_webhooks(session_factory, settings, clock=clock)
        except Exception:  # the scheduler's tick retries whatever is left
            log.exception("processing incident.io webhooks failed")

    thread = threading.Thread(target=work, daemon=True, name="incident-io-webhooks")
    thread.start()
    return thread


def sync_state(db_session: Session) -> SyncState:
    state = db_session.scalar(select(SyncState).order_by(SyncState.id).limit(1))
    if state is None:
        state = SyncState()
        db_session.add(state)
        db_session.flush()
    return state


def reconcile(
    session_factory: Callable[[], Session],
    settings: Settings,
    *,
    clock: Clock,
    force: bool = False,
) -> SyncReport:
    """Every poll_minutes, list incidents changed since the last look and follow each."""
    if not settings.incident_io.configured:
        return SyncReport(0, 0, "")
    every = timedelta(minutes=settings.incident_io.poll_minutes)
    with (
        _working,
        session_factory() as db_session,
        IncidentIoGateway(settings.incident_io) as gateway,
    ):
        state, now = sync_state(db_session), clock.now()
        if not force and state.attempted_at and now - state.attempted_at < every:
            db_session.rollback()
            return SyncReport(0, 0, state.error)
        state.attempted_at = now
        since = state.polled_at - OVERLAP if state.polled_at else None
        try:
            changed = gateway.live_incidents(updated_since=since)
            for remote in changed:
                follow(
                    db_session,
                    remote,
                    latest_update=gateway.latest_update(remote.id),
                    settings=settings,
                    now=now,
                )
        except IncidentIoError as error:
            db_session.rollback()
            state = sync_state(db_session)
            state.attempted_at, state.error = now, f"{now:%H:%M} UTC: {error}"[:2000]
            db_session.commit()
            log.warning("the incident.io reconcile failed: %s", error)
            return SyncReport(0, 0, state.error)
        state.polled_at, state.error = now, ""
        db_session.commit()
        return SyncReport(0, len(changed), "")


def reconcile_due(db_session: Session, settings: Settings, *, now: datetime) -> bool:
    """Whether poll_minutes have passed since the reconcile last looked (a read only)."""
    if not settings.incident_io.configured:
        return False
    state = db_session.scalar(select(SyncState).order_by(SyncState.id).limit(1))
    every = timedelta(minutes=settings.incident_io.poll_minutes)
    return state is None or state.attempted_at is None or now - state.attempted_at >= every
