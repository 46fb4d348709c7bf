"""The one-command demo starts, shows an incident under way, and its mail arrives."""

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
    page = session.get(f"{demo.url}/incidents/INC-1", timeout=30).text
    assert "Client sites on the legacy hosting platform returning 503 errors" in page
    assert "agent/tickets/" in page  # the parent ticket links into Zendesk
    assert "Linked 6 ticket(s) to parent" in page
    assert "regular contact of" in page


def test_the_mailbox_holds_the_first_update(demo):
    session = signed_in(demo)
    mailbox = session.get(f"{demo.url}/demo/mailbox", timeout=10).text
    assert "Service incident INC-1: Client sites on the legacy hosting platform" in mailbox
    message = session.get(f"{demo.url}/demo/mailbox/0", timeout=10).text
    assert "X-Incident-Reference" in message and "INC-1" in message
    assert "load balancer" in message
    html = session.get(f"{demo.url}/demo/mailbox/0/html", timeout=10)  # the frame's document
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
