"""comms over HTTP to three emulators: Zendesk (the sandbox), incident.io and Slack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from comms.auth.service import create_user
from comms.clock import FrozenClock
from comms.config import IncidentIoSettings, Settings, SlackSettings, SmtpSettings, ZendeskSettings
from comms.db import make_sessionmaker
from comms.incident_io import jobs
from comms.incident_io.models import FollowedIncident
from comms.incidents.models import Incident
from comms.sandbox import Sandbox
from comms.sandbox.incident_io import IncidentIoEmulator
from comms.sandbox.slack import SlackEmulator
from tests.zendesk.conftest import QuickGateway

LEAD = {"name": "Priya Shah", "email": "priya.shah@brightwave.digital"}


@pytest.fixture
def clock() -> FrozenClock:
    """A Tuesday in working hours, today (Slack's ts is the real time)."""
    today = datetime.now(UTC).replace(hour=11, minute=0, second=0, microsecond=0)
    return FrozenClock(today - timedelta(days=(today.weekday() - 1) % 7))


@pytest.fixture
def incident_io() -> Iterator[IncidentIoEmulator]:
    with IncidentIoEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(port=0, token="sandbox", api_email="agent@agency.test") as running:
        yield running


@pytest.fixture
def settings(settings: Settings, sandbox, incident_io, slack, catcher) -> Settings:
    return replace(
        settings,
        zendesk=ZendeskSettings(
            url=sandbox.url, email="agent@agency.test", token="sandbox", timeout=5.0
        ),
        smtp=SmtpSettings(backend="smtp", host="127.0.0.1", port=catcher.port, timeout=5),
        incident_io=IncidentIoSettings(api_key=incident_io.api_key, url=incident_io.url),
        slack=SlackSettings(
            bot_token=slack.bot_token, signing_secret=slack.signing_secret, url=slack.url
        ),
    )


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def gateway(settings) -> Iterator[QuickGateway]:
    with QuickGateway(settings.zendesk) as made:
        yield made


@pytest.fixture
def clients(sandbox) -> list[int]:
    """Two clients on the platform, a person each, and their tickets of 20 minutes ago."""
    store = sandbox.store
    ids = []
    for name, person in (
        ("Acme Museum", "ann@acme.example"),
        ("Bravo Council", "bob@bravo.example"),
    ):
        org = store.add_organization(name=name, tags=["platform_wp"])["id"]
        user = store.add_user(name=person.split("@")[0], email=person, organization_ids=[org])
        ids.append(
            store.add_ticket(subject="Website down", requester_id=user["id"], organization_id=org)[
                "id"
            ]
        )
    sandbox.index_now()  # clients of long standing: search knows them
    return ids


@pytest.fixture
def declared(incident_io, slack, sessions, settings, clock, db_session):
    """An incident declared in incident.io, its channel with comms' bot, taken up by comms."""
    remote = incident_io.declare("Legacy hosting 503s", severity="Critical", lead=LEAD)
    slack.add_channel(remote["slack_channel_id"], remote["slack_channel_name"])
    jobs.reconcile(sessions, settings, clock=clock, force=True)
    row = db_session.scalar(select(FollowedIncident))
    incident = db_session.get(Incident, row.incident_id)
    manager = create_user(
        db_session,
        email="dana@agency.test",
        name="Dana Manager",
        role="manager",
        password="correct horse battery",
        now=clock.now(),
    )
    incident.comms_manager_id = manager.id
    db_session.commit()
    return incident, remote["slack_channel_id"]
