"""The parent ticket, candidates, linking and merging, checked in the Zendesk sandbox after."""

import pytest
from sqlalchemy import func, select

from comms import timeline
from comms.actions import tickets as ticket_actions
from comms.contacts import service as contacts
from comms.incidents import merges, parent, service, tickets
from comms.incidents.models import LinkedTicket, MergeRequest
from comms.incidents.service import IncidentError
from comms.zendesk import ZendeskError


def by_manager(**extra):
    return {"by": "manager@agency.test", **extra}


def test_creating_the_parent_ticket(db_session, gateway, sandbox, incident, clock):
    ticket = parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())
    db_session.commit()
    zendesk = sandbox.store.ticket(ticket.id)
    assert zendesk["type"] == "problem"
    assert zendesk["subject"] == f"[{incident.reference}] Sites on the WordPress platform down"
    assert set(zendesk["tags"]) == {"incident", incident.reference.lower()}
    assert zendesk["priority"] == "high"
    [comment] = sandbox.store.comments[ticket.id]
    assert comment["public"] is False and "503s on every WordPress site." in comment["body"]
    assert incident.parent_ticket_id == ticket.id
    assert "as the parent ticket" in timeline.events(db_session, incident)[-1].summary
    with pytest.raises(IncidentError, match="already has parent ticket"):
        parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())


def test_adopting_a_ticket_makes_it_a_problem(db_session, gateway, sandbox, desk, incident, clock):
    parent.adopt_parent(
        db_session, gateway, incident, desk.tickets[0], now=clock.now(), **by_manager()
    )
    assert sandbox.store.ticket(desk.tickets[0])["type"] == "problem"
    assert incident.parent_ticket_id == desk.tickets[0]


def test_adopting_an_unknown_ticket_says_so_and_records_nothing(
    db_session, gateway, incident, clock
):
    with pytest.raises(ZendeskError, match="ticket 999999 does not exist in Zendesk"):
        parent.adopt_parent(db_session, gateway, incident, 999999, now=clock.now(), **by_manager())
    assert incident.parent_ticket_id is None
    assert len(timeline.events(db_session, incident)) == 1


def test_candidates_come_from_affected_organisations_and_keywords(
    db_session, gateway, settings, desk, incident, clock
):
    found = ticket_actions.refresh_candidates(
        db_session, gateway, incident, settings=settings, now=clock.now()
    )
    # keywords "down" and "503" match three subjects; "Invoice question" matches neither
    assert sorted(c.ticket_id for c in found) == sorted(desk.tickets[:3])
    contacts.add_organizations(
        db_session,
        incident,
        gateway.organizations([desk.bravo]),
        how="by name",
        by="m",
        now=clock.now(),
        settings=settings,
    )
    found = ticket_actions.refresh_candidates(
        db_session, gateway, incident, settings=settings, now=clock.now()
    )
    assert sorted(c.ticket_id for c in found) == sorted(desk.tickets)


def test_a_ticket_an_agent_linked_in_zendesk_is_adopted(
    db_session, gateway, sandbox, settings, desk, incident, clock
):
    problem = parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())
    sandbox.store.update_ticket(desk.tickets[3], {"type": "incident", "problem_id": problem.id})
    ticket_actions.refresh_candidates(
        db_session, gateway, incident, settings=settings, now=clock.now()
    )
    db_session.commit()
    linked = {t.ticket_id: t.linked_by for t in tickets.linked_tickets(db_session, incident)}
    assert linked == {desk.tickets[3]: "Zendesk (linked by an agent)"}
    assert desk.tickets[3] not in [c.ticket_id for c in tickets.candidates(db_session, incident)]
    assert "Bravo Council" in [
        o.name for o in contacts.affected_organizations(db_session, incident, settings)
    ]
    summaries = [e.summary for e in timeline.events(db_session, incident)]
    assert any("in Zendesk by an agent are now part of the incident" in s for s in summaries)
    ticket_actions.refresh_candidates(
        db_session, gateway, incident, settings=settings, now=clock.now()
    )
    assert len(tickets.linked_tickets(db_session, incident)) == 1


