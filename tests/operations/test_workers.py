"""Long operations shared by real processes on PostgreSQL: gunicorn -w 3 and `comms worker`s.

Several processes on one SQLite file make no sense for production (one machine, one writer), so
these run on PostgreSQL only (COMMS_TEST_DATABASE_URL).
"""

from __future__ import annotations

import os
import re
import signal

import pytest
import requests
from sqlalchemy import func, select

from comms.auth.service import create_token, create_user
from comms.contacts.models import AffectedOrganization, OrganizationPerson
from comms.incidents.models import Candidate, LinkedTicket, MergeRequest, TimelineEvent
from comms.operations.models import Operation
from tests.conftest import PASSWORD, csrf_token, sign_in, wait_for
from tests.operations.conftest import free_port, operation_row

pytestmark = pytest.mark.skipif(
    not os.environ.get("COMMS_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several processes sharing the queue: PostgreSQL only",
)
MANAGER = "manager@agency.test"


@pytest.fixture
def manager(db_session, clock):
    user = create_user(
        db_session,
        email=MANAGER,
        name="Manager",
        role="manager",
        password=PASSWORD,
        now=clock.now(),
    )
    db_session.commit()
    return user


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    answer = session.post(
        f"{base}/login",
        data={"email": MANAGER, "password": PASSWORD, "csrf_token": csrf_token(page)},
        timeout=30,
    )
    assert answer.ok and "Sign in" not in answer.text
    return session


def affected_clients(db_session, sandbox, incident, clock, count: int) -> None:
    """`count` clients with two people each, all affected by the incident."""
    store = sandbox.store
    for n in range(count):
        org = store.add_organization(name=f"Client {n:02}", tags=["platform_wp"])
        for person in ("a", "b"):
            store.add_user(
                name=f"Person {person} {n}",
                email=f"{person}{n}@client{n}.example",
                organization_ids=[org["id"]],
            )
        db_session.add(
            AffectedOrganization(
                incident_id=incident.id,
                organization_id=org["id"],
                name=org["name"],
                tags=["platform_wp"],
                added_how="tag platform_wp",
                added_at=clock.now(),
            )
        )
    db_session.commit()


def test_a_refresh_under_three_web_workers_and_two_workers_shows_one_progress(
    db_session, sandbox, incident, clock, manager, processes
):
    affected_clients(db_session, sandbox, incident, clock, 40)
    sandbox.set_latency(400)  # Zendesk on a slow night: 40 organisations take a while
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.start("gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}", "comms:create_app()")
    processes.start("comms", "worker")
    processes.start("comms", "worker")
    wait_for(lambda: _healthy(base), "gunicorn to start")
    first, second = signed_in(base), signed_in(base)
    page_url = f"{base}/incidents/{incident.reference}"
    token = csrf_token(first.get(page_url, timeout=30).text)
    started = first.post(f"{page_url}/contacts/refresh", data={"csrf_token": token}, timeout=60)
    assert started.ok and "Reading the contacts from Zendesk" in started.text

    polls, joined = [], None
    for n in range(20):
        # A new connection each time: gunicorn's workers take turns at answering.
        polls.append(
            first.get(
                f"{page_url}/contacts/refresh", headers={"Connection": "close"}, timeout=30
            ).json()
        )
        if n == 5:
            token = csrf_token(second.get(page_url, timeout=30).text)
            joined = second.post(
                f"{page_url}/contacts/refresh", data={"csrf_token": token}, timeout=60
            )
    last = wait_for(
        lambda: (
            (p := first.get(f"{page_url}/contacts/refresh", timeout=30).json())["running"] is False
            and p
        ),
        "the refresh to finish",
    )
    polls.append(last)

    dones = [p["done"] for p in polls]
    assert dones == sorted(dones), f"progress went backwards: {dones}"
    assert any(p["running"] and 0 < p["done"] < 40 for p in polls), dones
    for poll in polls:
        if not poll["running"]:  # never "finished" before it has
            assert poll["ok"] is True and poll["done"] == poll["total"] == 40, poll
    assert last["contacts"] == 80
    assert joined is not None and joined.ok
    refreshes = db_session.scalars(select(Operation).where(Operation.kind == "refresh")).all()
    assert [(o.state, o.attempts) for o in refreshes] == [("done", 1)]  # the second start joined
    assert _events(db_session, "contacts_refreshed") == 1
    assert db_session.scalar(select(func.count()).select_from(OrganizationPerson)) == 80


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).ok
    except (requests.ConnectionError, requests.Timeout):
        return False


