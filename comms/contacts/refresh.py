"""Refresh the snapshot of the affected organisations' people from Zendesk, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.contacts.lists import affected_organizations
from comms.contacts.models import AffectedOrganization, OrganizationPerson, Requester
from comms.contacts.stored import rebuild
from comms.incidents.models import Incident
from comms.timeline import record
from comms.zendesk import Gateway, User, ZendeskError

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh found, or why it could not run (the old snapshot is then kept)."""

    ok: bool
    error: str = ""
    organizations: int = 0
    people: int = 0
    contacts: int = 0
    missing: tuple[str, ...] = ()
    requests: int = 0


@dataclass(frozen=True)
class _Read:
    """Everything read from Zendesk, before any row is changed."""

    users_by_org: dict[int, list[User]]
    requester_users: dict[int, User]


def refresh(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    settings: Settings,
    *,
    now: datetime,
    progress: ProgressCallback | None = None,
    by: str = "system",
) -> RefreshResult:
    """Re-read every affected organisation's end-users; on a ZendeskError keep the snapshot."""
    orgs = affected_organizations(db_session, incident, settings)
    requesters = list(db_session.scalars(select(Requester).filter_by(incident_id=incident.id)))
    before = gateway.request_count
    try:
        read = _read(gateway, orgs, requesters, settings.zendesk.concurrency, progress)
    except ZendeskError as error:
        return _failed(db_session, incident, str(error), by=by, now=now)
    lost = [o for o in orgs if o.organization_id not in read.users_by_org]
    if len(orgs) > 1 and len(lost) == len(orgs):
        # Every client gone at once is a Zendesk fault far more often than a clear-out.
        return _failed(db_session, incident, _all_lost(len(orgs)), by=by, now=now)
    people = _store_people(db_session, incident, orgs, read.users_by_org, now)
    _fill_requesters(requesters, read.requester_users)
    incident.contacts_refreshed_at = now
    incident.contacts_refresh_error = ""
    db_session.flush()
    receiving = rebuild(db_session, incident, settings)
    missing = tuple(o.name for o in lost)
    result = RefreshResult(
        ok=True,
        organizations=len(orgs) - len(missing),
        people=people,
        contacts=receiving,
        missing=missing,
        requests=gateway.request_count - before,
    )
    _record_success(db_session, incident, result, by=by, now=now)
    return result


def _all_lost(count: int) -> str:
    return (
        f"Zendesk answered 'not found' for all {count} affected organisations, which is "
        "more likely a Zendesk fault than deletions; if they really were deleted, remove them "
        "from the incident"
    )


def _read(
    gateway: Gateway,
    orgs: Sequence[AffectedOrganization],
    requesters: Sequence[Requester],
    concurrency: int,
    progress: ProgressCallback | None,
) -> _Read:
    """Read the organisations' end-users, then any requester whose name or e-mail is unknown."""
    users_by_org = (
        gateway.organization_end_users(
            [o.organization_id for o in orgs], concurrency=concurrency, progress=progress
        )
        if orgs
        else {}
    )
    unknown = [r.user_id for r in requesters if r.user_id and not (r.email and r.name)]
    requester_users = {u.id: u for u in gateway.users(unknown)} if unknown else {}
    return _Read(users_by_org=users_by_org, requester_users=requester_users)


def _store_people(
    db_session: Session,
    incident: Incident,
    orgs: Sequence[AffectedOrganization],
    users_by_org: dict[int, list[User]],
    now: datetime,
) -> int:
    """Replace the snapshot rows: every end-user with an e-mail who is not suspended.

    An organisation Zendesk no longer finds keeps its people from the last read until
    someone removes it from the incident: a 404 may be Zendesk's fault, not a deletion.
    """
    lost = [o.organization_id for o in orgs if o.organization_id not in users_by_org]
    db_session.execute(
        delete(OrganizationPerson).where(
            OrganizationPerson.incident_id == incident.id,
            OrganizationPerson.organization_id.not_in(lost),
        )
    )
    rows = []
    for org in orgs:
        if org.organization_id in lost:
            continue
        seen: set[int] = set()
        for user in users_by_org.get(org.organization_id, ()):
            if user.suspended or not user.email or user.id in seen:
                continue
            seen.add(user.id)
            rows.append(
                {
                    "incident_id": incident.id,
                    "organization_id": org.organization_id,
                    "user_id": user.id,
                    "name": user.name[:255],
                    "email": user.email[:254],
                    "tags": list(user.tags),
                }
            )
        org.people_read_at = now
    if rows:
        db_session.execute(insert(OrganizationPerson), rows)
    return len(rows)


def _fill_requesters(requesters: Sequence[Requester], users: dict[int, User]) -> None:
    """Fill in the name and e-mail of requesters that were added without them."""
    for requester in requesters:
        user = users.get(requester.user_id or 0)
        if user is None:
            continue
        requester.name = requester.name or user.name
        if not requester.email and user.email and not user.suspended:
            requester.email = user.email


def _failed(
    db_session: Session, incident: Incident, message: str, *, by: str, now: datetime
) -> RefreshResult:
    """Keep the last snapshot, remember the failure and put it on the timeline."""
    incident.contacts_refresh_error = message
    kept = incident.contacts_refreshed_at
    since = f"the list from {kept:%Y-%m-%d %H:%M} UTC is kept" if kept else "no list yet"
    record(
        db_session,
        incident,
        actor=by,
        kind="contacts_refresh_failed",
        summary=f"Could not refresh the contacts from Zendesk ({since}): {message}",
        now=now,
        details={"error": message},
    )
    return RefreshResult(ok=False, error=message)


def _record_success(
    db_session: Session, incident: Incident, result: RefreshResult, *, by: str, now: datetime
) -> None:
    gone = (
        f"; no longer in Zendesk: {', '.join(result.missing)} (their people from the last "
        "list are kept until the organisation is removed from the incident)"
        if result.missing
        else ""
    )
    record(
        db_session,
        incident,
        actor=by,
        kind="contacts_refreshed",
        summary=(
            f"Refreshed the contacts from Zendesk: {result.organizations} organisations, "
            f"{result.people} people, {result.contacts} contacts{gone}"
        ),
        now=now,
        details={
            "organizations": result.organizations,
            "people": result.people,
            "contacts": result.contacts,
            "requests": result.requests,
        },
    )
