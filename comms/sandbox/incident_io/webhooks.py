"""Svix-signed webhooks, as incident.io sends them: one thread per message, retried on failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

# Svix retries a failed message after 5 s, 5 min, 30 min, 2 h, ... (docs.svix.com/retries).
RETRY_AFTER = (5, 300, 1800, 7200)


def sign(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of "id.timestamp.body" with the key inside whsec_<base64>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


def envelope(event_type: str, incident: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """{"event_type": name, name: payload}; a private incident carries only its id."""
    if incident["visibility"] == "private":
        name = "private_incident." + event_type
        return {"event_type": name, name: {"id": incident["id"]}}
    name = "public_incident." + event_type
    payload: dict[str, Any] = {"incident": incident, **extra} if extra else incident
    return {"event_type": name, name: payload}


class Webhooks:
    """The endpoint comms gave incident.io, its secrets, and the messages held or dropped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url = ""
        self.secrets: list[str] = []
        self.drop = 0
        self.held: list[tuple[str, bytes]] | None = None
        self.sent: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self.inflight: list[threading.Event] = []

    def configure(self, url: str, secrets: list[str]) -> None:
        with self.lock:
            self.url, self.secrets = url, list(secrets)

    def send(self, event: dict[str, Any]) -> None:
        """Deliver in the background; dropped or held when a test asked for it."""
        msg_id = "msg_" + uuid.uuid4().hex
        body = json.dumps(event).encode()
        with self.lock:
            if not self.url:
                return
            if self.drop:
                self.drop -= 1
                return
            if self.held is not None:
                self.held.append((msg_id, body))
                return
        self.deliver(msg_id, body)

    def release(self, *, reverse: bool = False) -> None:
        with self.lock:
            held, self.held = self.held or [], None
        for msg_id, body in reversed(held) if reverse else held:
            self.deliver(msg_id, body, wait=True)

    def deliver(self, msg_id: str, body: bytes, *, wait: bool = False) -> None:
        first_done = threading.Event()
        thread = threading.Thread(
            target=self._attempts, args=(msg_id, body, first_done), daemon=True
        )
        with self.lock:
            self.inflight.append(first_done)
        thread.start()
        if wait:
            first_done.wait(timeout=30)

    def wait(self) -> None:
        """Until every message sent so far had its first attempt."""
        with self.lock:
            waiting, self.inflight = self.inflight, []
        for first_done in waiting:
            first_done.wait(timeout=30)

    def post(self, msg_id: str, body: bytes, timestamp: str | None = None) -> int:
        """One signed POST; the status comms answered (0 when it could not be reached)."""
        timestamp = timestamp or str(int(time.time()))
        with self.lock:
            url, secrets = self.url, list(self.secrets)
        signature = " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Svix-Webhooks/1.0",
                "webhook-id": msg_id,
                "webhook-timestamp": timestamp,
                "webhook-signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        with self.lock:
            self.sent.append({"id": msg_id, "status": status, "body": json.loads(body)})
        return status

    def _attempts(self, msg_id: str, body: bytes, first_done: threading.Event) -> None:
        status = self.post(msg_id, body)
        first_done.set()
        if 200 <= status < 300:
            return
        for delay in RETRY_AFTER:
            if self.stopping.wait(delay):
                return
            if 200 <= self.post(msg_id, body) < 300:
                return
