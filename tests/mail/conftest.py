"""Fixtures for the mail tests: settings, a renderer and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from comms.config import Settings
from comms.mail.message import build_message, make_message_id
from comms.mail.render import EmailRenderer
from comms.sandbox.mailcatcher import MailCatcher


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def renderer(settings: Settings) -> EmailRenderer:
    return EmailRenderer(settings)


@pytest.fixture
def smtp_settings(settings: Settings, catcher: MailCatcher) -> Settings:
    """Settings that send to the catcher, giving up on a silent server after 5 s
    (a reply a busy machine is slow to give is not silence)."""
    smtp = replace(settings.smtp, backend="smtp", port=catcher.port, timeout=5.0)
    return replace(settings, smtp=smtp)


@pytest.fixture
def make_message(renderer: EmailRenderer):  # type: ignore[no-untyped-def]
    """Build a rendered update for contact number `n`."""

    def make(n: int, kind: str = "update"):  # type: ignore[no-untyped-def]
        rendered = renderer.render(kind, renderer.sample_context(kind))
        first = make_message_id("example.com", "inc-42", "initial", f"contact-{n}")
        return build_message(
            rendered,
            to_name=f"Contact {n}",
            to_address=f"contact{n}@client.example",
            from_address="Example Agency Support <support@example.com>",
            reply_to="support@example.com",
            message_id=make_message_id("example.com", "inc-42", kind, f"contact-{n}"),
            in_reply_to=first,
            references=[first],
            incident_reference="INC-42",
            date=datetime(2025, 3, 4, 13, 0, tzinfo=UTC),
        )

    return make
