"""Compose and publish client updates; pause and resume the schedule.

Services take the session first, flush and never commit: the view, job or command owns the
transaction. Publishing writes the update and one delivery per contact together (an outbox);
the sender (comms/updates/sender.py) delivers them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.contacts.service import Contact, contact_list
from comms.incidents.models import Incident
from comms.mail import kinds
from comms.mail.render import EmailRenderer, RenderedEmail
from comms.timeline import record
from comms.updates import messages
from comms.updates.models import Delivery, Update
from comms.updates.schedule import NextSlot, plan_next

TRIGGERS = ("manual", "schedule", "resolve")
# Deliveries the contact (most likely) has: threads name only these. An uncertain one went
# through to the end of the data; pending, failed and superseded ones never arrived.
RECEIVED = ("sent", "uncertain")
SAMPLE_CONTACT = ("Sam Taylor", "sam.taylor@client.example", ("Example Client Ltd",))


class UpdateProblem(Exception):
    """The update cannot be published or changed as asked; the message says why, for the UI."""


@dataclass(frozen=True)
class Plan:
    """What the next update would be: its number, kind, and the slot after it."""

    number: int
    kind: str
    repeats_previous: bool
    next_slot: NextSlot


def latest(db_session: Session, incident: Incident) -> Update | None:
    """The incident's most recent update."""
    query = select(Update).where(Update.incident_id == incident.id)
    return db_session.scalar(query.order_by(Update.number.desc()).limit(1))


def recipients(db_session: Session, incident: Incident, settings: Settings) -> list[Contact]:
    """Everyone the next update goes to."""
    return contact_list(db_session, incident)


def plan(
    db_session: Session,
    incident: Incident,
    *,
    message: str,
    kind: str | None,
    now: datetime,
    settings: Settings,
    planned_from: datetime | None = None,
) -> Plan:
    """Work out the kind, number and next slot of an update sent now with this text.

    The next slot is planned from `planned_from` (the slot an automatic update fills, so the
    schedule keeps to its slots) or else from now (a manual send restarts the clock).
    """
    previous = latest(db_session, incident)
    chosen = kinds.get(kind) if kind is not None else None
    if kind is not None and (chosen is None or chosen.audience != "client"):
        raise UpdateProblem(f"There is no kind of update called {kind!r}.")
    if chosen is not None and chosen.ends_updates:
        slot = NextSlot(None, False)
    elif chosen is not None and not chosen.plans_next_update:  # the schedule stays as it was
        slot = NextSlot(incident.next_update_due_at, False)
    else:
        start = planned_from or now
        slot = plan_next(start, incident.severity, settings.schedule, settings.web.tz)
    if kind is None:
        kind = "initial" if previous is None else "overnight" if slot.overnight else "update"
    repeats = previous is not None and previous.message.strip() == message.strip()
    return Plan(previous.number + 1 if previous else 1, kind, repeats, slot)


def _check_text(incident: Incident, message: str, trigger: str) -> str:
    text = (message or "").strip()
    if not text:
        raise UpdateProblem("Write the status text first: the update would be empty.")
    if not incident.is_open and trigger != "resolve":
        raise UpdateProblem(f"{incident.reference} is resolved: no more updates go out.")
    if trigger not in TRIGGERS:
        raise UpdateProblem(
            f"An update is sent manually, by schedule or on resolve, not {trigger}."
        )
    return text


def lock(db_session: Session, incident: Incident) -> None:
    """Hold the incident's row until commit, so two publishers cannot race.

    PostgreSQL locks the row; SQLite has no row locks, so a no-op write takes the database's
    write lock now (reads before the first write are not part of the transaction there).
    """
    if db_session.get_bind().dialect.name == "sqlite":
        db_session.execute(
            update(Incident).where(Incident.id == incident.id).values(id=Incident.id)
        )
    else:
        db_session.execute(select(Incident.id).where(Incident.id == incident.id).with_for_update())


