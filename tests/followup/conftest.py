"""Fixtures for the follow-up: a real SMTP server, and incidents resolved at a chosen time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from comms.config import Settings, SmtpSettings, ZendeskSettings
from comms.db import make_sessionmaker
from comms.followup import service as followup
from comms.incidents import service
from comms.incidents.models import Incident
from comms.sandbox.mailcatcher import MailCatcher


@pytest.fixture
def settings(settings: Settings, catcher: MailCatcher) -> Settings:
    """The shared test settings, sending to the catcher, with a Zendesk account for agent links."""
    smtp = SmtpSettings(backend="smtp", host="127.0.0.1", port=catcher.port, timeout=2)
    return replace(settings, smtp=smtp, zendesk=ZendeskSettings(subdomain="agency"))


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def declare(db_session, settings, clock, users):
    """Declare an incident managed by the manager, led by Lee Lead, committed."""

    def make(
        title: str = "Sites on the WordPress platform down", severity: str = "major"
    ) -> Incident:
        incident = service.declare(
            db_session,
            title=title,
            severity=severity,
            settings=settings,
            by="manager@agency.test",
            now=clock.now(),
            description="503s on every site.",
            lead_name="Lee Lead",
            lead_email="lead@agency.test",
            comms_manager=users["manager"],
        )
        db_session.commit()
        return incident

    return make


@pytest.fixture
def resolve(db_session, settings, clock):
    """Mark an incident resolved at a time (default: now) and hand over to the follow-up."""

    def mark(incident: Incident, at: datetime | None = None) -> Incident:
        at = at or clock.now()
        incident.status, incident.resolved_at, incident.next_update_due_at = "resolved", at, None
        followup.on_resolved(db_session, incident, now=at, settings=settings)
        db_session.commit()
        return incident

    return mark
