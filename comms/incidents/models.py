"""An incident, its timeline, its Zendesk tickets and the merge ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comms.db import Base, intpk, json_list

SEVERITIES = ("critical", "major", "minor", "trivial")
STATUSES = ("investigating", "identified", "monitoring", "resolved")
PRIORITY_BY_SEVERITY = {"critical": "urgent", "major": "high", "minor": "normal", "trivial": "low"}


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="investigating")
    business_unit: Mapped[str] = mapped_column(String(100), default="")
    lead_name: Mapped[str] = mapped_column(String(200), default="")
    lead_email: Mapped[str] = mapped_column(String(254), default="")
    comms_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    security: Mapped[bool] = mapped_column(default=False)
    keywords: Mapped[json_list]
    parent_ticket_id: Mapped[int | None]
    auto_link: Mapped[bool] = mapped_column(default=False)
    add_orgs_on_link: Mapped[bool] = mapped_column(default=True)
    add_requesters_on_link: Mapped[bool] = mapped_column(default=True)
    declared_at: Mapped[datetime]
    declared_by: Mapped[str] = mapped_column(String(254), default="")
    resolved_at: Mapped[datetime | None]

    # The schedule: the database is its source of truth.
    current_message: Mapped[str] = mapped_column(Text, default="")
    next_update_due_at: Mapped[datetime | None] = mapped_column(index=True)
    schedule_paused: Mapped[bool] = mapped_column(default=False)
    pause_reason: Mapped[str] = mapped_column(Text, default="")
    reminder_sent_for: Mapped[datetime | None]

    # The contact list snapshot.
    contacts_refreshed_at: Mapped[datetime | None]
    contacts_refresh_error: Mapped[str] = mapped_column(Text, default="")
    # Who receives the next update, as the stored list (comms/contacts/stored.py) last counted.
    contact_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # And, counted in the same rebuild: the addresses excluded by hand, the organisations.
    excluded_count: Mapped[int] = mapped_column(default=0, server_default="0")
    organization_count: Mapped[int] = mapped_column(default=0, server_default="0")

    # Follow-up after resolution.
    review_at: Mapped[datetime | None]
    report_owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    draft_due_at: Mapped[datetime | None]
    draft_reminder_sent: Mapped[bool] = mapped_column(default=False)
    review_reminder_sent: Mapped[bool] = mapped_column(default=False)

    events: Mapped[list[TimelineEvent]] = relationship(
        back_populates="incident", order_by="TimelineEvent.id"
    )
    tickets: Mapped[list[LinkedTicket]] = relationship(
        back_populates="incident", order_by="LinkedTicket.id"
    )

    @property
    def reference(self) -> str:
        return f"INC-{self.id}"

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


class TimelineEvent(Base):
    """One thing done on an incident; rows are only ever added."""

    __tablename__ = "timeline_events"
    # The incident page reads the newest events first, a page at a time.
    __table_args__ = (
        Index("ix_timeline_events_incident_at", "incident_id", "at", "id"),
        # The latest entry of a kind (an automatic update held): one step, not the whole timeline.
        Index("ix_timeline_events_incident_kind", "incident_id", "kind", "id"),
    )

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    incident: Mapped[Incident] = relationship(back_populates="events")


class LinkedTicket(Base):
    """A client ticket attached to the incident's parent (or merged away)."""

    __tablename__ = "linked_tickets"
    __table_args__ = (
        UniqueConstraint("ticket_id"),
        # A page of the linked tickets in the order they were linked; the count of the linked.
        Index("ix_linked_tickets_incident_linked", "incident_id", "linked_at", "ticket_id"),
        Index("ix_linked_tickets_incident_state", "incident_id", "state"),
    )

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ticket_id: Mapped[int]
    subject: Mapped[str] = mapped_column(Text, default="")
    requester_id: Mapped[int | None]
    organization_id: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(20), default="linked")  # linked | merged
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(String(254), default="")

    incident: Mapped[Incident] = relationship(back_populates="tickets")


class Candidate(Base):
    """A ticket that looks related and waits for the comms manager's decision."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("incident_id", "ticket_id"),)

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ticket_id: Mapped[int]
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new")
    requester_id: Mapped[int | None]
    organization_id: Mapped[int | None]
    # The names as Zendesk gave them when the ticket was found, so the page reads no Zendesk.
    organization_name: Mapped[str | None] = mapped_column(Text)
    requester_name: Mapped[str | None] = mapped_column(Text)
    ticket_created_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(20), default="search")
    found_at: Mapped[datetime]


class MergeRequest(Base):
    """The merge ledger: written before each Zendesk merge, completed after it."""

    __tablename__ = "merge_requests"
    __table_args__ = (UniqueConstraint("target_id", "source_key"),)

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    target_id: Mapped[int]
    source_key: Mapped[str] = mapped_column(String(200))
    source_ids: Mapped[json_list]
    # requested | interrupted (Zendesk failed mid-way: ask it first) | done | failed
    state: Mapped[str] = mapped_column(String(20), default="requested")
    job_id: Mapped[str] = mapped_column(String(100), default="")
    outcomes: Mapped[json_list]
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    attempted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class WebhookEvent(Base):
    """A Zendesk webhook event already processed, so that a replay does nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[intpk]
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime]
