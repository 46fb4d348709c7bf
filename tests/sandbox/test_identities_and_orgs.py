"""Users with several e-mail identities, and a ticket's organisation that must be its requester's."""

from __future__ import annotations

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket
from zenpy.lib.exception import APIException

from comms.sandbox import Sandbox


@pytest.fixture
def acme(sandbox: Sandbox) -> dict[str, int]:
    store = sandbox.store
    acme = store.add_organization(name="Acme")["id"]
    bravo = store.add_organization(name="Bravo")["id"]
    ann = store.add_user(name="Ann", email="ann@acme.test", organization_ids=[acme])["id"]
    return {"acme": acme, "bravo": bravo, "ann": ann}


def test_a_user_lists_every_email_identity_primary_first(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox, acme: dict[str, int]
) -> None:
    url = f"{sandbox.url}/api/v2/users/{acme['ann']}/identities.json"
    added = http.post(url, json={"identity": {"type": "email", "value": "ann@home.test"}})
    assert added.status_code == 201
    assert added.json()["identity"]["primary"] is False
    identities = list(zd.users.identities(id=acme["ann"]))
    assert [(i.value, i.primary, i.type) for i in identities] == [
        ("ann@acme.test", True, "email"),
        ("ann@home.test", False, "email"),
    ]
    user = http.get(f"{sandbox.url}/api/v2/users/{acme['ann']}.json").json()["user"]
    assert user["email"] == "ann@acme.test"  # user.email stays the primary address


def test_an_address_belongs_to_one_person_only(
    http: requests.Session, sandbox: Sandbox, acme: dict[str, int]
) -> None:
    bob = sandbox.store.add_user(name="Bob", email="bob@acme.test")["id"]
    url = f"{sandbox.url}/api/v2/users/{bob}/identities.json"
    taken = http.post(url, json={"identity": {"type": "email", "value": "ANN@acme.test"}})
    assert taken.status_code == 422
    assert taken.json()["error"] == "RecordInvalid"
    assert [i["value"] for i in http.get(url).json()["identities"]] == ["bob@acme.test"]


def test_updating_a_users_email_adds_an_identity(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox, acme: dict[str, int]
) -> None:
    user_url = f"{sandbox.url}/api/v2/users/{acme['ann']}.json"
    http.put(user_url, json={"user": {"email": "ann.new@acme.test"}})
    assert http.get(user_url).json()["user"]["email"] == "ann@acme.test"
    values = [i.value for i in zd.users.identities(id=acme["ann"])]
    assert values == ["ann@acme.test", "ann.new@acme.test"]


def test_a_ticket_outside_its_requesters_organisations_is_refused(
    zd: Zenpy, sandbox: Sandbox, acme: dict[str, int]
) -> None:
    with pytest.raises(APIException) as refused:
        zd.tickets.create(
            Ticket(
                subject="Down",
                description="x",
                requester_id=acme["ann"],
                organization_id=acme["bravo"],
            )
        )
    body = refused.value.response.json()
    assert refused.value.response.status_code == 422
    assert body["error"] == "RecordInvalid"
    assert list(body["details"]) == ["organization_id"]
    assert not [t for t in sandbox.store.tickets.values() if t["subject"] == "Down"]
    made = zd.tickets.create(
        Ticket(
            subject="Up", description="x", requester_id=acme["ann"], organization_id=acme["acme"]
        )
    ).ticket
    assert made.organization_id == acme["acme"]


def test_moving_a_ticket_to_another_organisation_of_the_requester_only(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox, acme: dict[str, int]
) -> None:
    tid = sandbox.store.add_ticket(subject="Slow", requester_id=acme["ann"])["id"]
    assert sandbox.store.tickets[tid]["organization_id"] == acme["acme"]  # the default one
    url = f"{sandbox.url}/api/v2/tickets/{tid}.json"
    refused = http.put(url, json={"ticket": {"organization_id": acme["bravo"]}})
    assert refused.status_code == 422
    sandbox.store.add_membership(acme["ann"], acme["bravo"])
    moved = http.put(url, json={"ticket": {"organization_id": acme["bravo"]}})
    assert moved.status_code == 200
    assert moved.json()["ticket"]["organization_id"] == acme["bravo"]


def test_the_demo_seed_keeps_both_rules() -> None:
    with Sandbox(seed="demo") as sandbox:
        store = sandbox.store
        for ticket in store.tickets.values():
            if ticket["organization_id"]:
                assert ticket["organization_id"] in store.user_org_ids(ticket["requester_id"])
        assert store.secondary_emails  # some clients write from a second address too