def test_linking_sets_problem_id_and_brings_in_organisation_and_requester(
    db_session, gateway, sandbox, settings, desk, incident, clock
):
    problem = parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())
    outcomes = ticket_actions.link(
        db_session,
        gateway,
        incident,
        desk.tickets[:2],
        now=clock.now(),
        settings=settings,
        **by_manager(),
    )
    db_session.commit()
    assert [o.ok for o in outcomes] == [True, True]
    for ticket_id in desk.tickets[:2]:
        zendesk = sandbox.store.ticket(ticket_id)
        assert zendesk["type"] == "incident" and zendesk["problem_id"] == problem.id
    assert sandbox.store.ticket(problem.id)["has_incidents"] is True
    orgs = {
        o.name: o.added_how for o in contacts.affected_organizations(db_session, incident, settings)
    }
    assert orgs == {
        "Acme Museum": "ticket " + str(desk.tickets[0]),
        "Bravo Council": "ticket " + str(desk.tickets[1]),
    }
    contacts.refresh(db_session, gateway, incident, settings, now=clock.now())
    reasons = {c.email: c.reasons for c in contacts.contact_list(db_session, incident)}
    assert any(f"requester of ticket {desk.tickets[0]}" in r for r in reasons["ann@acme.example"])
    again = ticket_actions.link(
        db_session,
        gateway,
        incident,
        desk.tickets[:1],
        now=clock.now(),
        settings=settings,
        **by_manager(),
    )
    assert again[0].message == "already linked: skipped"


def test_linking_can_leave_organisations_and_requesters_out(
    db_session, gateway, settings, desk, incident, clock
):
    incident.add_orgs_on_link = incident.add_requesters_on_link = False
    parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())
    ticket_actions.link(
        db_session,
        gateway,
        incident,
        desk.tickets[:1],
        now=clock.now(),
        settings=settings,
        **by_manager(),
    )
    assert contacts.affected_organizations(db_session, incident, settings) == []
    assert contacts.contact_list(db_session, incident) == []


def test_a_ticket_of_another_incident_is_refused_unless_moved(
    db_session, gateway, sandbox, settings, desk, incident, clock
):
    other = service.declare(
        db_session, title="Other", severity="minor", settings=settings, by="m", now=clock.now()
    )
    for each in (incident, other):
        parent.create_parent(db_session, gateway, each, now=clock.now(), **by_manager())
    ticket_actions.link(
        db_session,
        gateway,
        other,
        desk.tickets[:1],
        now=clock.now(),
        settings=settings,
        **by_manager(),
    )
    with pytest.raises(
        IncidentError,
        match=rf"Already linked to another incident: {desk.tickets[0]} \({other.reference}\)",
    ):
        ticket_actions.link(
            db_session,
            gateway,
            incident,
            desk.tickets[:1],
            now=clock.now(),
            settings=settings,
            **by_manager(),
        )
    ticket_actions.link(
        db_session,
        gateway,
        incident,
        desk.tickets[:1],
        now=clock.now(),
        settings=settings,
        move=True,
        **by_manager(),
    )
    assert sandbox.store.ticket(desk.tickets[0])["problem_id"] == incident.parent_ticket_id
    row = db_session.scalar(select(LinkedTicket).where(LinkedTicket.ticket_id == desk.tickets[0]))
    assert row.incident_id == incident.id
    assert "moved to" in timeline.events(db_session, other)[-1].summary


def test_linking_a_closed_ticket_is_refused_for_that_ticket_only(
    db_session, gateway, sandbox, settings, desk, incident, clock
):
    closed = sandbox.store.add_ticket(
        subject="Old", requester_id=desk.ann, organization_id=desk.acme, status="closed"
    )["id"]
    parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())
    outcomes = {
        o.ticket_id: o
        for o in ticket_actions.link(
            db_session,
            gateway,
            incident,
            [desk.tickets[0], closed],
            now=clock.now(),
            settings=settings,
            **by_manager(),
        )
    }
    assert outcomes[desk.tickets[0]].ok and not outcomes[closed].ok
    assert "closed" in outcomes[closed].message
    linked = {t.ticket_id for t in tickets.linked_tickets(db_session, incident)}
    assert linked == {desk.tickets[0]}


