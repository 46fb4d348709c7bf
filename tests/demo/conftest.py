"""`comms demo` running as a subprocess on free ports, as a newcomer would start it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests


@dataclass
class RunningDemo:
    url: str
    email: str
    password: str
    process: subprocess.Popen
    zendesk: str = ""  # the sandbox's address, as the welcome prints it

    def output(self) -> str:
        return self.process.stdout.read() if self.process.stdout else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_welcome(process: subprocess.Popen, seconds: float = 60) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise AssertionError("comms demo stopped:\n" + "".join(lines))
            continue
        lines.append(line)
        if "Press Ctrl-C to stop" in line:
            return "".join(lines)
    raise AssertionError("comms demo did not start in time:\n" + "".join(lines))


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Iterator[RunningDemo]:
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {**os.environ, "COMMS_CONFIG": "", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "comms.cli",
            "demo",
            "--port",
            str(port),
            "--cadence",
            "2",
            "--folder",
            str(folder / "data"),
            "--second-incident",
            "0.25",
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        welcome = wait_for_welcome(process)
        email = re.search(r"sign in as\s+(\S+)", welcome).group(1)
        password = re.search(r"password\s+(\S+)", welcome).group(1)
        zendesk = re.search(r"Zendesk\s+(\S+)", welcome).group(1)
        yield RunningDemo(f"http://127.0.0.1:{port}", email, password, process, zendesk)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()


def signed_in(demo: RunningDemo) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{demo.url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(
        f"{demo.url}/login",
        data={"email": demo.email, "password": demo.password, "csrf_token": token},
        timeout=10,
    )
    assert response.status_code == 200 and "Open incidents" in response.text
    return session
