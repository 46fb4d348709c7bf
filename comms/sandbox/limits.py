"""Zendesk's rate limits: the account's per minute by plan, and the per-endpoint ones.

Each limit counts requests in a fixed window that starts with the first request after the
last window ended, as `ratelimit-reset` reports. `window_s` shortens "a minute" for tests.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

# Requests per minute by plan (Support and Suite); Enterprise is the default.
PLANS = {"team": 200, "growth": 400, "professional": 400, "enterprise": 700, "high-volume": 2500}
DEFAULT_LIMIT = PLANS["enterprise"]
TICKET_UPDATE = re.compile(r"^/api/v2/tickets/(\d+)(?:\.json)?/?$")
INCREMENTAL = re.compile(r"^/api/v2/incremental/")
EXPORT = re.compile(r"^/api/v2/search/export")
SEARCH = re.compile(r"^/api/v2/search(?:/count)?(?:\.json)?/?$")
TICKET_LIST = re.compile(r"^/api/v2/tickets(?:\.json)?/?$")


@dataclass
class Window:
    """`limit` requests per `seconds`, counted in fixed windows."""

    limit: int
    seconds: float
    started: float = 0.0
    used: int = 0

    def take(self, now: float) -> tuple[int, float, bool]:
        """Count one request if allowed: (remaining, seconds to reset, allowed)."""
        if now - self.started >= self.seconds:
            self.started, self.used = now, 0
        reset = self.seconds - (now - self.started)
        if self.used >= self.limit:
            return 0, reset, False
        self.used += 1
        return self.limit - self.used, reset, True


@dataclass
class Limits:
    """Every limit of one account; `account` None means no account limit (a test's choice)."""

    account: int | None = DEFAULT_LIMIT
    window_s: float = 60.0
    windows: dict[str, Window] = field(default_factory=dict)

    def _window(self, name: str, limit: int, seconds: float) -> Window:
        window = self.windows.get(name)
        if window is None or window.limit != limit or window.seconds != seconds:
            window = self.windows[name] = Window(limit, seconds)
        return window

    def reset(self) -> None:
        """Start every window afresh."""
        self.windows.clear()

    def admit(self, method: str, path: str) -> tuple[dict[str, str], int]:
        """The rate-limit headers for this request, and Retry-After seconds (0: allowed)."""
        now = time.monotonic()
        minute = self.window_s
        headers: dict[str, str] = {}
        retry = 0.0
        limit = self.account or DEFAULT_LIMIT
        if self.account is not None:
            remaining, reset, ok = self._window("account", self.account, minute).take(now)
            retry = 0 if ok else reset
        else:
            remaining, reset = limit, minute
        headers.update(
            {
                "X-Rate-Limit": str(limit),
                "X-Rate-Limit-Remaining": str(remaining),
                "ratelimit-limit": str(limit),
                "ratelimit-remaining": str(remaining),
                "ratelimit-reset": str(max(1, math.ceil(reset))),
            }
        )
        if retry:
            return headers, math.ceil(retry)
        endpoint: list[tuple[str, str, int, float]] = []
        ticket = TICKET_UPDATE.match(path)
        if method == "PUT" and ticket:
            endpoint.append(("tickets-update", "tickets-update", 100, minute))
            endpoint.append((f"ticket-{ticket.group(1)}", "", 30, minute * 10))
        if INCREMENTAL.match(path):
            endpoint.append(("incremental-exports", "incremental-exports", 10, minute))
        if EXPORT.match(path):
            endpoint.append(("search-export", "search-export", 100, minute))
        if method == "GET" and SEARCH.match(path):
            endpoint.append(("search-index", "search-index", 2500, minute))
        if method == "GET" and TICKET_LIST.match(path):
            endpoint.append(("tickets-index", "tickets-index", 100, minute))
        for key, header, per, seconds in endpoint:
            left, resets, ok = self._window(key, per, seconds).take(now)
            if header:
                headers[f"Zendesk-RateLimit-{header}"] = (
                    f"total={per}; remaining={left}; resets={max(1, math.ceil(resets))}"
                )
            retry = max(retry, 0 if ok else resets)
        return headers, math.ceil(retry) if retry else 0