@pytest.mark.parametrize("status", [503, 429])
def test_zendesk_failing_during_a_link_records_nothing(
    db_session, gateway, sandbox, settings, desk, incident, clock, status
):
    parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())
    db_session.commit()
    sandbox.fail_next(r"/api/v2/tickets/(show_many|update_many)", count=20, status=status)
    events_before = len(timeline.events(db_session, incident))
    with pytest.raises(ZendeskError) as raised:
        ticket_actions.link(
            db_session,
            gateway,
            incident,
            desk.tickets[:2],
            now=clock.now(),
            settings=settings,
            **by_manager(),
        )
    db_session.rollback()
    message = str(raised.value)
    assert ("limiting requests" in message) if status == 429 else ("Zendesk" in message)
    assert tickets.linked_tickets(db_session, incident) == []
    assert len(timeline.events(db_session, incident)) == events_before
    assert sandbox.store.ticket(desk.tickets[0])["problem_id"] is None


def acme_duplicates(sandbox, desk, count: int) -> list[int]:
    """More tickets from Ann at Acme: a merge takes one client's duplicates only."""
    return [
        sandbox.store.add_ticket(
            subject=f"Still down {n}", requester_id=desk.ann, organization_id=desk.acme
        )["id"]
        for n in range(count)
    ]


def as_candidates(db_session, gateway, incident, ticket_ids, clock):
    """Merging takes only the incident's own tickets: make these its candidates first."""
    for ticket in gateway.tickets(ticket_ids):
        tickets.add_candidate(db_session, incident, ticket, source="search", now=clock.now())
    db_session.flush()


def test_merging_closes_and_tags_the_sources_once(
    db_session, gateway, sandbox, desk, incident, clock
):
    target, sources = desk.tickets[0], [desk.tickets[2], *acme_duplicates(sandbox, desk, 1)]
    as_candidates(db_session, gateway, incident, sources, clock)
    rows = merges.plan(
        db_session, incident, target_id=target, source_ids=sources, now=clock.now(), **by_manager()
    )
    db_session.commit()
    [row] = rows
    merges.perform(db_session, gateway, row, commit=db_session.commit, now=clock.now())
    db_session.commit()
    assert row.state == "done"
    for source in sources:
        zendesk = sandbox.store.ticket(source)
        assert zendesk["status"] == "closed" and "closed_by_merge" in zendesk["tags"]
    # a double click plans the same ledger row, which is done: nothing is merged twice
    [again] = merges.plan(
        db_session,
        incident,
        target_id=target,
        source_ids=list(reversed(sources)),
        now=clock.now(),
        **by_manager(),
    )
    assert again.id == row.id
    requests = sandbox.request_count
    merges.perform(db_session, gateway, again, commit=db_session.commit, now=clock.now())
    assert sandbox.request_count == requests
    assert db_session.scalar(select(func.count()).select_from(MergeRequest)) == 1
    states = {t.ticket_id: t.state for t in tickets.linked_tickets(db_session, incident)}
    assert states == dict.fromkeys(sources, "merged")


def test_merges_go_five_sources_at_a_time(db_session, gateway, sandbox, desk, incident, clock):
    sources = [
        sandbox.store.add_ticket(subject=f"dup {n}", requester_id=desk.ann)["id"] for n in range(12)
    ]
    as_candidates(db_session, gateway, incident, sources, clock)
    rows = merges.plan(
        db_session,
        incident,
        target_id=desk.tickets[0],
        source_ids=sources,
        now=clock.now(),
        **by_manager(),
    )
    assert [len(r.source_ids) for r in rows] == [5, 5, 2]


def test_a_solved_source_is_refused_and_shown(db_session, gateway, sandbox, desk, incident, clock):
    solved = sandbox.store.add_ticket(subject="done", requester_id=desk.ann, status="solved")["id"]
    as_candidates(db_session, gateway, incident, [solved, desk.tickets[2]], clock)
    [row] = merges.plan(
        db_session,
        incident,
        target_id=desk.tickets[0],
        source_ids=[solved, desk.tickets[2]],
        now=clock.now(),
        **by_manager(),
    )
    merges.perform(db_session, gateway, row, commit=db_session.commit, now=clock.now())
    outcomes = {o["ticket_id"]: o for o in row.outcomes}
    assert outcomes[desk.tickets[2]]["ok"] and not outcomes[solved]["ok"]
    assert "refused" in timeline.events(db_session, incident)[-1].summary


