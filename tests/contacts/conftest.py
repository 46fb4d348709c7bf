"""A Zendesk sandbox with a few clients, an app pointed at it and incidents to work on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest

from comms.config import Settings, ZendeskSettings
from comms.incidents.models import Incident
from comms.sandbox import Sandbox
from comms.zendesk import Gateway
from tests.zendesk.conftest import QuickGateway


@dataclass
class Clients:
    """Ids of the seeded organisations and people."""

    acme: int
    bravo: int
    charlie: int
    users: dict[str, int]


def seed(sandbox: Sandbox) -> Clients:
    """Three clients on WordPress; Acme is a priority client; Pat works for Acme and Bravo."""
    store = sandbox.store
    acme = store.add_organization(name="Acme", tags=["platform_wp", "priority_client"])["id"]
    bravo = store.add_organization(name="Bravo", tags=["platform_wp"])["id"]
    charlie = store.add_organization(name="Charlie", tags=["platform_drupal"])["id"]
    people = {
        "ann": ("Ann Acme", "ann@acme.example", [acme], []),
        "reg": ("Reggie Acme", "reggie@acme.example", [acme], ["regular_contact"]),
        "boss": ("Bea Boss", "boss@acme.example", [acme], ["senior_stakeholder"]),
        "gone": ("Gone Acme", "gone@acme.example", [acme], []),
        "nomail": ("No Mail", None, [acme], []),
        "pat": ("Pat Both", "Pat@Both.example", [acme, bravo], ["regular_contact"]),
        "bob": ("Bob Bravo", "bob@bravo.example", [bravo], []),
        "cat": ("Cat Charlie", "cat@charlie.example", [charlie], []),
    }
    users = {}
    for key, (name, email, orgs, tags) in people.items():
        user = store.add_user(
            name=name, email=email, organization_ids=orgs, tags=tags, suspended=key == "gone"
        )
        users[key] = user["id"]
    store.add_user(
        name="Agent", email="agent@agency.example", role="agent", organization_ids=[acme]
    )
    sandbox.index_now()  # these clients have been in Zendesk for years: search knows them
    return Clients(acme=acme, bravo=bravo, charlie=charlie, users=users)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(port=0, token="sandbox", api_email="agent@agency.test").start()
    yield sb
    sb.stop()


@pytest.fixture
def clients(sandbox: Sandbox) -> Clients:
    return seed(sandbox)


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    zendesk = ZendeskSettings(
        url=sandbox.url, email="agent@agency.test", token="sandbox", timeout=2.0
    )
    return replace(settings, zendesk=zendesk)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    with QuickGateway(settings.zendesk) as gateway:
        yield gateway


@pytest.fixture
def app(make_app, settings: Settings):
    """The app, its Zendesk gateway quick to give up."""
    app = make_app(settings)
    app.extensions["comms"]["gateway"] = QuickGateway(settings.zendesk)
    yield app
    app.extensions["comms"]["gateway"].close()


@pytest.fixture
def make_incident(db_session, clock) -> Callable[..., Incident]:
    def make(severity: str = "major", title: str = "Sites down") -> Incident:
        incident = Incident(title=title, severity=severity, declared_at=clock.now(), keywords=[])
        db_session.add(incident)
        db_session.commit()
        return incident

    return make
