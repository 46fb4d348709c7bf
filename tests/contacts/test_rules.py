"""The list-building rules, as a pure function of the snapshot, overrides, severity, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from comms.config import ContactsSettings
from comms.contacts.models import (
    AffectedOrganization,
    ContactOverride,
    OrganizationPerson,
    Requester,
)
from comms.contacts.rules import build_contacts, how_added, normalize_email

T0 = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)


def org(oid: int, name: str, tags: tuple[str, ...] = ()) -> AffectedOrganization:
    return AffectedOrganization(
        organization_id=oid, name=name, tags=list(tags), added_how="by name", added_by="ana@x"
    )


def person(
    oid: int, uid: int, email: str, tags: tuple[str, ...] = (), name: str = ""
) -> OrganizationPerson:
    return OrganizationPerson(
        organization_id=oid, user_id=uid, email=email, name=name or email, tags=list(tags)
    )


def override(n: int, email: str, action: str, name: str = "") -> ContactOverride:
    return ContactOverride(
        id=n, email=email, name=name, action=action, by="ana@x", at=T0 + timedelta(minutes=n)
    )


def build(people, severity="major", settings=None, orgs=None, requesters=(), overrides=()):
    return build_contacts(
        organizations=orgs or [org(1, "Acme")],
        people=people,
        requesters=requesters,
        overrides=overrides,
        severity=severity,
        settings=settings or ContactsSettings(),
    )


@pytest.mark.parametrize("senior_tag", ["senior_stakeholder", "vip"])
@pytest.mark.parametrize("regular", ["all", "tagged"])
@pytest.mark.parametrize("severity", ["critical", "major", "minor", "trivial"])
def test_the_rule_matrix(severity: str, regular: str, senior_tag: str) -> None:
    settings = ContactsSettings(regular=regular, senior_tag=senior_tag)
    people = [
        person(1, 1, "plain@acme.example"),
        person(1, 2, "tagged@acme.example", ("regular_contact",)),
        person(1, 3, "senior@acme.example", (senior_tag,)),
        person(1, 4, "both@acme.example", (senior_tag, "regular_contact")),
    ]
    contacts = {c.email: c for c in build(people, severity, settings)}
    expected_regular = {"tagged@acme.example"} | (
        {"plain@acme.example"} if regular == "all" else set()
    )
    expected_senior = (
        {"senior@acme.example", "both@acme.example"} if severity in ("critical", "major") else set()
    )
    assert set(contacts) == expected_regular | expected_senior
    for email in expected_regular:
        assert contacts[email].reasons == ("regular contact of Acme",)
        assert not contacts[email].senior
    for email in expected_senior:
        assert contacts[email].reasons == ("senior stakeholder of Acme",)
        assert contacts[email].senior


def test_seniors_follow_the_configured_severities() -> None:
    settings = ContactsSettings(senior_at=("critical",))
    people = [person(1, 3, "senior@acme.example", ("senior_stakeholder",))]
    assert [c.email for c in build(people, "critical", settings)] == ["senior@acme.example"]
    assert build(people, "major", settings) == []


def test_a_person_in_two_organisations_appears_once_with_both() -> None:
    orgs = [org(2, "Bravo"), org(1, "Acme")]
    people = [
        person(2, 7, "Pat@Both.example", name="Pat"),
        person(1, 7, "pat@both.example", name="Pat"),
    ]
    (pat,) = build(people, orgs=orgs)
    assert pat.organizations == ("Acme", "Bravo")
    assert pat.reasons == ("regular contact of Acme", "regular contact of Bravo")
    assert pat.name == "Pat" and pat.email.lower() == "pat@both.example"


def test_priority_clients_come_first_everywhere() -> None:
    orgs = [org(1, "Acme"), org(2, "Zulu", ("priority_client",))]
    people = [
        person(1, 1, "a@acme.example", name="Aaron"),
        person(2, 2, "z@zulu.example", name="Zed"),
    ]
    contacts = build(people, orgs=orgs)
    assert [(c.email, c.priority) for c in contacts] == [
        ("z@zulu.example", True),
        ("a@acme.example", False),
    ]


def test_requesters_and_manual_additions_with_reasons_and_case_insensitive_merging() -> None:
    requesters = [
        Requester(ticket_id=123, user_id=9, name="Rae", email="rae@elsewhere.example"),
        Requester(ticket_id=124, user_id=1, name="", email="ANN@acme.example"),
        Requester(ticket_id=125, user_id=10, name="Unknown", email=""),
    ]
    overrides = [override(1, "New@Person.example", "add", name="New Person")]
    contacts = {
        c.email.lower(): c
        for c in build(
            [person(1, 1, "ann@acme.example")], requesters=requesters, overrides=overrides
        )
    }
    assert contacts["ann@acme.example"].reasons == (
        "regular contact of Acme",
        "requester of ticket 124",
    )
    assert contacts["rae@elsewhere.example"].reasons == ("requester of ticket 123",)
    assert contacts["rae@elsewhere.example"].organizations == ()
    assert contacts["new@person.example"].reasons == ("added by hand by ana@x",)
    assert contacts["new@person.example"].name == "New Person"
    assert len(contacts) == 3


def test_exclusion_flags_the_row_and_inclusion_undoes_it() -> None:
    people = [person(1, 1, "ann@acme.example"), person(1, 2, "bob@acme.example")]
    overrides = [
        override(1, "ANN@acme.example", "exclude"),
        override(2, "bob@acme.example", "exclude"),
        override(3, "bob@acme.example", "include"),
    ]
    rows = {c.email: c for c in build(people, overrides=overrides)}
    assert rows["ann@acme.example"].excluded
    assert rows["ann@acme.example"].reasons[-1] == "excluded by hand by ana@x"
    assert not rows["bob@acme.example"].excluded


def test_people_of_organisations_no_longer_affected_are_ignored() -> None:
    assert build([person(99, 1, "old@gone.example")]) == []


@pytest.mark.parametrize(
    "text", ["", "nobody", "a@b", "a b@c.example", "a@b@c.example", "x@-bad.example"]
)
def test_bad_addresses_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match="e-mail address"):
        normalize_email(text)


def test_how_an_organisation_was_added() -> None:
    assert how_added(org(1, "Acme")) == "by name, by ana@x"
    tagged = org(1, "Acme")
    tagged.added_how = "tag platform_wordpress"
    assert how_added(tagged) == "tag platform_wordpress"


def test_a_name_with_line_breaks_from_zendesk_becomes_one_line() -> None:
    [contact] = build([person(1, 7, "ann@acme.test", name="Ann\r\nBcc: evil@example.com")])
    assert contact.name == "Ann Bcc: evil@example.com"
