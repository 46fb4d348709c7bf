"""A Zendesk Support API v2 emulator: a real HTTP server for tests, the demo and rehearsals."""

from __future__ import annotations

import argparse
import re
import sys
import threading
from typing import Any

from .control import set_webhook, stats
from .limits import DEFAULT_LIMIT
from .server import Controls, SandboxServer
from .store import API_EMAIL, INDEX_DELAY_S, Store
from .webhook import sign

__all__ = ["Sandbox", "main", "sign"]


class Sandbox:
    """A Zendesk account served over HTTP on host:port (port 0 picks a free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox",
        latency_ms: int = 0,
        rate_limit: int | None = DEFAULT_LIMIT,
        seed: str | None = None,
        scale: dict[str, int] | None = None,
        seed_number: int = 1,
        api_email: str = API_EMAIL,
        rate_window_s: float = 60.0,
        index_delay_s: float = INDEX_DELAY_S,
    ) -> None:
        """Bind the socket and build the account (seeded if seed or scale is given).

        Only an agent or admin may use the API: api_email is the admin comms signs in as
        (the demo seed makes it the agency's admin, alex.morgan@brightwave.digital).
        Zendesk's rate limits apply: rate_limit requests a minute for the account (700, the
        Enterprise plan; None for none), and the per-endpoint ones; rate_window_s shortens
        the minute for tests. Search finds a change index_delay_s after it (60 s; Zendesk
        takes "a few minutes"); index_now() indexes everything at once.
        """
        self.controls = Controls(token, latency_ms, rate_limit, rate_window_s)
        self.store = Store("http://placeholder", api_email, index_delay_s)
        self.server = SandboxServer((host, port), self.store, self.controls)
        bound_host, bound_port = self.server.server_address[:2]
        self.netloc = f"{bound_host}:{bound_port}"
        self.url = f"http://{self.netloc}"
        self.store.base_url = self.url
        self.store.users[self.store.api_user_id]["url"] = (
            f"{self.url}/api/v2/users/{self.store.api_user_id}.json"
        )
        self.token = token
        self.seed_summary: dict[str, Any] | None = None
        if seed or scale:
            from .seed import seed as run_seed

            self.seed_summary = run_seed(self.store, seed or "demo", seed_number, scale)
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"zendesk-sandbox-{self.netloc}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (hanging requests are released) and close the socket."""
        self.controls.stopping.set()
        self.store.jobs_may_run.set()
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()

    def __enter__(self) -> Sandbox:
        """Start on entering a with-block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving a with-block."""
        self.stop()

    @property
    def request_count(self) -> int:
        """API requests served so far (control endpoints excluded)."""
        return self.controls.request_count

    def reset_request_count(self) -> None:
        """Zero the request counter."""
        with self.controls.lock:
            self.controls.request_count = 0
            self.controls.most_in_flight = 0
            self.controls.limited = 0

    def fail_next(
        self, path_regex: str, count: int = 1, status: int = 503, hang: bool = False
    ) -> None:
        """Answer status (or hang) for the next count requests whose path matches."""
        self.controls.add_fault(path_regex, count, status, hang)

    def set_webhook(self, target_url: str | None, secret: str = "") -> None:
        """POST a signed zen:event-type:ticket.created event for every ticket created."""
        set_webhook(self.server, target_url, secret)

    def set_rate_limit(self, n_per_minute: int | None, window_s: float | None = None) -> None:
        """Requests allowed per minute (None = unlimited, headers say 700); windows restart."""
        self.controls.set_rate_limit(n_per_minute, window_s)

    def hold_jobs(self, held: bool = True) -> None:
        """Keep new and queued jobs queued until released with hold_jobs(False)."""
        if held:
            self.store.jobs_may_run.clear()
        else:
            self.store.jobs_may_run.set()

    def hold_requests(self, path_regex: str | None) -> None:
        """Keep API requests whose path matches waiting (in flight) until hold_requests(None)."""
        with self.controls.released:
            self.controls.held = re.compile(path_regex) if path_regex else None
            self.controls.released.notify_all()

    def index_now(self) -> None:
        """Let search find every change made so far (a test that needs an instant index)."""
        with self.store.lock:
            self.store.index.index_now(self.store.pools())

    def set_index_delay(self, seconds: float) -> None:
        """How long after a change search finds it, from now on."""
        with self.store.lock:
            self.store.index.delay_s = seconds

    def set_latency(self, ms: int) -> None:
        """Delay every API answer by ms milliseconds."""
        self.controls.latency_ms = ms

    def stats(self) -> dict[str, Any]:
        """Counters (same as GET /_sandbox/stats)."""
        return stats(self.server)


