"""A small threaded HTTP server base for the incident.io and Slack emulators."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Faults:
    """Injected failures (status and Retry-After) for requests whose path matches a regex."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[dict[str, Any]] = []
        self.holds: list[tuple[re.Pattern[str], threading.Event, threading.Event]] = []

    def hold(self, path: str) -> tuple[threading.Event, threading.Event]:
        """Keep the next request whose path matches waiting (a slow answer): it sets the first
        event when it arrives and is answered when the second is set (or after a minute)."""
        arrived, release = threading.Event(), threading.Event()
        with self.lock:
            self.holds.append((re.compile(path), arrived, release))
        return arrived, release

    def add(self, path: str, count: int = 1, status: int = 503, retry_after: int = 1) -> None:
        with self.lock:
            self.pending.append(
                {"re": re.compile(path), "count": count, "status": status, "retry": retry_after}
            )

    def take(self, path: str) -> dict[str, Any] | None:
        with self.lock:
            held = [hold for hold in self.holds if hold[0].search(path)][:1]
            for hold in held:
                self.holds.remove(hold)
        for _, arrived, release in held:
            arrived.set()
            release.wait(60)
        with self.lock:
            for fault in self.pending:
                if fault["count"] > 0 and fault["re"].search(path):
                    fault["count"] -= 1
                    return fault
        return None


class Window:
    """Requests in a sliding window: admit() says how many seconds to wait, 0 when allowed."""

    def __init__(self, limit: int | None, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.hits: deque[float] = deque()
        self.lock = threading.Lock()

    def admit(self) -> int:
        now = time.monotonic()
        with self.lock:
            while self.hits and now - self.hits[0] >= self.seconds:
                self.hits.popleft()
            if self.limit is not None and len(self.hits) >= self.limit:
                return max(1, round(self.seconds - (now - self.hits[0]) + 0.5))
            self.hits.append(now)
            return 0


class JsonHandler(BaseHTTPRequestHandler):
    """Reads the body and query once; subclasses implement route()."""

    protocol_version = "HTTP/1.1"
    server: JsonServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log on stderr."""

    def do_GET(self) -> None:
        """Every method goes through route()."""
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length else b""
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.path_only = url.path
        try:
            status, body, headers = self.route()
        except Exception as error:  # an emulator bug must answer, not hang the client
            status, body, headers = 500, {"error": f"emulator error: {error}"}, {}
        self.send_json(status, body, headers)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def route(self) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError

    def json_body(self) -> Any:
        try:
            return json.loads(self.raw_body or b"{}")
        except ValueError:
            return None

    def send_json(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def quiet_on_socket_errors(handle_error: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """A server's handle_error that says nothing when a connection broke (the client went
    away, or the server is stopping under it), as a real web server would; it still reports
    every other error."""

    def handle(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            handle_error(request, client_address)

    return handle


class JsonServer(ThreadingHTTPServer):
    """Serve in a daemon thread on host:port (0 picks a free port)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, host: str, port: int, handler: type[JsonHandler]) -> None:
        super().__init__((host, port), handler)
        self.handle_error = quiet_on_socket_errors(super().handle_error)  # type: ignore[method-assign]
        bound_host, bound_port = self.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
