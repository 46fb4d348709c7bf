"""What comms knows of incidents declared in incident.io, and the webhooks it received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comms.db import Base, intpk

# taken_up: a comms incident follows it; declared: listed for the comms manager to take up.
FOLLOW_STATES = ("taken_up", "declared")


class FollowedIncident(Base):
    """An incident.io incident as the API last showed it, and the comms incident following it."""

    __tablename__ = "incident_io_incidents"

    id: Mapped[intpk]
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="declared")
    reference: Mapped[str] = mapped_column(String(50), default="")
    name: Mapped[str] = mapped_column(Text, default="")
    permalink: Mapped[str] = mapped_column(Text, default="")
    severity_name: Mapped[str] = mapped_column(String(100), default="")
    status_name: Mapped[str] = mapped_column(String(100), default="")
    status_category: Mapped[str] = mapped_column(String(40), default="")
    lead_name: Mapped[str] = mapped_column(String(200), default="")
    slack_channel_id: Mapped[str] = mapped_column(String(40), default="")
    slack_channel_name: Mapped[str] = mapped_column(String(200), default="")
    # The lead's latest update, offered as the draft of the next client update.
    latest_update: Mapped[str] = mapped_column(Text, default="")
    # incident.io says it is resolved; comms asks the comms manager before telling clients.
    resolution_pending: Mapped[bool] = mapped_column(default=False)
    # Fields changed in comms and being sent to incident.io ("severity,status"), since when:
    # until incident.io has answered, its older value is not taken back (no echo).
    push_pending: Mapped[str] = mapped_column(String(40), default="")
    push_pending_since: Mapped[datetime | None]
    remote_updated_at: Mapped[datetime | None]
    seen_at: Mapped[datetime]


class ReceivedWebhook(Base):
    """One incident.io webhook (by its webhook-id), so that a retry is processed once."""

    __tablename__ = "incident_io_webhooks"

    id: Mapped[intpk]
    webhook_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_type: Mapped[str] = mapped_column(String(100), default="")
    external_id: Mapped[str] = mapped_column(String(100), default="")
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class SyncState(Base):
    """The reconcile's last successful look at incident.io, and what went wrong since."""

    __tablename__ = "incident_io_sync"

    id: Mapped[intpk]
    polled_at: Mapped[datetime | None]
    attempted_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")
