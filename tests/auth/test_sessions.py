"""A session ends at logout, at a new password and at deactivation, in every browser."""

from tests.conftest import PASSWORD, csrf_token, sign_in
from tests.test_cli import installed


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _replayed(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/")


def _logout(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})


def test_a_session_cookie_replayed_after_logout_is_refused(app, users):
    client = app.test_client()
    sign_in(client, "manager@agency.test")
    cookie = _session_cookie(client)
    assert _replayed(app, cookie).status_code == 200
    _logout(client)
    response = _replayed(app, cookie)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logout_ends_the_users_sessions_in_every_browser(app, users):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "manager@agency.test")
    sign_in(phone, "manager@agency.test")
    _logout(laptop)
    assert phone.get("/").status_code == 302
    assert sign_in(phone, "manager@agency.test").status_code == 302  # signing in again works


def test_another_users_logout_ends_only_their_sessions(app, users):
    manager, viewer = app.test_client(), app.test_client()
    sign_in(manager, "manager@agency.test")
    sign_in(viewer, "viewer@agency.test")
    _logout(viewer)
    assert manager.get("/").status_code == 200


def _config(tmp_path, database_url):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n')
    return config


def test_comms_set_password_ends_every_session(app, users, tmp_path, database_url):
    client = app.test_client()
    sign_in(client, "viewer@agency.test")
    config = _config(tmp_path, database_url)
    args = ["set-password", "--email", "viewer@agency.test", "--password-stdin"]
    result = installed(*args, config=config, stdin="a brand new password\n")
    assert result.returncode == 0, result.stderr
    assert "New password set for viewer@agency.test" in result.stdout
    assert client.get("/").status_code == 302
    assert sign_in(client, "viewer@agency.test", PASSWORD).status_code == 401
    assert sign_in(client, "viewer@agency.test", "a brand new password").status_code == 302


def test_comms_set_password_refuses_a_short_one_and_an_unknown_user(users, tmp_path, database_url):
    config = _config(tmp_path, database_url)
    result = installed(
        "set-password",
        "--email",
        "viewer@agency.test",
        "--password-stdin",
        config=config,
        stdin="short\n",
    )
    assert result.returncode == 1 and "at least 10 characters" in result.stderr
    result = installed("set-password", "--email", "nobody@agency.test", config=config)
    assert result.returncode == 2 and "--password-stdin" in result.stderr
    result = installed(
        "set-password",
        "--email",
        "nobody@agency.test",
        "--password-stdin",
        config=config,
        stdin="a long enough password\n",
    )
    assert result.returncode == 1 and "no user has the e-mail nobody@agency.test" in result.stderr


def test_comms_deactivate_user_ends_sessions_and_tokens(app, api, users, tmp_path, database_url):
    client = app.test_client()
    sign_in(client, "manager@agency.test")
    token_client = api("manager")
    assert token_client.get("/api/v1/me").status_code == 200
    result = installed(
        "deactivate-user", "--email", "manager@agency.test", config=_config(tmp_path, database_url)
    )
    assert result.returncode == 0, result.stderr
    assert "Deactivated manager@agency.test" in result.stdout
    assert client.get("/").status_code == 302
    assert token_client.get("/api/v1/me").status_code == 401
    assert sign_in(app.test_client(), "manager@agency.test").status_code == 401
