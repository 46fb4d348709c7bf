"""The incidents API with a bearer token, Zendesk in a sandbox; and the OpenAPI document."""

import json
import re
import time
from datetime import timedelta

import pytest

from comms.sandbox import sign
from tests.conftest import follow


def test_declare_requires_only_title_and_severity(api):
    client = api("manager")
    response = client.post(
        "/api/v1/incidents", json={"title": "Search broken", "severity": "minor"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= {
        "id",
        "reference",
        "title",
        "severity",
        "status",
        "parent_ticket_id",
        "declared_at",
    }
    assert body["reference"] == f"INC-{body['id']}" and body["status"] == "investigating"
    listed = client.get("/api/v1/incidents").get_json()["incidents"]
    assert [i["reference"] for i in listed] == [body["reference"]]
    assert client.get(f"/api/v1/incidents/{body['id']}").get_json()["title"] == "Search broken"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"severity": "minor"}, 422, "invalid"),
        ({"title": "x", "severity": "urgent"}, 422, "invalid"),
        ({"title": "x", "severity": "minor", "keywords": "down"}, 400, "bad_request"),
        ({"title": 7, "severity": "minor"}, 400, "bad_request"),
    ],
)
def test_declare_refuses_bad_bodies_with_json_errors(api, body, status, code):
    response = api("manager").post("/api/v1/incidents", json=body)
    assert response.status_code == status
    assert response.get_json()["error"] == code and response.get_json()["message"]


def test_a_body_that_is_not_an_object_is_refused(api):
    response = api("manager").post("/api/v1/incidents", data="[1]", content_type="application/json")
    assert response.status_code == 400 and "JSON object" in response.get_json()["message"]


def test_viewer_tokens_cannot_declare(api):
    response = api("viewer").post("/api/v1/incidents", json={"title": "x", "severity": "minor"})
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


def test_the_whole_ticket_flow_through_the_api(api, sandbox, desk):
    client = api("manager")
    ref = client.post(
        "/api/v1/incidents",
        json={"title": "WordPress down", "severity": "critical", "keywords": ["down", "503"]},
    ).get_json()["reference"]
    parent = client.post(f"/api/v1/incidents/{ref}/parent-ticket").get_json()
    assert parent["type"] == "problem"
    assert follow(client, client.post(f"/api/v1/incidents/{ref}/candidates"))["state"] == "done"
    candidates = client.get(f"/api/v1/incidents/{ref}/candidates").get_json()["candidates"]
    assert {c["ticket_id"] for c in candidates} == set(desk.tickets[:3])
    linking = follow(
        client, client.post(f"/api/v1/incidents/{ref}/links", json={"ticket_ids": desk.tickets[:2]})
    )
    assert linking["state"] == "done" and [o["ok"] for o in linking["outcomes"]] == [True, True]
    assert sandbox.store.ticket(desk.tickets[1])["problem_id"] == parent["parent_ticket_id"]
    merged = follow(
        client,
        client.post(
            f"/api/v1/incidents/{ref}/merges",
            json={"target_id": desk.tickets[0], "source_ids": [desk.tickets[2]]},
        ),
    )
    assert merged["result"]["merges"][0]["state"] == "done"
    assert "closed_by_merge" in sandbox.store.ticket(desk.tickets[2])["tags"]
    (ledger,) = client.get(f"/api/v1/incidents/{ref}/merges").get_json()["merges"]
    assert ledger["target_id"] == desk.tickets[0] and ledger["source_ids"] == [desk.tickets[2]]
    assert ledger["state"] == "done" and ledger["completed_at"] is not None
    linked = client.get(f"/api/v1/incidents/{ref}/tickets").get_json()["tickets"]
    assert {t["ticket_id"]: t["state"] for t in linked} == {
        desk.tickets[0]: "linked",
        desk.tickets[1]: "linked",
        desk.tickets[2]: "merged",
    }
    kinds = [
        e["kind"] for e in client.get(f"/api/v1/incidents/{ref}/timeline").get_json()["timeline"]
    ]
    assert [k for k in kinds if k != "organizations_added"] == [
        "declared",
        "parent",
        "link",
        "merge",
    ]
    assert "organizations_added" in kinds
    changed = client.patch(
        f"/api/v1/incidents/{ref}",
        json={"severity": "major", "status": "identified", "note": "contained"},
    ).get_json()
    assert changed["severity"] == "major" and changed["status"] == "identified"


