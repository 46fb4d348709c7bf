"""The contact list as a pure function of the snapshot, the overrides, severity and settings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from comms.config import ContactsSettings
from comms.contacts.models import (
    AffectedOrganization,
    ContactOverride,
    OrganizationPerson,
    Requester,
)

EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Contact:
    """One person on the list, once, with every reason they are on it."""

    email: str
    name: str
    organizations: tuple[str, ...]
    reasons: tuple[str, ...]
    senior: bool
    priority: bool
    excluded: bool = False


@dataclass
class _Draft:
    """A contact being assembled from several sources."""

    email: str
    name: str = ""
    org_ids: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    senior: bool = False
    excluded: bool = False


def one_line(text: str | None) -> str:
    """A name fit for an e-mail header: control characters (line breaks) become spaces."""
    return " ".join(CONTROL.sub(" ", text or "").split())


def normalize_email(text: str) -> str:
    """Return the address as given, stripped; raise ValueError if it is not an e-mail address."""
    address = (text or "").strip()
    if not address:
        raise ValueError("Give an e-mail address.")
    if len(address) > 254 or not EMAIL.match(address):
        raise ValueError(f"“{address}” is not an e-mail address: expected name@example.com.")
    return address


def is_priority(organization: AffectedOrganization, settings: ContactsSettings) -> bool:
    """Tell whether the organisation carries a configured priority-client tag."""
    return bool(set(organization.tags or ()) & set(settings.priority_org_tags))


def ordered_organizations(
    organizations: Iterable[AffectedOrganization], settings: ContactsSettings
) -> list[AffectedOrganization]:
    """Priority clients first, then by name."""
    return sorted(
        organizations,
        key=lambda o: (not is_priority(o, settings), o.name.lower(), o.organization_id),
    )


def how_added(organization: AffectedOrganization) -> str:
    """Say how the organisation came to be affected: "by name, by ana@x", "tag x", "ticket 1"."""
    if organization.added_how.startswith("by ") and organization.added_by:
        return f"{organization.added_how}, by {organization.added_by}"
    return organization.added_how


def seniors_included(severity: str, settings: ContactsSettings) -> bool:
    """Tell whether senior stakeholders receive updates at this severity."""
    return severity in settings.senior_at


def _person_reason(
    person: OrganizationPerson, org_name: str, severity: str, settings: ContactsSettings
) -> tuple[str, bool] | None:
    """Return (reason, senior) if the person is a contact at this severity, else None."""
    tags = set(person.tags or ())
    if settings.senior_tag in tags:
        if seniors_included(severity, settings):
            return f"senior stakeholder of {org_name}", True
        return None
    if settings.regular == "tagged" and settings.regular_tag not in tags:
        return None
    return f"regular contact of {org_name}", False


def _overrides(
    overrides: Iterable[ContactOverride],
) -> tuple[dict[str, ContactOverride], dict[str, ContactOverride]]:
    """Replay the overrides in order: (added by hand, excluded), keyed by lower-case address."""
    added: dict[str, ContactOverride] = {}
    excluded: dict[str, ContactOverride] = {}
    for row in sorted(overrides, key=lambda r: (r.at, r.id or 0)):
        key = row.email.strip().lower()
        if row.action == "add":
            added[key] = row
        if row.action == "exclude":
            excluded[key] = row
        else:
            excluded.pop(key, None)
    return added, excluded


def build_contacts(
    *,
    organizations: Sequence[AffectedOrganization],
    people: Iterable[OrganizationPerson],
    requesters: Iterable[Requester],
    overrides: Iterable[ContactOverride],
    severity: str,
    settings: ContactsSettings,
) -> list[Contact]:
    """Build every row of the list, excluded ones flagged; no database, no Zendesk."""
    orgs = ordered_organizations(organizations, settings)
    position = {o.organization_id: n for n, o in enumerate(orgs)}
    drafts: dict[str, _Draft] = {}

    def draft(email: str, name: str) -> _Draft:
        found = drafts.setdefault(email.strip().lower(), _Draft(email=email.strip()))
        found.name = found.name or one_line(name)
        return found

    names = {o.organization_id: o.name for o in orgs}
    for person in sorted(people, key=lambda p: (position.get(p.organization_id, 0), p.user_id)):
        if person.organization_id not in names or not person.email:
            continue
        found = _person_reason(person, names[person.organization_id], severity, settings)
        if found is not None:
            entry = draft(person.email, person.name)
            entry.reasons.append(found[0])
            entry.senior = entry.senior or found[1]
            if person.organization_id not in entry.org_ids:
                entry.org_ids.append(person.organization_id)
    for requester in sorted(requesters, key=lambda r: r.ticket_id):
        if requester.email:
            draft(requester.email, requester.name).reasons.append(
                f"requester of ticket {requester.ticket_id}"
            )
    added, excluded = _overrides(overrides)
    for row in added.values():
        draft(row.email, row.name).reasons.append(f"added by hand by {row.by}")
    for key, row in excluded.items():
        if key in drafts:
            drafts[key].excluded = True
            drafts[key].reasons.append(f"excluded by hand by {row.by}")
    return _finish(list(drafts.values()), orgs, position, settings)


def _finish(
    drafts: Sequence[_Draft],
    orgs: Sequence[AffectedOrganization],
    position: dict[int, int],
    settings: ContactsSettings,
) -> list[Contact]:
    """Turn drafts into contacts: priority clients first, then by organisation, then name."""
    by_id = {o.organization_id: o for o in orgs}
    contacts = []
    for entry in drafts:
        org_ids = sorted(entry.org_ids, key=lambda oid: position[oid])
        contacts.append(
            Contact(
                email=entry.email,
                name=entry.name,
                organizations=tuple(by_id[oid].name for oid in org_ids),
                reasons=tuple(entry.reasons),
                senior=entry.senior,
                priority=any(is_priority(by_id[oid], settings) for oid in org_ids),
                excluded=entry.excluded,
            )
        )
    order = {d.email: min((position[o] for o in d.org_ids), default=len(position)) for d in drafts}
    return sorted(
        contacts,
        key=lambda c: (not c.priority, order[c.email], c.name.lower(), c.email.lower()),
    )
