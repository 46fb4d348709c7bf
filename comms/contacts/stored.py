"""The contact list kept per incident: rebuilt by the rules on every change, read in pages.

Whatever changes what the list is built from (a refresh, a severity change, an address added
or excluded by hand, an organisation added or removed, a requester) calls `rebuild` in its own
transaction, so a page, the dashboard or a send reads the stored rows and never runs the rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.contacts.lists import affected_organizations, built_contacts
from comms.contacts.models import StoredContact
from comms.contacts.rules import Contact
from comms.incidents.models import Incident

# Rows read at a time when the whole list is streamed (a CSV export, a send).
CHUNK = 2000
# A filter counts its matches up to here, then says "more than": the count reads this many rows
# at most, so the filtered page costs the same at 20,000 contacts as at 1,000.
MATCHES_COUNTED = 500


@dataclass(frozen=True)
class ContactPage:
    """One page of the list: its rows and the cursor of the next page (None on the last)."""

    contacts: list[Contact]
    after: int | None
    first: int = 1  # the place of the page's first row among those matching, from 1
    matching: int | None = None  # how many match the filter (None: no filter given)
    more_matching: bool = False  # more than `matching` (MATCHES_COUNTED) match: counted no more


def rebuild(db_session: Session, incident: Incident, settings: Settings) -> int:
    """Run the rules and store their result in place of the old list; return who receives."""
    contacts = built_contacts(db_session, incident, settings)
    db_session.execute(delete(StoredContact).where(StoredContact.incident_id == incident.id))
    rows = [
        {
            "incident_id": incident.id,
            "position": position,
            "email": c.email,
            "name": c.name,
            "organizations": list(c.organizations),
            "reasons": list(c.reasons),
            "senior": c.senior,
            "priority": c.priority,
            "excluded": c.excluded,
            "search_text": search_text(c),
        }
        for position, c in enumerate(contacts)
    ]
    if rows:
        db_session.execute(insert(StoredContact), rows)
    receiving = [c for c in contacts if not c.excluded]
    by_name = Counter(name for c in receiving for name in c.organizations)
    organizations = affected_organizations(db_session, incident, settings)
    for org in organizations:
        org.contacts = by_name[org.name]
    incident.contact_count = len(receiving)
    incident.excluded_count = len(contacts) - len(receiving)
    incident.organization_count = len(organizations)
    db_session.flush()
    return len(receiving)


def search_text(contact: Contact) -> str:
    """What the page's filter looks in: name, address, organisations and reasons, lower-case."""
    return " ".join((contact.name, contact.email, *contact.organizations, *contact.reasons)).lower()


def rebuild_unbuilt(db_session: Session, settings: Settings) -> int:
    """Build the list of every incident that has contacts' sources but no stored list yet."""
    has_rows = select(StoredContact.id).where(StoredContact.incident_id == Incident.id).exists()
    unbuilt = list(db_session.scalars(select(Incident).where(~has_rows)))
    for incident in unbuilt:
        rebuild(db_session, incident, settings)
    return len(unbuilt)


COLUMNS = (
    StoredContact.position,
    StoredContact.email,
    StoredContact.name,
    StoredContact.organizations,
    StoredContact.reasons,
    StoredContact.senior,
    StoredContact.priority,
    StoredContact.excluded,
)


def _contact(row: Any) -> Contact:
    """A stored row (read as plain columns: a page need not build ORM objects) as a Contact."""
    return Contact(
        email=row.email,
        name=row.name,
        organizations=tuple(row.organizations or ()),
        reasons=tuple(row.reasons or ()),
        senior=row.senior,
        priority=row.priority,
        excluded=row.excluded,
    )


def contact_rows(db_session: Session, incident: Incident) -> list[Contact]:
    """Every contact, those excluded by hand included and flagged, in the list's order."""
    return list(iter_contacts(db_session, incident, excluded=True))


