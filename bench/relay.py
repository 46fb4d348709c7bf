"""A mail relay of our own for the benchmarks: whatever a client sends arrives a set delay later.

A real relay answers each command a network round trip later (tens of milliseconds); this one
holds every byte it receives for the delay before reading it, so each round trip costs the
delay, and commands sent together (PIPELINING, which it offers and handles as Postfix does:
aiosmtpd reads commands one by one from its buffer) cost one delay between them. It runs in its
own process (so it does not compete with the sender for the GIL), counts messages per
recipient, and notes when each incident's first and last message was accepted.
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

INCIDENT = re.compile(rb"^X-Incident-Reference: (\S+)", re.MULTILINE)


@dataclass
class Accepted:
    """What the relay accepted: per recipient, and per incident the first and last time."""

    per_recipient: Counter = field(default_factory=Counter)
    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.per_recipient.values())


class _Handler:
    def __init__(self, accepted: Accepted, count: Any) -> None:
        self.accepted, self.count = accepted, count

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        now = time.time()
        for recipient in envelope.rcpt_tos:
            self.accepted.per_recipient[recipient] += 1
        found = INCIDENT.search(envelope.original_content or b"")
        if found:
            reference = found.group(1).decode()
            self.accepted.first.setdefault(reference, now)
            self.accepted.last[reference] = now
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def _serve(port: int, delay: float, count: Any, ready: Any, stop: Any, results: Any) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class SlowSMTP(SMTP):
        """Every chunk received is read `delay` later, in the order it came."""

        def connection_made(self, transport):  # type: ignore[no-untyped-def]
            self._held: collections.deque[tuple[float, bytes]] = collections.deque()
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if not delay:
                return super().data_received(data)
            loop = asyncio.get_running_loop()
            self._held.append((loop.time() + delay, data))
            if len(self._held) == 1:
                loop.call_later(delay, self._release)

        def _release(self) -> None:
            loop = asyncio.get_running_loop()
            while self._held and self._held[0][0] <= loop.time():
                super().data_received(self._held.popleft()[1])
            if self._held:
                loop.call_at(self._held[0][0], self._release)

    class SlowController(Controller):
        def factory(self):  # type: ignore[no-untyped-def]
            return SlowSMTP(self.handler, **self.SMTP_kwargs)

    accepted = Accepted()
    controller = SlowController(
        _Handler(accepted, count), hostname="127.0.0.1", port=port, ready_timeout=30
    )
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    results.send(accepted)


class Relay:
    """Start with `with Relay(port, delay_ms) as relay:`; `relay.count` is live."""

    def __init__(self, port: int, delay_ms: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.port, self.delay_ms = port, delay_ms
        self._count = context.Value("l", 0)
        self._ready, self._stop = context.Event(), context.Event()
        self._results, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(port, delay_ms / 1000, self._count, self._ready, self._stop, sending),
            daemon=True,
        )
        self.accepted = Accepted()

    @property
    def count(self) -> int:
        return int(self._count.value)

    def __enter__(self) -> Relay:
        self._process.start()
        if not self._ready.wait(60):
            raise SystemExit("the benchmark relay did not start")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        if self._results.poll(60):
            self.accepted = self._results.recv()
        self._process.join(10)
