"""Sign-in, sign-out, throttling, CSRF, viewers, bearer tokens."""

from sqlalchemy import select

from comms.auth.models import User
from tests.conftest import PASSWORD, csrf_token, sign_in


def test_every_page_but_login_and_healthz_needs_login(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/login").status_code == 200
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert client.get("/incidents/new").status_code == 302


def test_sign_in_shows_the_dashboard_and_sign_out_ends_it(client, users):
    response = sign_in(client, "manager@agency.test")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Open incidents" in page and "Manager Person" in page
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert client.get("/").status_code == 302


def test_the_password_is_stored_as_argon2id(db_session, users):
    user = db_session.scalar(select(User).where(User.email == "admin@agency.test"))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_a_wrong_password_is_refused(client, users):
    response = sign_in(client, "manager@agency.test", "wrong password")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_failed_logins_are_throttled_per_account_and_say_when(client, users, clock):
    for _ in range(5):
        sign_in(client, "manager@agency.test", "wrong password")
    response = sign_in(client, "manager@agency.test")  # even the right password waits
    assert response.status_code == 429
    assert "Try again after 11:15 GMT" in response.get_data(as_text=True)
    clock.advance(minutes=16)
    assert sign_in(client, "manager@agency.test").status_code == 302


def test_throttling_is_also_per_address(client, users):
    for n in range(20):
        sign_in(client, f"nobody{n}@agency.test", "wrong password")
    assert sign_in(client, "admin@agency.test").status_code == 429


def test_throttle_holds_across_app_instances(app, make_app, settings, users):
    first = app.test_client()
    for _ in range(5):
        sign_in(first, "viewer@agency.test", "wrong password")
    other_worker = make_app(settings).test_client()
    assert sign_in(other_worker, "viewer@agency.test").status_code == 429


def test_login_without_csrf_token_is_refused(client, users):
    response = client.post("/login", data={"email": "manager@agency.test", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_a_form_without_csrf_token_is_refused_when_signed_in(login):
    client = login("manager")
    assert client.post("/logout").status_code == 400


def test_a_viewer_changes_nothing(login):
    client = login("viewer")
    assert client.get("/").status_code == 200
    page = client.get("/").get_data(as_text=True)
    assert "Declare an incident" not in page
    response = client.post("/incidents/new", data={"csrf_token": csrf_token(page), "title": "x"})
    assert response.status_code == 403


def test_next_only_follows_local_paths(client, users):
    page = client.get("/login?next=https://evil.example/").get_data(as_text=True)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": "admin@agency.test", "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_lax(client, users):
    response = sign_in(client, "manager@agency.test")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_behind_https(make_app, settings, users):
    from dataclasses import replace

    secure = replace(settings, web=replace(settings.web, base_url="https://comms.example"))
    client = make_app(secure).test_client()
    response = sign_in(client, "manager@agency.test")
    assert "Secure" in response.headers["Set-Cookie"]


def test_bearer_token_reaches_the_api(api):
    response = api("viewer").get("/api/v1/me")
    assert response.status_code == 200
    assert response.get_json()["email"] == "viewer@agency.test"
    assert response.get_json()["role"] == "viewer"


def test_api_refuses_missing_and_wrong_tokens(client, users):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert "Bearer" in response.get_json()["message"]
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer comms_not-a-token"})
    assert response.status_code == 401
    assert "not valid" in response.get_json()["message"]


def test_api_refuses_session_cookies_without_a_token(login):
    assert login("manager").get("/api/v1/me").status_code == 401


def test_api_unknown_route_is_json(api):
    response = api("manager").get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_behind_a_proxy_throttling_counts_the_real_address(make_app, settings, users):
    from dataclasses import replace

    proxied = make_app(replace(settings, web=replace(settings.web, trusted_proxies=1)))
    client = proxied.test_client()
    for n in range(20):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        sign_in(client, f"nobody{n}@agency.test", "wrong password")
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"  # someone else, same proxy
    assert sign_in(client, "admin@agency.test").status_code == 302


def test_a_viewer_is_refused_the_declare_form_with_a_page_saying_why(login):
    response = login("viewer").get("/incidents/new")
    assert response.status_code == 403
    assert "can see everything but change nothing" in response.get_data(as_text=True)


def test_an_unknown_page_is_404_in_the_site_layout(login):
    response = login("manager").get("/incidents/INC-424242")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Back to the open incidents" in page and "Sign out" in page
