"""Resolution: the last update goes out once, the schedule stops, Zendesk solves the tickets."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from sqlalchemy import select

from comms.config import ZendeskSettings
from comms.incidents.models import TimelineEvent
from comms.sandbox import Sandbox
from comms.updates.models import Delivery
from comms.updates.resolve import resolve
from comms.updates.scheduler import tick
from comms.updates.sender import send_pending
from comms.updates.service import UpdateProblem, publish
from tests.updates.conftest import contact_address, received_by
from tests.zendesk.conftest import QuickGateway

BY = "manager@agency.test"
DONE = "All websites load normally again. No data was lost."


@pytest.fixture
def sandbox():
    running = Sandbox(port=0, token="sandbox", api_email="agent@example.com").start()
    yield running
    running.stop()


@pytest.fixture
def zendesk(sandbox):
    settings = ZendeskSettings(
        url=sandbox.url, email="agent@example.com", token="sandbox", timeout=2
    )
    gateway = QuickGateway(settings)
    yield gateway
    gateway.close()


def parent_with_linked_tickets(zendesk, sandbox) -> tuple[int, list[int]]:
    parent = zendesk.create_problem(
        subject="[INC-1] Slow sites", description="notes", tags=["incident"], priority="high"
    )
    linked = [int(sandbox.store.add_ticket(subject=f"Site {n} slow")["id"]) for n in range(2)]
    zendesk.link_to_problem(parent.id, linked)
    return parent.id, linked


def test_resolution_sends_once_stops_the_schedule_and_solves_the_tickets(
    db_session, sessions, settings, clock, catcher, make_incident, zendesk, sandbox
):
    parent, linked = parent_with_linked_tickets(zendesk, sandbox)
    incident = make_incident("major", contacts=3, parent_ticket_id=parent)
    publish(db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings)
    db_session.commit()
    clock.advance(minutes=30)
    outcome = resolve(
        db_session,
        zendesk,
        incident,
        message=DONE,
        solve_parent=True,
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    assert outcome.parent_solved and outcome.zendesk_problem == ""
    assert outcome.update.kind == "resolved"
    assert incident.status == "resolved" and incident.resolved_at == clock.now()
    assert incident.next_update_due_at is None

    for _ in range(4):
        clock.advance(hours=1)
        tick(sessions, settings, clock=clock)
    resolved = [m for m in catcher.messages if "resolved" in m.text]
    assert sorted(m.rcpt_tos[0] for m in resolved) == [contact_address(n) for n in (1, 2, 3)]
    assert received_by(catcher) == {
        contact_address(n): 1 for n in (1, 2, 3)
    }  # the initial was superseded
    assert DONE in resolved[0].text
    for ticket_id in (parent, *linked):
        assert sandbox.store.ticket(ticket_id)["status"] == "solved"
    assert (
        sandbox.store.comments[parent][-1]["body"] == DONE
        and sandbox.store.comments[parent][-1]["public"]
    )
    with pytest.raises(UpdateProblem, match="already resolved"):
        resolve(
            db_session,
            zendesk,
            incident,
            message=DONE,
            solve_parent=False,
            by=BY,
            now=clock.now(),
            settings=settings,
        )


def test_zendesk_failing_still_resolves_and_sends_but_says_the_parent_is_not_solved(
    db_session, sessions, settings, clock, catcher, make_incident, zendesk, sandbox
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    unreachable = QuickGateway(
        replace(zendesk.settings, url=f"http://127.0.0.1:{dead_port}", timeout=0.5)
    )
    incident = make_incident("major", contacts=2, parent_ticket_id=12345)
    outcome = resolve(
        db_session,
        unreachable,
        incident,
        message=DONE,
        solve_parent=True,
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    unreachable.close()
    assert (
        not outcome.parent_solved
        and "did not solve parent ticket #12345" in outcome.zendesk_problem
    )
    assert incident.status == "resolved"
    event = db_session.scalar(select(TimelineEvent).filter_by(kind="parent_not_solved"))
    assert event is not None and "#12345" in event.summary
    assert db_session.scalar(select(TimelineEvent).filter_by(kind="parent_solved")) is None
    assert send_pending(sessions, settings, clock=clock).sent == 2


def test_an_uncertain_resolved_update_is_sent_once_more_with_the_same_message_id(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident("major", contacts=1)
    resolve(
        db_session,
        None,
        incident,
        message=DONE,
        solve_parent=False,
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    catcher.hang_after_data(count=2)
    assert send_pending(sessions, settings, clock=clock).retrying == 1
    clock.advance(minutes=2)
    assert send_pending(sessions, settings, clock=clock).uncertain == 1
    clock.advance(hours=2)
    assert send_pending(sessions, settings, clock=clock).attempted == 0
    copies = catcher.messages
    assert len(copies) == 2 and copies[0].message["Message-ID"] == copies[1].message["Message-ID"]
    delivery = db_session.scalar(select(Delivery))
    db_session.refresh(delivery)
    assert delivery.state == "uncertain" and delivery.uncertain_resent


def test_the_api_resolves_at_once_and_a_worker_solves_the_parent_in_zendesk(
    db_session, settings, users, clock, make_app, make_incident, zendesk, sandbox
):
    from comms.auth.service import create_token
    from tests.conftest import follow

    parent, linked = parent_with_linked_tickets(zendesk, sandbox)
    incident = make_incident("major", contacts=2, parent_ticket_id=parent)
    app = make_app(replace(settings, zendesk=zendesk.settings))
    client = app.test_client()
    token = create_token(db_session, user=users["manager"], now=clock.now())
    db_session.commit()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    answer = client.post(
        f"/api/v1/incidents/{incident.reference}/resolve",
        json={"message": DONE, "solve_parent": True},
    )
    assert answer.get_json()["status"] == "resolved" and answer.get_json()["parent_solved"] is None
    solving = follow(client, answer)
    assert solving["kind"] == "solve" and solving["state"] == "done"
    assert solving["result"] == {"parent_solved": True}
    assert {sandbox.store.ticket(t)["status"] for t in [parent, *linked]} == {"solved"}
    kinds = [e.kind for e in db_session.scalars(select(TimelineEvent).order_by(TimelineEvent.id))]
    assert kinds.count("parent_solved") == 1
    assert kinds.index("resolved") < kinds.index("parent_solved")
