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


class RetryingSession(requests.Session):
    """A session that retries server errors a few times with short, growing sleeps."""

    def __init__(self, delays: Sequence[float]) -> None:
        super().__init__()
        self.delays = tuple(delays)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send the request, retrying 5xx answers that are safe to repeat."""
        verb = method.decode() if isinstance(method, bytes) else method.upper()
        retryable = RETRY_ANY if verb in IDEMPOTENT else RETRY_POST
        response = super().request(method, url, *args, **kwargs)
        for delay in self.delays:
            if response.status_code not in retryable:
                break
            response.close()
            time.sleep(delay)
            response = super().request(method, url, *args, **kwargs)
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
    api._comms_scheme = scheme  # type: ignore[attr-defined]
    api._comms_netloc = netloc  # type: ignore[attr-defined]


def make_client(
    settings: ZendeskSettings, counter: RequestCounter, delays: Sequence[float]
) -> Zenpy:
    """Build a zenpy client: no cache, a timeout, a rate-limit budget, no proactive throttling."""
    session = RetryingSession(delays)
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
