"""Where comms posts about an incident in Slack, and how far through the timeline it got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comms.db import Base


class SlackThread(Base):
    """One incident's Slack channel, the first message's ts, and the last timeline entry posted."""

    __tablename__ = "slack_threads"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(40))
    thread_ts: Mapped[str] = mapped_column(String(40), default="")
    posted_through: Mapped[int] = mapped_column(default=0)
    # The updates whose outcome ("update N sent: ...") is posted, by number.
    updates_reported: Mapped[int] = mapped_column(default=0)
    reminded_for: Mapped[datetime | None]
    # Slack said to slow down (429 Retry-After) or failed: nothing is posted before this time.
    retry_at: Mapped[datetime | None]
    last_posted_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")