def test_an_interrupted_merge_is_checked_in_zendesk_not_repeated(
    db_session, gateway, sandbox, desk, incident, clock
):
    sources = [*acme_duplicates(sandbox, desk, 1), desk.tickets[2]]
    as_candidates(db_session, gateway, incident, sources, clock)
    [row] = merges.plan(
        db_session,
        incident,
        target_id=desk.tickets[0],
        source_ids=sources,
        now=clock.now(),
        **by_manager(),
    )
    gateway.merge(desk.tickets[0], sources[:1], target_comment="", source_comment="")
    row.attempted_at = clock.now()  # the worker died after Zendesk merged the first source
    db_session.commit()
    assert (
        merges.perform(db_session, gateway, row, commit=db_session.commit, now=clock.now()).state
        == "requested"
    )
    clock.advance(minutes=6)
    merges.perform(db_session, gateway, row, commit=db_session.commit, now=clock.now())
    messages = {o["ticket_id"]: o["message"] for o in row.outcomes}
    assert messages[sources[0]] == "merged (confirmed after an interruption)"
    assert sandbox.store.ticket(desk.tickets[2])["status"] == "closed"


def test_a_merge_never_joins_two_clients_tickets(
    db_session, gateway, sandbox, desk, incident, clock
):
    """Zendesk makes a merged ticket's requester a CC of the target: Bob would see Ann."""
    as_candidates(db_session, gateway, incident, desk.tickets, clock)
    for target, sources in (
        (desk.tickets[0], desk.tickets[1:3]),
        (desk.tickets[1], [desk.tickets[0]]),
    ):
        with pytest.raises(IncidentError, match="belong to another client") as refused:
            merges.plan(
                db_session,
                incident,
                target_id=target,
                source_ids=sources,
                now=clock.now(),
                **by_manager(),
            )
        assert str(desk.tickets[2]) not in str(refused.value).split(" belong")[0]
    assert db_session.scalar(select(func.count()).select_from(MergeRequest)) == 0
    assert {sandbox.store.ticket(t)["status"] for t in desk.tickets} == {"new"}


def test_merging_a_ticket_into_itself_is_refused(db_session, incident, clock):
    with pytest.raises(IncidentError, match="cannot be merged into itself"):
        merges.plan(
            db_session, incident, target_id=5, source_ids=[5, 6], now=clock.now(), **by_manager()
        )


def test_a_merge_never_takes_a_parent_or_another_incidents_ticket(
    db_session, gateway, sandbox, settings, desk, incident, clock
):
    other = service.declare(
        db_session, title="Other", severity="minor", settings=settings, by="m", now=clock.now()
    )
    other_parent = parent.create_parent(db_session, gateway, other, now=clock.now(), **by_manager())
    as_candidates(db_session, gateway, other, desk.tickets[1:2], clock)
    ticket_actions.link(
        db_session,
        gateway,
        other,
        desk.tickets[1:2],
        now=clock.now(),
        settings=settings,
        **by_manager(),
    )
    mine = parent.create_parent(db_session, gateway, incident, now=clock.now(), **by_manager())
    attempts = {
        f"parent ticket of {other.reference}": (desk.tickets[0], [other_parent.id]),
        f"linked to another incident: {desk.tickets[1]}": (desk.tickets[0], [desk.tickets[1]]),
        f"parent ticket of {incident.reference}": (desk.tickets[0], [mine.id]),
        "are not candidates or linked tickets": (desk.tickets[0], [desk.tickets[3]]),
    }
    for message, (target, sources) in attempts.items():
        with pytest.raises(IncidentError, match=message):
            merges.plan(
                db_session,
                incident,
                target_id=target,
                source_ids=sources,
                now=clock.now(),
                **by_manager(),
            )
    assert sandbox.store.ticket(other_parent.id)["status"] != "closed"


def test_a_merge_zendesk_failed_can_be_tried_again_at_once(
    db_session, gateway, sandbox, desk, incident, clock
):
    as_candidates(db_session, gateway, incident, desk.tickets[1:2], clock)
    [row] = merges.plan(
        db_session,
        incident,
        target_id=desk.tickets[0],
        source_ids=desk.tickets[1:2],
        now=clock.now(),
        **by_manager(),
    )
    sandbox.fail_next(r"/merge", count=4, status=503)  # the first try and its 3 retries
    with pytest.raises(ZendeskError):
        merges.perform(db_session, gateway, row, commit=db_session.commit, now=clock.now())
    assert row.state == "interrupted"
    merges.perform(db_session, gateway, row, commit=db_session.commit, now=clock.now())
    assert row.state == "done"
    assert sandbox.store.ticket(desk.tickets[1])["status"] == "closed"
