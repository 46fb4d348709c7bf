"""Ticket rules: create, update, problem/incident links, solving problems, merge, bulk jobs."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import shapes
from .shapes import STATUS_ORDER, ApiError, invalid, norm_tags, not_found, ts

if TYPE_CHECKING:
    from .store import Store

TRACKED = ("subject", "requester_id", "priority", "type", "status", "organization_id")
WRITABLE = (
    "subject",
    "priority",
    "type",
    "status",
    "assignee_id",
    "group_id",
    "external_id",
    "due_at",
    "custom_fields",
    "problem_id",
    "organization_id",
    "requester_id",
)
CLOSED_BODY = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {
        "status": [
            {
                "description": "Status: closed prevents ticket update",
                "error": "ClosedPreventsUpdate",
            }
        ]
    },
}


def _val(value: Any) -> Any:
    """Event values are strings (ids included) or null, like the recordings."""
    if value is None or isinstance(value, (str, list)):
        return value
    return str(value)


class TicketsMixin:
    """Ticket behaviour of the Store."""

    def ticket(self: Store, tid: int) -> dict[str, Any]:
        """A copy of a ticket's current state."""
        with self.lock:
            return copy.deepcopy(self._ticket(tid))

    def _ticket(self: Store, tid: int | str) -> dict[str, Any]:
        try:
            found = self.tickets.get(int(tid))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise not_found()
        return found

    def add_ticket(
        self: Store,
        subject: str = "",
        requester_id: int | None = None,
        organization_id: int | None = None,
        status: str = "new",
        type: str | None = None,
        created_at: datetime | None = None,
        description: str = "",
        **kw: Any,
    ) -> dict[str, Any]:
        """Create a ticket as its requester would (the comment is the description)."""
        data = dict(
            kw,
            subject=subject,
            requester_id=requester_id,
            status=status,
            type=type,
            organization_id=organization_id,
        )
        data.setdefault("comment", {"body": description or subject, "public": True})
        ticket, _ = self.create_ticket(data, author_id=requester_id, created_at=created_at)
        return copy.deepcopy(ticket)

    def _requester(self: Store, data: dict[str, Any]) -> int:
        req = data.get("requester")
        if isinstance(req, dict) and req.get("email"):
            found = self.user_by_email(req["email"])
            if found:
                return found["id"]
            return self.add_user(name=req.get("name") or req["email"], email=req["email"])["id"]
        if data.get("requester_id"):
            return self.user(data["requester_id"])["id"]
        return self.api_user_id

    def _check(self: Store, ticket: dict[str, Any], data: dict[str, Any]) -> None:
        if "status" in data and data["status"] not in STATUS_ORDER:
            raise invalid("status", f"Status: {data['status']} is not valid")
        if data.get("type") not in (None, "problem", "incident", "question", "task"):
            raise invalid("type", f"Type: {data['type']} is not valid")
        if data.get("priority") not in (None, "urgent", "high", "normal", "low"):
            raise invalid("priority", f"Priority: {data['priority']} is not valid")
        if data.get("organization_id") and int(data["organization_id"]) not in self.orgs:
            raise invalid("organization_id", "Organization: is invalid")
        self._check_organization(ticket, data)
        if data.get("problem_id"):
            problem = self.tickets.get(int(data["problem_id"]))
            if problem is None or problem["type"] != "problem":
                raise invalid("problem_id", "Problem: must be a problem ticket")

    def _check_organization(self: Store, ticket: dict[str, Any], data: dict[str, Any]) -> None:
        """422 unless the ticket's organization is one its requester belongs to (as Zendesk)."""
        if "organization_id" not in data and "requester_id" not in data:
            return
        org_id = data.get("organization_id", ticket.get("organization_id"))
        requester_id = data.get("requester_id", ticket.get("requester_id"))
        if not org_id or not requester_id:
            return
        if int(org_id) not in self.user_org_ids(int(requester_id)):
            raise invalid(
                "organization_id",
                "Organization: the requester is not a member of this organization",
            )

    def create_ticket(
        self: Store,
        data: dict[str, Any],
        author_id: int | None = None,
        created_at: datetime | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """POST /tickets: returns (ticket, audit) and notifies on_ticket_created."""
        with self.lock:
            comment = data.get("comment") or {}
            if not comment and data.get("description"):
                comment = {"body": data["description"]}
            if not comment.get("body") and not comment.get("html_body"):
                raise invalid("description", "Description: cannot be blank", "BlankValue")
            requester_id = self._requester(data)
            data = dict(data, requester_id=requester_id)
            data["organization_id"] = (
                data.get("organization_id") or self.users[requester_id]["organization_id"]
            )
            data["tags"] = self._norm(data.get("tags"))
            self._check({}, data)
            tid, now = next(self._ticket_ids), ts(created_at)
            body, html_body, _ = shapes.comment_bodies(
                comment.get("body"), comment.get("html_body")
            )
            ticket = shapes.ticket(
                self.base_url,
                tid,
                now,
                description=body,
                submitter_id=author_id or self.api_user_id,
                **{k: data.get(k) for k in (*WRITABLE, "tags")},
            )
            if data.get("problem_id") and ticket["type"] == "incident":
                self.tickets[int(data["problem_id"])]["has_incidents"] = True
            self.tickets[tid] = ticket
            self.comments[tid] = []
            audit_id = self.next_id()
            events = [self._add_comment(tid, audit_id, comment, author_id or requester_id, now)]
            for field in TRACKED:
                events.append(
                    {
                        "field_name": field,
                        "id": self.next_id(),
                        "type": "Create",
                        "value": _val(ticket[field]),
                    }
                )
            if ticket["tags"]:
                events.append(
                    {
                        "field_name": "tags",
                        "id": self.next_id(),
                        "type": "Create",
                        "value": list(ticket["tags"]),
                    }
                )
            audit = shapes.audit(audit_id, tid, author_id or self.api_user_id, events, now)
            self.index.changed("ticket", tid, created_at)
            for callback in list(self.on_ticket_created):
                callback(copy.deepcopy(ticket))
            return ticket, audit

    def _norm(self: Store, tags: Any) -> list[str]:
        return norm_tags(tags)

    def _add_comment(
        self: Store, tid: int, audit_id: int, comment: dict[str, Any], author_id: int, now: str
    ) -> dict[str, Any]:
        body, html_body, _ = shapes.comment_bodies(comment.get("body"), comment.get("html_body"))
        public = bool(comment.get("public", True))
        author = int(comment.get("author_id") or author_id)
        stored = shapes.comment(self.next_id(), audit_id, author, body, html_body, public, now)
        self.comments[tid].append(stored)
        event = {
            k: stored[k]
            for k in (
                "attachments",
                "audit_id",
                "author_id",
                "body",
                "html_body",
                "id",
                "plain_body",
                "public",
                "type",
            )
        }
        return event

    def update_ticket(
        self: Store, tid: int | str, data: dict[str, Any], author_id: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """PUT /tickets/{id}: returns (ticket, audit); solving a problem solves its incidents."""
        with self.lock:
            ticket = self._ticket(tid)
            changes = {k: v for k, v in data.items() if k != "id"}
            if ticket["status"] == "closed" and changes:
                raise ApiError(422, copy.deepcopy(CLOSED_BODY))
            if changes.get("status") == "new" and ticket["status"] != "new":
                raise invalid("status", "Status: new is not valid for this ticket")
            if changes.get("requester_id") and "organization_id" not in changes:
                new_requester = self.user(changes["requester_id"])
                changes["organization_id"] = new_requester["organization_id"]
            self._check(ticket, changes)
            author = author_id or self.api_user_id
            now, audit_id = ts(), self.next_id()
            events: list[dict[str, Any]] = []
            comment = changes.get("comment")
            if comment and (comment.get("body") or comment.get("html_body")):
                events.append(self._add_comment(ticket["id"], audit_id, comment, author, now))
            new_tags = list(ticket["tags"])
            if "tags" in changes:
                new_tags = self._norm(changes["tags"])
            new_tags += [t for t in self._norm(changes.get("additional_tags")) if t not in new_tags]
            new_tags = [t for t in new_tags if t not in self._norm(changes.get("remove_tags"))]
            for field in (*WRITABLE, "tags"):
                value = new_tags if field == "tags" else changes.get(field, ticket[field])
                if (
                    field in ("requester_id", "organization_id", "problem_id", "assignee_id")
                    and value is not None
                ):
                    value = int(value)
                if value != ticket[field]:
                    events.append(
                        {
                            "field_name": field,
                            "id": self.next_id(),
                            "type": "Change",
                            "previous_value": _val(ticket[field]),
                            "value": _val(value),
                        }
                    )
                    ticket[field] = value
            ticket["raw_subject"] = ticket["subject"]
            ticket["custom_status_id"] = shapes.CUSTOM_STATUS_IDS[ticket["status"]]
            ticket["fields"] = list(ticket["custom_fields"])
            ticket["updated_at"] = now
            ticket["generated_timestamp"] = shapes.generated_timestamp(now)
            self.index.changed("ticket", ticket["id"])
            if ticket["type"] == "incident" and ticket["problem_id"]:
                self.tickets[ticket["problem_id"]]["has_incidents"] = True
            solved = any(e.get("field_name") == "status" and e["value"] == "solved" for e in events)
            if solved and ticket["type"] == "problem":
                self._solve_incidents(ticket["id"], comment, author)
            return ticket, shapes.audit(audit_id, ticket["id"], author, events, now)

    def _solve_incidents(
        self: Store, pid: int, comment: dict[str, Any] | None, author: int
    ) -> None:
        for inc in list(self.tickets.values()):
            if inc["problem_id"] == pid and inc["status"] not in ("solved", "closed"):
                change: dict[str, Any] = {"status": "solved"}
                if comment and (comment.get("body") or comment.get("html_body")):
                    change["comment"] = dict(comment)
                self.update_ticket(inc["id"], change, author)

    def incidents(self: Store, pid: int | str) -> list[dict[str, Any]]:
        """Incidents linked to a problem, in id order."""
        problem = self._ticket(pid)
        return [t for t in self.tickets.values() if t["problem_id"] == problem["id"]]
