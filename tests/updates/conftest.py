"""Fixtures for updates: a real SMTP server, settings that send to it, incidents with contacts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from comms.config import Settings, SmtpSettings
from comms.contacts.service import add_contact
from comms.db import make_sessionmaker
from comms.incidents.models import Incident
from comms.sandbox.mailcatcher import MailCatcher
from comms.updates import history
from comms.updates.models import Update


@pytest.fixture
def settings(settings: Settings, catcher: MailCatcher) -> Settings:
    """The shared test settings, sending to the catcher and giving up on silence after 5 s
    (a reply a busy machine is slow to give is not silence)."""
    smtp = SmtpSettings(backend="smtp", host="127.0.0.1", port=catcher.port, timeout=5)
    return replace(settings, smtp=smtp)


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


def contact_address(n: int) -> str:
    return f"contact{n}@client{n}.example"


@pytest.fixture
def make_incident(db_session, clock, settings):
    """Declare an incident with `contacts` hand-added contacts, committed."""

    def make(severity: str = "major", contacts: int = 3, **fields) -> Incident:
        incident = Incident(
            title=fields.pop("title", "Websites on the shared platform are slow"),
            severity=severity,
            declared_at=clock.now(),
            declared_by="manager@agency.test",
            keywords=[],
            **fields,
        )
        db_session.add(incident)
        db_session.flush()
        for n in range(1, contacts + 1):
            add_contact(
                db_session,
                incident,
                email=contact_address(n),
                name=f"Contact {n}",
                by="manager@agency.test",
                now=clock.now(),
                settings=settings,
            )
        db_session.commit()
        return incident

    return make


def assert_counts_kept(engine) -> dict[int, dict[str, int]]:
    """Every update's kept delivery counts equal a count over its rows (read afresh)."""
    with make_sessionmaker(engine)() as fresh:
        ids = list(fresh.scalars(select(Update.id)))
        kept = history.counts_by_update(fresh, ids)
        assert kept == history.counted_over_rows(fresh, ids)
        return kept


def received_by(catcher: MailCatcher) -> dict[str, int]:
    """How many messages each address received."""
    counts: dict[str, int] = {}
    for caught in catcher.messages:
        for address in caught.rcpt_tos:
            counts[address] = counts.get(address, 0) + 1
    return counts
