"""Ticket and job-status routes."""

from __future__ import annotations

import base64
from typing import Any

from .paging import first
from .request import Request, Result, lookup
from .shapes import invalid, parse_ts


def tickets_list(r: Request) -> Result:
    return tickets_listing(r, sorted(r.store.tickets.values(), key=lambda t: t["id"]))


def tickets_listing(r: Request, items: list[dict[str, Any]]) -> Result:
    """List endpoints answer tickets without "fields", as recorded."""
    body = r.page(items, "tickets")
    body["tickets"] = [{k: v for k, v in t.items() if k != "fields"} for t in body["tickets"]]
    return 200, body


def ticket_create(r: Request) -> Result:
    ticket, audit = r.store.create_ticket(r.obj("ticket"), author_id=r.user_id)
    return 201, {"ticket": ticket, "audit": audit}


def tickets_create_many(r: Request) -> Result:
    items = r.many("tickets")

    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        ticket, _ = r.store.create_ticket(data, author_id=r.user_id)
        return {"id": ticket["id"], "index": index}

    return 200, {"job_status": r.store.start_job(items, work, "Bulk create tickets")}


def tickets_show_many(r: Request) -> Result:
    return 200, r.page(lookup(r.store.tickets, r.ids()), "tickets", cursor_ok=False)


def tickets_update_many(r: Request) -> Result:
    r.store.require(r.user_id, "ticket_editing")
    if "tickets" in r.body:
        items = r.many("tickets")
    else:
        change = r.obj("ticket")
        items = [dict(change, id=int(i) if i.isdigit() else i) for i in r.ids()]
    return 200, {"job_status": r.store.update_many(items, r.user_id)}


def ticket_show(r: Request, tid: str) -> Result:
    return 200, {"ticket": r.store._ticket(tid)}


def ticket_update(r: Request, tid: str) -> Result:
    change = r.obj("ticket")
    comment = change.get("comment")
    private_note = set(change) <= {"id", "comment"} and isinstance(comment, dict)
    if not (private_note and comment.get("public") is False):  # what a light agent may do
        r.store.require(r.user_id, "ticket_editing")
    ticket, audit = r.store.update_ticket(tid, change, author_id=r.user_id)
    return 200, {"ticket": ticket, "audit": audit}


def ticket_delete(r: Request, tid: str) -> Result:
    r.store.require(r.user_id, "ticket_deletion")
    r.store._ticket(tid)
    del r.store.tickets[int(tid)]
    r.store.index.changed("ticket", int(tid))
    return 204, None


def ticket_comments(r: Request, tid: str) -> Result:
    r.store._ticket(tid)
    return 200, r.page(r.store.comments[int(tid)], "comments")


def ticket_incidents(r: Request, tid: str) -> Result:
    return tickets_listing(r, r.store.incidents(tid))


def ticket_merge(r: Request, tid: str) -> Result:
    r.store.require(r.user_id, "ticket_merge")
    return 200, {"job_status": r.store.merge(tid, r.body, r.user_id)}


def problems(r: Request) -> Result:
    items = [t for t in r.store.tickets.values() if t["type"] == "problem"]
    return tickets_listing(r, items)


def org_tickets(r: Request, oid: str) -> Result:
    org = r.store.organization(oid)
    return tickets_listing(
        r, [t for t in r.store.tickets.values() if t["organization_id"] == org["id"]]
    )


def incremental_tickets(r: Request) -> Result:
    """GET /incremental/tickets/cursor: tickets changed since start_time (or the cursor), in
    the order they changed, 1000 a page; not delayed by the search index."""
    cursor = first(r.params, "cursor")
    if cursor:
        try:
            stamp, _, after_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            position = (float(stamp), int(after_id))
        except ValueError:
            raise invalid("cursor", "Cursor: is invalid", "InvalidValue") from None
    else:
        start = first(r.params, "start_time")
        if not start or not start.isdigit():
            raise invalid("start_time", "start_time is required: a Unix time", "InvalidValue")
        position = (float(start) - 0.5, 0)
    size = min(int(first(r.params, "per_page") or 1000), 1000)
    changed = sorted(
        ((parse_ts(t["updated_at"]).timestamp(), t["id"], t) for t in r.store.tickets.values()),
        key=lambda item: item[:2],
    )
    later = [item for item in changed if item[:2] > position]
    page, more = later[:size], len(later) > size
    last = page[-1][:2] if page else position
    after = base64.urlsafe_b64encode(f"{last[0]}:{last[1]}".encode()).decode()
    url = f"{r.store.base_url}/api/v2/incremental/tickets/cursor.json?cursor={after}"
    return 200, {
        "tickets": [{k: v for k, v in t.items() if k != "fields"} for _, _, t in page],
        "after_cursor": after,
        "after_url": url,
        "before_cursor": None,
        "before_url": None,
        "end_of_stream": not more,
    }


# jobs ------------------------------------------------------------------------------
def job_show(r: Request, jid: str) -> Result:
    return 200, {"job_status": r.store.job(jid)}


def jobs_show_many(r: Request) -> Result:
    ids = r.ids()
    return 200, {"job_statuses": [r.store.jobs[j] for j in ids if j in r.store.jobs]}
