"""Affected organisations, the stored snapshot of their people, and manual changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from comms.db import Base, intpk, json_list

# Zendesk ids outgrow 32-bit integers (real accounts and the sandbox use 13-digit ids).
zendesk_id = Annotated[int, mapped_column(BigInteger)]


class AffectedOrganization(Base):
    """A Zendesk organisation hit by the incident, and how it came to be on the list."""

    __tablename__ = "affected_organizations"
    __table_args__ = (UniqueConstraint("incident_id", "organization_id"),)

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    organization_id: Mapped[zendesk_id]
    name: Mapped[str] = mapped_column(String(255))
    tags: Mapped[json_list]
    priority: Mapped[bool] = mapped_column(default=False)
    added_how: Mapped[str] = mapped_column(String(255))  # "by name", "tag platform_x", "ticket 123"
    added_by: Mapped[str] = mapped_column(String(254), default="")
    added_at: Mapped[datetime]
    people_read_at: Mapped[datetime | None]  # when its end-users were last read from Zendesk
    contacts: Mapped[int] = mapped_column(
        default=0, server_default="0"
    )  # on the stored list, not excluded


# The organisations' list order (priority clients first, then by name), so a page of the list
# is a range of this index, not a sort of every organisation an outage touched. An index on
# expressions: `organizations_page` must order by these same expressions.
Index(
    "ix_affected_organizations_incident_order",
    AffectedOrganization.incident_id,
    AffectedOrganization.priority.is_(False),
    func.lower(AffectedOrganization.name),
    AffectedOrganization.organization_id,
)


class OrganizationPerson(Base):
    """A Zendesk end-user of an affected organisation, as of the last snapshot."""

    __tablename__ = "organization_people"
    __table_args__ = (
        UniqueConstraint("incident_id", "organization_id", "user_id"),
        # Names of a page's requesters: a range of the incident's people, not all of them.
        Index("ix_organization_people_incident_user", "incident_id", "user_id"),
    )

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    organization_id: Mapped[zendesk_id]
    user_id: Mapped[zendesk_id]
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(254))
    tags: Mapped[json_list]


class Requester(Base):
    """The requester of a linked ticket: a contact whatever their organisation."""

    __tablename__ = "requesters"
    __table_args__ = (
        UniqueConstraint("incident_id", "ticket_id"),
        Index("ix_requesters_incident_user", "incident_id", "user_id"),
    )

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ticket_id: Mapped[zendesk_id]
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(254), default="")


class ContactOverride(Base):
    """An address added or excluded by hand; the latest row for an address wins."""

    __tablename__ = "contact_overrides"

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(255), default="")
    action: Mapped[str] = mapped_column(String(20))  # add | exclude | include
    by: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime]


# On PostgreSQL with pg_trgm, a GIN trigram index on `search_text` (migration 0019, not a
# model's: SQLite has none): a filter for a rare name finds its rows without reading the list.
SEARCH_INDEX = "ix_stored_contacts_search_trgm"


class StoredContact(Base):
    """One row of the contact list as the rules last built it, kept in step with its inputs.

    The list is rebuilt (comms/contacts/stored.py) in the transaction of every change to what
    it is built from, so that reading it costs the same whatever the size of the incident.
    """

    __tablename__ = "stored_contacts"
    __table_args__ = (
        UniqueConstraint("incident_id", "position"),
        # Who receives (or is excluded), in the list's order.
        Index("ix_stored_contacts_incident_excluded", "incident_id", "excluded", "position"),
    )

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    position: Mapped[int]  # the list's order: priority clients first, then organisation, name
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(255), default="")
    organizations: Mapped[json_list]
    reasons: Mapped[json_list]
    senior: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[bool] = mapped_column(default=False)
    excluded: Mapped[bool] = mapped_column(default=False)
    search_text: Mapped[str] = mapped_column(Text, default="")  # what the page's filter reads
