"""An app whose Zendesk is a sandbox over HTTP, with a few clients and their tickets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from comms.config import Settings, ZendeskSettings
from comms.incidents import service
from comms.sandbox import Sandbox
from tests.zendesk.conftest import QuickGateway


@dataclass
class Desk:
    """The sandbox's seeded clients, people and recent tickets."""

    acme: int
    bravo: int
    ann: int
    bob: int
    tickets: list[int]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(port=0, token="sandbox", api_email="agent@agency.test").start()
    yield sb
    sb.stop()


@pytest.fixture
def desk(sandbox: Sandbox, clock) -> Desk:
    store = sandbox.store
    acme = store.add_organization(name="Acme Museum", tags=["platform_wp"])["id"]
    bravo = store.add_organization(name="Bravo Council", tags=["platform_wp"])["id"]
    ann = store.add_user(name="Ann Acme", email="ann@acme.example", organization_ids=[acme])["id"]
    bob = store.add_user(name="Bob Bravo", email="bob@bravo.example", organization_ids=[bravo])[
        "id"
    ]
    recent = clock.now() - timedelta(minutes=20)
    subjects = [
        (ann, acme, "Website down"),
        (bob, bravo, "503 errors on our site"),
        (ann, acme, "Site still down?"),
        (bob, bravo, "Invoice question"),
    ]
    tickets = [
        store.add_ticket(subject=s, requester_id=r, organization_id=o, created_at=recent)["id"]
        for r, o, s in subjects
    ]
    sandbox.index_now()  # clients of long standing, tickets of 20 minutes ago: all indexed
    return Desk(acme=acme, bravo=bravo, ann=ann, bob=bob, tickets=tickets)


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    zendesk = ZendeskSettings(
        url=sandbox.url,
        email="agent@agency.test",
        token="sandbox",
        timeout=2.0,
        rate_limit_wait_seconds=1,
        webhook_secret="whsec-test",
    )
    return replace(settings, zendesk=zendesk)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[QuickGateway]:
    made = QuickGateway(settings.zendesk)
    yield made
    made.close()


@pytest.fixture
def app(make_app, settings, gateway):
    """The app, using the quick gateway (short retry sleeps) for its Zendesk."""
    app = make_app(settings)
    app.extensions["comms"]["gateway"] = gateway
    return app


@pytest.fixture
def incident(db_session, settings, clock, users):
    made = service.declare(
        db_session,
        title="Sites on the WordPress platform down",
        severity="major",
        settings=settings,
        by="manager@agency.test",
        now=clock.now(),
        description="503s on every WordPress site.",
        keywords=["down", "503"],
        comms_manager=users["manager"],
    )
    db_session.commit()
    return made
