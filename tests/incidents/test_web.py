"""The incident screens through the test client, with Zendesk in a sandbox."""

import re

from comms.incidents import service
from comms.operations.models import ACTIVE
from tests.conftest import csrf_token, wait_for


def finished(client, location: str) -> str:
    """Wait, as the page's script does, for the background link or merge, then read the page."""
    address = r"/incidents/([^/?#]+)(?:/\w+)?\?operation=(\d+)"  # any section follows it
    ref, operation = re.search(address, location).groups()
    progress = f"/incidents/{ref}/operations/{operation}"
    wait_for(
        lambda: client.get(progress).get_json()["state"] not in ACTIVE, "the operation", timeout=60
    )
    return client.get(location).get_data(as_text=True)


def post(client, url, data, page_url="/"):
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_declare_form_explains_severities(login):
    page = login("manager").get("/incidents/new").get_data(as_text=True)
    assert "outage of one or more sites" in page
    assert "Major functionality (such as site search) broken" in page
    assert 'name="csrf_token"' in page


def test_declaring_from_the_form_opens_the_incident_page(login, db_session, users):
    client = login("manager")
    response = post(
        client,
        "/incidents/new",
        {
            "title": "Search broken",
            "severity": "major",
            "business_unit": "Hosting",
            "comms_manager_id": str(users["manager"].id),
            "keywords": "search, results",
        },
    )
    assert response.status_code == 302
    overview = response.headers["Location"]
    page = client.get(overview).get_data(as_text=True)
    assert "Search broken" in page and "What is left to do" in page
    assert "Declared INC-" in client.get(f"{overview}/timeline").get_data(as_text=True)
    [incident] = service.list_incidents(db_session)
    assert incident.keywords == ["search", "results"]
    dashboard = client.get("/").get_data(as_text=True)
    assert incident.reference in dashboard and "major" in dashboard


def test_a_bad_declaration_keeps_what_was_typed(login):
    response = post(
        login("manager"),
        "/incidents/new",
        {"title": "two\nlines", "severity": "major", "description": "keep me"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "control characters" in page and "keep me" in page


def test_declaring_from_a_ticket_links_it_under_a_new_parent(login, db_session, sandbox, desk):
    client = login("manager")
    response = post(
        client,
        "/incidents/new",
        {"title": "Acme down", "severity": "critical", "from_ticket_id": str(desk.tickets[0])},
    )
    overview = response.headers["Location"]
    [incident] = service.list_incidents(db_session)
    assert incident.parent_ticket_id
    assert sandbox.store.ticket(desk.tickets[0])["problem_id"] == incident.parent_ticket_id
    assert "Acme Museum" in client.get(f"{overview}/contacts").get_data(as_text=True)
    tickets = client.get(f"{overview}/tickets").get_data(as_text=True)
    assert f"agent/tickets/{desk.tickets[0]}" in tickets


def test_declaring_from_an_unknown_ticket_says_so_and_keeps_the_form(login, db_session, sandbox):
    response = post(
        login("manager"),
        "/incidents/new",
        {"title": "Acme down", "severity": "critical", "from_ticket_id": "424242"},
    )
    assert response.status_code == 422
    assert "ticket 424242 does not exist in Zendesk" in response.get_data(as_text=True)
    assert service.list_incidents(db_session) == []


def test_create_parent_find_candidates_link_and_see_them_linked(login, incident, sandbox, desk):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    post(client, f"{url}/parent", {}, url)
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    page = client.get(f"{url}/tickets").get_data(as_text=True)
    assert "Website down" in page and "503 errors on our site" in page
    response = post(client, f"{url}/link", {"ticket_ids": [str(t) for t in desk.tickets[:2]]}, url)
    assert "operation=" in response.headers["Location"]
    page = finished(client, response.headers["Location"])
    linked = page.split('id="linked-tickets"')[1]
    assert "Website down" in linked and "503 errors on our site" in linked
    assert re.search(r"Linking: <span id=\"operation-state\">done", page)


def test_zendesk_down_while_linking_is_said_plainly(login, incident, sandbox, desk, db_session):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    post(client, f"{url}/parent", {}, url)
    sandbox.fail_next(r"/api/v2/tickets/show_many", count=10, status=503)
    response = post(client, f"{url}/link", {"ticket_ids": [str(desk.tickets[0])]}, url)
    page = finished(client, response.headers["Location"])
    assert "failed" in page and "Zendesk" in page
    assert "No tickets linked yet." in page


def test_merge_asks_for_confirmation_first(login, incident, sandbox, desk):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    page = post(
        client,
        f"{url}/merge/confirm",
        {"target_id": str(desk.tickets[0]), "ticket_ids": [str(desk.tickets[2])]},
        url,
    ).get_data(as_text=True)
    assert "cannot be undone" in page
    assert sandbox.store.ticket(desk.tickets[2])["status"] != "closed"
    response = post(
        client,
        f"{url}/merge",
        {"target_id": str(desk.tickets[0]), "ticket_ids": [str(desk.tickets[2])]},
        url,
    )
    page = finished(client, response.headers["Location"])
    assert sandbox.store.ticket(desk.tickets[2])["status"] == "closed"
    assert 'Merging: <span id="operation-state">done' in page


def test_severity_and_status_controls(login, incident, db_session):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    changed = post(client, f"{url}/severity", {"severity": "critical", "note": "spreading"}, url)
    assert changed.headers["Location"].endswith(url)  # posted from the Overview
    assert f"{incident.reference} is critical now." in client.get(url).get_data(as_text=True)
    form = {"status": "identified", "note": "", "section": "tickets"}
    changed = post(client, f"{url}/status", form, url)
    assert changed.headers["Location"].endswith(f"{url}/tickets")  # back where it was posted
    assert f"{incident.reference} is identified now." in client.get(url).get_data(as_text=True)
    page = client.get(f"{url}/timeline").get_data(as_text=True)
    assert (
        "Severity raised from major to critical" in page
        and "Status changed from investigating to identified" in page
    )


def test_a_viewer_sees_but_cannot_change(login, incident):
    client = login("viewer")
    url = f"/incidents/{incident.reference}"
    page = client.get(url).get_data(as_text=True)
    assert incident.title in page and "Change severity" not in page
    assert post(client, f"{url}/severity", {"severity": "critical"}, url).status_code == 403


def test_an_unknown_incident_is_404(login):
    assert login("manager").get("/incidents/INC-9999").status_code == 404