def publish(
    db_session: Session,
    incident: Incident,
    *,
    message: str,
    kind: str | None = None,
    trigger: str = "manual",
    by: str,
    now: datetime,
    settings: Settings,
    planned_from: datetime | None = None,
) -> Update:
    """Write an update and one pending delivery per contact; the first message renders first.

    `planned_from`: the slot an automatic update fills; the next slot follows from it.
    """
    text = _check_text(incident, message, trigger)
    lock(db_session, incident)
    contacts = recipients(db_session, incident, settings)
    if not contacts:
        raise UpdateProblem(f"{incident.reference} has no contacts yet: add some first.")
    planned = plan(
        db_session,
        incident,
        message=text,
        kind=kind,
        now=now,
        settings=settings,
        planned_from=planned_from,
    )
    new = Update(
        incident_id=incident.id,
        number=planned.number,
        kind=planned.kind,
        message=text,
        repeats_previous=planned.repeats_previous,
        next_update_at=planned.next_slot.due_at,
        trigger=trigger,
        created_at=now,
        created_by=by,
        send_problem="",
    )
    rows = _delivery_rows(db_session, incident, new, contacts, settings)
    db_session.add(new)
    db_session.flush()
    _insert_deliveries(db_session, [{**row, "update_id": new.id} for row in rows])
    superseded = _supersede_older(db_session, incident, new) if _kind(new).supersedes else 0
    incident.current_message = text
    if trigger != "resolve":
        incident.next_update_due_at = planned.next_slot.due_at
    db_session.flush()
    _record_published(
        db_session, incident, new, len(rows), superseded, by=by, now=now, settings=settings
    )
    return new


def _insert_deliveries(db_session: Session, rows: list[dict[str, Any]]) -> None:
    """Write every delivery of an update in one statement: the counting trigger runs once.

    On PostgreSQL the rows go as one JSON parameter: psycopg converts a short query, not one
    with thirteen placeholders a row (a third of a publish). Elsewhere RETURNING makes
    SQLAlchemy write them a thousand to a statement (its "insertmanyvalues").
    """
    if db_session.get_bind().dialect.name != "postgresql":
        db_session.execute(insert(Delivery).returning(Delivery.id), rows).all()
        return
    columns = ", ".join(f'"{name}"' for name in rows[0])
    db_session.execute(
        text(
            f"INSERT INTO deliveries ({columns}) SELECT {columns}"
            " FROM json_populate_recordset(NULL::deliveries, CAST(:rows AS json))"
        ),
        {"rows": json.dumps(rows)},
    )


def _delivery_rows(
    db_session: Session,
    incident: Incident,
    new: Update,
    contacts: list[Contact],
    settings: Settings,
) -> list[dict[str, Any]]:
    """Make every contact's row; render the first message (TemplateProblem stops it all).

    Each message is rendered once, when it is sent: rendering all of them here too cost as
    much again.
    """
    renderer = EmailRenderer(settings)
    threads = _threads(db_session, incident)
    rows: list[dict[str, Any]] = []
    for contact in contacts:
        row: dict[str, Any] = {
            "email": contact.email,
            "name": contact.name or "",
            "organizations": list(contact.organizations),
            "state": "pending",
            "position": len(rows),
            "message_id": messages.delivery_message_id(
                settings, incident, new.number, contact.email
            ),
            **_thread_fields(threads.get(contact.email.lower(), ())),
            "attempts": 0,
            "smtp_reply": "",
            "claimed_by": "",
            "uncertain_resent": False,
        }
        if not rows:  # a broken template stops the publish; each message renders when sent
            messages.render(renderer, incident, new, Delivery(**row))
        try:
            messages.check_address(row["name"], row["email"])
        except ValueError as error:
            row.update(state="failed", smtp_reply=f"not sent: {error}")
        rows.append(row)
    return rows


def _threads(db_session: Session, incident: Incident) -> dict[str, tuple[str, ...]]:
    """Each contact's thread so far: the Message-IDs of their first and latest message received.

    The ids are those of messages the contact was actually sent, so a contact added later, or
    whose first message bounced, starts their own thread with their next message.
    """
    address = func.lower(Delivery.email)
    received = and_(Update.incident_id == incident.id, Delivery.state.in_(RECEIVED))
    ends = (
        select(
            address.label("email"),
            func.min(Update.number).label("first"),
            func.max(Update.number).label("latest"),
        )
        .join(Update, Delivery.update_id == Update.id)
        .where(received)
        .group_by(address)
        .subquery()
    )
    found = db_session.execute(
        select(address, Delivery.message_id)
        .join(Update, Delivery.update_id == Update.id)
        .join(
            ends,
            and_(
                ends.c.email == address,
                or_(Update.number == ends.c.first, Update.number == ends.c.latest),
            ),
        )
        .where(received)
        .order_by(Update.number)
    )
    threads: dict[str, list[str]] = {}
    for email, message_id in found:
        ids = threads.setdefault(email, [])
        if message_id not in ids:
            ids.append(message_id)
    return {email: tuple(ids) for email, ids in threads.items()}


