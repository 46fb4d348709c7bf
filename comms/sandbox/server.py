"""HTTP front of the sandbox: auth, rate limit, latency, faults, control endpoints, dispatch."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import Request, dispatch
from .jsonserver import quiet_on_socket_errors
from .limits import Limits
from .shapes import FORBIDDEN, ApiError
from .store import Store
from .webhook import Webhook

AUTH_FAILED = {"error": "Couldn't authenticate you"}


class Controls:
    """Mutable server behaviour: token, rate limit, latency, faults, webhook, counters."""

    def __init__(
        self, token: str, latency_ms: int, rate_limit: int | None, window_s: float = 60.0
    ) -> None:
        """Initial settings; rate_limit None: no account limit."""
        self.token = token
        self.latency_ms = latency_ms
        self.limits = Limits(rate_limit, window_s)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.faults: list[dict[str, Any]] = []
        self.request_count = 0
        self.in_flight = 0
        self.limited = 0  # 429s answered for being over a rate limit
        self.most_in_flight = 0  # the most API requests answered at the same time
        self.webhook: Webhook | None = None
        # Requests whose path matches wait here while it is set: a test counts them in flight.
        self.held: re.Pattern[str] | None = None
        self.released = threading.Condition(self.lock)

    def add_fault(self, path: str, count: int = 1, status: int = 503, hang: bool = False) -> None:
        """Fail the next count requests whose path matches the regex."""
        with self.lock:
            self.faults.append(
                {"re": re.compile(path), "count": count, "status": status, "hang": hang}
            )

    def take_fault(self, path: str) -> dict[str, Any] | None:
        """The fault for this request, if any (consumes one)."""
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and fault["re"].search(path):
                    fault["count"] -= 1
                    return fault
            self.faults = [f for f in self.faults if f["count"] > 0]
        return None

    @property
    def rate_limit(self) -> int | None:
        """Requests per minute for the account (None: unlimited)."""
        return self.limits.account

    def set_rate_limit(self, per_minute: int | None, window_s: float | None = None) -> None:
        """Change the account limit (and the length of its "minute"); windows start afresh."""
        with self.lock:
            self.limits.account = per_minute
            if window_s is not None:
                self.limits.window_s = window_s
            self.limits.reset()

    def admit(self, method: str, path: str) -> tuple[dict[str, str], int]:
        """Count a request: its rate-limit headers and Retry-After (0 if allowed)."""
        with self.lock:
            self.request_count += 1
            return self.limits.admit(method, path)


class Handler(BaseHTTPRequestHandler):
    """One request; the server carries .store and .controls."""

    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log on stderr."""

    def do_GET(self) -> None:
        """GET."""
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def send_json(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        """Write a JSON (or empty, for 204) response."""
        data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        body = body if raw is None else raw or None
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def read_body(self) -> dict[str, Any]:
        """The JSON request body ({} if none); 400 if malformed."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(
                400,
                {"error": "Unprocessable Entity", "description": "Request body is not valid JSON"},
            ) from None
        return body if isinstance(body, dict) else {"_": body}

    def authenticate(self) -> int:
        """The signed-in agent's id; 401 for wrong credentials, 403 for an end-user.

        Like Zendesk: the token must be right and the e-mail an existing, active user's;
        end-users and suspended users may not use the API.
        """
        header = self.headers.get("Authorization") or ""
        login = secret = ""
        if header.startswith("Basic "):
            with contextlib.suppress(ValueError):
                login, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        email, _, kind = login.rpartition("/")
        store = self.server.store
        with store.lock:
            user = store.user_by_email(email) if email else None
            if kind != "token" or secret != self.server.controls.token or not user:
                raise ApiError(401, dict(AUTH_FAILED))
            if user["role"] not in ("agent", "admin") or user["suspended"] or not user["active"]:
                raise ApiError(403, dict(FORBIDDEN))
            return int(user["id"])

    def handle_any(self) -> None:
        """Control endpoints, then auth, faults, rate limit, latency, dispatch."""
        url = urlsplit(self.path)
        try:
            body = self.read_body()
        except ApiError as exc:
            self.send_json(exc.status, exc.body)
            return
        if url.path.startswith("/_sandbox/"):
            from .control import control

            status, answer = control(self.server, self.command, url.path, body)
            self.send_json(status, answer)
            return
        controls = self.server.controls
        with controls.lock:
            controls.in_flight += 1
            controls.most_in_flight = max(controls.most_in_flight, controls.in_flight)
        try:
            self.answer_api(url, body)
        finally:
            with controls.lock:
                controls.in_flight -= 1

    def answer_api(self, url: Any, body: dict[str, Any]) -> None:
        """Rate limit, latency, faults, auth, then the route."""
        controls = self.server.controls
        headers, retry = controls.admit(self.command, url.path)
        with controls.released:
            while (
                controls.held and controls.held.search(url.path) and not controls.stopping.is_set()
            ):
                controls.released.wait(1)
        if controls.latency_ms:
            controls.stopping.wait(controls.latency_ms / 1000)
        fault = controls.take_fault(self.path)
        if fault and fault["hang"]:
            controls.stopping.wait(600)
            self.close_connection = True
            return
        if fault:
            self.send_fault(fault["status"], headers)
            return
        if retry:
            with controls.lock:
                controls.limited += 1
            self.send_json(
                429,
                {"error": "TooManyRequests", "description": "Rate limit exceeded, retry later"},
                dict(headers, **{"Retry-After": str(retry)}),
            )
            return
        try:
            uid = self.authenticate()
        except ApiError as exc:
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="Web Password"'
            self.send_json(exc.status, exc.body, headers)
            return
        params = parse_qs(url.query, keep_blank_values=True)
        store = self.server.store
        try:
            with store.lock:
                status, answer = dispatch(Request(store, self.command, url.path, params, body, uid))
                raw = b"" if answer is None else json.dumps(answer).encode()
        except ApiError as exc:
            status, raw = exc.status, json.dumps(exc.body).encode()
        except (TypeError, ValueError, KeyError) as exc:
            answer = {"error": "InvalidValue", "description": f"Invalid request: {exc}"}
            status, raw = 400, json.dumps(answer).encode()
        self.send_json(status, None, headers, raw=raw)

    def send_fault(self, status: int, headers: dict[str, str]) -> None:
        """An injected failure."""
        if status == 429:
            self.send_json(
                429,
                {"error": "TooManyRequests", "description": "Injected fault"},
                dict(headers, **{"Retry-After": "1"}),
            )
        elif status == 404:
            self.send_json(404, {"error": "RecordNotFound", "description": "Not found"}, headers)
        else:
            error = "ServiceUnavailable" if status == 503 else "InternalError"
            self.send_json(
                status, {"error": error, "description": f"Injected fault ({status})"}, headers
            )


class SandboxServer(ThreadingHTTPServer):
    """The threading HTTP server holding the store and controls."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: Store, controls: Controls) -> None:
        """Bind (port 0 = a free port)."""
        super().__init__(address, Handler)
        self.handle_error = quiet_on_socket_errors(super().handle_error)  # type: ignore[method-assign]
        self.store = store
        self.controls = controls
