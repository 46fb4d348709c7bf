"""A sandbox on a free port and a zenpy client pointed at it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from zenpy import Zenpy

from comms.sandbox import Sandbox

AGENT = "agent@example.com"
TOKEN = "sandbox"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(port=0, token=TOKEN, api_email=AGENT).start()
    yield sb
    sb.stop()


@pytest.fixture
def zd(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Zenpy:
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sandbox.netloc)
    return Zenpy(subdomain="sandbox", email=AGENT, token=TOKEN, disable_cache=True)


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    """A plain authenticated session for what zenpy cannot send."""
    session = requests.Session()
    session.auth = (f"{AGENT}/token", TOKEN)
    yield session
    session.close()
