"""The browser protections: every response carries them, and no page needs inline code."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from comms.contacts.service import add_contact
from comms.incidents.models import Incident
from comms.web.headers import CONTENT_SECURITY_POLICY
from tests.conftest import csrf_token

INLINE_CODE = re.compile(
    r"<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE
)


@pytest.fixture
def incident(db_session, clock, users, settings) -> Incident:
    incident = Incident(
        title="Websites on the shared platform are slow",
        severity="major",
        declared_at=clock.now(),
        declared_by="manager@agency.test",
        keywords=[],
    )
    db_session.add(incident)
    db_session.flush()
    add_contact(
        db_session,
        incident,
        email="ada@client.example",
        name="Ada Client",
        by="manager@agency.test",
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    return incident


def _pages(incident: Incident) -> list[str]:
    ref = incident.reference
    return ["/", "/incidents/new", f"/incidents/{ref}", f"/incidents/{ref}/report"]


def test_the_signed_in_pages_have_no_inline_script_or_style(login, incident):
    client = login("manager")
    for path in _pages(incident):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert INLINE_CODE.search(page) is None, (path, INLINE_CODE.search(page))
        assert "/static/comms.js" in page and "/static/comms.css" in page


def test_the_policy_forbids_inline_code_and_framing_on_every_response(login, incident, client):
    signed_in = login("manager")
    answers = [client.get("/login"), client.get("/nowhere"), client.get("/api/v1/me")]
    answers += [signed_in.get(path) for path in _pages(incident)]
    for response in answers:
        policy = response.headers["Content-Security-Policy"]
        assert policy == CONTENT_SECURITY_POLICY
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"


def test_every_response_forbids_sniffing_and_keeps_the_referrer_on_the_site(client, login):
    for response in (client.get("/login"), _static(client, "comms.js"), login().get("/")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_and_api_answers_are_never_cached(login, api, incident):
    assert login().get(f"/incidents/{incident.reference}").headers["Cache-Control"] == "no-store"
    assert api("viewer").get("/api/v1/incidents").headers["Cache-Control"] == "no-store"


def _static(client, name: str):
    with client.get(f"/static/{name}") as response:
        response.get_data()
        return response


def test_the_site_files_load_under_the_policy(client):
    script, style = _static(client, "comms.js"), _static(client, "comms.css")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert style.status_code == 200 and style.mimetype == "text/css"
    assert "update-message" in script.get_data(as_text=True)


def test_hsts_only_when_the_site_is_served_over_https(make_app, settings, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    https = replace(settings, web=replace(settings.web, base_url="https://comms.example"))
    response = make_app(https).test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_email_preview_is_its_own_document_with_the_emails_styles(login, incident):
    client = login("manager")
    page = client.get(f"/incidents/{incident.reference}").get_data(as_text=True)
    response = client.post(
        f"/incidents/{incident.reference}/updates/preview.html",
        data={"csrf_token": csrf_token(page), "message": "Servers restarted.", "email": ""},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Servers restarted." in html and "Dear Ada Client" in html and 'style="' in html
    policy = response.headers["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy and "sandbox" in policy
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_a_viewer_cannot_ask_for_the_preview_document(login, incident):
    client = login("viewer")
    page = client.get(f"/incidents/{incident.reference}").get_data(as_text=True)
    response = client.post(
        f"/incidents/{incident.reference}/updates/preview.html",
        data={"csrf_token": csrf_token(page), "message": "x"},
    )
    assert response.status_code == 403
