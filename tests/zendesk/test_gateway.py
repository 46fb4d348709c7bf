"""The gateway against a Zendesk sandbox over HTTP: tickets, linking, merging, contacts."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from comms.sandbox import Sandbox
from comms.zendesk import Gateway, TicketNotFound, ZendeskError, ZendeskRefused
from tests.conftest import wait_for

NOW = datetime.now(UTC)


def _org_with_requester(sandbox: Sandbox, name: str) -> tuple[int, int]:
    org = sandbox.store.add_organization(name=name)
    user = sandbox.store.add_user(
        name=f"{name} user", email=f"it@{name.lower()}.example", organization_ids=[org["id"]]
    )
    return org["id"], user["id"]


def _tickets(sandbox: Sandbox, count: int, **fields: object) -> list[int]:
    org_id, user_id = _org_with_requester(sandbox, f"Org{len(sandbox.store.orgs)}")
    return [
        sandbox.store.add_ticket(
            subject=f"Ticket {n}", requester_id=user_id, organization_id=org_id, **fields
        )["id"]
        for n in range(count)
    ]


def _problem(gateway: Gateway) -> int:
    return gateway.create_problem(
        subject="[INC-7] Hosting outage",
        description="Web servers down",
        tags=["incident"],
        priority="urgent",
    ).id


def test_me_is_the_signed_in_user_and_the_environment_is_untouched(gateway: Gateway) -> None:
    assert gateway.me().role == "admin"
    assert "ZENPY_FORCE_NETLOC" not in os.environ


def test_create_problem_keeps_the_description_private(gateway: Gateway, sandbox: Sandbox) -> None:
    problem = gateway.create_problem(
        subject="[INC-7] Hosting outage",
        description="Root cause: disk full",
        tags=["incident", "inc-7"],
        priority="urgent",
    )
    stored = sandbox.store.ticket(problem.id)
    assert (stored["type"], stored["priority"]) == ("problem", "urgent")
    assert set(stored["tags"]) == {"incident", "inc-7"}
    assert problem.type == "problem" and problem.created_at.tzinfo is not None
    comments = sandbox.store.comments[problem.id]
    assert [(c["body"], c["public"]) for c in comments] == [("Root cause: disk full", False)]


def test_missing_ticket_is_named_in_the_message(gateway: Gateway) -> None:
    with pytest.raises(TicketNotFound, match="^ticket 987654 does not exist in Zendesk$"):
        gateway.ticket(987654)


def test_adopt_makes_a_problem_and_refuses_a_closed_ticket(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    open_id, closed_id = _tickets(sandbox, 1)[0], _tickets(sandbox, 1, status="closed")[0]
    assert gateway.adopt_as_problem(open_id).type == "problem"
    assert sandbox.store.ticket(open_id)["type"] == "problem"
    with pytest.raises(ZendeskError, match=f"ticket {closed_id} is closed"):
        gateway.adopt_as_problem(closed_id)


def test_candidates_come_from_organisations_or_keywords(gateway: Gateway, sandbox: Sandbox) -> None:
    since = NOW - timedelta(hours=2)
    hit_org, hit_user = _org_with_requester(sandbox, "Acme")
    other_org, other_user = _org_with_requester(sandbox, "Other")
    add = sandbox.store.add_ticket
    by_org = add(subject="Site slow", requester_id=hit_user, organization_id=hit_org)["id"]
    by_word = add(subject="Checkout outage", requester_id=other_user, organization_id=other_org)
    add(subject="Unrelated", requester_id=other_user, organization_id=other_org)
    add(
        subject="Old one",
        requester_id=hit_user,
        organization_id=hit_org,
        created_at=NOW - timedelta(hours=3),
    )
    add(subject="Done", requester_id=hit_user, organization_id=hit_org, status="solved")
    found = gateway.find_candidates(since=since, organization_ids=[hit_org], keywords=["outage"])
    assert {t.id for t in found} == {by_org, by_word["id"]}
    # one search for the organisations, one per keyword, and one read of the incremental
    # export: search has not indexed these new tickets yet
    assert gateway.request_count == 3
    sandbox.index_now()
    found = gateway.find_candidates(since=since, organization_ids=[hit_org], keywords=["outage"])
    assert {t.id for t in found} == {by_org, by_word["id"]}


def test_link_150_tickets_in_two_jobs(gateway: Gateway, sandbox: Sandbox) -> None:
    problem_id = _problem(gateway)
    ticket_ids = _tickets(sandbox, 150)
    steps: list[tuple[int, int]] = []
    outcomes = gateway.link_to_problem(
        problem_id, ticket_ids, progress=lambda d, t: steps.append((d, t))
    )
    assert [o.ticket_id for o in outcomes] == ticket_ids and all(o.ok for o in outcomes)
    assert steps == [(100, 150), (150, 150)]
    for ticket_id in (ticket_ids[0], ticket_ids[-1]):
        stored = sandbox.store.ticket(ticket_id)
        assert (stored["type"], stored["problem_id"]) == ("incident", problem_id)
    assert gateway.ticket(problem_id).has_incidents


def test_a_closed_ticket_fails_alone(gateway: Gateway, sandbox: Sandbox) -> None:
    problem_id = _problem(gateway)
    good = _tickets(sandbox, 2)
    closed = _tickets(sandbox, 1, status="closed")[0]
    outcomes = {o.ticket_id: o for o in gateway.link_to_problem(problem_id, [*good, closed])}
    assert all(outcomes[i].ok for i in good)
    assert not outcomes[closed].ok and "closed" in outcomes[closed].message
    assert sandbox.store.ticket(closed)["problem_id"] is None


def test_merge_up_to_five_and_refuse_more(gateway: Gateway, sandbox: Sandbox) -> None:
    target, *sources = _tickets(sandbox, 7)
    result = gateway.merge(
        target,
        sources[:3],
        target_comment="Merged duplicates",
        source_comment="Closed as duplicate",
    )
    assert result.source_ids == tuple(sources[:3]) and all(o.ok for o in result.outcomes)
    for source in sources[:3]:
        stored = sandbox.store.ticket(source)
        assert stored["status"] == "closed" and "closed_by_merge" in stored["tags"]
    before = gateway.request_count
    with pytest.raises(ValueError, match="at most 5"):
        gateway.merge(target, sources, target_comment="x", source_comment="y")
    assert gateway.request_count == before


def test_merge_reports_a_refused_source(gateway: Gateway, sandbox: Sandbox) -> None:
    target, fine = _tickets(sandbox, 2)
    solved = _tickets(sandbox, 1, status="solved")[0]
    result = gateway.merge(target, [fine, solved], target_comment="t", source_comment="s")
    outcomes = {o.ticket_id: o for o in result.outcomes}
    assert outcomes[fine].ok
    assert not outcomes[solved].ok and "solved" in outcomes[solved].message


def test_solving_the_problem_solves_its_incidents(gateway: Gateway, sandbox: Sandbox) -> None:
    problem_id = _problem(gateway)
    incidents = _tickets(sandbox, 2)
    gateway.link_to_problem(problem_id, incidents)
    gateway.add_comment(problem_id, "Internal: fix deployed", public=False)
    assert gateway.solve_problem(problem_id, "All fixed, sorry.").status == "solved"
    for ticket_id in incidents:
        assert sandbox.store.ticket(ticket_id)["status"] == "solved"
    bodies = [(c["body"], c["public"]) for c in sandbox.store.comments[problem_id]]
    assert bodies[-2:] == [("Internal: fix deployed", False), ("All fixed, sorry.", True)]


def test_organisation_search_as_you_type(gateway: Gateway, sandbox: Sandbox) -> None:
    for name in ("Acme Hosting", "Acme Web", "Beta Shop"):
        sandbox.store.add_organization(name=name)
    assert [o.name for o in gateway.search_organizations("acm")] == ["Acme Hosting", "Acme Web"]
    before = gateway.request_count
    assert gateway.search_organizations("a") == []
    assert gateway.request_count == before


def test_organisations_by_tag(gateway: Gateway, sandbox: Sandbox) -> None:
    for n in range(3):
        sandbox.store.add_organization(name=f"Platform {n}", tags=["platform_x"])
    sandbox.store.add_organization(name="Elsewhere", tags=["platform_y"])
    sandbox.index_now()  # organisations made minutes ago: search must have indexed them
    found = gateway.organizations_by_tag("platform_x")
    assert [o.name for o in found] == ["Platform 0", "Platform 1", "Platform 2"]
    assert gateway.organizations([o.id for o in found]) == found


def test_organisations_by_tag_beyond_the_search_limit(gateway: Gateway, sandbox: Sandbox) -> None:
    for n in range(1005):
        sandbox.store.add_organization(name=f"Client {n:04}", tags=["platform_x"])
    sandbox.store.add_organization(name="Elsewhere")
    sandbox.index_now()  # organisations made minutes ago: search must have indexed them
    assert len(gateway.organizations_by_tag("platform_x")) == 1005


def test_end_users_paginated_with_few_requests(gateway: Gateway, sandbox: Sandbox) -> None:
    add_user = sandbox.store.add_user
    big = sandbox.store.add_organization(name="Big")["id"]
    small = sandbox.store.add_organization(name="Small")["id"]
    empty = sandbox.store.add_organization(name="Empty")["id"]
    for n in range(250):
        add_user(name=f"User {n}", email=f"u{n}@big.example", organization_ids=[big])
    add_user(name="Agent", email="agent@agency.example", role="agent", organization_ids=[big])
    for n in range(100):
        add_user(name=f"Small {n}", email=f"s{n}@small.example", organization_ids=[small])
    gone = add_user(
        name="Gone", email="gone@small.example", organization_ids=[small], suspended=True
    )
    before, sandbox_before = gateway.request_count, sandbox.request_count
    steps: list[int] = []
    found = gateway.organization_end_users(
        [big, small, empty], concurrency=2, progress=lambda done, total: steps.append(done)
    )
    assert len(found[big]) == 250 and all(u.role == "end-user" for u in found[big])
    assert len(found[small]) == 101 and found[empty] == []
    assert next(u for u in found[small] if u.id == gone["id"]).suspended
    assert gateway.request_count - before == 3 + 2 + 1
    assert sandbox.request_count - sandbox_before == 6
    assert steps == [1, 2, 3]
    assert {u.id for u in gateway.users([gone["id"]])} == {gone["id"]}


def test_candidates_of_a_busy_account_beyond_the_search_limit(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    busy = _tickets(sandbox, 1001)
    org_id, user_id = _org_with_requester(sandbox, "Hit")
    wanted = sandbox.store.add_ticket(subject="Down", requester_id=user_id, organization_id=org_id)
    sandbox.index_now()  # the broad search must see all 1,002
    since = NOW - timedelta(hours=1)
    before = gateway.request_count
    found = gateway.find_candidates(since=since, organization_ids=[org_id], keywords=[])
    assert [t.id for t in found] == [wanted["id"]] and wanted["id"] not in busy
    # the broad search's first page, then the org's, then two pages of the incremental export
    assert gateway.request_count - before == 4


def test_an_unfinished_link_job_is_reported_as_unconfirmed(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    problem_id = _problem(gateway)
    sandbox.hold_jobs()  # Zendesk leaves the job queued
    outcomes = gateway.link_to_problem(problem_id, _tickets(sandbox, 2), job_timeout=0.05)
    assert [o.ok for o in outcomes] == [False, False]
    assert outcomes[0].message.startswith("not confirmed: Zendesk did not finish job")


def test_merge_into_a_closed_ticket_is_refused(gateway: Gateway, sandbox: Sandbox) -> None:
    target = _tickets(sandbox, 1, status="closed")[0]
    source = _tickets(sandbox, 1)[0]
    with pytest.raises(ZendeskError, match=f"Ticket #{target} is closed"):
        gateway.merge(target, [source], target_comment="t", source_comment="s")
    assert sandbox.store.ticket(source)["status"] == "new"


@pytest.mark.parametrize("concurrency", [2, 4])
def test_end_users_are_read_with_bounded_concurrency(
    sandbox: Sandbox, settings, make_gateway, concurrency: int
) -> None:
    org_ids = [_org_with_requester(sandbox, f"Par{n}")[0] for n in range(4)]
    gateway = make_gateway(replace(settings, timeout=120.0))  # held requests must not time out
    sandbox.reset_request_count()
    sandbox.hold_requests(r"/organizations/\d+/users")
    with ThreadPoolExecutor(1) as reader:
        reading = reader.submit(gateway.organization_end_users, org_ids, concurrency=concurrency)
        # Every request the gateway may make at once is in flight at the sandbox, held there.
        wait_for(lambda: sandbox.stats()["in_flight"] == concurrency, "held reads", timeout=60)
        sandbox.hold_requests(None)
        assert len(reading.result()) == 4
    assert sandbox.stats()["most_in_flight"] == concurrency  # and never more


def test_zenpy_force_variables_do_not_redirect_the_gateway(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "https")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "127.0.0.1:9")
    assert gateway.me().role == "admin"


def _agent(sandbox: Sandbox, settings, make_gateway, email: str, role_id: int) -> Gateway:
    sandbox.store.add_user(name="Bot", email=email, role="agent", custom_role_id=role_id)
    return make_gateway(replace(settings, email=email))


def test_a_role_without_merge_is_told_plainly(gateway, sandbox, settings, make_gateway) -> None:
    from comms.sandbox.shapes import NO_MERGE_ROLE_ID

    advisor = _agent(sandbox, settings, make_gateway, "comms@agency.test", NO_MERGE_ROLE_ID)
    target, source = _tickets(sandbox, 2)
    with pytest.raises(ZendeskRefused) as refused:
        advisor.merge(target, [source], target_comment="t", source_comment="s")
    assert str(refused.value) == (
        "the Zendesk user comms@agency.test cannot merge tickets: give it an agent role that can"
    )
    assert sandbox.store.ticket(source)["status"] == "new"
    allowed = advisor.permissions()
    assert (
        allowed.summary()
        == "agent, role Advisor: can create and edit tickets; cannot merge tickets"
    )
    assert gateway.permissions().summary() == "admin: can create, edit and merge tickets"


def test_a_light_agent_cannot_link_and_an_end_user_cannot_sign_in(
    sandbox, settings, make_gateway
) -> None:
    from comms.sandbox.shapes import LIGHT_AGENT_ROLE_ID

    light = _agent(sandbox, settings, make_gateway, "light@agency.test", LIGHT_AGENT_ROLE_ID)
    problem = sandbox.store.add_ticket(subject="Outage", type="problem")["id"]
    outcomes = light.link_to_problem(problem, _tickets(sandbox, 2))
    assert [o.ok for o in outcomes] == [False, False]
    assert outcomes[0].message == (
        "not linked: the Zendesk user light@agency.test cannot edit tickets: "
        "give it an agent role that can"
    )
    sandbox.store.add_user(name="Client", email="client@example.org")
    client = make_gateway(replace(settings, email="client@example.org"))
    with pytest.raises(ZendeskRefused, match="client@example.org may not do this"):
        client.me()


def test_a_ticket_search_has_not_indexed_yet_is_still_a_candidate(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    org_id, user_id = _org_with_requester(sandbox, "Acme")
    sandbox.set_index_delay(3600)  # search will not see it during this test
    new = sandbox.store.add_ticket(subject="Our site is down", requester_id=user_id)["id"]
    other = sandbox.store.add_organization(name="Other")["id"]
    stranger = sandbox.store.add_user(name="S", email="s@o.example", organization_ids=[other])
    word = sandbox.store.add_ticket(subject="Down again", requester_id=stranger["id"])["id"]
    since = NOW - timedelta(hours=1)
    found = gateway.find_candidates(since=since, organization_ids=[org_id], keywords=["down"])
    assert [t.id for t in found] == [new, word]
    assert gateway.search_organizations("Acme")  # autocomplete is not the search index
