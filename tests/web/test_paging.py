"""Every list pages, in the API (Zendesk-style cursors) and on the incident page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from comms import timeline
from comms.contacts.models import AffectedOrganization
from comms.contacts.service import add_contact, exclude_contact
from comms.incidents.models import Candidate, Incident, LinkedTicket, MergeRequest
from comms.updates.service import publish
from comms.web.openapi import PAGED

BY = "manager@agency.test"
CONTACTS = 7


@pytest.fixture
def busy(db_session, clock, settings) -> Incident:
    """An incident with a few of everything, several rows sharing a time (ties must page too)."""
    now = clock.now()
    incident = Incident(title="Paged", severity="major", declared_at=now, keywords=[])
    db_session.add(incident)
    db_session.flush()
    for n in range(CONTACTS):
        add_contact(
            db_session,
            incident,
            email=f"c{n}@client.example",
            name=f"C {n}",
            by=BY,
            now=now,
            settings=settings,
        )
    exclude_contact(
        db_session, incident, email="c3@client.example", by=BY, now=now, settings=settings
    )
    for n in range(5):
        db_session.add(
            LinkedTicket(incident_id=incident.id, ticket_id=100 + n, subject=f"T{n}", linked_at=now)
        )
        db_session.add(
            Candidate(
                incident_id=incident.id,
                ticket_id=200 + n,
                subject=f"K{n}",
                found_at=now,
                ticket_created_at=None if n == 2 else now - timedelta(minutes=n % 2),
            )
        )
    for n in range(5):  # names tie, priority clients first: the order has ties to page through
        db_session.add(
            AffectedOrganization(
                incident_id=incident.id,
                organization_id=300 + n,
                name=f"Client {n % 2}",
                priority=n == 3,
                added_how="by id",
                added_at=now,
            )
        )
        db_session.add(
            MergeRequest(
                incident_id=incident.id,
                target_id=100,
                source_key=str(200 + n),
                source_ids=[200 + n],
                state="done",
                requested_at=now,
            )
        )
    for n in range(5):
        timeline.record(db_session, incident, actor=BY, kind="note", summary=f"E{n}", now=now)
    for text in ("One.", "Two.", "Three."):
        publish(db_session, incident, message=text, by=BY, now=now, settings=settings)
    for title in ("Also paged", "Paged again"):  # the list of incidents pages too
        db_session.add(Incident(title=title, severity="minor", declared_at=now, keywords=[]))
    db_session.commit()
    return incident


def read_all(client, url: str, key: str, size: int) -> tuple[list, int]:
    """Follow links.next from the first page to the last: (every row, pages read)."""
    rows, pages = [], 0
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        assert len(body[key]) <= size
        rows += body[key]
        pages += 1
        assert body["meta"]["has_more"] is (body["links"]["next"] is not None)
        url = body["links"]["next"]
    return rows, pages


def test_every_paged_list_of_the_api_pages_to_the_same_rows_as_one_big_page(api, busy):
    client = api("viewer")
    for path, key in PAGED.items():
        url = "/api/v1" + path.replace("{ref}", busy.reference).replace("{number}", "3")
        whole = client.get(url + "?page[size]=1000").get_json()
        assert whole["links"]["next"] is None and whole["meta"]["has_more"] is False
        assert len(whole[key]) >= 3, path
        rows, pages = read_all(client, url + "?page[size]=2", key, 2)
        assert rows == whole[key], path  # the same rows, once each, in the same order
        assert pages == (len(rows) + 1) // 2, path


def test_the_api_pages_hold_the_documented_shape_and_parameters(api, busy):
    document = api("viewer").get("/api/v1/openapi.json").get_json()
    for path, key in PAGED.items():
        operation = document["paths"][path]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"page[size]", "page[after]"} <= names, path
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert {key, "meta", "links"} <= set(schema["required"]), path


def test_the_contacts_pages_by_default_and_keeps_the_filter_of_excluded(api, busy):
    client = api("viewer")
    url = f"/api/v1/incidents/{busy.reference}/contacts"
    rows, _ = read_all(client, url + "?page[size]=3", "contacts", 3)
    assert len(rows) == CONTACTS - 1 and "c3@client.example" not in {r["email"] for r in rows}
    rows, _ = read_all(client, url + "?excluded=1&page[size]=3", "contacts", 3)
    assert len(rows) == CONTACTS and any(r["excluded"] for r in rows)


@pytest.mark.parametrize(
    "query",
    ["page[size]=0", "page[size]=1001", "page[size]=ten", "page[after]=x", "page[after]=-1"],
)
def test_a_bad_page_is_a_clear_400(api, busy, query):
    answer = api("viewer").get(f"/api/v1/incidents/{busy.reference}/timeline?{query}")
    assert answer.status_code == 400 and answer.get_json()["error"]
    assert "page[" in answer.get_json()["message"]


def test_a_cursor_of_another_list_is_a_400(api, busy, db_session, clock):
    other = Incident(title="Other", severity="minor", declared_at=clock.now(), keywords=[])
    db_session.add(other)
    db_session.flush()
    event = timeline.record(db_session, other, actor=BY, kind="note", summary="x", now=clock.now())
    db_session.commit()
    url = f"/api/v1/incidents/{busy.reference}/timeline?page[after]={event.id}"
    answer = api("viewer").get(url)
    assert answer.status_code == 400 and "not a row of this list" in answer.get_json()["message"]


def test_the_incident_page_lists_each_section_in_pages(login, busy, monkeypatch):
    from comms.web import incidents, updates

    monkeypatch.setattr(incidents, "ROWS", 2)
    monkeypatch.setattr(updates, "HISTORY_ROWS", 2)
    client = login("viewer")
    linked = r'<tr><td><a href="[^"]*" target="_blank" rel="noopener">(10\d)</a>'
    for section, name, shown in (
        ("tickets", "candidates", r'id="cand-(\d+)"'),
        ("tickets", "linked", linked),
        ("tickets", "merges", r"<li>Into 100: (\d+) —"),
        ("timeline", "timeline", r"<td>(E\d)</td>"),
        ("updates", "updates", r'data-update="(\d+)"'),
    ):
        url, seen = f"/incidents/{busy.reference}/{section}", []
        while url:
            page = client.get(url).get_data(as_text=True)
            found = re.findall(shown, page)
            assert len(found) <= 2, (name, found)
            seen += found
            following = re.search(rf'href="([^"]*{name}_after=\d+)[^"]*"', page)
            url = following.group(1).replace("&amp;", "&") if following else ""
        assert len(seen) == len(set(seen)) and len(seen) >= 3, (name, seen)
    assert client.get(f"/incidents/{busy.reference}/tickets?linked_after=x").status_code == 400
    answer = client.get(f"/incidents/{busy.reference}/timeline?timeline_after=999999")
    assert answer.status_code == 400


def test_the_csv_exports_stream_every_row(login, api, busy):
    client = login("viewer")
    for url, rows in (
        (f"/incidents/{busy.reference}/contacts/contacts.csv", CONTACTS - 1),
        (f"/api/v1/incidents/{busy.reference}/contacts?format=csv", CONTACTS - 1),
        (f"/incidents/{busy.reference}/timeline.csv", None),
    ):
        answer = (api("viewer") if url.startswith("/api/") else client).get(url)
        assert answer.status_code == 200 and answer.is_streamed, url
        lines = answer.get_data(as_text=True).splitlines()
        if rows is not None:
            assert len(lines) == 1 + rows, url
        else:
            assert sum(1 for line in lines if ",note,E" in line) == 5
