"""The incident's timeline: record what was done, read it back; entries are never changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from comms.db import Page, keyset_page
from comms.incidents.models import Incident, TimelineEvent


def record(
    db_session: Session,
    incident: Incident,
    *,
    actor: str,
    kind: str,
    summary: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Add one entry to the incident's timeline; entries are never changed or removed."""
    event = TimelineEvent(
        incident_id=incident.id,
        at=now,
        actor=actor,
        kind=kind,
        summary=summary,
        details=details or {},
    )
    db_session.add(event)
    db_session.flush()
    return event


def events(db_session: Session, incident: Incident) -> list[TimelineEvent]:
    """The incident's timeline, oldest first."""
    return list(
        db_session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == incident.id)
            .order_by(TimelineEvent.at, TimelineEvent.id)
        )
    )


def events_page(
    db_session: Session,
    incident: Incident,
    *,
    size: int,
    after: int | None = None,
    newest_first: bool = True,
) -> Page[TimelineEvent]:
    """One page of the timeline, newest first as the page shows it (or oldest first)."""
    return keyset_page(
        db_session,
        select(TimelineEvent).where(TimelineEvent.incident_id == incident.id),
        (TimelineEvent.at, TimelineEvent.id),
        id_column=TimelineEvent.id,
        size=size,
        after=after,
        descending=newest_first,
    )


def iter_events(
    db_session: Session, incident: Incident, *, chunk: int = 1000
) -> Iterator[TimelineEvent]:
    """The whole timeline, oldest first, read `chunk` events at a time (for the exports)."""
    after: int | None = None
    while True:
        page = events_page(db_session, incident, size=chunk, after=after, newest_first=False)
        yield from page.rows
        if page.after is None:
            return
        after = page.after


def latest(db_session: Session, incident: Incident, kind: str) -> TimelineEvent | None:
    """The incident's most recent entry of one kind."""
    return db_session.scalar(
        select(TimelineEvent)
        .filter_by(incident_id=incident.id, kind=kind)
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    )
