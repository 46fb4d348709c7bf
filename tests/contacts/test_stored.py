"""The stored contact list always equals what the rules build, after every kind of change."""

from __future__ import annotations

from sqlalchemy import select

from comms.actions import incidents as incident_actions
from comms.actions import tickets as ticket_actions
from comms.contacts import service
from comms.contacts.lists import built_contacts
from comms.contacts.models import AffectedOrganization
from comms.db import make_sessionmaker
from comms.incidents import parent
from comms.incidents.models import Incident

BY = "manager@agency.test"


def assert_stored_is_built(engine, incident_id: int, settings) -> list:
    """Read what was committed in a session of its own, and run the rules over the same data."""
    with make_sessionmaker(engine)() as other:
        incident = other.get_one(Incident, incident_id)
        stored = service.contact_rows(other, incident)
        assert stored == built_contacts(other, incident, settings)
        receiving = [c for c in stored if not c.excluded]
        assert incident.contact_count == len(receiving)
        assert incident.excluded_count == len(stored) - len(receiving)
        orgs = list(other.scalars(select(AffectedOrganization).filter_by(incident_id=incident_id)))
        assert incident.organization_count == len(orgs)
        for org in orgs:
            assert org.contacts == sum(1 for c in receiving if org.name in c.organizations)
        return stored


def emails(contacts) -> set[str]:
    return {c.email for c in contacts if not c.excluded}


def test_every_change_rebuilds_the_stored_list_in_its_transaction(
    engine, db_session, gateway, sandbox, clients, settings, make_incident, clock
):
    incident = make_incident("minor")
    now = clock.now()
    check = lambda: assert_stored_is_built(engine, incident.id, settings)  # noqa: E731

    service.add_organizations_by_id(
        db_session,
        gateway,
        incident,
        [clients.acme],
        how="by id",
        by=BY,
        now=now,
        settings=settings,
    )
    db_session.commit()
    assert check() == []  # nobody read from Zendesk yet

    assert service.refresh(db_session, gateway, incident, settings, now=now).ok
    db_session.commit()
    assert "ann@acme.example" in emails(check())
    assert "boss@acme.example" not in emails(check())  # minor: no senior stakeholders

    incident_actions.change(
        db_session, incident, by=BY, now=now, settings=settings, severity="major"
    )
    assert "boss@acme.example" in emails(check())
    incident_actions.change(
        db_session, incident, by=BY, now=now, settings=settings, severity="minor"
    )
    assert "boss@acme.example" not in emails(check())

    service.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=now, settings=settings
    )
    assert service.refresh(db_session, gateway, incident, settings, now=now).ok
    db_session.commit()
    assert "bob@bravo.example" in emails(check())

    service.add_contact(
        db_session,
        incident,
        email="cto@extra.example",
        name="CTO",
        by=BY,
        now=now,
        settings=settings,
    )
    db_session.commit()
    assert "cto@extra.example" in emails(check())

    service.exclude_contact(
        db_session, incident, email="ANN@acme.example", by=BY, now=now, settings=settings
    )
    db_session.commit()
    assert "ann@acme.example" not in emails(check())
    assert any(c.excluded and c.email == "ann@acme.example" for c in check())
    service.include_contact(
        db_session, incident, email="ann@acme.example", by=BY, now=now, settings=settings
    )
    db_session.commit()
    assert "ann@acme.example" in emails(check())

    service.remove_organization(
        db_session, incident, clients.bravo, by=BY, now=now, settings=settings
    )
    db_session.commit()
    assert "bob@bravo.example" not in emails(check())

    ticket = sandbox.store.add_ticket(
        subject="Down", requester_id=clients.users["cat"], organization_id=clients.charlie
    )["id"]
    parent.create_parent(db_session, gateway, incident, now=now, by=BY)
    db_session.commit()
    ticket_actions.link(db_session, gateway, incident, [ticket], by=BY, now=now, settings=settings)
    db_session.commit()
    check()  # the requester's address is read by the refresh that follows a link
    assert service.refresh(db_session, gateway, incident, settings, now=now).ok
    db_session.commit()
    assert "cat@charlie.example" in emails(check())


def test_a_change_rolled_back_leaves_the_stored_list_as_it_was(
    engine, db_session, gateway, clients, settings, make_incident, clock
):
    incident = make_incident("major")
    service.add_organizations_by_id(
        db_session,
        gateway,
        incident,
        [clients.acme],
        how="by id",
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    assert service.refresh(db_session, gateway, incident, settings, now=clock.now()).ok
    db_session.commit()
    before = assert_stored_is_built(engine, incident.id, settings)
    service.add_contact(
        db_session,
        incident,
        email="x@y.example",
        name="",
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    db_session.rollback()
    assert assert_stored_is_built(engine, incident.id, settings) == before
