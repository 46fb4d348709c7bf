"""Build zenpy clients pinned to one Zendesk address, with counting and server-error retries."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from zenpy import Zenpy
from zenpy.lib.api import BaseApi

from comms.config import ZendeskSettings

log = logging.getLogger(__name__)

# Only these zenpy APIs are used; each is pinned to the configured address.
USED_APIS = ("tickets", "users", "organizations", "search", "job_status")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# A POST is retried only when the server says it never reached the application.
RETRY_ANY = frozenset({500, 502, 503, 504})
RETRY_POST = frozenset({502, 503, 504})


class RequestCounter:
    """Count HTTP exchanges across every session of a gateway, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count one response (a requests response hook)."""
        with self._lock:
            self.value += 1


class Pacer:
    """Stay under Zendesk's account rate limit instead of hitting it.

    Every answer says how many requests are left in the current window and when it resets
    (`X-Rate-Limit-Remaining`, `ratelimit-reset`); when none are left for this request, it
    waits for the reset rather than be refused. Requests still in flight are counted against
    what is left, so several threads together stay under it too. The requests of other apps
    on the same account show in the headers, so they are waited out the same way.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.remaining: int | None = None  # what the last answer said is left
        self.reset_at = 0.0
        self.in_flight = 0
        self.waited = 0.0  # seconds spent waiting for resets, in total
        self.waiting_until = 0.0  # while waiting: when the window resets
        self.max_wait: float = 60.0
        self._warned_for = 0.0  # the window last said to be used up (said once per window)

    def before(self) -> None:
        """Wait, if need be, until this request fits in the window."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self.remaining is None or now >= self.reset_at:
                    self.remaining = None  # a new window: its answers will tell
                    break
                if self.remaining - self.in_flight > 0:
                    break
                wait = self.reset_at - now
                if wait > self.max_wait:
                    break  # beyond the budget: send it; Zendesk's 429 says how long
                if self._warned_for != self.reset_at:
                    self._warned_for = self.reset_at
                    log.warning("Zendesk's rate limit is used up; waiting %.0f s for a reset", wait)
                self.waiting_until = self.reset_at
                self._cond.wait(wait)
                self.waited += time.monotonic() - now
                self.waiting_until = 0.0
            self.in_flight += 1

    def after(self, response: requests.Response | None) -> None:
        """Read what is left from the answer (or only release the place on a failure)."""
        with self._cond:
            self.in_flight = max(0, self.in_flight - 1)
            if response is not None:
                self._read(response)
            self._cond.notify_all()

    def _read(self, response: requests.Response) -> None:
        headers = response.headers
        left = headers.get("X-Rate-Limit-Remaining") or headers.get("ratelimit-remaining")
        reset = headers.get("ratelimit-reset")
        if response.status_code == 429:  # zenpy now sleeps Retry-After: say so meanwhile
            left, reset = "0", headers.get("Retry-After") or reset
            if reset and reset.strip().isdigit():
                self.waiting_until = max(self.waiting_until, time.monotonic() + float(reset))
        if left is None or not left.strip().isdigit():
            return
        resets_in = float(reset) if reset and reset.strip().isdigit() else 1.0
        reset_at = time.monotonic() + resets_in
        if self.remaining is None or reset_at > self.reset_at + 1 or int(left) < self.remaining:
            self.remaining, self.reset_at = int(left), reset_at

    def seconds_to_wait(self) -> float:
        """While a request waits for the window to reset: how long is left; else 0."""
        return max(0.0, self.waiting_until - time.monotonic()) if self.waiting_until else 0.0


class RetryingSession(requests.Session):
    """A session that paces itself under the rate limit and retries server errors a few times."""

    def __init__(self, delays: Sequence[float], pacer: Pacer | None = None) -> None:
        super().__init__()
        self.delays = tuple(delays)
        self.pacer = pacer or Pacer()

    def _send_paced(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.pacer.before()
        response = None
        try:
            # requests accepts bytes too; its stubs say str.
            response = super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
            return response
        finally:
            self.pacer.after(response)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send the request, retrying 5xx answers that are safe to repeat."""
        verb = method.decode() if isinstance(method, bytes) else method.upper()
        retryable = RETRY_ANY if verb in IDEMPOTENT else RETRY_POST
        response = self._send_paced(method, url, *args, **kwargs)
        for delay in self.delays:
            if response.status_code not in retryable:
                break
            response.close()
            time.sleep(delay)
            response = self._send_paced(method, url, *args, **kwargs)
        if response.status_code == 429:
            wait = response.headers.get("Retry-After", "?")
            log.warning("Zendesk is limiting requests; retrying in %s s", wait)
        return response


def address(settings: ZendeskSettings) -> str:
    """Return scheme://host[:port] of the Zendesk API (the sandbox when `url` is set)."""
    if settings.url:
        parts = urlsplit(settings.url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{settings.subdomain}.zendesk.com"


class _Pinned:
    """Mixin that builds URLs from the instance's own scheme and host, ignoring ZENPY_FORCE_*."""

    _comms_scheme: str
    _comms_netloc: str
    api_prefix: str

    @property
    def base_url(self) -> str:
        return self._comms_netloc

    def _build_url(self, endpoint: Any, api_prefix: str | None = None) -> str:
        endpoint.scheme = self._comms_scheme
        endpoint.netloc = self._comms_netloc
        endpoint.prefix_path(api_prefix or self.api_prefix)
        return endpoint.build()


_PINNED_CLASSES: dict[type, type] = {}


def _pin(api: BaseApi, scheme: str, netloc: str) -> None:
    """Point one zenpy API object at scheme://netloc without touching os.environ."""
    cls = type(api)
    if cls not in _PINNED_CLASSES:
        _PINNED_CLASSES[cls] = type(f"Pinned{cls.__name__}", (_Pinned, cls), {})
    api.__class__ = _PINNED_CLASSES[cls]
    api._comms_scheme = scheme
    api._comms_netloc = netloc


def make_client(
    settings: ZendeskSettings,
    counter: RequestCounter,
    delays: Sequence[float],
    pacer: Pacer | None = None,
) -> Zenpy:
    """Build a zenpy client: no cache, a timeout, a rate-limit budget, our own pacing."""
    session = RetryingSession(delays, pacer)
    session.hooks["response"].append(counter.hook)
    client = Zenpy(
        subdomain=settings.subdomain or "sandbox",
        email=settings.email,
        token=settings.token,
        session=session,
        timeout=settings.timeout,
        ratelimit_budget=settings.rate_limit_wait_seconds,
        disable_cache=True,
    )
    parts = urlsplit(address(settings))
    for name in USED_APIS:
        _pin(getattr(client, name), parts.scheme, parts.netloc)
    return client


def reset_budget(client: Zenpy, seconds: int) -> None:
    """Refill zenpy's rate-limit budget, which it otherwise spends once for the client's life."""
    for name in USED_APIS:
        getattr(client, name).ratelimit_budget = seconds


def close_client(client: Zenpy) -> None:
    """Close the client's HTTP connections."""
    client.tickets.session.close()
