"""A forged Host or X-Forwarded-Host never changes a link: every link is built from base_url."""

from dataclasses import replace

import pytest

from comms.auth.service import create_token
from tests.conftest import PASSWORD, csrf_token

EVIL = "evil.example"
FORGED = [{"Host": EVIL}, {"X-Forwarded-Host": EVIL}, {"Host": EVIL, "X-Forwarded-Host": EVIL}]


@pytest.fixture
def proxied(make_app, settings):
    """Behind one trusted proxy, so X-Forwarded-Host is believed as far as Werkzeug goes."""
    return make_app(replace(settings, web=replace(settings.web, trusted_proxies=1)))


@pytest.mark.parametrize("headers", FORGED)
def test_pages_invites_reports_and_emails_keep_base_url(
    proxied, users, declare, resolve, db_session, clock, headers
):
    ref = resolve(declare(title="Sites down")).reference
    client = proxied.test_client()
    page = client.get("/login", headers=headers).get_data(as_text=True)
    form = {"email": "manager@agency.test", "password": PASSWORD, "csrf_token": csrf_token(page)}
    signed_in = client.post("/login", data=form, headers=headers)
    assert signed_in.status_code == 302 and EVIL not in signed_in.headers["Location"]
    pages = [
        f"/incidents/{ref}",
        f"/incidents/{ref}/report",
        f"/incidents/{ref}/report.md",
        f"/incidents/{ref}/timeline.md",
        f"/incidents/{ref}/review.ics",
    ]
    for path in pages:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert EVIL not in response.get_data(as_text=True), path
    assert "http://comms.test/incidents/" in client.get(
        f"/incidents/{ref}/review.ics", headers=headers
    ).get_data(as_text=True)
    api = proxied.test_client()
    token = create_token(db_session, user=users["manager"], now=clock.now())
    db_session.commit()
    auth = {"Authorization": f"Bearer {token}", **headers}
    base = f"/api/v1/incidents/{declare(title='Still open').reference}"
    for email in ("ann@client.example", "bob@client.example"):
        assert api.post(f"{base}/contacts", json={"email": email}, headers=auth).status_code < 300
    listed = api.get(f"{base}/contacts?page[size]=1", headers=auth).get_json()
    assert listed["links"]["next"].startswith("http://comms.test/api/v1/")
    preview = api.post(
        f"{base}/updates/preview",
        json={"message": "News", "email": "ann@client.example"},
        headers=auth,
    )
    assert preview.status_code == 200 and EVIL not in preview.get_data(as_text=True)
