"""The updates API: publish or save, list with counts, deliveries, schedule, resolve."""

from __future__ import annotations

import pytest

from tests.updates.conftest import contact_address
from tests.updates.test_web import wait_for_senders


@pytest.fixture
def incident(make_incident):
    return make_incident("major", contacts=2)


def test_save_then_send_then_list_with_counts(app, api, incident, catcher):
    client = api("manager")
    base = f"/api/v1/incidents/{incident.reference}"
    saved = client.post(f"{base}/updates", json={"message": "Slow sites.", "send_now": False})
    assert saved.status_code == 200 and saved.get_json() == {
        "saved": True,
        "current_message": "Slow sites.",
    }
    assert client.get(f"{base}/updates").get_json()["updates"] == []

    catcher.fail_next(550, stage="rcpt")
    sent = client.post(f"{base}/updates", json={"message": "Slow sites."})
    assert sent.status_code == 201
    body = sent.get_json()
    assert body["number"] == 1 and body["kind"] == "initial" and body["recipients"] == 2
    wait_for_senders(app)

    listed = client.get(f"{base}/updates").get_json()
    assert listed["next_update_due_at"] and listed["paused"] is False
    counts = listed["updates"][0]["counts"]
    assert (counts["sent"], counts["failed"], counts["pending"]) == (1, 1, 0)
    deliveries = client.get(f"{base}/updates/1/deliveries").get_json()["deliveries"]
    failed = [d for d in deliveries if d["state"] == "failed"]
    assert len(deliveries) == 2 and failed[0]["smtp_reply"].startswith("550")
    assert client.get(f"{base}/updates/9/deliveries").status_code == 404


def test_preview(api, incident):
    response = api("manager").post(
        f"/api/v1/incidents/{incident.reference}/updates/preview",
        json={"message": "News", "email": contact_address(2)},
    )
    assert response.status_code == 200 and "Dear Contact 2," in response.get_json()["text"]


def test_schedule_pause_needs_a_reason(api, incident):
    client = api("manager")
    url = f"/api/v1/incidents/{incident.reference}/schedule"
    refused = client.post(url, json={"paused": True})
    assert refused.status_code == 409 and refused.get_json()["error"] == "refused"
    paused = client.post(url, json={"paused": True, "reason": "Vendor"}).get_json()
    assert paused["paused"] is True and paused["reason"] == "Vendor"
    assert client.post(url, json={"paused": False}).get_json()["paused"] is False
    assert client.post(url, json={"paused": "yes"}).status_code == 400


def test_resolve_then_no_more_updates(app, api, incident, catcher):
    client = api("manager")
    base = f"/api/v1/incidents/{incident.reference}"
    resolved = client.post(f"{base}/resolve", json={"message": "Fixed.", "solve_parent": True})
    body = resolved.get_json()
    assert resolved.status_code == 200 and body["status"] == "resolved" and body["update"] == 1
    assert body["parent_solved"] is False and "no parent ticket" in body["zendesk_problem"]
    wait_for_senders(app)
    assert len(catcher.messages) == 2
    again = client.post(f"{base}/updates", json={"message": "More"})
    assert again.status_code == 409 and "resolved" in again.get_json()["message"]


def test_errors_are_json(api, incident):
    client = api("manager")
    assert (
        client.post("/api/v1/incidents/INC-999/updates", json={"message": "x"}).get_json()["error"]
        == "not_found"
    )
    assert (
        client.post(f"/api/v1/incidents/{incident.reference}/updates", json={}).status_code == 400
    )
    viewer = api("viewer")
    assert (
        viewer.post(
            f"/api/v1/incidents/{incident.reference}/updates", json={"message": "x"}
        ).status_code
        == 403
    )
