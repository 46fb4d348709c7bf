"""The comms manager's night against the realistic sandbox, on the Team and Enterprise plans.

200 (or 700) requests a minute, the search index 60 s behind, jobs that queue and work, and Zendesk's
per-endpoint limits: declare from a ticket, find 300 new tickets as candidates, link them,
merge duplicates, refresh the contacts of 300 organisations, resolve. The sandbox's "minute"
is 5 s long here so its windows turn over quickly; the limit per window is the plan's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from comms.actions import incidents as actions
from comms.actions import tickets as ticket_actions
from comms.config import Settings, ZendeskSettings
from comms.contacts import service as contacts
from comms.incidents import merges
from comms.sandbox import Sandbox
from comms.updates.resolve import resolve
from tests.zendesk.conftest import QuickGateway

pytestmark = pytest.mark.slow
AGENT = "agent@agency.test"
BY = "manager@agency.test"
PLANS = {"team-200": 200, "enterprise-700": 700}  # requests a minute
MINUTE_S = 5.0
CLIENTS = 300


@dataclass
class Night:
    sandbox: Sandbox
    plan: int
    orgs: list[int]
    first_ticket: int
    new_tickets: list[int]
    duplicates: list[int]


@pytest.fixture(params=list(PLANS.values()), ids=list(PLANS))
def night(request: pytest.FixtureRequest) -> Iterator[Night]:
    plan = request.param
    sandbox = Sandbox(
        port=0, token="sandbox", api_email=AGENT, rate_limit=plan, rate_window_s=MINUTE_S
    )
    store = sandbox.store
    orgs, requesters = [], []
    for n in range(CLIENTS):
        org = store.add_organization(name=f"Client {n:03}", tags=["platform_wp"])["id"]
        orgs.append(org)
        for k in range(3):
            user = store.add_user(
                name=f"Person {k} of {n}", email=f"p{k}@client{n}.example", organization_ids=[org]
            )
            requesters.append(user["id"])
    sandbox.index_now()  # the clients are years old: search knows them
    # The outage: tickets arrive now, so search will not find them for a minute.
    first = store.add_ticket(subject="Our site is down", requester_id=requesters[0])["id"]
    new = [
        store.add_ticket(subject=f"Site {n} is down", requester_id=requesters[3 * n])["id"]
        for n in range(1, CLIENTS)
    ]
    duplicates = [
        store.add_ticket(subject="Down again?", requester_id=requesters[0])["id"] for _ in range(2)
    ]
    sandbox.start()
    yield Night(sandbox, plan, orgs, first, new, duplicates)
    sandbox.stop()


@pytest.fixture
def settings(settings: Settings, night: Night) -> Settings:
    zendesk = ZendeskSettings(
        url=night.sandbox.url,
        email=AGENT,
        token="sandbox",
        timeout=10.0,
        rate_limit_wait_seconds=30,
    )
    return replace(settings, zendesk=zendesk)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[QuickGateway]:
    made = QuickGateway(settings.zendesk)
    yield made
    made.close()


def test_a_whole_night_without_a_429(db_session, gateway, settings, night, clock):
    store, now = night.sandbox.store, clock.now()
    incident = actions.declare(
        db_session,
        gateway,
        by=BY,
        now=now,
        settings=settings,
        from_ticket_id=night.first_ticket,
        title="Hosting platform down",
        severity="major",
    )
    parent = incident.parent_ticket_id
    assert parent and store.tickets[night.first_ticket]["problem_id"] == parent

    contacts.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=now, settings=settings
    )
    db_session.commit()
    found = ticket_actions.refresh_candidates(
        db_session, gateway, incident, settings=settings, now=now
    )
    waiting = {c.ticket_id for c in found}
    assert set(night.new_tickets) | set(night.duplicates) <= waiting  # none lost to the index

    outcomes = ticket_actions.link(
        db_session, gateway, incident, night.new_tickets, by=BY, now=now, settings=settings
    )
    db_session.commit()
    assert [o.ok for o in outcomes] == [True] * len(night.new_tickets)
    assert all(store.tickets[t]["problem_id"] == parent for t in night.new_tickets)

    rows = merges.plan(
        db_session,
        incident,
        target_id=night.first_ticket,
        source_ids=night.duplicates,
        by=BY,
        now=now,
    )
    db_session.commit()
    for row in rows:
        merges.perform(db_session, gateway, row, commit=db_session.commit, now=now)
    db_session.commit()
    assert [store.tickets[t]["status"] for t in night.duplicates] == ["closed", "closed"]

    refreshed = contacts.refresh(db_session, gateway, incident, settings, now=now)
    db_session.commit()
    assert refreshed.ok, refreshed.error
    assert refreshed.organizations == CLIENTS
    assert refreshed.contacts == 3 * CLIENTS

    resolution = resolve(
        db_session,
        gateway,
        incident,
        message="All sites are back.",
        solve_parent=True,
        by=BY,
        now=now,
        settings=settings,
    )
    db_session.commit()
    assert resolution.parent_solved, resolution.zendesk_problem
    assert store.tickets[parent]["status"] == "solved"
    assert {store.tickets[t]["status"] for t in night.new_tickets} == {"solved"}
    assert night.sandbox.stats()["rate_limited"] == 0  # comms never provoked a 429
    if night.plan == PLANS["team-200"]:
        assert night.sandbox.request_count > night.plan  # more than one window's worth
