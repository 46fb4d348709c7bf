"""The one-command demo starts, shows an incident under way, and its mail arrives."""

import re

import pytest
import requests

from tests.demo.conftest import signed_in


def test_the_login_page_is_served_with_the_demo_banner(demo):
    page = requests.get(f"{demo.url}/login", timeout=10)
    assert page.status_code == 200
    assert "This is the comms demo" in page.text
    assert requests.get(f"{demo.url}/", timeout=10, allow_redirects=False).status_code == 302


def test_the_seeded_incident_is_under_way(demo):
    session = signed_in(demo)
    dashboard = session.get(f"{demo.url}/", timeout=10).text
    assert "INC-1" in dashboard and "critical" in dashboard

    def section(name: str = "") -> str:
        return session.get(f"{demo.url}/incidents/INC-1{name}", timeout=30).text

    assert "Client sites on the legacy hosting platform returning 503 errors" in section()
    assert "agent/tickets/" in section("/tickets")  # the parent ticket links into Zendesk
    assert "Linked 6 ticket(s) to parent" in section("/timeline")
    assert "regular contact of" in section("/contacts")


def test_the_mailbox_holds_the_first_update(demo):
    session = signed_in(demo)
    mailbox = session.get(f"{demo.url}/demo/mailbox", timeout=10).text
    assert "Service incident INC-1: Client sites on the legacy hosting platform" in mailbox
    message = session.get(f"{demo.url}/demo/mailbox/1", timeout=10).text
    assert "X-Incident-Reference" in message and "INC-1" in message
    assert "load balancer" in message
    html = session.get(f"{demo.url}/demo/mailbox/1/html", timeout=10)  # the frame's document
    assert "load balancer" in html.text and 'style="' in html.text
    assert "style-src 'unsafe-inline'" in html.headers["Content-Security-Policy"]


def test_the_mailbox_needs_a_login(demo):
    response = requests.get(f"{demo.url}/demo/mailbox", timeout=10, allow_redirects=False)
    assert response.status_code == 302


def test_ctrl_c_stops_everything_cleanly(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.demo.conftest import free_port, wait_for_welcome

    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "comms.cli",
            "demo",
            "--port",
            str(port),
            "--folder",
            str(tmp_path / "d"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for_welcome(process)
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=20)[0]
    assert process.returncode == 0
    assert "The demo has stopped." in rest and "Traceback" not in rest
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/login", timeout=2)


def poll(session, url: str, wanted: str, seconds: float = 90) -> str:
    """The page once it shows `wanted` (the scheduler ticks every few seconds)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        page = session.get(url, timeout=30).text
        if wanted in page or time.monotonic() > deadline:
            return page
        time.sleep(1)


def test_the_incident_came_from_incident_io_and_its_slack_channel_hears_what_comms_did(demo):
    session = signed_in(demo)
    page = session.get(f"{demo.url}/incidents/INC-1", timeout=30).text
    assert "incident.io:" in page and "Slack #inc-1-" in page
    timeline = session.get(f"{demo.url}/incidents/INC-1/timeline", timeout=30).text
    assert "Follows INC-1 in incident.io (Critical severity, Fixing)" in timeline
    slack = poll(session, f"{demo.url}/demo/slack", "Update 1 sent")
    for line in (
        "comms is handling client communications for *INC-1*",
        "Parent ticket #",
        "Linked 6 ticket(s) to the parent ticket.",
        "Update 1 is going out to",
        "Update 1 sent:",
    ):
        assert line in slack, line
    form = re.search(r'name="csrf_token" value="([^"]+)"', slack).group(1)
    channel = re.search(r'name="channel_id" value="([^"]+)"', slack).group(1)
    answered = session.post(
        f"{demo.url}/demo/slack/command",
        data={"csrf_token": form, "channel_id": channel, "text": "status"},
        timeout=30,
    ).text
    assert "/comms status: *INC-1* Client sites on the legacy hosting platform" in answered


def test_a_second_incident_declared_in_incident_io_waits_to_be_taken_up(demo):
    session = signed_in(demo)
    dashboard = poll(session, f"{demo.url}/", "Internal build pipeline slow")
    assert "Declared in incident.io" in dashboard and "Internal build pipeline slow" in dashboard
    assert "Take up" in dashboard
