"""Ticket and job-status routes."""

from __future__ import annotations

from typing import Any

from .request import Request, Result, lookup


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

    return 200, {"job_status": r.store.start_job(items, work)}


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


# jobs ------------------------------------------------------------------------------
def job_show(r: Request, jid: str) -> Result:
    return 200, {"job_status": r.store.job(jid)}


def jobs_show_many(r: Request) -> Result:
    ids = r.ids()
    return 200, {"job_statuses": [r.store.jobs[j] for j in ids if j in r.store.jobs]}
