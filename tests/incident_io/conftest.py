"""comms served over HTTP on 127.0.0.1, the incident.io emulator sending it signed webhooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from werkzeug.serving import make_server

from comms.clock import FrozenClock
from comms.config import IncidentIoSettings, Settings
from comms.incident_io import jobs
from comms.sandbox.incident_io import IncidentIoEmulator, new_secret


@pytest.fixture
def clock() -> FrozenClock:
    """Svix signs with the real time, so comms' clock starts at the real time."""
    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def incident_io() -> Iterator[IncidentIoEmulator]:
    with IncidentIoEmulator() as emulator:
        yield emulator


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def settings(settings: Settings, incident_io: IncidentIoEmulator, secret: str) -> Settings:
    return replace(
        settings,
        incident_io=IncidentIoSettings(
            api_key=incident_io.api_key, webhook_secret=secret, url=incident_io.url
        ),
    )


@pytest.fixture
def served(app, incident_io, secret) -> Iterator[str]:
    """The app on a free port, and incident.io's webhook pointed at it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    incident_io.set_webhook(f"{base}/api/v1/incident-io/webhook", secret)
    yield base
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def settle(app, incident_io, clock):
    """Wait for the webhooks sent so far to arrive, then for comms to have processed them."""

    def _settle() -> None:
        incident_io.wait_for_webhooks()
        sessions = app.extensions["comms"]["sessionmaker"]
        jobs.process_webhooks(sessions, app.extensions["comms"]["settings"], clock=clock)

    return _settle
