"""Odd input is a 4xx with a clear message, never a server error: references and ids that are not
ASCII digits or pass 64 bits, names over their length, deeply nested JSON."""

import json
import re

import pytest

from comms.sandbox import sign
from comms.sandbox.incident_io.webhooks import new_secret
from comms.sandbox.incident_io.webhooks import sign as svix_sign
from tests.conftest import csrf_token
from tests.incidents.test_api import event, signed

TOO_BIG = 2**63
ODD_REFS = ["³", "INC-²", str(TOO_BIG), "INC-" + "9" * 30, "1e3", "-1"]
NESTED = "[" * 100_000 + "]" * 100_000


def _routes(app, prefix: str):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix) and "<ref>" in rule.rule:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


def _fill(rule: str, ref: str) -> str:
    path = rule.replace("<ref>", ref)
    return re.sub(r"<int:[a-z_]+>", "1", re.sub(r"<(?!int:)[a-z_]+>", "a@b.example", path))


@pytest.mark.parametrize("ref", ODD_REFS)
def test_an_odd_reference_is_not_found_on_every_page(app, login, ref):
    client = login("manager")
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    for method, rule in _routes(app, "/incidents/"):
        response = client.open(_fill(rule, ref), method=method, data={"csrf_token": token})
        assert response.status_code == 404, (method, rule, response.status_code)


@pytest.mark.parametrize("ref", ODD_REFS)
def test_an_odd_reference_is_not_found_on_every_api_route(app, api, ref):
    client = api("manager")
    for method, rule in _routes(app, "/api/v1/"):
        response = client.open(_fill(rule, ref), method=method, json={})
        assert response.status_code == 404, (method, rule, response.status_code)
        assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("number", ["²", str(TOO_BIG), "1" * 40])
def test_an_odd_number_in_an_address_is_not_found(api, login, incident, number):
    client = api("manager")
    ref = incident.reference
    assert client.get(f"/api/v1/incidents/{ref}/updates/{number}/deliveries").status_code == 404
    assert client.delete(f"/api/v1/incidents/{ref}/organizations/{number}").status_code == 404
    page = login("manager")
    assert page.get(f"/incidents/{ref}/operations/{number}").status_code == 404
    assert page.get(f"/incidents/{ref}?operation={number}").status_code == 200


@pytest.mark.parametrize("number", [TOO_BIG, 2**64, -1, 0, True, "12"])
def test_ids_out_of_range_in_api_bodies_are_refused(api, incident, number):
    client = api("manager")
    base = f"/api/v1/incidents/{incident.reference}"
    answers = [
        client.post(
            "/api/v1/incidents", json={"title": "x", "severity": "minor", "from_ticket_id": number}
        ),
        client.post(f"{base}/parent-ticket", json={"ticket_id": number}),
        client.post(f"{base}/merges", json={"target_id": number, "source_ids": [1]}),
        client.post(f"{base}/merges", json={"target_id": 1, "source_ids": [number]}),
        client.post(f"{base}/links", json={"ticket_ids": [number]}),
        client.post(f"{base}/organizations", json={"organization_ids": [number]}),
    ]
    for response in answers:
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("number", [str(TOO_BIG), "²", "9" * 30])
def test_ids_out_of_range_in_forms_say_why(login, incident, number):
    client = login("manager")
    page = f"/incidents/{incident.reference}"
    token = csrf_token(client.get(page).get_data(as_text=True))
    response = client.post(
        "/incidents/new",
        data={"csrf_token": token, "title": "x", "severity": "minor", "from_ticket_id": number},
    )
    assert response.status_code in (400, 422)
    assert "is not a ticket id" in response.get_data(as_text=True)
    forms = [
        (f"{page}/parent", {"ticket_id": number}),
        (f"{page}/merge/confirm", {"target_id": number, "ticket_ids": [number, "5"]}),
        (f"{page}/merge", {"target_id": number, "ticket_ids": ["5"]}),
        (f"{page}/contacts/organizations", {"organization_id": number}),
        (f"{page}/link", {"ticket_ids": [number]}),
    ]
    for path, data in forms:
        response = client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)
        assert response.status_code < 500, path
        assert response.status_code != 200 or "alert" in response.get_data(as_text=True), path


def test_a_lead_name_over_200_characters_is_refused(api, login):
    body = {"title": "x", "severity": "minor", "lead_name": "L" * 201}
    response = api("manager").post("/api/v1/incidents", json=body)
    assert response.status_code == 422
    assert "at most 200 characters" in response.get_json()["message"]
    client = login("manager")
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    response = client.post("/incidents/new", data={"csrf_token": token, **body})
    assert response.status_code in (400, 422)
    assert "at most 200 characters" in response.get_data(as_text=True)


