"""Guessing is throttled atomically across web workers, and a stranger cannot lock anyone out."""

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import csrf_token, sign_in

STRANGER = "203.0.113.66"


def _from(client, address: str):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_forty_parallel_guesses_at_two_workers_check_at_most_the_limit(
    app, make_app, settings, users
):
    workers = [app, make_app(settings)]
    clients = [workers[n % 2].test_client() for n in range(40)]
    tokens = [csrf_token(c.get("/login").get_data(as_text=True)) for c in clients]
    start = threading.Barrier(40)

    def guess(n: int) -> int:
        start.wait()
        data = {"email": "manager@agency.test", "password": "wrong guess", "csrf_token": tokens[n]}
        return clients[n].post("/login", data=data).status_code

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(guess, range(40)))
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) == 5  # passwords checked: the limit, never more
    assert statuses.count(429) == 35


def test_a_stranger_cannot_lock_out_a_known_browser(app, users, clock):
    own = app.test_client()
    assert sign_in(own, "manager@agency.test").status_code == 302  # sets the device cookie
    own.post("/logout", data={"csrf_token": csrf_token(own.get("/").get_data(as_text=True))})
    stranger = _from(app.test_client(), STRANGER)
    for _ in range(30):
        sign_in(stranger, "manager@agency.test", "wrong guess")
    assert sign_in(stranger, "manager@agency.test").status_code == 429  # the stranger is stuck
    assert sign_in(own, "manager@agency.test").status_code == 302  # the known browser is not


def test_account_wide_failures_only_slow_guessing_with_growing_delays(app, users, clock):
    for n in range(5):  # one guess each from five addresses: no pair or address limit reached
        sign_in(_from(app.test_client(), f"198.51.100.{n}"), "viewer@agency.test", "wrong")
    new_browser = _from(app.test_client(), "192.0.2.1")
    response = sign_in(new_browser, "viewer@agency.test")
    assert response.status_code == 429
    assert "Try again in 1 seconds" in response.get_data(as_text=True)
    clock.advance(seconds=1)
    assert sign_in(new_browser, "viewer@agency.test", "wrong").status_code == 401
    response = sign_in(new_browser, "viewer@agency.test")
    assert "Try again in 2 seconds" in response.get_data(as_text=True)  # the delay doubled
    clock.advance(seconds=2)
    assert sign_in(new_browser, "viewer@agency.test").status_code == 302  # slowed, not refused


def test_a_known_browser_cookie_works_only_for_its_own_account(app, users):
    browser = app.test_client()
    assert sign_in(browser, "viewer@agency.test").status_code == 302
    for _ in range(5):
        sign_in(_from(app.test_client(), STRANGER), "admin@agency.test", "wrong")
    # The viewer's cookie does not make this browser known to the admin account.
    assert sign_in(browser, "admin@agency.test").status_code == 429


def test_a_forged_device_cookie_is_ignored(app, users):
    browser = app.test_client()
    browser.set_cookie("comms_device", "eyJlbWFpbCI6Im1hbmFnZXJAYWdlbmN5LnRlc3QifQ.forged")
    for _ in range(5):
        sign_in(_from(app.test_client(), STRANGER), "manager@agency.test", "wrong")
    assert sign_in(browser, "manager@agency.test").status_code == 429


def test_the_stranger_pair_is_locked_for_fifteen_minutes(app, users, clock):
    stranger = _from(app.test_client(), STRANGER)
    for _ in range(5):
        assert sign_in(stranger, "admin@agency.test", "wrong").status_code == 401
    response = sign_in(stranger, "admin@agency.test", "wrong")
    assert response.status_code == 429
    assert "Try again after 11:15" in response.get_data(as_text=True)
    clock.advance(minutes=15)
    assert sign_in(stranger, "admin@agency.test", "wrong").status_code == 401
