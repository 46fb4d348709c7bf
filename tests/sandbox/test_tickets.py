"""Ticket behaviour through zenpy over HTTP: create, incidents, solving problems, merge, limits."""

from __future__ import annotations

import json

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, JobStatus, Ticket
from zenpy.lib.exception import APIException, TooManyValuesException

from comms.sandbox import Sandbox
from tests.conftest import wait_for


def wait_job(zd: Zenpy, job: JobStatus) -> JobStatus:
    def completed() -> JobStatus | None:
        found = zd.job_status(id=job.id)
        return found if found.status == "completed" else None

    return wait_for(completed, "the job to complete", timeout=60)


def test_create_answers_ticket_and_audit(zd: Zenpy, sandbox: Sandbox) -> None:
    org = sandbox.store.add_organization(name="Harbourside Museum", tags=["priority_client"])
    user = sandbox.store.add_user(
        name="Ann Lee", email="ann@hm.org.uk", organization_ids=[org["id"]]
    )
    made = zd.tickets.create(
        Ticket(
            subject="Website down",
            requester_id=user["id"],
            tags=["Outage"],
            comment=Comment(html_body="<p>It is <b>down</b></p>"),
        )
    )
    assert made.ticket.organization_id == org["id"]
    assert made.ticket.tags == ["outage"]
    assert made.ticket.url == f"{sandbox.url}/api/v2/tickets/{made.ticket.id}.json"
    kinds = {(e["type"], e.get("field_name")) for e in made.audit.events}
    assert ("Comment", None) in kinds and ("Create", "status") in kinds
    comments = list(zd.tickets.comments(made.ticket.id))
    assert comments[0].plain_body == "It is down"


def test_create_many_runs_as_a_job(zd: Zenpy, sandbox: Sandbox) -> None:
    job = zd.tickets.create([Ticket(subject=f"t{i}", description="x") for i in range(3)])
    assert job.status == "queued"
    done = wait_job(zd, job)
    assert [r.index for r in done.results] == [0, 1, 2]
    assert len(sandbox.store.tickets) == 3


def test_incident_links_to_problem(zd: Zenpy) -> None:
    problem = zd.tickets.create(Ticket(subject="Hosting outage", type="problem", description="x"))
    pid = problem.ticket.id
    assert zd.tickets(id=pid).has_incidents is False
    inc = zd.tickets.create(
        Ticket(subject="Site down", type="incident", problem_id=pid, description="down")
    )
    other = zd.tickets.create(Ticket(subject="Also down", description="down")).ticket
    other.type, other.problem_id = "incident", pid
    zd.tickets.update(other)
    assert zd.tickets(id=pid).has_incidents is True
    assert [t.id for t in zd.tickets.incidents(pid)] == [inc.ticket.id, other.id]


def test_solving_problem_solves_incidents_with_same_comment(zd: Zenpy, sandbox: Sandbox) -> None:
    pid = zd.tickets.create(Ticket(subject="Outage", type="problem", description="x")).ticket.id
    incs = [
        zd.tickets.create(
            Ticket(subject=f"down {i}", type="incident", problem_id=pid, description="down")
        ).ticket.id
        for i in range(2)
    ]
    closed = sandbox.store.add_ticket(
        subject="old", type="incident", problem_id=pid, status="closed"
    )
    problem = zd.tickets(id=pid)
    problem.status = "solved"
    problem.comment = Comment(body="Fixed: the load balancer was restarted.", public=False)
    zd.tickets.update(problem)
    for tid in incs:
        assert zd.tickets(id=tid).status == "solved"
        last = list(zd.tickets.comments(tid))[-1]
        assert last.body == "Fixed: the load balancer was restarted." and last.public is False
    assert sandbox.store.ticket(closed["id"])["status"] == "closed"


def test_merge_closes_tags_comments_and_refuses_closed(zd: Zenpy, sandbox: Sandbox) -> None:
    target = zd.tickets.create(Ticket(subject="Parent", description="p")).ticket.id
    src = zd.tickets.create(Ticket(subject="Dup", description="d")).ticket.id
    solved = sandbox.store.add_ticket(subject="s", status="solved")["id"]
    closed = sandbox.store.add_ticket(subject="c", status="closed")["id"]
    job = zd.tickets.merge(
        target,
        [src, solved, closed],
        target_comment="Merged in",
        source_comment="Closed as duplicate",
    )
    results = {r.id: r for r in wait_job(zd, job).results}
    assert results[src].success is True
    for tid in (solved, closed):
        assert results[tid].success is False and results[tid].error and results[tid].details
    merged = zd.tickets(id=src)
    assert merged.status == "closed" and "closed_by_merge" in merged.tags
    assert list(zd.tickets.comments(src))[-1].body == "Closed as duplicate"
    note = list(zd.tickets.comments(target))[-1]
    assert note.body == "Merged in" and note.public is False
    assert sandbox.store.ticket(solved)["status"] == "solved"