def test_a_contact_name_over_255_characters_is_refused(api, login, incident):
    body = {"email": "new@client.example", "name": "N" * 256}
    response = api("manager").post(f"/api/v1/incidents/{incident.reference}/contacts", json=body)
    assert 400 <= response.status_code < 500
    assert "at most 255 characters" in response.get_json()["message"]
    client = login("manager")
    page = f"/incidents/{incident.reference}"
    token = csrf_token(client.get(page).get_data(as_text=True))
    response = client.post(
        f"{page}/contacts/add", data={"csrf_token": token, **body}, follow_redirects=True
    )
    assert response.status_code < 500
    assert "at most 255 characters" in response.get_data(as_text=True)
    assert "new@client.example" not in api("manager").get(
        f"/api/v1/incidents/{incident.reference}/contacts"
    ).get_data(as_text=True)


def test_a_nul_character_is_refused_by_the_api_and_the_pages_and_nothing_is_kept(
    api, login, incident
):
    """PostgreSQL cannot store a NUL: it was a server error there; now it is a clear 400."""
    body = {"email": "new@client.example", "name": "Nul\x00Name"}
    url = f"/api/v1/incidents/{incident.reference}/contacts"
    response = api("manager").post(url, json=body)
    assert response.status_code == 400
    assert "NUL character" in response.get_json()["message"]
    assert api("manager").get(f"{url}?x=%00").get_json()["error"] == "bad_request"
    client = login("manager")
    page = f"/incidents/{incident.reference}"
    token = csrf_token(client.get(page).get_data(as_text=True))
    response = client.post(f"{page}/contacts/add", data={"csrf_token": token, **body})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert "new@client.example" not in api("manager").get(url).get_data(as_text=True)


def test_deeply_nested_json_is_refused_by_the_api(api, incident):
    client = api("manager")
    for path in ["/api/v1/incidents", f"/api/v1/incidents/{incident.reference}/updates"]:
        response = client.post(path, data=NESTED, content_type="application/json")
        assert response.status_code == 400 and response.get_json()["error"] == "bad_request"
    shallow_but_deep = {
        "title": "x",
        "severity": "minor",
        "keywords": json.loads("[" * 40 + "]" * 40),
    }
    response = client.post("/api/v1/incidents", json=shallow_but_deep)
    assert response.status_code == 400
    assert "deeper than 32 levels" in response.get_json()["message"]
    response = client.post(
        "/api/v1/incidents", data="x" * 1_000_001, content_type="application/json"
    )
    assert response.status_code == 413


def test_a_signed_zendesk_webhook_with_nested_json_or_odd_ids_is_refused(client, incident, clock):
    raw = NESTED.encode()
    request = signed({}, "whsec-test", clock.now())
    request["data"] = raw
    request["headers"]["X-Zendesk-Webhook-Signature"] = sign(
        "whsec-test", request["headers"]["X-Zendesk-Webhook-Signature-Timestamp"], raw
    )
    response = client.post("/api/v1/zendesk/webhook", **request)
    assert response.status_code == 400
    for odd in ["²", str(TOO_BIG), "9" * 40]:
        response = client.post(
            "/api/v1/zendesk/webhook", **signed(event(odd, "Down"), "whsec-test", clock.now())
        )
        assert response.status_code == 400, odd
        assert "is not an id" in response.get_json()["message"]


def test_a_signed_incident_io_webhook_with_nested_json_is_refused(make_app, settings, clock):
    from dataclasses import replace

    from comms.config import IncidentIoSettings

    secret = new_secret()
    app = make_app(replace(settings, incident_io=IncidentIoSettings(webhook_secret=secret)))
    stamp = str(int(clock.now().timestamp()))
    raw = NESTED.encode()
    response = app.test_client().post(
        "/api/v1/incident-io/webhook",
        data=raw,
        content_type="application/json",
        headers={
            "webhook-id": "msg_1",
            "webhook-timestamp": stamp,
            "webhook-signature": svix_sign(secret, "msg_1", stamp, raw),
        },
    )
    assert response.status_code == 400


@pytest.mark.parametrize("odd", ["²", str(TOO_BIG), "1" * 40, "-3"])
def test_odd_paging_numbers_are_a_clear_400(api, incident, odd):
    client = api("manager")
    for query in [f"page[size]={odd}", f"page[after]={odd}"]:
        response = client.get(f"/api/v1/incidents/{incident.reference}/contacts?{query}")
        assert response.status_code == 400, query
        assert "page[" in response.get_json()["message"]
