"""The contacts section of the incident page, through the test client, as a comms manager would."""

from __future__ import annotations

import csv
import io
import re

import pytest
import requests

from tests.conftest import csrf_token, wait_for


@pytest.fixture
def incident(make_incident):
    return make_incident("major")


def page_of(client, incident) -> str:
    return client.get(f"/incidents/{incident.reference}/contacts").get_data(as_text=True)


def post(client, incident, path: str, **form) -> str:
    """Post a form of the contacts section and follow the redirect back to the page."""
    token = csrf_token(page_of(client, incident))
    url = f"/incidents/{incident.reference}/contacts/{path}"
    response = client.post(url, data={"csrf_token": token, **form}, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def wait_for_refresh(client, incident) -> None:
    url = f"/incidents/{incident.reference}/contacts/refresh"
    wait_for(lambda: not client.get(url).get_json()["running"], "the refresh", timeout=60)


def test_manager_adds_by_tag_refreshes_excludes_and_downloads(login, incident, clients):
    client = login("manager")
    page = post(client, incident, "organizations/tag", tag="platform_wp")
    assert "Added 2 affected organisation(s): Acme, Bravo" in page
    wait_for_refresh(client, incident)
    page = post(client, incident, "refresh")
    assert "Contacts refreshed: 5 contacts from 2 organisations." in page
    assert "tag platform_wp" in page and "priority client" in page
    assert "senior stakeholder of Acme" in page
    assert "regular contact of Acme; regular contact of Bravo" in page
    assert "Last read from Zendesk" in page and "0 min ago" in page
    page = post(client, incident, "exclude", email="bob@bravo.example")
    assert "Excluded bob@bravo.example from the contacts." in page
    assert "excluded by hand by manager@agency.test" in page and ">Include<" in page
    response = client.get(f"/incidents/{incident.reference}/contacts/contacts.csv")
    assert response.headers["Content-Disposition"].endswith(
        f'filename="{incident.reference}-contacts.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [r[1] for r in rows[1:]] == [
        "ann@acme.example",
        "boss@acme.example",
        "Pat@Both.example",
        "reggie@acme.example",
    ]
    page = post(client, incident, "include", email="bob@bravo.example")
    assert "Included bob@bravo.example again." in page


def test_search_as_you_type_then_add_by_name(login, incident, clients):
    client = login("manager")
    found = client.get(f"/incidents/{incident.reference}/contacts/organizations/search?q=Ac")
    assert found.get_json()["organizations"] == [
        {
            "id": clients.acme,
            "name": "Acme",
            "tags": ["platform_wp", "priority_client"],
            "priority": True,
            "affected": False,
        }
    ]
    page = post(client, incident, "organizations", organization_id=str(clients.acme))
    assert "Added 1 affected organisation(s): Acme" in page
    assert "by name, by manager@agency.test" in page
    wait_for_refresh(client, incident)
    found = client.get(f"/incidents/{incident.reference}/contacts/organizations/search?q=Ac")
    assert found.get_json()["organizations"][0]["affected"] is True
    page = post(client, incident, f"organizations/{clients.acme}/remove")
    assert "Organisation removed" in page and "No affected organisations yet." in page


def test_a_bad_address_is_refused_and_the_input_kept(login, incident):
    client = login("manager")
    page = post(client, incident, "add", email="ann at acme", name="Ann")
    assert "“ann at acme” is not an e-mail address" in page
    assert 'value="ann at acme"' in page and 'value="Ann"' in page
    page = post(client, incident, "add", email="ann@acme.example", name="Ann")
    assert "added by hand by manager@agency.test" in page


def test_zendesk_outage_is_flashed_and_the_list_kept(login, incident, clients, sandbox):
    client = login("manager")
    post(client, incident, "organizations/tag", tag="platform_wp")
    wait_for_refresh(client, incident)
    sandbox.fail_next(".*", count=1000, status=503)
    page = post(client, incident, "organizations/tag", tag="platform_drupal")
    assert "keeps failing (HTTP 503)" in page and 'value="platform_drupal"' in page
    page = post(client, incident, "refresh")
    assert "The contacts were not refreshed (the last list is kept): Zendesk at" in page
    assert "The last refresh failed: Zendesk at http://127.0.0.1:" in page
    assert "senior stakeholder of Acme" in page and "Charlie" not in page


def test_viewers_see_but_cannot_change(login, incident, clients):
    manager = login("manager")
    post(manager, incident, "organizations/tag", tag="platform_wp")
    wait_for_refresh(manager, incident)
    viewer = login("viewer")
    page = page_of(viewer, incident)
    assert (
        "senior stakeholder of Acme" in page
        and "Add by tag" not in page
        and ">Exclude<" not in page
    )
    token = csrf_token(page)
    for path, form in [
        ("organizations/tag", {"tag": "x"}),
        ("refresh", {}),
        ("exclude", {"email": "ann@acme.example"}),
    ]:
        response = viewer.post(
            f"/incidents/{incident.reference}/contacts/{path}", data={"csrf_token": token, **form}
        )
        assert response.status_code == 403
    # Closed, as a web server closes it: a streamed response holds its session until then.
    with viewer.get(f"/incidents/{incident.reference}/contacts/contacts.csv") as download:
        assert download.status_code == 200


def test_a_long_refresh_carries_on_in_the_background(
    login, incident, clients, sandbox, monkeypatch
):
    from comms.web import contacts as view

    client = login("manager")
    post(client, incident, "organizations/tag", tag="platform_wp")
    wait_for_refresh(client, incident)
    monkeypatch.setattr(view, "WAIT_SECONDS", 0)
    sandbox.set_latency(300)
    page = post(client, incident, "refresh")
    assert "Reading the contacts from Zendesk:" in page and 'id="contacts-progress"' in page
    progress = client.get(f"/incidents/{incident.reference}/contacts/refresh").get_json()
    assert progress["running"] is True
    wait_for_refresh(client, incident)
    done = client.get(f"/incidents/{incident.reference}/contacts/refresh").get_json()
    assert done == {
        "running": False,
        "done": 2,
        "total": 2,
        "ok": True,
        "error": "",
        "contacts": 5,
        "note": "",
    }


def test_a_refresh_waiting_for_the_rate_limit_says_so(
    login, incident, clients, sandbox, monkeypatch
):
    from comms.web import contacts as view

    client = login("manager")
    post(client, incident, "organizations/tag", tag="platform_wp")
    wait_for_refresh(client, incident)
    monkeypatch.setattr(view, "WAIT_SECONDS", 0)
    sandbox.set_rate_limit(2, window_s=5.0)  # two requests a "minute" of 5 s
    other_app = requests.Session()
    other_app.auth = ("agent@agency.test/token", "sandbox")
    for _ in range(2):  # another app on the account uses up this minute
        assert other_app.get(f"{sandbox.url}/api/v2/tickets.json").ok
    post(client, incident, "refresh")
    url = f"/incidents/{incident.reference}/contacts/refresh"
    notes = []
    while (progress := client.get(url).get_json())["running"]:
        notes.append(progress["note"])
    assert any(n.startswith("Waiting ") and "rate limit" in n for n in notes), set(notes)
    assert progress["ok"] is True and progress["contacts"] == 5


def test_a_resolved_incident_is_read_only(login, incident, db_session):
    incident.status = "resolved"
    db_session.commit()
    client = login("manager")
    assert "Add by tag" not in page_of(client, incident)
    page = post(client, incident, "add", email="a@b.example")
    assert f"{incident.reference} is resolved: its contacts no longer change." in page


def test_a_long_list_is_listed_in_page_and_filtered_on_the_server(
    login, incident, db_session, clock, settings
):
    from comms.contacts import service
    from comms.web.contacts import PAGE_ROWS

    total = PAGE_ROWS + 12
    for n in range(total):
        service.add_contact(
            db_session,
            incident,
            email=f"person{n:03d}@client{n % 3}.example",
            name=f"Person {n:03d}",
            by="m",
            now=clock.now(),
            settings=settings,
        )
    db_session.commit()
    client = login("manager")

    def table(page: str) -> str:
        return page.split('id="contact-table"')[1].split("</table>")[0]

    page = page_of(client, incident)
    assert f"Listing {PAGE_ROWS} of {total}." in page and f"Next {PAGE_ROWS}</a>" in page
    assert f"person{PAGE_ROWS - 1:03d}@" in table(page)
    assert f"person{PAGE_ROWS:03d}@" not in table(page)
    following = re.search(r'href="([^"]*contacts_after=[^"]*)"', page)
    assert following is not None
    page = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f"Listing {PAGE_ROWS + 1}–{total} of {total}." in page and "Next " not in page
    assert f"person{total - 1:03d}@" in table(page) and "person000@" not in table(page)
    page = client.get(f"/incidents/{incident.reference}/contacts?contacts_q=PERSON00").get_data(
        as_text=True
    )
    assert f"Listing 10 of 10 (filtered from {total})." in page
    assert "person009@client0" in table(page) and "person010@" not in table(page)


def test_a_filter_matching_many_counts_them_up_to_a_bound(
    login, incident, db_session, clock, settings, monkeypatch
):
    from comms.contacts import service, stored

    monkeypatch.setattr(stored, "MATCHES_COUNTED", 20)
    for n in range(30):
        service.add_contact(
            db_session,
            incident,
            email=f"person{n:03d}@client.example",
            name="",
            by="m",
            now=clock.now(),
            settings=settings,
        )
    db_session.commit()
    client = login("manager")
    filtered = f"/incidents/{incident.reference}/contacts?contacts_q="
    page = client.get(filtered + "client").get_data(as_text=True)
    assert "Listing 30 of more than 20 (filtered from 30)." in page
    assert "person029@" in page
    page = client.get(filtered + "person01").get_data(as_text=True)
    assert "Listing 10 of 10 (filtered from 30)." in page


def test_the_affected_organisations_are_listed_in_pages(
    login, incident, db_session, settings, clock
):
    from comms.contacts.models import AffectedOrganization
    from comms.contacts.stored import rebuild
    from comms.web.contacts import ORG_ROWS

    total = ORG_ROWS + 3
    for n in range(total):
        db_session.add(
            AffectedOrganization(
                incident_id=incident.id,
                organization_id=1000 + n,
                name=f"Client {n:03d}",
                tags=[],
                added_how="by hand",
                added_by="m",
                added_at=clock.now(),
            )
        )
    db_session.flush()
    rebuild(db_session, incident, settings)
    db_session.commit()
    client = login("manager")

    page = page_of(client, incident)
    assert f"Listing {ORG_ROWS} of {total}." in page
    assert f"Client {ORG_ROWS - 1:03d}" in page and f"Client {ORG_ROWS:03d}" not in page
    following = re.search(r'href="([^"]*orgs_after=[^"]*)"', page)
    assert following is not None
    page = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f"Client {total - 1:03d}" in page and "Client 000" not in page
    assert "orgs_after=" not in page
