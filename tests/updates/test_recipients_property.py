"""A property of every update (Hypothesis): whatever the organisations, the people in several of
them and their names (line breaks, Unicode, header injection), each message sent through the real
mail server goes to one contact only and names no one else."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comms.config import ZendeskSettings
from comms.contacts.refresh import refresh
from comms.contacts.service import add_organizations_by_id
from comms.incidents.models import Incident
from comms.sandbox import Sandbox
from comms.updates.sender import send_pending
from comms.updates.service import publish
from tests.zendesk.conftest import QuickGateway

BY = "manager@agency.test"
SERIAL = itertools.count(1)
NAMES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=24),
    st.text(min_size=1, max_size=12).map(lambda s: f"{s}\r\nBcc: spy@evil.example"),
    st.sampled_from(
        ["Zoë\nO'Brien", "李 小龙", "Ann\r\nCc: x@y.example", "=?utf-8?q?x?=", '"A, B"']
    ),
)
# Each person belongs to one to three of the (up to four) organisations.
PEOPLE = st.lists(
    st.tuples(NAMES, st.sets(st.integers(0, 3), min_size=1, max_size=3)), min_size=1, max_size=6
)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(port=0, token="sandbox", api_email="agent@agency.test").start()
    sb.set_rate_limit(None)
    yield sb
    sb.stop()


@pytest.fixture
def zendesk_settings(settings, sandbox):
    zendesk = ZendeskSettings(url=sandbox.url, email="agent@agency.test", token="sandbox")
    return replace(settings, zendesk=zendesk)


@pytest.fixture
def gateway(zendesk_settings) -> Iterator[QuickGateway]:
    made = QuickGateway(zendesk_settings.zendesk)
    yield made
    made.close()


def _incident(db_session, clock) -> Incident:
    incident = Incident(
        title="Sites down",
        severity="major",
        declared_at=clock.now(),
        declared_by=BY,
        keywords=[],
    )
    db_session.add(incident)
    db_session.flush()
    return incident


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(org_names=st.lists(NAMES, min_size=4, max_size=4), people=PEOPLE)
def test_each_message_goes_to_its_contact_alone(
    db_session, sessions, zendesk_settings, clock, catcher, sandbox, gateway, org_names, people
):
    serial = next(SERIAL)
    markers = [f"ORG{serial}X{n}Q" for n in range(4)]  # names the test can look for
    orgs = [
        sandbox.store.add_organization(name=f"{marker} {name}")["id"]
        for marker, name in zip(markers, org_names, strict=True)
    ]
    memberships: dict[str, set[int]] = {}
    for n, (name, member_of) in enumerate(people):
        email = f"p{serial}x{n}@c{n}.example"
        sandbox.store.add_user(
            name=name, email=email, organization_ids=[orgs[i] for i in member_of]
        )
        memberships[email] = member_of
    sandbox.index_now()
    incident = _incident(db_session, clock)
    used = sorted(set().union(*memberships.values()))
    add_organizations_by_id(
        db_session,
        gateway,
        incident,
        [orgs[i] for i in used],
        how="by name",
        by=BY,
        now=clock.now(),
        settings=zendesk_settings,
    )
    refresh(db_session, gateway, incident, zendesk_settings, now=clock.now(), by=BY)
    publish(
        db_session, incident, message="News.", by=BY, now=clock.now(), settings=zendesk_settings
    )
    db_session.commit()
    catcher.clear()
    send_pending(sessions, zendesk_settings, clock=clock)

    received = catcher.messages
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(memberships)  # one each
    for caught in received:
        assert len(caught.rcpt_tos) == 1
        (contact,) = caught.rcpt_tos
        to = getaddresses([str(caught.message["To"])])
        assert [address for _, address in to] == [contact]
        assert caught.message["Cc"] is None and caught.message["Bcc"] is None
        everything = caught.raw.decode("utf-8", "replace") + caught.text + caught.html
        headers = "".join(f"{k}: {v}\n" for k, v in caught.message.items())
        for other in memberships:
            if other != contact:
                assert other not in everything + headers
        for n, marker in enumerate(markers):
            if n not in memberships[contact]:
                assert marker not in everything + headers
