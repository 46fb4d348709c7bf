"""The project's own view of Zendesk records: small frozen dataclasses, never zenpy objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Ticket:
    """A Zendesk ticket, reduced to what incident comms needs."""

    id: int
    subject: str
    description: str
    status: str
    type: str | None
    priority: str | None
    requester_id: int | None
    organization_id: int | None
    problem_id: int | None
    tags: tuple[str, ...]
    created_at: datetime
    has_incidents: bool

    @property
    def closed(self) -> bool:
        """Tell whether Zendesk refuses further updates to this ticket."""
        return self.status == "closed"

    @property
    def open(self) -> bool:
        """Tell whether the ticket is below solved."""
        return self.status not in ("solved", "closed")


@dataclass(frozen=True)
class Organization:
    """A Zendesk organisation (a client)."""

    id: int
    name: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class User:
    """A Zendesk user; filtering (suspended, no e-mail) is the caller's job."""

    id: int
    name: str
    email: str | None
    role: str
    suspended: bool
    tags: tuple[str, ...]
    organization_id: int | None


@dataclass(frozen=True)
class Permissions:
    """What the API user's Zendesk role lets comms do."""

    user: User
    role_name: str  # "admin", or the agent's role ("Staff", "Light agent" ...)
    can_create: bool
    can_edit: bool
    can_merge: bool

    def summary(self) -> str:
        """One phrase: 'admin: can create, edit and merge tickets'."""
        verbs = {"create": self.can_create, "edit": self.can_edit, "merge": self.can_merge}
        can = [v for v, ok in verbs.items() if ok]
        cannot = [v for v, ok in verbs.items() if not ok]
        parts = [f"can {_words(can)} tickets"] if can else []
        parts += [f"cannot {_words(cannot)} tickets"] if cannot else []
        return f"{self.role_name}: {'; '.join(parts)}"


def _words(verbs: list[str]) -> str:
    return ", ".join(verbs[:-1]) + " and " + verbs[-1] if len(verbs) > 1 else verbs[0]


@dataclass(frozen=True)
class TicketOutcome:
    """What happened to one ticket in a bulk operation."""

    ticket_id: int
    ok: bool
    message: str


@dataclass(frozen=True)
class MergeResult:
    """The result of one merge request of at most five sources into a target."""

    job_id: str
    target_id: int
    source_ids: tuple[int, ...]
    outcomes: tuple[TicketOutcome, ...]


def parse_time(value: str | None) -> datetime:
    """Parse Zendesk's ISO-8601 time into an aware datetime (UTC when unzoned)."""
    if not value:
        return datetime.fromtimestamp(0, UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def ticket_from_json(data: Mapping[str, Any]) -> Ticket:
    """Build a Ticket from Zendesk's JSON object."""
    return Ticket(
        id=int(data["id"]),
        subject=_text(data.get("subject")),
        description=data.get("description") or "",
        status=data.get("status") or "new",
        type=data.get("type"),
        priority=data.get("priority"),
        requester_id=_optional_int(data.get("requester_id")),
        organization_id=_optional_int(data.get("organization_id")),
        problem_id=_optional_int(data.get("problem_id")),
        tags=tuple(data.get("tags") or ()),
        created_at=parse_time(data.get("created_at")),
        has_incidents=bool(data.get("has_incidents")),
    )


def _text(value: Any) -> str:
    """Text as comms stores it: Zendesk may hold a NUL character, which PostgreSQL refuses."""
    return str(value or "").replace("\x00", "")


def organization_from_json(data: Mapping[str, Any]) -> Organization:
    """Build an Organization from Zendesk's JSON object."""
    return Organization(
        id=int(data["id"]), name=_text(data.get("name")), tags=tuple(data.get("tags") or ())
    )


def user_from_json(data: Mapping[str, Any]) -> User:
    """Build a User from Zendesk's JSON object."""
    return User(
        id=int(data["id"]),
        name=_text(data.get("name")),
        email=data.get("email") or None,
        role=data.get("role") or "end-user",
        suspended=bool(data.get("suspended")),
        tags=tuple(data.get("tags") or ()),
        organization_id=_optional_int(data.get("organization_id")),
    )
