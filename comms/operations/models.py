"""One long operation (a contact refresh, a bulk link, a merge, …), queued, run and finished."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comms.db import Base, intpk, json_list

ACTIVE = ("queued", "running")


class Operation(Base):
    """A row any worker may claim; progress and outcome are read from here by every web worker.

    `busy_key` is unique while the operation is queued or running (NULL after): the database,
    not a process's memory, keeps one refresh per incident and one link batch per parent.
    """

    __tablename__ = "operations"

    id: Mapped[intpk]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # refresh | candidates | link | merge | send | solve | reconcile
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # queued | running | done | failed
    key: Mapped[str] = mapped_column(String(200), default="")
    busy_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    outcomes: Mapped[json_list]
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    started_at: Mapped[datetime]  # when it was asked for
    lease_owner: Mapped[str] = mapped_column(String(200), default="")
    lease_expires_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE
