"""The incidents list: every incident, newest first, filtered, searched and paged."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from comms.incidents.models import Incident
from comms.web.dashboard import LIST_PAGE_SIZE


@pytest.fixture
def make(db_session, clock):
    def _make(title: str, severity: str = "major", status: str = "investigating", **fields):
        incident = Incident(
            title=title,
            severity=severity,
            status=status,
            declared_at=clock.now(),
            keywords=[],
            resolved_at=clock.now() if status == "resolved" else None,
            **fields,
        )
        db_session.add(incident)
        db_session.commit()
        return incident

    return _make


def references(page: str) -> list[str]:
    """The incidents the list shows, in its order."""
    return re.findall(r'<a href="/incidents/(INC-\d+)">', page)


def test_the_list_shows_open_and_resolved_newest_first_and_the_nav_links_to_it(login, make):
    old = make("Mail delayed", status="resolved")
    new = make("Sites down", severity="critical")
    client = login("viewer")
    assert 'href="/incidents">All incidents</a>' in client.get("/").get_data(as_text=True)
    page = client.get("/incidents").get_data(as_text=True)
    assert references(page) == [new.reference, old.reference]


def test_filters_by_status_and_severity_and_searches_reference_or_title(login, make):
    resolved = make("Mail delayed", severity="minor", status="resolved")
    down = make("Sites down 100%_", severity="critical")
    slow = make("Search slow", severity="minor", status="monitoring")
    client = login("viewer")

    def shown(query: str) -> list[str]:
        response = client.get(f"/incidents?{query}")
        assert response.status_code == 200
        return references(response.get_data(as_text=True))

    assert shown("status=open") == [slow.reference, down.reference]
    assert shown("status=resolved") == [resolved.reference]
    assert shown("severity=minor") == [slow.reference, resolved.reference]
    assert shown("severity=minor&status=open") == [slow.reference]
    assert shown("q=SEARCH") == [slow.reference]
    assert shown(f"q={resolved.reference.lower()}") == [resolved.reference]
    assert shown("q=100%25_") == [down.reference]  # % and _ are letters here, not wildcards
    assert shown("q=wn%25") == []  # a wildcard would match "down 100%"
    assert "No incident matches" in client.get("/incidents?q=nothing").get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["status=closed", "severity=huge", "after=abc", "after=999999", "status=open&after=1"]
)
def test_a_filter_or_cursor_it_does_not_know_is_a_400_that_says_why(login, make, query):
    make("Resolved one", status="resolved")  # id 1 on SQLite: not an open incident
    make("Open one")
    response = login("viewer").get(f"/incidents?{query}")
    assert response.status_code == 400
    assert "must be" in response.get_data(as_text=True) or "not a row" in response.get_data(
        as_text=True
    )


def test_the_list_pages_with_a_cursor_that_keeps_the_filters(login, make, db_session):
    made = [make(f"Outage {n}", severity="minor") for n in range(LIST_PAGE_SIZE + 3)]
    make("Not minor", severity="major")
    client = login("viewer")
    first = client.get("/incidents?severity=minor").get_data(as_text=True)
    newest = [i.reference for i in reversed(made)]
    assert references(first) == newest[:LIST_PAGE_SIZE]
    next_url = re.search(r'href="([^"]+)">Older incidents', first).group(1).replace("&amp;", "&")
    assert "severity=minor" in next_url
    second = client.get(next_url).get_data(as_text=True)
    assert references(second) == newest[LIST_PAGE_SIZE:]
    assert "Older incidents" not in second


def test_a_resolved_incident_offers_its_follow_up_one_click_away(login, make, clock):
    review = clock.now() + timedelta(days=7)
    resolved = make("Mail delayed", status="resolved", review_at=review)
    make("Sites down")
    client = login("viewer")
    page = client.get("/incidents?status=resolved").get_data(as_text=True)
    ref = resolved.reference
    for link in (
        f"/incidents/{ref}/after",
        f"/incidents/{ref}/report",
        f"/incidents/{ref}/review.ics",
    ):
        assert f'href="{link}"' in page
    assert client.get(f"/incidents/{ref}/after").status_code == 200
    assert client.get(f"/incidents/{ref}/report").status_code == 200
    invite = client.get(f"/incidents/{ref}/review.ics")
    assert invite.status_code == 200 and b"BEGIN:VCALENDAR" in invite.data
    assert "/report" not in client.get("/incidents?status=open").get_data(as_text=True)


def test_the_api_lists_with_the_same_filters_and_pages_and_the_document_says_so(api, make):
    resolved = make("Mail delayed", severity="minor", status="resolved")
    down = make("Sites down", severity="critical")
    client = api("viewer")

    def listed(query: str) -> list[str]:
        answer = client.get(f"/api/v1/incidents?{query}")
        assert answer.status_code == 200, answer.get_json()
        return [i["reference"] for i in answer.get_json()["incidents"]]

    assert listed("") == [down.reference, resolved.reference]
    assert listed("status=resolved") == [resolved.reference]
    assert listed("severity=critical&q=sites") == [down.reference]
    first = client.get("/api/v1/incidents?page[size]=1").get_json()
    assert [i["reference"] for i in first["incidents"]] == [down.reference]
    assert client.get(first["links"]["next"]).get_json()["incidents"][0]["id"] == resolved.id
    refused = client.get("/api/v1/incidents?status=closed")
    assert refused.status_code == 400 and "status must be one of" in refused.get_json()["message"]
    document = client.get("/api/v1/openapi.json").get_json()
    names = {p["name"] for p in document["paths"]["/incidents"]["get"]["parameters"]}
    assert {"status", "severity", "q", "page[size]", "page[after]"} <= names