def _events(db_session, kind: str) -> int:
    db_session.rollback()
    return db_session.scalar(
        select(func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == kind)
    )


def test_a_worker_killed_half_way_through_linking_300_tickets(
    db_session, sandbox, incident, clock, manager, processes, make_app, settings, zendesk_writes
):
    store = sandbox.store
    org = store.add_organization(name="Acme Museum")
    ann = store.add_user(name="Ann", email="ann@acme.example", organization_ids=[org["id"]])
    parent = store.add_ticket(subject=f"[{incident.reference}] Sites down", type="problem")
    tickets = [
        store.add_ticket(subject=f"Down {n}", requester_id=ann["id"], organization_id=org["id"])[
            "id"
        ]
        for n in range(300)
    ]
    incident.parent_ticket_id = parent["id"]
    db_session.commit()
    store.job_item_s = 0.02  # a chunk of 100 takes Zendesk two seconds
    token = create_token(db_session, user=manager, now=clock.now())
    db_session.commit()
    api = make_app(settings, worker=False).test_client()  # the web app only records it
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    first = processes.start("comms", "worker")
    answer = api.post(f"/api/v1/incidents/{incident.reference}/links", json={"ticket_ids": tickets})
    assert answer.status_code == 202
    operation_id = answer.get_json()["operation"]["id"]
    wait_for(lambda: operation_row(db_session, operation_id).done >= 100, "the first chunk")
    # Half-way: Zendesk is working through the second chunk's job when the worker dies.
    wait_for(lambda: zendesk_writes.total() >= 150, "Zendesk to link half the tickets")
    first.send_signal(signal.SIGKILL)
    first.wait()
    processes.start("comms", "worker")
    finished = wait_for(
        lambda: (
            (o := operation_row(db_session, operation_id)).state not in ("queued", "running") and o
        ),
        "another worker to finish the link",
    )

    assert (finished.state, finished.attempts) == ("done", 2), finished.error
    assert sorted(o["ticket_id"] for o in finished.outcomes) == sorted(tickets)
    assert all(o["ok"] for o in finished.outcomes), [o for o in finished.outcomes if not o["ok"]]
    assert {zendesk_writes[(t, "link")] for t in tickets} == {1}  # each linked once in Zendesk
    assert {store.ticket(t)["problem_id"] for t in tickets} == {parent["id"]}
    linked = db_session.scalar(select(func.count()).select_from(LinkedTicket))
    assert linked == 300
    followed = api.get(answer.headers["Location"]).get_json()["operation"]
    assert followed["state"] == "done" and len(followed["outcomes"]) == 300


