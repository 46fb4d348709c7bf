"""The gateway keeps under Zendesk's per-endpoint limits and its 30-job cap, without a 429."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import requests

from comms.config import ZendeskSettings
from comms.sandbox import Sandbox
from comms.zendesk import Gateway
from tests.zendesk.test_faults import MakeGateway


def test_the_incremental_export_limit_is_waited_for_not_hit(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox.store.add_ticket(subject="Site down")
    sandbox.set_rate_limit(700, window_s=2.0)  # "a minute" of two seconds; exports: 10 in it
    sandbox.reset_request_count()
    for _ in range(25):
        body = gateway._get_json("incremental/tickets/cursor", {"start_time": 0})
        assert [t["subject"] for t in body["tickets"]] == ["Site down"]
    assert sandbox.stats()["rate_limited"] == 0
    assert sandbox.request_count == 25
    assert gateway.pacer.waited > 0


def test_the_account_limit_still_counts_beside_an_endpoints(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    tid = sandbox.store.add_ticket(subject="Site down")["id"]
    sandbox.set_rate_limit(8, window_s=2.0)
    for _ in range(6):
        gateway._get_json("incremental/tickets/cursor", {"start_time": 0})
        gateway.ticket(tid)
    assert sandbox.stats()["rate_limited"] == 0


def _fill_the_job_queue(sandbox: Sandbox) -> requests.Session:
    """Another app queues 30 jobs that Zendesk holds: the account's cap."""
    other = requests.Session()
    other.auth = ("agent@example.com/token", "sandbox")
    sandbox.hold_jobs()
    tid = sandbox.store.add_ticket(subject="Other app's ticket")["id"]
    for _ in range(30):
        answer = other.put(
            f"{sandbox.url}/api/v2/tickets/update_many.json",
            json={"tickets": [{"id": tid, "priority": "low"}]},
        )
        assert answer.status_code == 200
    refused = other.put(
        f"{sandbox.url}/api/v2/tickets/update_many.json",
        json={"tickets": [{"id": tid, "priority": "low"}]},
    )
    assert refused.json()["error"] == "TooManyJobs"
    assert len(refused.json()["current_job_ids"]) == 30
    return other


def test_a_full_job_queue_is_waited_out_and_said_on_the_screen(
    settings: ZendeskSettings, make_gateway: MakeGateway, sandbox: Sandbox
) -> None:
    gateway = make_gateway(replace(settings, rate_limit_wait_seconds=60))
    store = sandbox.store
    problem = store.add_ticket(subject="Outage", type="problem")["id"]
    children = [store.add_ticket(subject=f"Down {n}")["id"] for n in range(3)]
    _fill_the_job_queue(sandbox)
    outcomes: list = []
    linking = threading.Thread(
        target=lambda: outcomes.extend(gateway.link_to_problem(problem, children))
    )
    linking.start()
    deadline = time.monotonic() + 60
    while "30 bulk jobs" not in gateway.rate_limit_note() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.rate_limit_note().startswith("Waiting for Zendesk to finish other jobs")
    sandbox.hold_jobs(False)
    linking.join(60)
    assert [o.ok for o in outcomes] == [True, True, True]
    assert all(store.tickets[t]["problem_id"] == problem for t in children)
    assert gateway.rate_limit_note() == ""


def test_a_full_job_queue_beyond_the_budget_is_said_plainly(
    settings: ZendeskSettings, make_gateway: MakeGateway, sandbox: Sandbox
) -> None:
    gateway = make_gateway(replace(settings, rate_limit_wait_seconds=1))
    store = sandbox.store
    problem = store.add_ticket(subject="Outage", type="problem")["id"]
    child = store.add_ticket(subject="Down")["id"]
    _fill_the_job_queue(sandbox)
    try:
        (outcome,) = gateway.link_to_problem(problem, [child])
    finally:
        sandbox.hold_jobs(False)
    assert not outcome.ok
    assert store.tickets[child]["problem_id"] is None
    assert outcome.message == (
        "not linked: Zendesk has 30 bulk jobs queued or running on the account, the most it "
        "allows (other apps count too); try again in a few minutes"
    )