def _scale(text: str | None) -> dict[str, int] | None:
    if not text:
        return None
    pairs = (part.split("=", 1) for part in text.split(",") if part.strip())
    return {key.strip(): int(value) for key, value in pairs}


def main(argv: list[str] | None = None) -> int:
    """Run a sandbox until Ctrl-C: comms sandbox --port 8765 --seed demo ..."""
    parser = argparse.ArgumentParser(prog="comms sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="sandbox", help="the API token (default: sandbox)")
    parser.add_argument(
        "--api-email", default=API_EMAIL, help=f"the API user, an admin (default: {API_EMAIL})"
    )
    parser.add_argument("--seed", default=None, help="demo data set (only 'demo')")
    parser.add_argument("--seed-number", type=int, default=1)
    parser.add_argument("--scale", default=None, help="e.g. orgs=300,users=40")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every answer")
    parser.add_argument(
        "--index-delay",
        type=float,
        default=INDEX_DELAY_S,
        help=f"seconds before search finds a new or changed record (default {INDEX_DELAY_S:g})",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_LIMIT,
        help="the account's requests per minute: 200, 400, 700 (default), 2500; 0 for none",
    )
    parser.add_argument(
        "--incident-io-port", type=int, default=None, help="incident.io emulator (default port+1)"
    )
    parser.add_argument(
        "--slack-port", type=int, default=None, help="Slack emulator (default port+2)"
    )
    args = parser.parse_args(argv)
    from .incident_io import IncidentIoEmulator
    from .slack import SlackEmulator

    try:
        # Next to the Zendesk port by default (any free port when that one is 0).
        near = (lambda step: args.port + step) if args.port else (lambda step: 0)
        incident_io = IncidentIoEmulator(
            args.host, near(1) if args.incident_io_port is None else args.incident_io_port
        )
        slack = SlackEmulator(args.host, near(2) if args.slack_port is None else args.slack_port)
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            token=args.token,
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit or None,
            seed=args.seed,
            scale=_scale(args.scale),
            seed_number=args.seed_number,
            api_email=args.api_email,
            index_delay_s=args.index_delay,
        )
    except (OSError, ValueError) as exc:
        print(f"comms sandbox: {exc}", file=sys.stderr)
        return 2
    summary = sandbox.seed_summary or {}
    me = sandbox.store.users[sandbox.store.api_user_id]["email"]
    print(f"Zendesk sandbox serving at {sandbox.url}  {summary or '(empty account)'}")
    print(f"  zenpy:  ZENPY_FORCE_SCHEME=http ZENPY_FORCE_NETLOC={sandbox.netloc}")
    print(
        f'         Zenpy(subdomain="sandbox", email="{me}", token="{args.token}",'
        " disable_cache=True)"
    )
    print(f"  API user: {me} (admin)  Ctrl-C to stop")
    print(
        f"incident.io emulator at {incident_io.url}  api_key = {incident_io.api_key}\n"
        f"  declare: POST {incident_io.url}/_emulator/incidents "
        '{"name": "...", "severity": "Critical"}; webhooks: POST /_emulator/webhook '
        '{"url": ..., "secrets": ["whsec_..."]}'
    )
    print(
        f"Slack emulator at {slack.url}  bot_token = {slack.bot_token}  "
        f"signing_secret = {slack.signing_secret}\n"
        f"  posts: GET {slack.server.url}/_emulator/posts; channels: POST /_emulator/channels; "
        "/comms: POST /_emulator/slash"
    )
    sys.stdout.flush()
    incident_io.start()
    slack.start()
    try:
        sandbox.server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        sandbox.controls.stopping.set()
        sandbox.server.server_close()
        incident_io.stop()
        slack.stop()
    return 0
