"""Real processes for the queue: a Zendesk sandbox, `comms worker`s and gunicorn on one config."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from comms.config import Settings, ZendeskSettings
from comms.incidents.models import Incident
from comms.operations.models import Operation
from comms.sandbox import Sandbox

AGENT = "agent@agency.test"
BIN = Path(sys.executable).parent


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(port=0, token="sandbox", api_email=AGENT).start()
    yield sb
    sb.stop()


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    zendesk = ZendeskSettings(url=sandbox.url, email=AGENT, token="sandbox", timeout=30)
    return replace(settings, zendesk=zendesk)


@pytest.fixture
def config(tmp_path, database_url, sandbox) -> Path:
    """The config file every process of the test reads."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[web]\nsecret_key = "test-secret"\nbase_url = "http://127.0.0.1"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[zendesk]\nurl = "{sandbox.url}"\nemail = "{AGENT}"\ntoken = "sandbox"\n'
        "timeout = 30\nconcurrency = 1\n"
        "[worker]\nlease_seconds = 3\npoll_seconds = 0.2\n"
    )
    return path


class Processes:
    """Processes started as a user types them; all stopped at the end of the test."""

    def __init__(self, config: Path, folder: Path) -> None:
        self.config, self.folder, self.running = config, folder, []

    def start(self, *command: str) -> subprocess.Popen:
        with (self.folder / f"process-{len(self.running)}.log").open("w") as log:
            process = subprocess.Popen(
                [str(BIN / command[0]), *command[1:]],
                cwd=self.folder,
                env={**os.environ, "COMMS_CONFIG": str(self.config)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.running.append(process)
        return process

    def log(self, process: subprocess.Popen) -> str:
        return (self.folder / f"process-{self.running.index(process)}.log").read_text()

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(config, tmp_path) -> Iterator[Processes]:
    running = Processes(config, tmp_path)
    yield running
    running.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def operation_row(db_session, operation_id: int) -> Operation:
    db_session.rollback()  # a fresh read of what the workers committed
    return db_session.get_one(Operation, operation_id, populate_existing=True)


@pytest.fixture
def incident(db_session, clock) -> Incident:
    made = Incident(
        title="Client sites on the shared platform are down",
        severity="critical",
        declared_at=clock.now(),
        declared_by="manager@agency.test",
        keywords=[],
    )
    db_session.add(made)
    db_session.commit()
    return made


@pytest.fixture
def zendesk_writes(sandbox) -> Counter:
    """What Zendesk was asked to do to each ticket: (ticket id, "link" or "merge") counted."""
    store, seen = sandbox.store, Counter()
    update = store.update_ticket

    def counting(tid, data, author_id=None):
        if "problem_id" in data:
            seen[(int(tid), "link")] += 1
        if "closed_by_merge" in (data.get("additional_tags") or []):
            seen[(int(tid), "merge")] += 1
        return update(tid, data, author_id)

    store.update_ticket = counting
    return seen
