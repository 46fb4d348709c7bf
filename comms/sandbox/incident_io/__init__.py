"""An incident.io API emulator: incidents, severities, updates, and Svix-signed webhooks."""

from __future__ import annotations

import threading
from typing import Any

from . import control
from .server import IncidentIoServer
from .store import Store
from .webhooks import new_secret, sign

__all__ = ["IncidentIoEmulator", "new_secret", "sign"]

API_KEY = "incident-io-sandbox"


class IncidentIoEmulator:
    """An incident.io account on host:port (0 picks a free port); the API key reads private ones."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = API_KEY) -> None:
        self.store = Store()
        self.api_key = api_key
        self.server = IncidentIoServer(host, port, self.store, {api_key: True})
        self.url = self.server.url
        self.webhooks = self.server.webhooks

    def start(self) -> IncidentIoEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.webhooks.stopping.set()
        self.server.stop()

    def __enter__(self) -> IncidentIoEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_key(self, key: str, *, private: bool = False) -> None:
        """Another API key; without private access, private incidents are not found."""
        self.server.keys[key] = private

    def set_webhook(self, url: str, *secrets: str) -> None:
        """Send webhooks to url, signed with each secret (several during a rotation)."""
        self.webhooks.configure(url, list(secrets))

    def declare(self, name: str, **fields: Any) -> dict[str, Any]:
        """Declare an incident, as /incident <name> in Slack does; the webhook follows."""
        return control.declare(self.server, name=name, **fields)

    def change(self, incident_id: str, **fields: Any) -> dict[str, Any]:
        """Change severity, status (Fixing, Monitoring, Closed, ...), lead or post an update."""
        return control.change(self.server, incident_id, **fields)

    def drop_next_webhooks(self, count: int = 1) -> None:
        """Lose the next webhooks, as a network or an outage would."""
        with self.webhooks.lock:
            self.webhooks.drop += count

    def hold_webhooks(self) -> None:
        """Keep webhooks back until release_webhooks (to deliver them out of order)."""
        with self.webhooks.lock:
            self.webhooks.held = []

    def release_webhooks(self, *, reverse: bool = False) -> None:
        self.webhooks.release(reverse=reverse)

    def wait_for_webhooks(self) -> None:
        """Until every webhook sent so far reached comms once (whatever comms answered)."""
        self.webhooks.wait()

    def fail_next(self, path_regex: str, count: int = 1, status: int = 503) -> None:
        """Answer status for the next count API requests whose path matches."""
        self.server.faults.add(path_regex, count, status)

    def hold_next(self, path_regex: str) -> tuple[threading.Event, threading.Event]:
        """Keep the next API request whose path matches waiting: (arrived, release) events."""
        return self.server.faults.hold(path_regex)

    @property
    def request_count(self) -> int:
        return self.server.request_count
