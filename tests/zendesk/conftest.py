"""A Zendesk sandbox on a free port and a gateway pointed at it over HTTP."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from comms.config import ZendeskSettings
from comms.sandbox import Sandbox
from comms.zendesk import Gateway

AGENT = "agent@example.com"


class QuickGateway(Gateway):
    """The real gateway with shorter retry sleeps and job polling, to keep tests fast."""

    retry_delays = (0.01, 0.02, 0.05)
    job_poll_interval = 0.02


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(port=0, token="sandbox", api_email=AGENT).start()
    yield sb
    sb.stop()


@pytest.fixture
def settings(sandbox: Sandbox) -> ZendeskSettings:
    return ZendeskSettings(
        url=sandbox.url, email=AGENT, token="sandbox", timeout=2.0, rate_limit_wait_seconds=2
    )


@pytest.fixture
def make_gateway() -> Iterator[Callable[[ZendeskSettings], Gateway]]:
    made: list[Gateway] = []

    def make(settings: ZendeskSettings) -> Gateway:
        gateway = QuickGateway(settings)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(settings: ZendeskSettings, make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway(settings)


@pytest.fixture
def unreachable(settings: ZendeskSettings) -> ZendeskSettings:
    """Settings pointing at a local port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return replace(settings, url=f"http://127.0.0.1:{port}")