def test_a_merge_interrupted_between_zendesks_answer_and_the_ledger_merges_once(
    db_session, sandbox, incident, clock, manager, processes, make_app, settings, zendesk_writes
):
    store = sandbox.store
    org = store.add_organization(name="Acme Museum")
    ann = store.add_user(name="Ann", email="ann@acme.example", organization_ids=[org["id"]])
    target, *sources = [
        store.add_ticket(subject=f"Site down {n}", requester_id=ann["id"])["id"] for n in range(3)
    ]
    for ticket_id in (target, *sources):
        db_session.add(
            Candidate(incident_id=incident.id, ticket_id=ticket_id, found_at=clock.now())
        )
    db_session.commit()
    merged = []
    counting = store.update_ticket

    def slow_after_merging(tid, data, author_id=None):
        answer = counting(tid, data, author_id)
        if "closed_by_merge" in (data.get("additional_tags") or []):
            merged.append(tid)
            sandbox.set_latency(20_000)  # Zendesk merged; the worker will not hear it soon
        return answer

    store.update_ticket = slow_after_merging
    client = make_app(settings, worker=False).test_client()
    sign_in(client, MANAGER)
    url = f"/incidents/{incident.reference}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    form = {"csrf_token": token, "target_id": str(target), "ticket_ids": [str(s) for s in sources]}
    answer = client.post(f"{url}/merge", data=form)
    assert answer.status_code == 302
    operation_id = int(re.search(r"operation=(\d+)", answer.headers["Location"]).group(1))

    first = processes.start("comms", "worker")
    wait_for(lambda: len(merged) == len(sources), "Zendesk to merge")
    first.send_signal(signal.SIGKILL)  # between Zendesk's answer and the ledger's update
    first.wait()
    row = db_session.scalars(select(MergeRequest)).one()
    db_session.refresh(row)
    assert row.state == "requested" and row.attempted_at is not None  # the ledger never heard
    sandbox.set_latency(0)
    processes.start("comms", "worker")
    finished = wait_for(
        lambda: (
            (o := operation_row(db_session, operation_id)).state not in ("queued", "running") and o
        ),
        "another worker to finish the merge",
    )

    assert (finished.state, finished.attempts) == ("done", 2), finished.error
    assert {zendesk_writes[(s, "merge")] for s in sources} == {1}  # merged once
    assert sorted(o["ticket_id"] for o in finished.outcomes) == sorted(sources)
    assert all(o["ok"] for o in finished.outcomes)
    db_session.refresh(row)
    assert row.state == "done"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'Merging: <span id="operation-state">done' in page


def test_a_worker_killed_mid_poll_leaves_it_to_another_which_keeps_each_candidate_once(
    db_session, sandbox, incident, clock, manager, processes, make_app, settings
):
    store = sandbox.store
    org = store.add_organization(name="Acme Museum")
    ann = store.add_user(name="Ann", email="ann@acme.example", organization_ids=[org["id"]])
    tickets = [
        store.add_ticket(subject=f"Site down {n}", requester_id=ann["id"])["id"] for n in range(5)
    ]
    store.add_ticket(subject="Invoice question", requester_id=ann["id"])  # not related
    sandbox.index_now()
    incident.keywords = ["down"]
    db_session.commit()
    token = create_token(db_session, user=manager, now=clock.now())
    db_session.commit()
    api = make_app(settings, worker=False).test_client()  # the web app only records it
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    answer = api.post(f"/api/v1/incidents/{incident.reference}/candidates")
    assert answer.status_code == 202
    operation_id = answer.get_json()["operation"]["id"]

    sandbox.set_latency(20_000)  # Zendesk is slow to answer the poll
    first = processes.start("comms", "worker")
    wait_for(lambda: sandbox.stats()["in_flight"] >= 1, "the first worker to ask Zendesk")
    first.send_signal(signal.SIGKILL)  # mid-poll
    first.wait()
    assert operation_row(db_session, operation_id).state == "running"  # its lease still holds
    sandbox.set_latency(0)
    processes.start("comms", "worker")
    finished = wait_for(
        lambda: (
            (o := operation_row(db_session, operation_id)).state not in ("queued", "running") and o
        ),
        "another worker to finish the poll",
    )

    assert (finished.state, finished.attempts) == ("done", 2), finished.error
    assert finished.result == {"candidates": 5}
    found = db_session.scalars(
        select(Candidate.ticket_id).where(Candidate.incident_id == incident.id)
    )
    assert sorted(found) == sorted(tickets)  # each ticket once
    followed = api.get(answer.headers["Location"]).get_json()["operation"]
    assert followed["state"] == "done" and followed["result"] == {"candidates": 5}