def _thread_fields(thread: tuple[str, ...]) -> dict[str, str]:
    """In-Reply-To the contact's previous message; References their first and previous."""
    return {
        "in_reply_to": thread[-1] if thread else "",
        "thread_references": " ".join(thread),
    }


def _kind(new: Update) -> kinds.EmailKind:
    found = kinds.get(new.kind)
    assert found is not None  # plan() accepts only declared kinds
    return found


def _supersede_older(db_session: Session, incident: Incident, new: Update) -> int:
    """Older deliveries still waiting are replaced by this update: no backlog of stale news."""
    older = select(Update.id).where(Update.incident_id == incident.id, Update.id != new.id)
    result = db_session.execute(
        update(Delivery)
        .where(Delivery.update_id.in_(older), Delivery.state.in_(("pending", "retrying")))
        .values(state="superseded", smtp_reply=f"superseded by update {new.number}")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _record_published(
    db_session: Session,
    incident: Incident,
    new: Update,
    count: int,
    superseded: int,
    *,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    renderer = EmailRenderer(settings)
    after = (
        f"; next automatic update {renderer.localtime(new.next_update_at)}"
        if new.next_update_at
        else ""
    )
    dropped = f"; {superseded} unsent older deliveries superseded" if superseded else ""
    record(
        db_session,
        incident,
        actor=by,
        kind="update_published",
        summary=f"Update {new.number} ({new.kind}, {new.trigger}) to {count} contacts"
        f"{after}{dropped}",
        now=now,
        details={
            "update": new.number,
            "kind": new.kind,
            "trigger": new.trigger,
            "recipients": count,
            "repeats_previous": new.repeats_previous,
            "next_update_at": messages.when(new.next_update_at),
        },
    )


def preview(
    db_session: Session,
    incident: Incident,
    *,
    message: str,
    email: str,
    settings: Settings,
    now: datetime,
) -> tuple[RenderedEmail, dict[str, str]]:
    """The exact e-mail the chosen contact would receive if this text went out now."""
    text = (message or "").strip() or incident.current_message or "(no status text yet)"
    contact = _chosen(recipients(db_session, incident, settings), email)
    planned = plan(db_session, incident, message=text, kind=None, now=now, settings=settings)
    draft = Update(
        number=planned.number,
        kind=planned.kind,
        message=text,
        repeats_previous=planned.repeats_previous,
        next_update_at=planned.next_slot.due_at,
        created_at=now,
    )
    name, address, organizations = contact
    delivery = Delivery(
        email=address,
        name=name,
        organizations=list(organizations),
        message_id=messages.delivery_message_id(settings, incident, planned.number, address),
        **_thread_fields(_threads(db_session, incident).get(address.lower(), ())),
    )
    renderer = EmailRenderer(settings)
    built = messages.build(renderer, settings, incident, draft, delivery)
    return messages.render(renderer, incident, draft, delivery), messages.shown_headers(built)


def _chosen(contacts: list[Contact], email: str) -> tuple[str, str, tuple[str, ...]]:
    """The contact with this address, the first contact, or a sample when there are none."""
    wanted = (email or "").strip().lower()
    for contact in contacts:
        if not wanted or contact.email.lower() == wanted:
            return contact.name or "", contact.email, tuple(contact.organizations)
    if wanted:
        raise UpdateProblem(f"{email} is not on the contact list of this incident.")
    return SAMPLE_CONTACT


def save_status_text(
    db_session: Session, incident: Incident, *, message: str, by: str, now: datetime
) -> None:
    """Keep the text for the next scheduled update without sending anything now."""
    text = _check_text(incident, message, "manual")
    if text == incident.current_message:
        return
    incident.current_message = text
    db_session.flush()
    record(
        db_session,
        incident,
        actor=by,
        kind="status_text_saved",
        summary="Saved the status text for the next update",
        now=now,
        details={"message": text},
    )
