"""The incident page's sections: each at its own address, under one header that says where things stand."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from comms.contacts.service import add_contact
from comms.incidents.models import Incident
from tests.conftest import csrf_token

SECTIONS = {
    "": "Overview",
    "/tickets": "Tickets",
    "/contacts": "Contacts",
    "/updates": "Updates",
    "/timeline": "Timeline",
    "/after": "After the incident",
}


@pytest.fixture
def incident(db_session, clock, settings) -> Incident:
    found = Incident(title="Sites are slow", severity="major", declared_at=clock.now(), keywords=[])
    db_session.add(found)
    db_session.flush()
    for n in range(2):
        add_contact(
            db_session,
            found,
            email=f"c{n}@client.example",
            name=f"C {n}",
            by="manager@agency.test",
            now=clock.now(),
            settings=settings,
        )
    db_session.commit()
    return found


def nav(page: str) -> dict[str, str]:
    """The section links of the page: label → address, and which one is the current page."""
    block = page.split('<nav class="sections"')[1].split("</nav>")[0]
    links = re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', block)
    return {label: href + (" (current)" if current else "") for href, current, label in links}


def test_each_section_has_its_own_address_and_links_to_every_other(login, incident):
    client = login("viewer")
    ref = f"/incidents/{incident.reference}"
    for suffix, label in SECTIONS.items():
        answer = client.get(ref + suffix)
        assert answer.status_code == 200, suffix
        links = nav(answer.get_data(as_text=True))
        assert links[label] == f"{ref}{suffix} (current)"
        assert {k: v.removesuffix(" (current)") for k, v in links.items()} == {
            other: ref + path for path, other in SECTIONS.items()
        }


def test_the_header_says_when_the_next_update_goes_out_and_counts_what_matters(
    login, incident, db_session, clock
):
    incident.next_update_due_at = clock.now() + timedelta(minutes=12)
    db_session.commit()
    page = login("viewer").get(f"/incidents/{incident.reference}/timeline").get_data(as_text=True)
    head = page.split('id="incident-head"')[1].split("</nav>")[0]
    assert "Client updates:</strong> next update 11:12 (in 12 min)" in head
    counts = re.sub(r"<[^>]+>", "", head.split('id="head-counts">')[1].split("</ul>")[0])
    assert " ".join(counts.split()) == (
        "2 contacts 0 organisations 0 linked tickets 0 new candidates 0 failed deliveries"
    )
    assert "Change severity" not in head and "Send an update now" not in head  # a viewer


def test_pausing_from_the_header_returns_to_that_section_and_says_who_paused(
    login, incident, users
):
    client = login("manager")
    url = f"/incidents/{incident.reference}/contacts"
    page = client.get(url).get_data(as_text=True)
    assert "Send an update now" in page and "Pause updates" in page and "Resolve…" in page
    answer = client.post(
        f"/incidents/{incident.reference}/updates/schedule",
        data={
            "paused": "1",
            "reason": "Waiting for the host",
            "section": "contacts",
            "csrf_token": csrf_token(page),
        },
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert "Automatic updates paused." in page
    name = users["manager"].name
    assert f"Client updates:</strong> paused by {name} at 11:00" in page
    assert "Waiting for the host" in page
    assert "Resume updates" in page and "Pause updates" not in page


def test_the_overview_lists_what_is_left_to_do_in_the_order_of_the_work(login, incident):
    page = login("manager").get(f"/incidents/{incident.reference}").get_data(as_text=True)
    steps = page.split('<ol class="steps">')[1].split("</ol>")[0]
    found = re.findall(
        r'<span class="step-mark">([^<]+)</span>\s*(?:<a href="([^"]+)">)?([^<]+)', steps
    )
    ref = f"/incidents/{incident.reference}"
    assert [(mark, link, label.strip()) for mark, link, label in found] == [
        ("To do", f"{ref}/tickets", "Parent ticket in Zendesk"),
        ("To do", f"{ref}/contacts", "Affected organisations"),
        ("Done", "", "Contacts who receive the updates"),
        ("To do", f"{ref}/updates#compose", "First update to clients"),
        ("To do", f"{ref}/updates", "The schedule of updates"),
    ]
    assert "What is left to do" in page


def test_a_section_that_does_not_exist_is_a_404_and_a_bad_cursor_a_400(login, incident):
    client = login("viewer")
    assert client.get(f"/incidents/{incident.reference}/nothing").status_code == 404
    assert client.get("/incidents/INC-999999/tickets").status_code == 404
    assert client.get(f"/incidents/{incident.reference}/tickets?linked_after=x").status_code == 400


def test_a_manager_is_offered_what_can_be_done_in_each_section_and_nothing_done(
    login, incident, db_session
):
    client = login("manager")
    ref = f"/incidents/{incident.reference}"
    assert "Create the parent ticket" in client.get(f"{ref}/tickets").get_data(as_text=True)
    assert "Add an address by hand" in client.get(f"{ref}/contacts").get_data(as_text=True)
    assert "Resolution message" in client.get(f"{ref}/updates").get_data(as_text=True)
    incident.parent_ticket_id = 4242
    db_session.commit()
    tickets = client.get(f"{ref}/tickets").get_data(as_text=True)
    assert "Create the parent ticket" not in tickets and "Ticket 4242 in Zendesk" in tickets


def test_solving_the_parent_is_offered_until_it_is_solved(login, incident, db_session, clock):
    from comms import timeline

    incident.status, incident.resolved_at, incident.parent_ticket_id = "resolved", clock.now(), 77
    db_session.commit()
    client = login("manager")
    url = f"/incidents/{incident.reference}/updates"
    assert "Solve parent ticket #77 in Zendesk" in client.get(url).get_data(as_text=True)
    timeline.record(
        db_session, incident, actor="m", kind="parent_solved", summary="Solved", now=clock.now()
    )
    db_session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Solve parent ticket" not in page and "Parent ticket #77 is solved in Zendesk." in page
    assert "Send an update now" not in page and "Pause updates" not in page  # resolved
    assert "Client updates:</strong> resolved" in page
