"""Single-ticket operations: read, create or adopt the parent ticket, comment, solve, search."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from zenpy.lib.api_objects import Comment
from zenpy.lib.api_objects import Ticket as ZenpyTicket

from comms.zendesk.base import BeyondSearchLimit, GatewayBase, as_json, chunks, quoted
from comms.zendesk.errors import TicketNotFound, ZendeskError
from comms.zendesk.models import Ticket, parse_time, ticket_from_json

PRIORITIES = ("urgent", "high", "normal", "low")
# Search may not have indexed tickets this new; the incremental export has them at once.
BACKSTOP = timedelta(minutes=15)
# The incremental export allows 10 requests a minute: read it at most this often (seconds).
EXPORT_INTERVAL = 6.0


def missing_ticket(ticket_id: int) -> TicketNotFound:
    return TicketNotFound(f"ticket {ticket_id} does not exist in Zendesk")


class TicketOperations(GatewayBase):
    """Read and change tickets one at a time."""

    def ticket(self, ticket_id: int) -> Ticket:
        """Return one ticket; TicketNotFound if it does not exist."""
        with self._guard(not_found=missing_ticket(ticket_id)):
            return ticket_from_json(self._get_json(f"tickets/{int(ticket_id)}")["ticket"])

    def tickets(self, ticket_ids: Sequence[int]) -> list[Ticket]:
        """Return the tickets that exist among `ticket_ids` (show_many, 100 at a time)."""
        found: list[Ticket] = []
        for chunk in chunks(list(dict.fromkeys(int(i) for i in ticket_ids))):
            with self._guard():
                body = self._get_json("tickets/show_many", {"ids": ",".join(map(str, chunk))})
            found.extend(ticket_from_json(item) for item in body.get("tickets", []))
        return found

    def _update(self, ticket_id: int, **changes: Any) -> Ticket:
        """Send one ticket update and return the ticket as Zendesk now has it."""
        with self._guard(not_found=missing_ticket(ticket_id), action="edit tickets"):
            reply = self._client.tickets.update(ZenpyTicket(id=int(ticket_id), **changes))
        return ticket_from_json(as_json(reply))

    def create_problem(
        self, *, subject: str, description: str, tags: Sequence[str], priority: str
    ) -> Ticket:
        """Create the parent ticket: type problem, the description as a private comment."""
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, not {priority!r}")
        ticket = ZenpyTicket(
            subject=subject,
            type="problem",
            priority=priority,
            tags=list(tags),
            comment=Comment(body=description, public=False),
        )
        with self._guard(action="create tickets"):
            reply = self._client.tickets.create(ticket)
        return ticket_from_json(as_json(reply))

    def adopt_as_problem(self, ticket_id: int) -> Ticket:
        """Make an existing ticket the parent ticket (type problem); refuse a closed one."""
        current = self.ticket(ticket_id)
        if current.closed:
            raise ZendeskError(
                f"ticket {ticket_id} is closed, so Zendesk will not let it become the parent "
                "ticket: create a new parent ticket instead"
            )
        if current.type == "incident" and current.problem_id:
            raise ZendeskError(
                f"ticket {ticket_id} is already linked to problem {current.problem_id}: "
                "choose another ticket or unlink it first"
            )
        if current.type == "problem":
            return current
        return self._update(ticket_id, type="problem")

    def add_comment(self, ticket_id: int, body: str, *, public: bool) -> None:
        """Add a comment; public ones are e-mailed to the requester by Zendesk's triggers."""
        self._update(ticket_id, comment=Comment(body=body, public=public))

    def solve_problem(self, ticket_id: int, comment: str) -> Ticket:
        """Solve the parent ticket with a public comment (Zendesk then solves its incidents)."""
        with self._guard(not_found=missing_ticket(ticket_id)):
            raw = self._get_json(f"tickets/{int(ticket_id)}")["ticket"]
        if raw.get("status") == "closed":
            raise ZendeskError(f"ticket {ticket_id} is already closed")
        changes: dict[str, Any] = {"status": "solved"}
        if not raw.get("assignee_id"):
            # Zendesk refuses to solve a ticket without an assignee: take it ourselves.
            changes["assignee_id"] = self.me().id
        return self._update(ticket_id, comment=Comment(body=comment, public=True), **changes)

    def find_candidates(
        self, *, since: datetime, organization_ids: Sequence[int], keywords: Sequence[str]
    ) -> list[Ticket]:
        """Return open tickets created since `since` from these organisations or with a keyword."""
        if since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        base = f"type:ticket status<solved created>{stamp}"
        orgs = set(map(int, organization_ids))
        items: list[dict[str, Any]] = []
        if orgs:
            items += self._from_organizations(base, orgs)
        for word in dict.fromkeys(w.strip() for w in keywords if w.strip()):
            items += self._search(f"{base} {quoted(word)}")
        words = [w.strip() for w in keywords if w.strip()]
        start = max(since, datetime.now(UTC) - BACKSTOP)
        items += [t for t in self.recent_tickets(start) if _related(t, orgs, words)]
        found: dict[int, Ticket] = {}
        for item in items:
            if item.get("result_type", "ticket") == "ticket":
                ticket = ticket_from_json(item)
                if ticket.open and ticket.created_at >= since:
                    found.setdefault(ticket.id, ticket)
        return sorted(found.values(), key=lambda t: t.created_at)

    def recent_tickets(self, since: datetime) -> list[dict[str, Any]]:
        """Tickets changed since `since`, from the incremental export (no search lag).

        Read at most every EXPORT_INTERVAL seconds; in between the last read answers.
        """
        with self._export_lock:
            last = self._export
            if last and time.monotonic() - last[0] < EXPORT_INTERVAL and last[1] <= since:
                return [t for t in last[2] if parse_time(t.get("updated_at")) >= since]
            items: list[dict[str, Any]] = []
            url = "incremental/tickets/cursor"
            params: dict[str, Any] | None = {"start_time": int(since.timestamp())}
            while url:
                with self._guard():
                    body = self._get_json(url, params)
                items += body.get("tickets") or []
                url = "" if body.get("end_of_stream", True) else str(body.get("after_url") or "")
                params = None
            self._export = (time.monotonic(), since, items)
            return items

    def incidents_of(self, problem_id: int) -> list[Ticket]:
        """The tickets linked to a problem in Zendesk (also those an agent linked by hand)."""
        found: list[Ticket] = []
        url: str = f"tickets/{int(problem_id)}/incidents"
        params: dict[str, Any] | None = {"page[size]": 100}
        while url:
            with self._guard(not_found=missing_ticket(problem_id)):
                body = self._get_json(url, params)
            found += [ticket_from_json(t) for t in body.get("tickets", [])]
            more = (body.get("meta") or {}).get("has_more")
            url = str((body.get("links") or {}).get("next") or "") if more else ""
            params = None
        return found

    def _from_organizations(self, base: str, orgs: set[int]) -> list[dict[str, Any]]:
        """Read recent open tickets once and keep the organisations' (one query per org if many)."""
        try:
            recent = self._search(base, strict=True)
        except BeyondSearchLimit:
            return [
                item for org in sorted(orgs) for item in self._search(f"{base} organization:{org}")
            ]
        return [item for item in recent if item.get("organization_id") in orgs]


def _related(ticket: dict[str, Any], orgs: set[int], words: Sequence[str]) -> bool:
    """An affected organisation's ticket, or one whose subject or description has a keyword."""
    if ticket.get("organization_id") in orgs:
        return True
    text = f"{ticket.get('subject') or ''} {ticket.get('description') or ''}"
    return any(re.search(rf"\b{re.escape(w)}\b", text, re.IGNORECASE) for w in words)