def contact_list(db_session: Session, incident: Incident) -> list[Contact]:
    """Who receives the next update: every contact not excluded by hand."""
    return list(iter_contacts(db_session, incident, excluded=False))


def iter_contacts(db_session: Session, incident: Incident, *, excluded: bool) -> Iterator[Contact]:
    """The list in order, read CHUNK rows at a time (excluded ones too when asked)."""
    after: int | None = None
    while True:
        page = contact_page(db_session, incident, size=CHUNK, after=after, excluded=excluded)
        yield from page.contacts
        if page.after is None:
            return
        after = page.after


def contact_page(
    db_session: Session,
    incident: Incident,
    *,
    size: int,
    after: int | None = None,
    excluded: bool = True,
    query: str = "",
) -> ContactPage:
    """The `size` contacts after the cursor, matching the filter if one is given."""
    select_rows = (
        select(*COLUMNS)
        .where(StoredContact.incident_id == incident.id)
        .order_by(StoredContact.position)
        .limit(size + 1)
    )
    if after is not None:
        select_rows = select_rows.where(StoredContact.position > after)
    if not excluded:
        select_rows = select_rows.where(StoredContact.excluded.is_(False))
    if query.strip():
        select_rows = select_rows.where(_matching(query))
    rows = list(db_session.execute(select_rows))
    more = len(rows) > size
    rows = rows[:size]
    if query.strip() and after is None and excluded and not more:
        matches: int | None = len(rows)  # the whole of what matches is this page: no count
    else:
        matches = _count_matches(db_session, incident, query)
    return ContactPage(
        [_contact(r) for r in rows],
        rows[-1].position if more else None,
        first=_place(db_session, incident, after, query),
        matching=min(matches, MATCHES_COUNTED) if matches is not None else None,
        more_matching=matches is not None and matches > MATCHES_COUNTED,
    )


def _count_matches(db_session: Session, incident: Incident, query: str) -> int | None:
    """How many rows match the filter, counted up to one past MATCHES_COUNTED (None: no filter).

    The first matches in the list's order: read along the incident's own rows, which stop at
    the bound, not the whole table (PostgreSQL's plan without the order, 14 ms at 20,000 for
    the 1.5 ms of this one)."""
    if not query.strip():
        return None
    found = (
        select(StoredContact.id)
        .where(StoredContact.incident_id == incident.id, _matching(query))
        .order_by(StoredContact.position)
        .limit(MATCHES_COUNTED + 1)
        .subquery()
    )
    return int(db_session.scalar(select(func.count()).select_from(found)) or 0)


def _place(db_session: Session, incident: Incident, after: int | None, query: str) -> int:
    """Where the row after the cursor stands: positions run 0, 1, 2 … so only a filter counts."""
    if after is None:
        return 1
    if not query.strip():
        return after + 2
    return _count(db_session, incident, _matching(query), StoredContact.position <= after) + 1


def _count(db_session: Session, incident: Incident, *where: Any) -> int:
    query = select(func.count()).where(StoredContact.incident_id == incident.id, *where)
    return int(db_session.scalar(query) or 0)


def find_contact(db_session: Session, incident: Incident, email: str) -> Contact | None:
    """The address's row on the list (excluded or not), found case-insensitively."""
    row = db_session.execute(
        select(*COLUMNS)
        .where(
            StoredContact.incident_id == incident.id,
            func.lower(StoredContact.email) == email.strip().lower(),
        )
        .limit(1)
    ).first()
    return None if row is None else _contact(row)


def excluded_count(db_session: Session, incident: Incident) -> int:
    """How many contacts are excluded by hand (the list's other rows receive updates).

    Counted by `rebuild` with the list, like `Incident.contact_count`: no rows are read.
    """
    return incident.excluded_count


def _matching(query: str):  # type: ignore[no-untyped-def]
    """Rows whose name, address, organisations or reasons hold the text, case-insensitively."""
    return StoredContact.search_text.contains(query.strip().lower(), autoescape=True)
