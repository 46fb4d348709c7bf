"""Every Zendesk permission or outage problem reaches the incident page as one plain sentence."""

from __future__ import annotations

import html
import re
import socket
from dataclasses import replace

import pytest

from comms.sandbox.shapes import LIGHT_AGENT_ROLE_ID, NO_MERGE_ROLE_ID
from tests.incidents.test_web import finished, post
from tests.zendesk.conftest import QuickGateway


def messages(page: str) -> list[str]:
    """The flashed messages and the operation's outcome lines, as a person reads them."""
    found = re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', page, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", m)).split()) for m in found]


@pytest.fixture
def as_user(app, settings, sandbox):
    """Sign comms in to Zendesk as another API user (made in the sandbox with that role)."""
    made = []

    def use(email: str, role: str = "agent", custom_role_id: int | None = None) -> None:
        if sandbox.store.user_by_email(email) is None:
            sandbox.store.add_user(
                name=email, email=email, role=role, custom_role_id=custom_role_id
            )
        gateway = QuickGateway(replace(settings.zendesk, email=email))
        made.append(gateway)
        app.extensions["comms"]["gateway"] = gateway

    yield use
    for gateway in made:
        gateway.close()


def _page(client, url: str) -> list[str]:
    return messages(client.get(url).get_data(as_text=True))


def test_a_light_agent_cannot_link_and_is_told_once(login, incident, sandbox, desk, as_user):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    post(client, f"{url}/parent", {}, url)
    as_user("light@agency.test", custom_role_id=LIGHT_AGENT_ROLE_ID)
    response = post(client, f"{url}/link", {"ticket_ids": [str(t) for t in desk.tickets[:2]]}, url)
    page = finished(client, response.headers["Location"])
    outcomes = page.split('id="operation-outcomes">')[1].split("</ul>")[0]
    assert [
        " ".join(re.sub(r"<[^>]+>", "", li).split()) for li in outcomes.split("</li>")[:-1]
    ] == [
        f"2 tickets ({desk.tickets[0]}, {desk.tickets[1]}): refused not linked: the Zendesk "
        "user light@agency.test cannot edit tickets: give it an agent role that can"
    ]
    assert sandbox.store.ticket(desk.tickets[0])["problem_id"] is None


def test_an_agent_who_may_not_merge_is_told_what_to_change(login, incident, sandbox, desk, as_user):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    as_user("advisor@agency.test", custom_role_id=NO_MERGE_ROLE_ID)
    response = post(
        client,
        f"{url}/merge",
        {"target_id": str(desk.tickets[0]), "ticket_ids": [str(desk.tickets[2])]},
        url,
    )
    page = finished(client, response.headers["Location"])
    assert (
        "the Zendesk user advisor@agency.test cannot merge tickets: give it an agent role that can"
        in messages(page)
    )
    assert sandbox.store.ticket(desk.tickets[2])["status"] != "closed"


def test_an_end_user_as_the_api_user_is_told_plainly(login, incident, sandbox, desk, as_user):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    as_user("client@example.org", role="end-user")
    polled = post(client, f"{url}/candidates", {}, url).headers["Location"]
    assert messages(finished(client, polled)) == [
        "Candidates were not refreshed: the Zendesk user client@example.org may not do this: "
        "give it an agent or admin role"
    ]


def test_a_wrong_token_is_told_plainly(login, incident, sandbox, desk, app, settings):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    with QuickGateway(replace(settings.zendesk, token="wrong")) as wrong:
        app.extensions["comms"]["gateway"] = wrong
        post(client, f"{url}/parent", {}, url)
        assert _page(client, url) == [
            "The parent ticket was not set: Zendesk refused the sign-in for agent@agency.test: "
            "check [zendesk] email and token"
        ]


@pytest.fixture
def unreachable() -> str:
    """The address of a local port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_zendesk_out_of_reach_is_told_plainly(login, incident, app, settings, unreachable):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    with QuickGateway(replace(settings.zendesk, url=unreachable)) as away:
        app.extensions["comms"]["gateway"] = away
        polled = post(client, f"{url}/candidates", {}, url).headers["Location"]
        assert messages(finished(client, polled)) == [
            f"Candidates were not refreshed: Zendesk cannot be reached at {unreachable}: "
            "connection refused"
        ]


def test_a_light_agent_cannot_solve_the_parent_and_is_told_so(
    login, incident, sandbox, desk, as_user
):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    post(client, f"{url}/parent", {}, url)
    parent = sandbox.store.tickets[max(sandbox.store.tickets)]["id"]
    as_user("light@agency.test", custom_role_id=LIGHT_AGENT_ROLE_ID)
    form = {"message": "Fixed.", "solve_parent": "on", "confirmed": "yes"}
    solving = post(client, f"{url}/updates/resolve", form, url)  # a worker asks Zendesk
    assert messages(finished(client, solving.headers["Location"]))[-1] == (
        f"Zendesk did not solve parent ticket #{parent}: the Zendesk user light@agency.test "
        "cannot edit tickets: give it an agent role that can"
    )
    assert sandbox.store.ticket(parent)["status"] != "solved"


def test_zendesk_failing_while_solving_the_parent_is_told_plainly(login, incident, sandbox, desk):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    post(client, f"{url}/parent", {}, url)
    parent = sandbox.store.tickets[max(sandbox.store.tickets)]["id"]
    sandbox.fail_next(r"/api/v2/tickets/", count=20, status=503)
    form = {"message": "Fixed.", "solve_parent": "on", "confirmed": "yes"}
    solving = post(client, f"{url}/updates/resolve", form, url)  # a worker asks Zendesk
    assert messages(finished(client, solving.headers["Location"]))[-1] == (
        f"Zendesk did not solve parent ticket #{parent}: Zendesk at {sandbox.url} keeps "
        "failing (HTTP 503); try again in a few minutes"
    )
