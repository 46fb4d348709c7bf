"""The contacts service against the Zendesk sandbox over HTTP, on the real database."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from comms.contacts import service
from comms.contacts.models import OrganizationPerson
from comms.incidents.models import TimelineEvent
from comms.zendesk import Organization

BY = "manager@agency.test"


@pytest.fixture
def incident(make_incident):
    return make_incident("major")


@pytest.fixture
def refreshed(db_session, gateway, incident, settings, clients, clock):
    """An incident with Acme and Bravo affected (by tag) and the snapshot read."""
    service.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=clock.now(), settings=settings
    )
    result = service.refresh(db_session, gateway, incident, settings, now=clock.now())
    db_session.commit()
    assert result.ok, result.error
    return incident


def emails(contacts) -> list[str]:
    return [c.email for c in contacts]


def timeline(db_session, incident) -> list[tuple[str, str]]:
    query = select(TimelineEvent).filter_by(incident_id=incident.id).order_by(TimelineEvent.id)
    rows = db_session.scalars(query)
    return [(e.kind, e.summary) for e in rows]


def test_add_by_tag_flags_priority_clients_first(
    db_session, gateway, incident, settings, clients, clock
):
    added = service.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=clock.now(), settings=settings
    )
    assert [(o.name, o.priority) for o in added] == [("Acme", True), ("Bravo", False)]
    again = service.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=clock.now(), settings=settings
    )
    assert again == []
    orgs = service.affected_organizations(db_session, incident, settings)
    assert [o.added_how for o in orgs] == ["tag platform_wp", "tag platform_wp"]
    assert timeline(db_session, incident) == [
        ("organizations_added", "Added 2 affected organisations (tag platform_wp): Acme, Bravo")
    ]


def test_refresh_builds_the_list_with_reasons(db_session, refreshed, settings):
    contacts = service.contact_list(db_session, refreshed)
    by_email = {c.email: c for c in contacts}
    assert emails(contacts) == [
        "ann@acme.example",
        "boss@acme.example",
        "Pat@Both.example",
        "reggie@acme.example",
        "bob@bravo.example",
    ]
    assert by_email["boss@acme.example"].reasons == ("senior stakeholder of Acme",)
    assert by_email["boss@acme.example"].senior and by_email["boss@acme.example"].priority
    assert by_email["Pat@Both.example"].organizations == ("Acme", "Bravo")
    assert by_email["Pat@Both.example"].reasons == (
        "regular contact of Acme",
        "regular contact of Bravo",
    )
    assert by_email["bob@bravo.example"].reasons == ("regular contact of Bravo",)
    assert not by_email["bob@bravo.example"].priority
    assert refreshed.contacts_refreshed_at is not None and refreshed.contacts_refresh_error == ""
    assert timeline(db_session, refreshed)[-1] == (
        "contacts_refreshed",
        "Refreshed the contacts from Zendesk: 2 organisations, 6 people, 5 contacts",
    )


def test_suspended_and_mailless_users_are_not_even_in_the_snapshot(db_session, refreshed):
    stored = db_session.scalars(select(OrganizationPerson.email)).all()
    assert sorted(e.lower() for e in stored) == sorted(
        [
            "ann@acme.example",
            "boss@acme.example",
            "pat@both.example",
            "pat@both.example",
            "reggie@acme.example",
            "bob@bravo.example",
        ]
    )


def test_severity_changes_the_list_without_asking_zendesk(db_session, refreshed, settings, sandbox):
    before = sandbox.request_count
    refreshed.severity = "minor"
    service.rebuild(db_session, refreshed, settings)
    assert "boss@acme.example" not in emails(service.contact_list(db_session, refreshed))
    refreshed.severity = "critical"
    service.rebuild(db_session, refreshed, settings)
    assert "boss@acme.example" in emails(service.contact_list(db_session, refreshed))
    assert sandbox.request_count == before


def test_tagged_regular_contacts_only(db_session, refreshed, settings):
    from dataclasses import replace

    tagged = replace(settings, contacts=replace(settings.contacts, regular="tagged"))
    service.rebuild(db_session, refreshed, tagged)
    assert emails(service.contact_list(db_session, refreshed)) == [
        "boss@acme.example",
        "Pat@Both.example",
        "reggie@acme.example",
    ]


def test_requesters_are_filled_in_at_refresh(
    db_session, gateway, incident, settings, clients, clock
):
    service.add_requester(
        db_session, incident, ticket_id=123, user_id=clients.users["cat"], settings=settings
    )
    service.add_requester(
        db_session,
        incident,
        ticket_id=124,
        user_id=None,
        name="Walk In",
        email="walk@in.example",
        settings=settings,
    )
    assert emails(service.contact_list(db_session, incident)) == ["walk@in.example"]
    assert service.refresh(db_session, gateway, incident, settings, now=clock.now()).ok
    contacts = {c.email: c for c in service.contact_list(db_session, incident)}
    assert contacts["cat@charlie.example"].reasons == ("requester of ticket 123",)
    assert contacts["cat@charlie.example"].name == "Cat Charlie"
    assert contacts["walk@in.example"].reasons == ("requester of ticket 124",)


def test_manual_add_exclude_and_include(db_session, refreshed, settings, clock):
    with pytest.raises(ValueError, match="“not-an-address” is not an e-mail address"):
        service.add_contact(
            db_session,
            refreshed,
            email="not-an-address",
            name="",
            by=BY,
            now=clock.now(),
            settings=settings,
        )
    service.add_contact(
        db_session,
        refreshed,
        email="cto@acme.example",
        name="The CTO",
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    service.exclude_contact(
        db_session, refreshed, email="BOB@bravo.example", by=BY, now=clock.now(), settings=settings
    )
    listed = emails(service.contact_list(db_session, refreshed))
    assert "cto@acme.example" in listed and "bob@bravo.example" not in listed
    rows = {c.email: c for c in service.contact_rows(db_session, refreshed)}
    assert rows["bob@bravo.example"].excluded
    assert rows["cto@acme.example"].reasons == ("added by hand by manager@agency.test",)
    service.include_contact(
        db_session, refreshed, email="bob@bravo.example", by=BY, now=clock.now(), settings=settings
    )
    assert "bob@bravo.example" in emails(service.contact_list(db_session, refreshed))
    kinds = [kind for kind, _ in timeline(db_session, refreshed)]
    assert kinds[-3:] == ["contact_added", "contact_excluded", "contact_included"]


def test_an_outage_keeps_the_snapshot_and_says_why(
    db_session, refreshed, gateway, settings, sandbox, clock
):
    before = emails(service.contact_list(db_session, refreshed))
    refreshed_at = refreshed.contacts_refreshed_at
    sandbox.fail_next(r"/organizations/", count=100, status=503)
    clock.advance(minutes=30)
    result = service.refresh(db_session, gateway, refreshed, settings, now=clock.now())
    assert not result.ok and "keeps failing (HTTP 503)" in result.error
    assert refreshed.contacts_refresh_error == result.error
    assert refreshed.contacts_refreshed_at == refreshed_at
    assert emails(service.contact_list(db_session, refreshed)) == before
    assert timeline(db_session, refreshed)[-1][0] == "contacts_refresh_failed"
    sandbox.stop()
    result = service.refresh(db_session, gateway, refreshed, settings, now=clock.now())
    assert "cannot be reached" in result.error
    assert emails(service.contact_list(db_session, refreshed)) == before


def test_zendesk_answering_not_found_for_every_organisation_keeps_the_list(
    db_session, refreshed, gateway, settings, sandbox, clients, clock
):
    before = emails(service.contact_list(db_session, refreshed))
    refreshed_at = refreshed.contacts_refreshed_at
    sandbox.fail_next(r"/organizations/\d+/users", count=100, status=404)
    clock.advance(minutes=30)
    result = service.refresh(db_session, gateway, refreshed, settings, now=clock.now())
    db_session.commit()
    assert not result.ok
    assert result.error.startswith("Zendesk answered 'not found' for all 2 affected organisations")
    assert refreshed.contacts_refresh_error == result.error
    assert refreshed.contacts_refreshed_at == refreshed_at
    assert emails(service.contact_list(db_session, refreshed)) == before
    assert timeline(db_session, refreshed)[-1][0] == "contacts_refresh_failed"

    sandbox.controls.faults.clear()  # Zendesk answers again
    sandbox.store.add_user(name="New", email="new@acme.example", organization_ids=[clients.acme])
    result = service.refresh(db_session, gateway, refreshed, settings, now=clock.now())
    assert result.ok and refreshed.contacts_refresh_error == ""
    assert "new@acme.example" in emails(service.contact_list(db_session, refreshed))


def test_an_organisation_zendesk_no_longer_finds_keeps_its_people_until_removed(
    db_session, refreshed, gateway, settings, sandbox, clients, clock
):
    sandbox.fail_next(f"/organizations/{clients.bravo}/users", count=10, status=404)
    result = service.refresh(db_session, gateway, refreshed, settings, now=clock.now())
    assert result.ok and result.missing == ("Bravo",)
    assert "bob@bravo.example" in emails(service.contact_list(db_session, refreshed))
    assert "kept until the organisation is removed" in timeline(db_session, refreshed)[-1][1]
    service.remove_organization(
        db_session, refreshed, clients.bravo, by=BY, now=clock.now(), settings=settings
    )
    assert "bob@bravo.example" not in emails(service.contact_list(db_session, refreshed))


def test_refresh_reports_progress_and_a_deleted_organisation(
    db_session, refreshed, gateway, settings, sandbox, clock
):
    ghost = Organization(id=999, name="Ghost", tags=())
    service.add_organizations(
        db_session, refreshed, [ghost], how="ticket 7", by=BY, now=clock.now(), settings=settings
    )
    steps: list[tuple[int, int]] = []
    result = service.refresh(
        db_session,
        gateway,
        refreshed,
        settings,
        now=clock.now(),
        progress=lambda d, t: steps.append((d, t)),
    )
    assert result.ok and result.missing == ("Ghost",) and result.organizations == 2
    assert sorted(steps) == [(1, 3), (2, 3), (3, 3)]
    assert result.requests == 3


def test_remove_an_organisation(db_session, refreshed, settings, clients, clock):
    service.remove_organization(
        db_session, refreshed, clients.bravo, by=BY, now=clock.now(), settings=settings
    )
    contacts = service.contact_list(db_session, refreshed)
    assert "bob@bravo.example" not in emails(contacts)
    assert next(c for c in contacts if c.email == "Pat@Both.example").organizations == ("Acme",)
    with pytest.raises(LookupError, match="is not affected by"):
        service.remove_organization(
            db_session, refreshed, clients.bravo, by=BY, now=clock.now(), settings=settings
        )


def test_csv_export(db_session, refreshed, settings, clock):
    service.add_contact(
        db_session,
        refreshed,
        email="x@y.example",
        name="=HYPERLINK(1)",
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    rows = list(
        csv.reader(io.StringIO(service.to_csv(service.contact_list(db_session, refreshed))))
    )
    assert rows[0] == [
        "Name",
        "E-mail",
        "Organisations",
        "Reasons",
        "Senior stakeholder",
        "Priority client",
    ]
    assert rows[2] == [
        "Bea Boss",
        "boss@acme.example",
        "Acme",
        "senior stakeholder of Acme",
        "yes",
        "yes",
    ]
    assert rows[3] == [
        "Pat Both",
        "Pat@Both.example",
        "Acme; Bravo",
        "regular contact of Acme; regular contact of Bravo",
        "no",
        "yes",
    ]
    assert rows[-1] == [
        "'=HYPERLINK(1)",
        "x@y.example",
        "",
        "added by hand by manager@agency.test",
        "no",
        "no",
    ]


def test_a_name_with_a_line_break_is_refused_by_hand(db_session, refreshed, settings, clock):
    incident = refreshed
    with pytest.raises(ValueError, match="cannot hold line breaks"):
        service.add_contact(
            db_session,
            incident,
            email="a@b.test",
            name="x\r\nBcc: evil@x.test",
            by="m",
            now=clock.now(),
            settings=settings,
        )


def test_the_due_update_goes_out_to_the_kept_list_when_zendesk_answers_not_found(
    db_session, engine, refreshed, gateway, settings, sandbox, clock
):
    from comms.db import make_sessionmaker
    from comms.updates.models import Delivery, Update
    from comms.updates.scheduler import tick
    from comms.updates.service import publish

    people = emails(service.contact_list(db_session, refreshed))
    publish(
        db_session, refreshed, message="Sites are down.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    sandbox.fail_next(r"/organizations/\d+/users", count=100, status=404)
    clock.advance(minutes=61)
    report = tick(make_sessionmaker(engine), settings, clock=clock, gateway=gateway)
    assert report.due.published == [refreshed.reference] and report.due.held == []
    db_session.expire_all()
    second = select(Update.id).filter_by(incident_id=refreshed.id, number=2)
    sent = db_session.scalars(select(Delivery.email).where(Delivery.update_id.in_(second)))
    assert sorted(sent) == sorted(people)
    assert db_session.get_one(type(refreshed), refreshed.id).contacts_refresh_error.startswith(
        "Zendesk answered 'not found'"
    )
