"""Where comms posts about an incident in Slack, and which timeline entries it posted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comms.db import Base


class SlackThread(Base):
    """One incident's Slack channel, the first message's ts, what was last posted or went wrong."""

    __tablename__ = "slack_threads"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(40))
    thread_ts: Mapped[str] = mapped_column(String(40), default="")
    # The updates whose outcome ("update N sent: ...") is posted, by number.
    updates_reported: Mapped[int] = mapped_column(default=0)
    reminded_for: Mapped[datetime | None]
    # Slack said to slow down (429 Retry-After) or failed: nothing is posted before this time.
    retry_at: Mapped[datetime | None]
    last_posted_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")


class SlackPost(Base):
    """A timeline entry the channel has seen (posted, or passed over as no news).

    A set rather than a high-water mark: an entry whose transaction commits after a later one
    (two people acting at once) is still posted, not skipped.
    """

    __tablename__ = "slack_posts"

    event_id: Mapped[int] = mapped_column(ForeignKey("timeline_events.id"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ts: Mapped[str] = mapped_column(String(40), default="")
    posted_at: Mapped[datetime]
