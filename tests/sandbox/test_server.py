"""Server behaviour: auth, rate limits, faults, latency, webhooks, control endpoints, CLI, seed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket
from zenpy.lib.exception import APIException

from comms.sandbox import Sandbox, sign
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_wrong_credentials_are_401(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sandbox.netloc)
    bad = Zenpy(subdomain="sandbox", email="a@b.test", token="wrong", disable_cache=True)
    with pytest.raises(APIException) as err:
        bad.users.me()
    assert err.value.response.status_code == 401
    assert err.value.response.json() == {"error": "Couldn't authenticate you"}
    answer = requests.get(f"{sandbox.url}/api/v2/users/me.json", auth=("a@b.test", "sandbox"))
    assert answer.status_code == 401
    unknown = requests.get(
        f"{sandbox.url}/api/v2/users/me.json", auth=("a@b.test/token", "sandbox")
    )
    assert unknown.status_code == 401  # the right token, but no such user
    assert unknown.json() == {"error": "Couldn't authenticate you"}


def _as(sandbox: Sandbox, email: str) -> requests.Session:
    session = requests.Session()
    session.auth = (f"{email}/token", "sandbox")
    return session


def test_only_agents_may_use_the_api(sandbox: Sandbox) -> None:
    sandbox.store.add_user(name="Client", email="client@example.org")
    sandbox.store.add_user(name="Gone", email="gone@agency.test", role="agent", suspended=True)
    for email in ("client@example.org", "gone@agency.test"):
        answer = _as(sandbox, email).get(f"{sandbox.url}/api/v2/users/me.json")
        assert answer.status_code == 403
        assert answer.json()["error"] == "Forbidden"


def test_roles_that_cannot_edit_or_merge_get_403(sandbox: Sandbox) -> None:
    from comms.sandbox.shapes import LIGHT_AGENT_ROLE_ID, NO_MERGE_ROLE_ID

    store = sandbox.store
    store.add_user(
        name="Light",
        email="light@agency.test",
        role="agent",
        custom_role_id=LIGHT_AGENT_ROLE_ID,
        role_type=1,
    )
    store.add_user(
        name="Advisor", email="advisor@agency.test", role="agent", custom_role_id=NO_MERGE_ROLE_ID
    )
    one, two = store.add_ticket(subject="one")["id"], store.add_ticket(subject="two")["id"]
    light, advisor = _as(sandbox, "light@agency.test"), _as(sandbox, "advisor@agency.test")
    url = f"{sandbox.url}/api/v2/tickets"
    edit = light.put(f"{url}/{one}.json", json={"ticket": {"status": "open"}})
    assert edit.status_code == 403 and edit.json()["error"] == "Forbidden"
    note = {"ticket": {"comment": {"body": "seen", "public": False}}}
    assert light.put(f"{url}/{one}.json", json=note).status_code == 200  # private notes only
    bulk = light.put(f"{url}/update_many.json?ids={one}", json={"ticket": {"status": "open"}})
    assert bulk.status_code == 403
    assert store.ticket(one)["status"] == "new"
    merge = {"ids": [two], "target_comment": "t", "source_comment": "s"}
    refused = advisor.post(f"{url}/{one}/merge.json", json=merge)
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    assert store.ticket(two)["status"] == "new"
    assert advisor.put(f"{url}/{one}.json", json={"ticket": {"status": "open"}}).status_code == 200
    roles = advisor.get(f"{sandbox.url}/api/v2/custom_roles.json").json()["custom_roles"]
    by_id = {r["id"]: r["configuration"] for r in roles}
    assert by_id[NO_MERGE_ROLE_ID]["ticket_merge"] is False
    assert by_id[LIGHT_AGENT_ROLE_ID]["ticket_editing"] is False


def test_rate_limit_headers_and_429(http: requests.Session, sandbox: Sandbox) -> None:
    answer = http.get(f"{sandbox.url}/api/v2/users/me.json")
    assert answer.headers["X-Rate-Limit"] == "700"
    assert int(answer.headers["X-Rate-Limit-Remaining"]) > 0
    sandbox.set_rate_limit(3)
    codes = [http.get(f"{sandbox.url}/api/v2/tickets.json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = http.get(f"{sandbox.url}/api/v2/tickets.json")
    assert last.status_code == 429 and 1 <= int(last.headers["Retry-After"]) <= 60
    assert last.headers["X-Rate-Limit-Remaining"] == "0"
    assert last.json() == {
        "error": "TooManyRequests",
        "description": "Rate limit exceeded, retry later",
    }
    assert sandbox.stats()["rate_limited"] == 2


def test_the_limit_is_on_by_default_and_counts_a_real_window(sandbox: Sandbox, http) -> None:
    sandbox.set_rate_limit(200, window_s=30.0)  # the Team plan; a window of 30 s
    first = http.get(f"{sandbox.url}/api/v2/users/me.json")
    assert first.headers["ratelimit-limit"] == "200"
    assert first.headers["ratelimit-remaining"] == "199"
    assert 29 <= int(first.headers["ratelimit-reset"]) <= 30
    with Sandbox() as default:
        assert default.controls.rate_limit == 700  # by default, as on the Enterprise plan


def test_ticket_updates_have_their_own_limits(sandbox: Sandbox, http) -> None:
    tid = sandbox.store.add_ticket(subject="Down")["id"]
    url = f"{sandbox.url}/api/v2/tickets/{tid}.json"
    answers = [http.put(url, json={"ticket": {"priority": "high"}}) for _ in range(31)]
    assert [a.status_code for a in answers] == [200] * 30 + [429]  # 30 per ticket per 10 min
    assert (
        answers[0]
        .headers["Zendesk-RateLimit-tickets-update"]
        .startswith("total=100; remaining=99; resets=")
    )
    assert int(answers[-1].headers["Retry-After"]) > 60
    other = sandbox.store.add_ticket(subject="Also down")["id"]
    assert http.put(f"{sandbox.url}/api/v2/tickets/{other}.json", json={"ticket": {}}).ok


def test_faults(zd: Zenpy, http: requests.Session, sandbox: Sandbox) -> None:
    tid = sandbox.store.add_ticket(subject="x")["id"]
    sandbox.fail_next(r"/tickets/\d+", count=2, status=503)
    for _ in range(2):
        with pytest.raises(APIException) as err:
            zd.tickets(id=tid)
        assert err.value.response.status_code == 503
    assert zd.tickets(id=tid).id == tid
    sandbox.fail_next(r"/tickets/\d+", status=429)
    started = time.monotonic()
    assert zd.tickets(id=tid).id == tid  # zenpy honours Retry-After: 1 and retries
    assert time.monotonic() - started >= 0.9
    sandbox.fail_next(r"/users/me", status=500)
    assert http.get(f"{sandbox.url}/api/v2/users/me").status_code == 500
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"path": "me", "hang": True})
    with pytest.raises(requests.Timeout):
        http.get(f"{sandbox.url}/api/v2/users/me", timeout=0.3)


def test_stop_does_not_hang_on_hanging_requests() -> None:
    sb = Sandbox().start()
    sb.fail_next(".*", hang=True)
    outcome: list[str] = []

    def call() -> None:
        try:
            requests.get(f"{sb.url}/api/v2/tickets", timeout=5)
        except requests.RequestException as exc:
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 60  # a generous deadline: a hang would last 600 s
    while sb.stats()["in_flight"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stopping = threading.Thread(target=sb.stop)
    stopping.start()
    stopping.join(timeout=60)
    assert not stopping.is_alive()  # stop released the hanging request
    thread.join(timeout=60)
    assert outcome == ["ConnectionError"]


def test_latency_does_not_serialize_requests(http: requests.Session, sandbox: Sandbox) -> None:
    sandbox.set_latency(300)
    times: list[float] = []

    def call() -> None:
        started = time.monotonic()
        requests.get(f"{sandbox.url}/api/v2/users/me", auth=http.auth)
        times.append(time.monotonic() - started)

    sandbox.hold_requests("/users/me")
    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while sandbox.stats()["in_flight"] < 6:  # all six answered at once, none waits for another
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sandbox.hold_requests(None)
    for thread in threads:
        thread.join()
    assert len(times) == 6 and min(times) >= 0.29  # each was delayed, side by side
    assert sandbox.stats()["most_in_flight"] == 6


class Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.got.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    Receiver.got = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Receiver.got
    server.shutdown()
    server.server_close()


def test_webhook_is_signed(zd: Zenpy, sandbox: Sandbox, receiver: Any) -> None:
    url, got = receiver
    sandbox.set_webhook(url, "s3cret")
    org = sandbox.store.add_organization(name="Harbourside Museum")
    user = sandbox.store.add_user(name="Ann", email="ann@hm.test", organization_ids=[org["id"]])
    made = zd.tickets.create(
        Ticket(subject="Website down", requester_id=user["id"], description="503s", tags=["outage"])
    ).ticket
    control = requests.post(
        f"{sandbox.url}/_sandbox/tickets", json={"subject": "Also down", "requester_id": user["id"]}
    )
    assert control.status_code == 201
    # Each event comes from a thread of its own, in no set order.
    wait_for(lambda: len(got) == 2, "both webhooks", timeout=60)
    by_subject = {json.loads(body)["detail"]["subject"]: (headers, body) for headers, body in got}
    assert sorted(by_subject) == ["Also down", "Website down"]
    headers, body = by_subject["Website down"]
    stamp = headers["X-Zendesk-Webhook-Signature-Timestamp"]
    assert headers["X-Zendesk-Webhook-Signature"] == sign("s3cret", stamp, body)
    assert headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["type"] == "zen:event-type:ticket.created"
    assert event["subject"] == f"zen:ticket:{made.id}"
    detail = event["detail"]
    assert detail["id"] == str(made.id) and detail["organization_id"] == str(org["id"])
    assert detail["requester_id"] == str(user["id"]) and detail["tags"] == ["outage"]


def test_sign_matches_zendesk_vector() -> None:
    body = b'{"say": "hello"}'
    expected = "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="  # Zendesk's sample signs body+ts
    assert (
        sign("HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=", "", body + b"2021-07-25T10:00:00Z")
        == expected
    )


def test_control_endpoints(http: requests.Session, sandbox: Sandbox) -> None:
    base = f"{sandbox.url}/_sandbox"
    assert (
        requests.post(f"{base}/faults", json={"path": "tickets", "status": 503}).status_code == 201
    )
    assert http.get(f"{sandbox.url}/api/v2/tickets").status_code == 503
    assert http.get(f"{sandbox.url}/api/v2/tickets").status_code == 200
    stats = requests.get(f"{base}/stats").json()
    assert stats["requests"] == 2 and stats["tickets"] == 0
    assert sandbox.request_count == 2


def test_demo_seed_is_deterministic_and_believable() -> None:
    one, two = Sandbox(seed="demo"), Sandbox(seed="demo")
    try:
        names = sorted(o["name"] for o in one.store.orgs.values())
        assert names == sorted(o["name"] for o in two.store.orgs.values())
        assert "Harbourside Museum" in names and len(names) >= 35
        users = list(one.store.users.values())
        assert sum(u["role"] != "end-user" for u in users) == 3
        assert any(u["suspended"] for u in users) and any(not u["email"] for u in users)
        assert any("senior_stakeholder" in u["tags"] for u in users)
        assert any(len(one.store.user_org_ids(u["id"])) == 2 for u in users)
        tags = {t for o in one.store.orgs.values() for t in o["tags"]}
        assert {"priority_client", "hosting_aws", "platform_wordpress"} <= tags
        assert 25 <= len(one.store.tickets) <= 35
        assert (
            sum(
                "down" in t["subject"].lower() or "503" in t["subject"]
                for t in one.store.tickets.values()
            )
            >= 5
        )
    finally:
        one.stop()
        two.stop()


def test_scale_seed_makes_300_organisations_of_40() -> None:
    big = Sandbox(scale={"orgs": 300, "users": 40})
    assert len(big.store.orgs) == 300 and len(big.store.users) >= 12000
    big.stop()


COMMS = Path(sys.executable).parent / "comms"  # the installed console script


def test_the_installed_command_serves_with_its_options_until_interrupted() -> None:
    proc = subprocess.Popen(
        [str(COMMS), "sandbox", "--port", "0", "--seed", "demo", "--token", "t0ken"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        url = line.split()[4]
        email = next(ln for ln in proc.stdout if "API user:" in ln).split()[2]
        answer = requests.get(f"{url}/api/v2/users/me.json", auth=(f"{email}/token", "t0ken"))
        assert answer.json()["user"]["role"] == "admin"
        orgs = requests.get(f"{url}/api/v2/organizations.json", auth=(f"{email}/token", "t0ken"))
        assert orgs.json()["count"] == 40
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0  # a hang guard on a busy machine
        proc.stdout.close()


def test_the_installed_command_explains_its_options() -> None:
    result = subprocess.run([str(COMMS), "sandbox", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "usage: comms sandbox" in result.stdout
    for option in ("--port", "--seed", "--token", "--rate-limit", "--latency-ms"):
        assert option in result.stdout
    wrong = subprocess.run([str(COMMS), "sandbox", "--prot", "1"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "unrecognized arguments: --prot" in wrong.stderr