def test_declare_from_ticket_as_parent(api, sandbox, desk):
    body = (
        api("manager")
        .post(
            "/api/v1/incidents",
            json={
                "title": "Acme",
                "severity": "major",
                "from_ticket_id": desk.tickets[0],
                "ticket_as_parent": True,
            },
        )
        .get_json()
    )
    assert body["parent_ticket_id"] == desk.tickets[0]
    assert sandbox.store.ticket(desk.tickets[0])["type"] == "problem"


def test_unknown_things_are_404_json(api, sandbox):
    client = api("manager")
    assert client.get("/api/v1/incidents/INC-777").get_json() == {
        "error": "not_found",
        "message": "There is no incident INC-777.",
    }
    ref = client.post("/api/v1/incidents", json={"title": "x", "severity": "minor"}).get_json()[
        "reference"
    ]
    response = client.post(f"/api/v1/incidents/{ref}/parent-ticket", json={"ticket_id": 31337})
    assert (
        response.status_code == 404
        and response.get_json()["message"] == "ticket 31337 does not exist in Zendesk"
    )


def test_zendesk_unreachable_is_a_502_with_a_plain_message(api, sandbox):
    client = api("manager")
    ref = client.post("/api/v1/incidents", json={"title": "x", "severity": "minor"}).get_json()[
        "reference"
    ]
    sandbox.stop()
    response = client.post(f"/api/v1/incidents/{ref}/parent-ticket")
    assert response.status_code == 502
    assert "cannot be reached" in response.get_json()["message"]
    assert client.get(f"/api/v1/incidents/{ref}").get_json()["parent_ticket_id"] is None


def test_openapi_document_matches_the_routes(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routed |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


# --- the Zendesk webhook -------------------------------------------------------------------


def signed(body: dict, secret: str, at) -> dict:
    raw = json.dumps(body).encode()
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "data": raw,
        "content_type": "application/json",
        "headers": {
            "X-Zendesk-Webhook-Signature": sign(secret, stamp, raw),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        },
    }


def event(ticket_id, subject, org_id=None, event_id="ev-1"):
    return {
        "type": "zen:event-type:ticket.created",
        "id": event_id,
        "detail": {
            "id": str(ticket_id),
            "subject": subject,
            "status": "NEW",
            "organization_id": org_id and str(org_id),
            "requester_id": "1",
            "created_at": "2026-03-03T10:59:00Z",
            "description": "",
            "tags": [],
        },
    }


def test_webhook_with_a_good_signature_makes_a_candidate(client, api, incident, clock, settings):
    response = client.post(
        "/api/v1/zendesk/webhook",
        **signed(event(501, "Our site is down"), "whsec-test", clock.now()),
    )
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    candidates = (
        api("viewer")
        .get(f"/api/v1/incidents/{incident.reference}/candidates")
        .get_json()["candidates"]
    )
    assert [(c["ticket_id"], c["source"]) for c in candidates] == [(501, "webhook")]


def test_webhook_ignores_tickets_that_do_not_match(client, api, incident, clock):
    client.post(
        "/api/v1/zendesk/webhook", **signed(event(502, "Invoice query"), "whsec-test", clock.now())
    )
    assert (
        api("viewer")
        .get(f"/api/v1/incidents/{incident.reference}/candidates")
        .get_json()["candidates"]
        == []
    )


def test_webhook_refuses_a_bad_signature(client, incident, clock):
    response = client.post(
        "/api/v1/zendesk/webhook", **signed(event(503, "down"), "wrong-secret", clock.now())
    )
    assert response.status_code == 401 and "does not match" in response.get_json()["message"]
    response = client.post("/api/v1/zendesk/webhook", json=event(503, "down"))
    assert response.status_code == 401 and "no Zendesk signature" in response.get_json()["message"]


def test_webhook_refuses_a_stale_timestamp(client, incident, clock):
    response = client.post(
        "/api/v1/zendesk/webhook",
        **signed(event(504, "down"), "whsec-test", clock.now() - timedelta(minutes=6)),
    )
    assert response.status_code == 401 and "more than 5 minutes" in response.get_json()["message"]


def test_a_replayed_webhook_is_processed_once(client, api, incident, clock, db_session):
    request = signed(event(505, "down again"), "whsec-test", clock.now())
    assert client.post("/api/v1/zendesk/webhook", **request).get_json()["status"] == "accepted"
    assert (
        client.post("/api/v1/zendesk/webhook", **request).get_json()["status"]
        == "already processed"
    )


