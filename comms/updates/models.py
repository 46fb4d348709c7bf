"""An update to clients and its deliveries, one per contact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comms.db import Base, intpk, json_list

DELIVERY_STATES = ("pending", "sending", "sent", "retrying", "failed", "uncertain", "superseded")
# The states the history shows, with their SMTP replies: what went wrong or may go wrong.
PROBLEM_STATES = ("failed", "uncertain", "retrying")
# The same, as the partial index's condition and the query's (both must read alike for SQLite).
IS_PROBLEM = "state IN ('failed', 'uncertain', 'retrying')"


class Update(Base):
    __tablename__ = "updates"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: Mapped[intpk]
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    repeats_previous: Mapped[bool] = mapped_column(default=False)
    next_update_at: Mapped[datetime | None]
    trigger: Mapped[str] = mapped_column(String(20))  # manual | schedule | resolve
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(254))
    # Why sending is held up (mail server down, template broken); "" when all is well.
    send_problem: Mapped[str] = mapped_column(Text, default="")
    # How many of its deliveries are in each state. A trigger on deliveries (migration
    # i14_delivery_counts) moves them in the transaction of every insert, state change and
    # delete, whoever writes it: publish, the sender, a recovery, a newer update superseding.
    # Read them with a query of their own (history.counts_by_update): the session may hold an
    # older copy of the row.
    pending_count: Mapped[int] = mapped_column(default=0, server_default="0")
    sending_count: Mapped[int] = mapped_column(default=0, server_default="0")
    sent_count: Mapped[int] = mapped_column(default=0, server_default="0")
    retrying_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(default=0, server_default="0")
    uncertain_count: Mapped[int] = mapped_column(default=0, server_default="0")
    superseded_count: Mapped[int] = mapped_column(default=0, server_default="0")

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="update")


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("update_id", "email"),
        # The sender takes the due rows of a state by their place in their update, so every
        # due update starts at once; the history lists an update's problems.
        Index("ix_deliveries_state_position", "state", "position", "id"),
        Index("ix_deliveries_update_state", "update_id", "state"),
        Index("ix_deliveries_update_order", "update_id", "id"),  # an update's, page by page
        # An update's first problems, read in order from an index that holds only problems.
        Index(
            "ix_deliveries_update_problems",
            "update_id",
            "id",
            postgresql_where=text(IS_PROBLEM),
            sqlite_where=text(IS_PROBLEM),
        ),
    )

    id: Mapped[intpk]
    update_id: Mapped[int] = mapped_column(ForeignKey("updates.id"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(255), default="")
    organizations: Mapped[json_list]
    state: Mapped[str] = mapped_column(String(20), default="pending")
    # The contact's place in the update (0, 1, 2 …): the first message of every due update
    # goes out before the second of any.
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    message_id: Mapped[str] = mapped_column(String(255))
    # Threading, fixed at publish: the contact's previous message of this incident, and the
    # References (their first message, then the previous one), space-separated; "" on the first.
    in_reply_to: Mapped[str] = mapped_column(String(255), default="")
    thread_references: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    # The sender holding the claim, and when it handed the message to SMTP: a claimed row
    # never dispatched can safely go back to pending; a dispatched one may have arrived.
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    dispatched_at: Mapped[datetime | None]
    uncertain_resent: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime | None]
    smtp_reply: Mapped[str] = mapped_column(Text, default="")

    update: Mapped[Update] = relationship(back_populates="deliveries")
