"""Build zenpy clients pinned to one Zendesk address, with counting and server-error retries."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
JOBS_PAUSE = 2.0  # seconds between tries while the account has too many jobs


class RequestCounter:
    """Count HTTP exchanges across every session of a gateway, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count one response (a requests response hook)."""
        with self._lock:
            self.value += 1


# Zendesk's own limits beside the account's, by the name its Zendesk-RateLimit-<name> header
# gives them: ticket updates 100 a minute, exports 10 and 100, search 2,500, ticket lists 100.
ENDPOINT_LIMITS = (
    ("PUT", re.compile(r"/api/v2/tickets/\d+(?:\.json)?$"), "tickets-update"),
    ("GET", re.compile(r"/api/v2/incremental/"), "incremental-exports"),
    ("GET", re.compile(r"/api/v2/search/export"), "search-export"),
    ("GET", re.compile(r"/api/v2/search(?:/count)?(?:\.json)?$"), "search-index"),
    ("GET", re.compile(r"/api/v2/tickets(?:\.json)?$"), "tickets-index"),
)
ENDPOINT_HEADER = "zendesk-ratelimit-"
ACCOUNT = "account"


def endpoint_of(method: str, url: str) -> str | None:
    """The name of the endpoint limit a request counts against, if it has one."""
    path = urlsplit(url).path
    for verb, pattern, name in ENDPOINT_LIMITS:
        if method == verb and pattern.search(path):
            return name
    return None


@dataclass
class _Window:
    """What Zendesk last said of one limit: requests left, and when its window resets."""

    remaining: int | None = None
    reset_at: float = 0.0
    in_flight: int = 0

    def full(self, now: float) -> bool:
        """No place left for another request in this window (a past window: unknown, so no)."""
        if self.remaining is None or now >= self.reset_at:
            self.remaining = None
            return False
        return self.remaining - self.in_flight <= 0

    def learn(self, left: int, resets_in: float) -> None:
        """Take in an answer's count: a later window, or fewer left, wins."""
        reset_at = time.monotonic() + resets_in
        if self.remaining is None or reset_at > self.reset_at + 1 or left < self.remaining:
            self.remaining, self.reset_at = left, reset_at


