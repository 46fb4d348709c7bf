"""The follow-up on the incident page, the report and exports for signed-in users, and the API."""

from __future__ import annotations

import csv
import io

from icalendar import Calendar

from tests.conftest import csrf_token
from tests.followup.test_dates import london


def test_a_viewer_reads_the_report_exports_and_invite(login, declare, resolve):
    ref = resolve(declare(title="Sites down")).reference
    viewer = login("viewer")
    page = viewer.get(f"/incidents/{ref}/report")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f"Incident report (draft): {ref} Sites down" in body and "Root cause" in body
    md = viewer.get(f"/incidents/{ref}/report.md")
    assert md.headers["Content-Type"] == "text/markdown; charset=utf-8"  # one charset, not two
    assert f'filename="{ref}-report.md"' in md.headers["Content-Disposition"]
    assert md.get_data(as_text=True).startswith(f"# Incident report (draft): {ref} Sites down")
    rows = list(
        csv.reader(io.StringIO(viewer.get(f"/incidents/{ref}/timeline.csv").get_data(as_text=True)))
    )
    assert [r[2] for r in rows[1:]] == ["declared", "review_proposed"]
    assert "| declared |" in viewer.get(f"/incidents/{ref}/timeline.md").get_data(as_text=True)
    ics = viewer.get(f"/incidents/{ref}/review.ics")
    assert ics.headers["Content-Type"] == "text/calendar; charset=utf-8"
    for export in ("timeline.csv", "timeline.md"):
        with viewer.get(f"/incidents/{ref}/{export}") as download:
            assert download.headers["Content-Type"].count("charset") == 1, export
    assert Calendar.from_ical(ics.data).walk("VEVENT")[0].decoded("DTSTART") == london(
        2026, 3, 10, 10, 0
    )
    incident_page = viewer.get(f"/incidents/{ref}/after").get_data(as_text=True)
    assert (
        "After the incident" in incident_page
        and "10:00 GMT, Tuesday 10 March 2026" in incident_page
    )
    assert f"/incidents/{ref}/timeline.csv" in incident_page
    assert "Save follow-up" not in incident_page


def test_an_open_incident_exports_its_timeline_but_has_no_invite(login, declare):
    ref = declare().reference
    manager = login("manager")
    page = manager.get(f"/incidents/{ref}/after").get_data(as_text=True)
    assert "Save follow-up" not in page and "Meeting invite" not in page
    assert f"When {ref} is resolved" in page and f"/incidents/{ref}/timeline.md" in page
    with manager.get(f"/incidents/{ref}/timeline.csv") as download:  # closed, as a server does
        assert download.status_code == 200
    assert manager.get(f"/incidents/{ref}/report").status_code == 200
    assert manager.get(f"/incidents/{ref}/review.ics").status_code == 404
    assert manager.get("/incidents/INC-999/report").status_code == 404


def test_the_manager_moves_the_meeting_and_changes_the_owner(login, declare, resolve, users):
    ref = resolve(declare()).reference
    manager = login("manager")
    token = csrf_token(manager.get(f"/incidents/{ref}").get_data(as_text=True))
    response = manager.post(
        f"/incidents/{ref}/review",
        data={
            "csrf_token": token,
            "review_date": "2026-03-16",
            "review_time": "14:30",
            "owner_id": str(users["admin"].id),
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/incidents/{ref}/after"
    )
    page = manager.get(f"/incidents/{ref}/after").get_data(as_text=True)
    assert "Follow-up saved." in page
    assert (
        "14:30 GMT, Monday 16 March 2026" in page and "18:00 GMT, Wednesday 11 March 2026" in page
    )
    assert "report owner: <strong>Admin Person</strong>" in page

    bad = manager.post(
        f"/incidents/{ref}/review",
        data={
            "csrf_token": token,
            "review_date": "16/03/2026",
            "review_time": "14:30",
            "owner_id": "",
        },
        follow_redirects=True,
    )
    assert "Give the meeting&#39;s date and time" in bad.get_data(as_text=True)


def test_forms_need_a_csrf_token_and_a_manager(login, declare, resolve):
    ref = resolve(declare()).reference
    data = {"review_date": "2026-03-16", "review_time": "10:00"}
    assert login("manager").post(f"/incidents/{ref}/review", data=data).status_code == 400
    viewer = login("viewer")
    token = csrf_token(viewer.get(f"/incidents/{ref}").get_data(as_text=True))
    assert (
        viewer.post(f"/incidents/{ref}/review", data={**data, "csrf_token": token}).status_code
        == 403
    )


def test_skipping_the_review_removes_the_invite(login, declare, resolve):
    ref = resolve(declare(severity="trivial")).reference
    manager = login("manager")
    page = manager.get(f"/incidents/{ref}/after").get_data(as_text=True)
    assert "a review is optional" in page
    manager.post(
        f"/incidents/{ref}/review/skip", data={"csrf_token": csrf_token(page), "note": "a blip"}
    )
    assert manager.get(f"/incidents/{ref}/review.ics").status_code == 404
    after = manager.get(f"/incidents/{ref}/after").get_data(as_text=True)
    assert "No review meeting is planned" in after


def test_the_api_serves_the_report_and_the_invite(api, declare, resolve):
    open_ref = declare(title="Still going").reference
    ref = resolve(declare()).reference
    viewer = api("viewer")
    report = viewer.get(f"/api/v1/incidents/{ref}/report")
    assert report.status_code == 200
    assert report.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert report.get_data(as_text=True).startswith(f"# Incident report (draft): {ref} ")
    ics = viewer.get(f"/api/v1/incidents/{ref}/review.ics")
    assert ics.status_code == 200
    assert ics.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "METHOD:REQUEST" in ics.get_data(as_text=True)
    missing = viewer.get(f"/api/v1/incidents/{open_ref}/review.ics")
    assert missing.status_code == 404
    assert missing.get_json() == {
        "error": "not_found",
        "message": f"{open_ref} has no review meeting: it is set on resolve.",
    }
    assert viewer.get("/api/v1/incidents/INC-999/report").get_json()["error"] == "not_found"
    assert (
        api("viewer").application.test_client().get(f"/api/v1/incidents/{ref}/report").status_code
        == 401
    )
