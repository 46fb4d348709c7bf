"""The gateway when Zendesk misbehaves: server errors, rate limits, wrong token, no server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from comms.config import ZendeskSettings
from comms.sandbox import Sandbox
from comms.zendesk import (
    Gateway,
    ZendeskRateLimited,
    ZendeskRefused,
    ZendeskUnavailable,
)

MakeGateway = Callable[[ZendeskSettings], Gateway]


@pytest.fixture
def ticket_id(sandbox: Sandbox) -> int:
    return int(sandbox.store.add_ticket(subject="Site down")["id"])


def test_server_errors_are_retried(gateway: Gateway, sandbox: Sandbox, ticket_id: int) -> None:
    sandbox.fail_next(r"/tickets/", count=2, status=503)
    assert gateway.ticket(ticket_id).subject == "Site down"
    assert gateway.request_count == 3


def test_lasting_server_errors_give_up(gateway: Gateway, sandbox: Sandbox, ticket_id: int) -> None:
    sandbox.fail_next(r"/tickets/", count=100, status=500)
    with pytest.raises(ZendeskUnavailable, match=sandbox.url):
        gateway.ticket(ticket_id)
    assert gateway.request_count == 4


def test_rate_limit_beyond_budget_gives_up_quickly(
    settings: ZendeskSettings, make_gateway: MakeGateway, sandbox: Sandbox, ticket_id: int
) -> None:
    gateway = make_gateway(replace(settings, rate_limit_wait_seconds=2))
    sandbox.fail_next(r"/tickets/", count=100, status=429)
    with pytest.raises(ZendeskRateLimited, match="limiting requests; gave up after 2 s"):
        gateway.ticket(ticket_id)
    # Retry-After: 1 twice fills the 2 s budget: it gives up instead of asking again and again.
    assert gateway.request_count == 2


def test_rate_limit_within_budget_is_waited_out(
    gateway: Gateway, sandbox: Sandbox, ticket_id: int
) -> None:
    sandbox.fail_next(r"/tickets/", count=1, status=429)
    assert gateway.ticket(ticket_id).id == ticket_id
    sandbox.fail_next(r"/tickets/", count=1, status=429)
    assert gateway.ticket(ticket_id).id == ticket_id


def test_no_server_names_the_address(
    unreachable: ZendeskSettings, make_gateway: MakeGateway
) -> None:
    with pytest.raises(ZendeskUnavailable) as raised:
        make_gateway(unreachable).me()
    assert (
        str(raised.value) == f"Zendesk cannot be reached at {unreachable.url}: connection refused"
    )


def test_a_hanging_server_times_out(
    settings: ZendeskSettings, make_gateway: MakeGateway, sandbox: Sandbox
) -> None:
    gateway = make_gateway(replace(settings, timeout=0.3))
    sandbox.fail_next(r"/users/me", hang=True)
    with pytest.raises(ZendeskUnavailable, match="did not answer within 0.3 s"):
        gateway.me()


def test_wrong_token_is_refused(settings: ZendeskSettings, make_gateway: MakeGateway) -> None:
    with pytest.raises(ZendeskRefused) as raised:
        make_gateway(replace(settings, token="wrong")).me()
    assert str(raised.value) == (
        "Zendesk refused the sign-in for agent@example.com: check [zendesk] email and token"
    )


def test_few_remaining_requests_do_not_slow_every_call(
    gateway: Gateway, sandbox: Sandbox, ticket_id: int
) -> None:
    sandbox.set_rate_limit(15)
    for _ in range(10):
        gateway.ticket(ticket_id)
    assert gateway.pacer.waited == 0


def _orgs(sandbox: Sandbox, count: int) -> list[int]:
    store = sandbox.store
    ids = [store.add_organization(name=f"Client {n}")["id"] for n in range(count)]
    for oid in ids:
        store.add_user(name="Someone", email=f"someone@{oid}.example", organization_ids=[oid])
    return ids


def test_reading_more_than_the_limit_allows_waits_for_the_window_instead_of_a_429(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    org_ids = _orgs(sandbox, 25)
    sandbox.set_rate_limit(10, window_s=2.0)  # a "minute" of two seconds
    sandbox.reset_request_count()
    users = gateway.organization_end_users(org_ids, concurrency=4)
    assert len(users) == 25 and all(len(found) == 1 for found in users.values())
    assert sandbox.stats()["rate_limited"] == 0
    assert sandbox.request_count == 25
    assert gateway.pacer.waited > 0


def test_another_app_using_up_the_limit_is_waited_out(
    settings: ZendeskSettings, make_gateway: MakeGateway, sandbox: Sandbox, ticket_id: int
) -> None:
    import requests

    gateway = make_gateway(replace(settings, rate_limit_wait_seconds=10))
    sandbox.set_rate_limit(5, window_s=4.0)
    other = requests.Session()
    other.auth = ("agent@example.com/token", "sandbox")
    codes = [other.get(f"{sandbox.url}/api/v2/tickets.json").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert gateway.ticket(ticket_id).id == ticket_id  # told 429, waited for the reset
    for _ in range(8):  # now it knows the window: it waits instead of being refused again
        gateway.ticket(ticket_id)
    assert sandbox.stats()["rate_limited"] == 2
