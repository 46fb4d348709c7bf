"""A client with several e-mail addresses in Zendesk is one contact, at the primary address."""

from __future__ import annotations

from comms.contacts import service

BY = "manager@agency.test"


def test_a_person_with_two_addresses_is_one_contact_at_the_primary(
    db_session, gateway, make_incident, settings, clients, sandbox, clock
):
    sandbox.store.add_identity(clients.users["ann"], "ann@home.example")
    sandbox.store.add_identity(clients.users["pat"], "pat.at.home@both.example")
    incident = make_incident("major")
    service.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=clock.now(), settings=settings
    )
    service.add_requester(
        db_session, incident, ticket_id=7, user_id=clients.users["ann"], settings=settings
    )
    assert service.refresh(db_session, gateway, incident, settings, now=clock.now()).ok
    addresses = [c.email.lower() for c in service.contact_list(db_session, incident)]
    assert addresses.count("ann@acme.example") == 1
    assert addresses.count("pat@both.example") == 1
    assert "ann@home.example" not in addresses
    assert "pat.at.home@both.example" not in addresses
    ann = next(c for c in service.contact_list(db_session, incident) if c.name == "Ann Acme")
    assert set(ann.reasons) == {"regular contact of Acme", "requester of ticket 7"}