def test_auto_link_links_new_matching_tickets(client, api, incident, sandbox, desk, clock):
    manager = api("manager")
    parent = manager.post(f"/api/v1/incidents/{incident.reference}/parent-ticket").get_json()
    manager.patch(f"/api/v1/incidents/{incident.reference}", json={"auto_link": True})
    new = sandbox.store.add_ticket(
        subject="Site down for us too", requester_id=desk.bob, organization_id=desk.bravo
    )["id"]
    answer = client.post(
        "/api/v1/zendesk/webhook",
        **signed(event(new, "Site down for us too", desk.bravo, "ev-9"), "whsec-test", clock.now()),
    )
    assert answer.get_json()["candidate_of"] == [incident.reference]
    deadline = time.monotonic() + 30  # the webhook answers at once; linking runs behind it
    while not (
        linked := manager.get(f"/api/v1/incidents/{incident.reference}/tickets").get_json()[
            "tickets"
        ]
    ):
        assert time.monotonic() < deadline, "the new ticket was never linked"
        time.sleep(0.05)
    assert [t["ticket_id"] for t in linked] == [new]
    assert sandbox.store.ticket(new)["problem_id"] == parent["parent_ticket_id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"detail": {"id": [1]}}, "The ticket's id [1] is not an id."),
        ({"detail": {"id": 5, "tags": 5}}, "The ticket's tags are not a list of words."),
        ({"detail": {"id": 5, "tags": "abc"}}, "The ticket's tags are not a list of words."),
        (
            {"detail": {"id": 8, "organization_id": {}}},
            "The ticket's organization_id {} is not an id.",
        ),
        ({"detail": {"id": True}}, "The ticket's id True is not an id."),
        ({"detail": {"id": 9, "created_at": "yesterday"}}, "created_at is not a time"),
        ({"nothing": 1}, "The event carries no ticket id."),
        ([1, 2], "The body is not a JSON object."),
    ],
)
def test_a_signed_but_malformed_webhook_is_a_clear_400(client, incident, clock, body, message):
    response = client.post("/api/v1/zendesk/webhook", **signed(body, "whsec-test", clock.now()))
    assert response.status_code == 400
    assert message in response.get_json()["message"]


def test_a_webhook_body_that_is_not_json_is_a_clear_400(client, incident, clock):
    from comms.sandbox import sign

    stamp = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    response = client.post(
        "/api/v1/zendesk/webhook",
        data=b"not json",
        content_type="application/json",
        headers={
            "X-Zendesk-Webhook-Signature": sign("whsec-test", stamp, b"not json"),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        },
    )
    assert response.status_code == 400 and response.get_json()["message"] == "The body is not JSON."


def test_true_is_not_a_ticket_id(api, sandbox, desk):
    client = api("manager")
    response = client.post(
        "/api/v1/incidents", json={"title": "x", "severity": "minor", "from_ticket_id": True}
    )
    assert (
        response.status_code == 400
        and "from_ticket_id must be a ticket id" in response.get_json()["message"]
    )
    ref = client.post("/api/v1/incidents", json={"title": "x", "severity": "minor"}).get_json()[
        "reference"
    ]
    assert (
        client.post(f"/api/v1/incidents/{ref}/parent-ticket", json={"ticket_id": True}).status_code
        == 400
    )
    assert (
        client.post(f"/api/v1/incidents/{ref}/links", json={"ticket_ids": [True]}).status_code
        == 400
    )


def test_patch_refuses_what_it_cannot_change(api):
    client = api("manager")
    ref = client.post("/api/v1/incidents", json={"title": "x", "severity": "minor"}).get_json()[
        "reference"
    ]
    response = client.patch(f"/api/v1/incidents/{ref}", json={"title": "new title"})
    assert (
        response.status_code == 400
        and "title cannot be changed here" in response.get_json()["message"]
    )
    assert client.patch(f"/api/v1/incidents/{ref}", json={}).status_code == 400
    assert client.get(f"/api/v1/incidents/{ref}").get_json()["title"] == "x"


def test_a_get_of_candidates_never_asks_zendesk_even_with_refresh(api, incident, desk):
    viewer = api("viewer")
    base = f"/api/v1/incidents/{incident.reference}/candidates"
    response = viewer.get(f"{base}?refresh=true")
    assert response.status_code == 400
    assert (
        f"POST /api/v1/incidents/{incident.reference}/candidates" in response.get_json()["message"]
    )
    assert viewer.get(base).get_json()["candidates"] == []  # nothing was added
    assert viewer.post(base).status_code == 403
    manager = api("manager")
    assert follow(manager, manager.post(base))["state"] == "done"
    found = manager.get(base).get_json()["candidates"]
    assert {c["ticket_id"] for c in found} == set(desk.tickets[:3])
    assert len(viewer.get(base).get_json()["candidates"]) == 3
