"""The contacts API under /api/v1, with bearer tokens, against the sandbox."""

from __future__ import annotations

import pytest

from comms.incidents.models import Incident
from tests.conftest import follow


@pytest.fixture
def incident(make_incident):
    return make_incident("critical")


def url(incident: Incident, path: str = "") -> str:
    return f"/api/v1/incidents/{incident.reference}/{path}"


def test_organisations_by_tag_and_by_id_then_refresh(api, incident, clients):
    client = api("manager")
    response = client.post(url(incident, "organizations"), json={"tag": "platform_wp"})
    assert response.status_code == 201
    assert [
        (o["name"], o["priority"], o["added"], o["people"]) for o in response.get_json()["added"]
    ] == [
        ("Acme", True, "tag platform_wp", None),
        ("Bravo", False, "tag platform_wp", None),
    ]
    response = client.post(
        url(incident, "organizations"), json={"organization_ids": [clients.charlie, clients.acme]}
    )
    assert response.status_code == 201
    assert [o["name"] for o in response.get_json()["added"]] == ["Charlie"]
    assert response.get_json()["added"][0]["added"] == "by id, by manager@agency.test"
    refresh = follow(client, client.post(url(incident, "contacts/refresh")))
    assert refresh["state"] == "done" and refresh["result"]["organizations"] == 3
    body = client.get(url(incident, "contacts")).get_json()
    assert body["count"] == 6 and body["refresh_error"] is None
    boss = next(c for c in body["contacts"] if c["email"] == "boss@acme.example")
    assert boss == {
        "email": "boss@acme.example",
        "name": "Bea Boss",
        "organizations": ["Acme"],
        "reasons": ["senior stakeholder of Acme"],
        "senior": True,
        "priority": True,
        "excluded": False,
    }
    orgs = client.get(url(incident, "organizations")).get_json()["organizations"]
    assert [(o["name"], o["people"]) for o in orgs] == [("Acme", 4), ("Bravo", 2), ("Charlie", 1)]
    assert client.delete(url(incident, f"organizations/{clients.charlie}")).get_json() == {
        "removed": clients.charlie
    }
    assert client.delete(url(incident, f"organizations/{clients.charlie}")).status_code == 404


def test_contacts_by_hand_exclusion_and_csv(api, incident, make_incident):
    client = api("manager")
    response = client.post(
        url(incident, "contacts"), json={"email": "cto@client.example", "name": "CTO"}
    )
    assert response.status_code == 201
    assert response.get_json()["reasons"] == ["added by hand by manager@agency.test"]
    response = client.post(url(incident, "contacts"), json={"email": "nope", "name": ""})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_email",
        "message": "“nope” is not an e-mail address: expected name@example.com.",
    }
    assert (
        client.delete(url(incident, "contacts/CTO@client.example")).get_json()["excluded"] is True
    )
    assert client.get(url(incident, "contacts")).get_json()["contacts"] == []
    rows = client.get(url(incident, "contacts?excluded=1")).get_json()["contacts"]
    assert [(c["email"], c["excluded"]) for c in rows] == [("cto@client.example", True)]
    client.post(url(incident, "contacts/cto@client.example/include"))
    response = client.get(url(incident, "contacts?format=csv"))
    assert response.mimetype == "text/csv"
    assert (
        response.get_data(as_text=True).splitlines()[1]
        == "CTO,cto@client.example,,added by hand by manager@agency.test,no,no"
    )


def test_refresh_during_an_outage_answers_502_and_keeps_the_list(api, incident, clients, sandbox):
    client = api("manager")
    client.post(url(incident, "organizations"), json={"tag": "platform_wp"})
    assert follow(client, client.post(url(incident, "contacts/refresh")))["state"] == "done"
    sandbox.fail_next(".*", count=1000, status=503)
    refresh = follow(client, client.post(url(incident, "contacts/refresh")))
    assert refresh["state"] == "failed" and "keeps failing (HTTP 503)" in refresh["error"]
    body = client.get(url(incident, "contacts")).get_json()
    assert body["count"] == 5 and body["refresh_error"] == refresh["error"]
    response = client.post(url(incident, "organizations"), json={"tag": "platform_drupal"})
    assert response.status_code == 502


def test_errors_are_json(api, incident, db_session, clients):
    client = api("manager")
    assert client.get("/api/v1/incidents/INC-999/contacts").get_json() == {
        "error": "not_found",
        "message": "There is no incident INC-999.",
    }
    assert client.get("/api/v1/incidents/999/organizations").status_code == 404
    response = client.post(url(incident, "organizations"), json={"organization_ids": "x"})
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"
    response = client.post(url(incident, "organizations"), json={"organization_ids": [42]})
    assert (
        response.status_code == 422
        and response.get_json()["message"] == "Zendesk has no organisation 42."
    )
    assert (
        api("viewer").post(url(incident, "contacts"), json={"email": "a@b.example"}).status_code
        == 403
    )
    assert client.get(f"/api/v1/incidents/{incident.id}/contacts").status_code == 200
    incident.status = "resolved"
    db_session.commit()
    response = client.post(url(incident, "contacts"), json={"email": "a@b.example"})
    assert response.status_code == 409 and response.get_json()["error"] == "resolved"
    assert client.get(url(incident, "contacts")).status_code == 200