def test_merge_refuses_more_than_five_ids(zd: Zenpy, sandbox: Sandbox) -> None:
    ids = [sandbox.store.add_ticket(subject=f"t{i}")["id"] for i in range(7)]
    with pytest.raises(TooManyValuesException) as err:
        zd.tickets.merge(ids[0], ids[1:])
    body = json.loads(str(err.value))
    assert body["error"] == "TooManyValues" and body["max_count"] == 5
    assert all(sandbox.store.ticket(i)["status"] == "new" for i in ids)


def test_bulk_endpoints_refuse_more_than_100(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox
) -> None:
    with pytest.raises(TooManyValuesException):
        zd.tickets.create([Ticket(subject="t", description="x") for _ in range(101)])
    with pytest.raises(TooManyValuesException):
        zd.tickets.update([Ticket(id=i, status="open") for i in range(1, 102)])
    ids = ",".join(str(i) for i in range(1, 102))
    answer = http.get(f"{sandbox.url}/api/v2/tickets/show_many.json?ids={ids}")
    assert answer.status_code == 400 and answer.json()["error"] == "TooManyValues"
    answer = http.put(
        f"{sandbox.url}/api/v2/tickets/update_many?ids={ids}", json={"ticket": {"status": "open"}}
    )
    assert answer.status_code == 400


def test_updating_a_closed_ticket_is_422(zd: Zenpy, sandbox: Sandbox) -> None:
    tid = sandbox.store.add_ticket(subject="done", status="closed")["id"]
    ticket = zd.tickets(id=tid)
    ticket.comment = Comment(body="hello")
    with pytest.raises(APIException) as err:
        zd.tickets.update(ticket)
    assert err.value.response.status_code == 422
    body = json.loads(str(err.value))
    assert body["error"] == "RecordInvalid"
    assert "closed prevents ticket update" in body["details"]["status"][0]["description"]


def test_update_many_fails_closed_tickets_per_item(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox
) -> None:
    live = sandbox.store.add_ticket(subject="live")["id"]
    closed = sandbox.store.add_ticket(subject="done", status="closed")["id"]
    job = zd.tickets.update([Ticket(id=live, status="pending"), Ticket(id=closed, status="open")])
    results = {r.id: r for r in wait_job(zd, job).results}
    assert results[live].success is True and results[closed].success is False
    answer = http.put(
        f"{sandbox.url}/api/v2/tickets/update_many.json?ids={live}",
        json={"ticket": {"additional_tags": ["incident_1"]}},
    )
    wait_job(zd, JobStatus(id=answer.json()["job_status"]["id"]))
    assert sandbox.store.ticket(live)["tags"] == ["incident_1"]
    assert sandbox.store.ticket(live)["status"] == "pending"


def test_tags_replace_and_missing_ticket_is_404(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox
) -> None:
    tid = sandbox.store.add_ticket(subject="x", tags=["a", "b"])["id"]
    ticket = zd.tickets(id=tid)
    ticket.tags = ["c"]
    zd.tickets.update(ticket)
    assert sandbox.store.ticket(tid)["tags"] == ["c"]
    answer = http.get(f"{sandbox.url}/api/v2/tickets/999999")
    assert answer.status_code == 404
    assert answer.json() == {"error": "RecordNotFound", "description": "Not found"}


def test_ticket_list_cursor_pagination(zd: Zenpy, sandbox: Sandbox) -> None:
    for i in range(230):
        sandbox.store.add_ticket(subject=f"t{i}")
    sandbox.reset_request_count()
    assert len({t.id for t in zd.tickets()}) == 230
    assert sandbox.request_count == 3


def test_jobs_queue_then_work_with_progress_and_at_most_30_wait(sandbox, http) -> None:
    ids = [sandbox.store.add_ticket(subject=f"t{n}")["id"] for n in range(100)]
    url = f"{sandbox.url}/api/v2/tickets/update_many.json"
    change = {"ticket": {"priority": "high"}}
    sandbox.hold_jobs()
    queued = [http.put(url, params={"ids": str(ids[n])}, json=change) for n in range(30)]
    assert {q.json()["job_status"]["status"] for q in queued} == {"queued"}
    refused = http.put(url, params={"ids": str(ids[0])}, json=change)
    assert refused.status_code == 429 and refused.json()["error"] == "TooManyJobs"
    sandbox.hold_jobs(False)
    for q in queued:
        while http.get(q.json()["job_status"]["url"]).json()["job_status"]["status"] != "completed":
            pass
    sandbox.hold_jobs()
    job = http.put(url, params={"ids": ",".join(map(str, ids))}, json=change).json()["job_status"]
    status = http.get(job["url"]).json()["job_status"]
    seen = [(status["status"], status["progress"], status["total"])]
    sandbox.hold_jobs(False)
    while seen[-1][0] != "completed":
        status = http.get(job["url"]).json()["job_status"]
        seen.append((status["status"], status["progress"], status["total"]))
    states = [s for s, _, _ in seen]
    assert states[0] == "queued" and "working" in states and states[-1] == "completed"
    assert any(0 < p < 100 for s, p, _ in seen if s == "working")
    assert seen[-1][1:] == (100, 100)