class Pacer:
    """Stay under Zendesk's rate limits instead of hitting them.

    Every answer says how many requests are left in the account's current window and when it
    resets (`X-Rate-Limit-Remaining`, `ratelimit-reset`), and for an endpoint with a limit of
    its own (search, exports, ticket updates) the same in `Zendesk-RateLimit-<name>`; when
    none are left for this request, it waits for the reset rather than be refused. Requests
    still in flight are counted against what is left, so several threads together stay under
    it too. The requests of other apps on the same account show in the headers, so they are
    waited out the same way.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._windows: dict[str, _Window] = {ACCOUNT: _Window()}
        self.waited = 0.0  # seconds spent waiting for resets, in total
        self.waiting_until = 0.0  # while waiting: when the window resets
        self.max_wait: float = 60.0
        self._warned_for = 0.0  # the window last said to be used up (said once per window)
        self.waiting_for_jobs = False  # waiting because the account has too many jobs

    def _names(self, endpoint: str | None) -> list[str]:
        return [ACCOUNT, endpoint] if endpoint else [ACCOUNT]

    def before(self, endpoint: str | None = None) -> None:
        """Wait, if need be, until this request fits in the account's and its endpoint's window."""
        names = self._names(endpoint)
        with self._cond:
            windows = [self._windows.setdefault(name, _Window()) for name in names]
            while True:
                now = time.monotonic()
                full = [w.reset_at for w in windows if w.full(now)]
                if not full:
                    break
                wait = max(full) - now
                if wait > self.max_wait:
                    break  # beyond the budget: send it; Zendesk's 429 says how long
                if self._warned_for != max(full):
                    self._warned_for = max(full)
                    log.warning("Zendesk's rate limit is used up; waiting %.0f s for a reset", wait)
                self.wait_for(wait)
            for window in windows:
                window.in_flight += 1

    def wait_for(self, seconds: float) -> None:
        """Wait (the lock held by the caller), saying meanwhile how long is left."""
        started = time.monotonic()
        self.waiting_until = started + seconds
        self._cond.wait(seconds)
        self.waited += time.monotonic() - started
        self.waiting_until = 0.0

    def after(self, response: requests.Response | None, endpoint: str | None = None) -> None:
        """Read what is left from the answer (or only release the place on a failure)."""
        with self._cond:
            for name in self._names(endpoint):
                window = self._windows[name]
                window.in_flight = max(0, window.in_flight - 1)
            if response is not None:
                self._read(response)
            self._cond.notify_all()

    def _read(self, response: requests.Response) -> None:
        headers = response.headers
        endpoint_used_up = False
        for key, value in headers.items():
            if key.lower().startswith(ENDPOINT_HEADER):
                fields = dict(_fields(value))
                if "remaining" in fields:
                    name = key.lower().removeprefix(ENDPOINT_HEADER)
                    window = self._windows.setdefault(name, _Window())
                    window.learn(int(fields["remaining"]), float(fields.get("resets", 1)))
                    endpoint_used_up |= fields["remaining"] == 0
        left = headers.get("X-Rate-Limit-Remaining") or headers.get("ratelimit-remaining")
        reset = headers.get("ratelimit-reset")
        retry = headers.get("Retry-After")
        if response.status_code == 429 and retry:  # zenpy now sleeps Retry-After: say so
            if retry.strip().isdigit():
                self.waiting_until = max(self.waiting_until, time.monotonic() + float(retry))
            if not endpoint_used_up:  # the account's limit it was, then
                left, reset = "0", retry
        if left is None or not left.strip().isdigit():
            return
        resets_in = float(reset) if reset and reset.strip().isdigit() else 1.0
        self._windows[ACCOUNT].learn(int(left), resets_in)

    def pause_for_jobs(self, seconds: float) -> None:
        """Wait for Zendesk to finish some of the account's jobs, saying so meanwhile."""
        with self._cond:
            self.waiting_for_jobs = True
            self.waiting_until = max(self.waiting_until, time.monotonic() + seconds)
        time.sleep(seconds)
        with self._cond:
            self.waited += seconds
            self.waiting_for_jobs = False
            self.waiting_until = 0.0

    def seconds_to_wait(self) -> float:
        """While a request waits for a window to reset: how long is left; else 0."""
        return max(0.0, self.waiting_until - time.monotonic()) if self.waiting_until else 0.0


def _fields(value: str) -> Iterator[tuple[str, float]]:
    """The numbers of a `total=100; remaining=99; resets=41` header."""
    for part in value.split(";"):
        key, _, number = part.strip().partition("=")
        if number.strip().isdigit():
            yield key.strip().lower(), float(number)


class RetryingSession(requests.Session):
    """A session that paces itself under the rate limit and retries server errors a few times."""

    def __init__(self, delays: Sequence[float], pacer: Pacer | None = None) -> None:
        super().__init__()
        self.delays = tuple(delays)
        self.pacer = pacer or Pacer()

    def _send_paced(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        verb = method.decode() if isinstance(method, bytes) else method
        endpoint = endpoint_of(verb.upper(), url.decode() if isinstance(url, bytes) else url)
        self.pacer.before(endpoint)
        response = None
        try:
            # requests accepts bytes too; its stubs say str.
            response = super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
            return response
        finally:
            self.pacer.after(response, endpoint)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send the request, retrying 5xx answers that are safe to repeat."""
        verb = method.decode() if isinstance(method, bytes) else method.upper()
        retryable = RETRY_ANY if verb in IDEMPOTENT else RETRY_POST
        response = self._send_paced(method, url, *args, **kwargs)
        paused = 0.0
        while _too_many_jobs(response) and paused < self.pacer.max_wait:
            # Refused before anything was done, so sending it again is safe.
            response.close()
            log.warning("Zendesk has too many jobs queued on the account; waiting for some")
            self.pacer.pause_for_jobs(JOBS_PAUSE)
            paused += JOBS_PAUSE
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


def _too_many_jobs(response: requests.Response) -> bool:
    """Zendesk refused to queue a job: the account has 30 queued or running already."""
    if response.status_code < 400 or "json" not in response.headers.get("Content-Type", ""):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "TooManyJobs"


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
