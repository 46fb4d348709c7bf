"""What became of each update: delivery counts by state and the failures with their replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select, text, union_all
from sqlalchemy.orm import Session

from comms.db import Page, keyset_page
from comms.incidents.models import Incident
from comms.updates import messages
from comms.updates.models import DELIVERY_STATES, IS_PROBLEM, PROBLEM_STATES, Delivery, Update

# The problems shown with each update (the first ones written); the counts say how many in all,
# and the update's deliveries list has every one.
SHOWN_PROBLEMS = 10
# Updates whose problems one statement reads (SQLite joins at most 500 SELECTs in one).
PROBLEMS_AT_ONCE = 50


@dataclass(frozen=True)
class Problem:
    """A delivery that failed, is uncertain or is retrying, with the mail server's reply."""

    state: str
    name: str
    email: str
    smtp_reply: str


@dataclass(frozen=True)
class UpdateSummary:
    update: Update
    counts: dict[str, int]
    problems: list[Problem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def in_progress(self) -> bool:
        return bool(self.counts["pending"] or self.counts["sending"])


def counts_by_update(db_session: Session, update_ids: list[int]) -> dict[int, dict[str, int]]:
    """Delivery counts per state for each update, every state present, as kept on the update."""
    columns = [getattr(Update, f"{state}_count") for state in DELIVERY_STATES]
    rows = db_session.execute(select(Update.id, *columns).where(Update.id.in_(update_ids)))
    counts = {update_id: dict.fromkeys(DELIVERY_STATES, 0) for update_id in update_ids}
    for update_id, *numbers in rows:
        counts[update_id] = dict(zip(DELIVERY_STATES, numbers, strict=True))
    return counts


def troubled_deliveries(db_session: Session, incident_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many deliveries of each incident failed, are uncertain or are being retried."""
    troubles = ("failed", "uncertain", "retrying")
    columns = [func.sum(getattr(Update, f"{state}_count")) for state in troubles]
    rows = db_session.execute(
        select(Update.incident_id, *columns)
        .where(Update.incident_id.in_(incident_ids))
        .group_by(Update.incident_id)
    )
    found = {incident_id: dict.fromkeys(troubles, 0) for incident_id in incident_ids}
    for incident_id, *numbers in rows:
        found[incident_id] = {
            state: int(n or 0) for state, n in zip(troubles, numbers, strict=True)
        }
    return found


def counted_over_rows(db_session: Session, update_ids: list[int]) -> dict[int, dict[str, int]]:
    """The same counts, counted over the deliveries (what the kept counts must always equal)."""
    counts = {update_id: dict.fromkeys(DELIVERY_STATES, 0) for update_id in update_ids}
    rows = db_session.execute(
        select(Delivery.update_id, Delivery.state, func.count())
        .where(Delivery.update_id.in_(update_ids))
        .group_by(Delivery.update_id, Delivery.state)
    )
    for update_id, state, count in rows:
        counts[update_id][state] = count
    return counts


def history(db_session: Session, incident: Incident) -> list[UpdateSummary]:
    """The incident's updates, newest first, with counts and the deliveries that went wrong."""
    updates = list(
        db_session.scalars(
            select(Update).where(Update.incident_id == incident.id).order_by(Update.number.desc())
        )
    )
    return summaries(db_session, updates)


def history_page(
    db_session: Session, incident: Incident, *, size: int, after: int | None = None
) -> Page[UpdateSummary]:
    """One page of the history, newest update first (the cursor is an update's id)."""
    page: Page[Update] = keyset_page(
        db_session,
        select(Update).where(Update.incident_id == incident.id),
        (Update.number,),
        id_column=Update.id,
        size=size,
        after=after,
        descending=True,
    )
    return Page(summaries(db_session, page.rows), page.after)


def summaries(db_session: Session, updates: list[Update]) -> list[UpdateSummary]:
    """These updates with their counts and their first problems."""
    ids = [u.id for u in updates]
    counts = counts_by_update(db_session, ids)
    troubled = [i for i in ids if any(counts[i][state] for state in PROBLEM_STATES)]
    problems = first_problems(db_session, troubled)
    return [UpdateSummary(u, counts[u.id], problems.get(u.id, [])) for u in updates]


def first_problems(
    db_session: Session, update_ids: list[int], *, each: int = SHOWN_PROBLEMS
) -> dict[int, list[Problem]]:
    """The first `each` problems of every update: one short index range each, however many."""
    found: dict[int, list[Problem]] = {}
    for start in range(0, len(update_ids), PROBLEMS_AT_ONCE):
        ids = update_ids[start : start + PROBLEMS_AT_ONCE]
        query = _first_problems_of(len(ids), each)
        rows = db_session.execute(query, {f"u{n}": update_id for n, update_id in enumerate(ids)})
        for update_id, *fields in rows:
            found.setdefault(update_id, []).append(Problem(*fields))
    return found


@cache
def _first_problems_of(count: int, each: int) -> Select[int, str, str, str, str]:
    """The statement of first_problems for `count` updates (built once: it is long)."""
    firsts = [
        select(Delivery.id)
        .where(Delivery.update_id == bindparam(f"u{n}"), text(f"deliveries.{IS_PROBLEM}"))
        .order_by(Delivery.id)
        .limit(each)
        .subquery()
        .select()
        for n in range(count)
    ]
    return (
        select(
            Delivery.update_id, Delivery.state, Delivery.name, Delivery.email, Delivery.smtp_reply
        )
        .where(Delivery.id.in_(union_all(*firsts)))
        .order_by(Delivery.update_id, Delivery.id)
    )


def failed_count(db_session: Session, incident: Incident) -> int:
    """How many deliveries of the incident's updates failed (the kept counts, summed)."""
    query = select(func.sum(Update.failed_count)).where(Update.incident_id == incident.id)
    return int(db_session.scalar(query) or 0)


def find(db_session: Session, incident: Incident, number: int) -> Update | None:
    """One update of the incident by its number."""
    return db_session.scalar(select(Update).filter_by(incident_id=incident.id, number=number))


def deliveries_page(
    db_session: Session, update: Update, *, size: int, after: int | None = None
) -> Page[Delivery]:
    """One page of an update's deliveries, in the order they were written."""
    return keyset_page(
        db_session,
        select(Delivery).where(Delivery.update_id == update.id),
        (Delivery.id,),
        id_column=Delivery.id,
        size=size,
        after=after,
    )


def deliveries(db_session: Session, update: Update) -> list[Delivery]:
    """Every delivery of an update, in the order they were written."""
    return list(
        db_session.scalars(select(Delivery).filter_by(update_id=update.id).order_by(Delivery.id))
    )


def update_json(summary: UpdateSummary) -> dict[str, Any]:
    """An update with its counts, as the API and the page's progress poll show it."""
    update = summary.update
    return {
        "number": update.number,
        "kind": update.kind,
        "trigger": update.trigger,
        "message": update.message,
        "repeats_previous": update.repeats_previous,
        "created_at": messages.when(update.created_at),
        "created_by": update.created_by,
        "next_update_at": messages.when(update.next_update_at),
        "recipients": summary.total,
        "counts": summary.counts,
        "problem": update.send_problem,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """One delivery's state and SMTP reply."""
    return {
        "email": delivery.email,
        "name": delivery.name,
        "organizations": list(delivery.organizations or []),
        "state": delivery.state,
        "attempts": delivery.attempts,
        "smtp_reply": delivery.smtp_reply,
        "sent_at": messages.when(delivery.sent_at),
        "next_attempt_at": messages.when(delivery.next_attempt_at),
        "message_id": delivery.message_id,
    }
