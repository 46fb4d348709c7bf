"""A database error while the sender writes an outcome: rolled back, logged, the row settled,
and sending goes on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import select, text

from comms.updates.models import Delivery
from comms.updates.sender import send_pending
from comms.updates.service import publish
from tests.updates.conftest import contact_address, received_by
from tests.updates.test_publish_and_send import BY, states

REFUSED = contact_address(2)


@contextmanager
def refusing_sent(engine, email: str) -> Iterator[None]:
    """The database refuses to record `email`'s delivery as sent (a trigger raises)."""
    if engine.dialect.name == "postgresql":
        create = [
            "CREATE FUNCTION refuse_sent() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.state = 'sent' AND NEW.email = '{email}' THEN"
            " RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_sent BEFORE UPDATE ON deliveries"
            " FOR EACH ROW EXECUTE FUNCTION refuse_sent()",
        ]
        drop = ["DROP TRIGGER refuse_sent ON deliveries", "DROP FUNCTION refuse_sent()"]
    else:
        create = [
            "CREATE TRIGGER refuse_sent BEFORE UPDATE ON deliveries"
            f" WHEN NEW.state = 'sent' AND NEW.email = '{email}'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
        drop = ["DROP TRIGGER refuse_sent"]
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))


def test_a_refused_outcome_is_settled_uncertain_and_the_rest_are_sent(
    db_session, sessions, settings, clock, catcher, make_incident, caplog
):
    incident = make_incident(contacts=3)
    update = publish(
        db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    one = replace(settings, smtp=replace(settings.smtp, connections=1))
    with (
        refusing_sent(db_session.get_bind(), REFUSED),
        caplog.at_level(logging.WARNING, logger="comms.updates.sender"),
    ):
        report = send_pending(sessions, one, clock=clock)
    assert (report.sent, report.uncertain) == (2, 1)
    everyone = [contact_address(n) for n in (1, 2, 3)]
    assert states(db_session, update) == {
        address: "uncertain" if address == REFUSED else "sent" for address in everyone
    }
    assert received_by(catcher) == dict.fromkeys(everyone, 1)  # the refused one too, once
    reply = db_session.scalar(select(Delivery.smtp_reply).where(Delivery.email == REFUSED))
    assert reply is not None and "could not be recorded" in reply
    assert "database error" in caplog.text and "refused by the test" in caplog.text


def test_a_refused_outcome_among_connections_committing_together_settles_only_its_row(
    db_session, sessions, settings, clock, catcher, make_incident
):
    """On PostgreSQL the connections write their outcomes in one statement: one refused must
    not take the others' down with it (they were sent: they stay sent, each once)."""
    incident = make_incident(contacts=24)
    update = publish(
        db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    several = replace(settings, smtp=replace(settings.smtp, connections=4))
    with refusing_sent(db_session.get_bind(), REFUSED):
        report = send_pending(sessions, several, clock=clock)
    everyone = [contact_address(n) for n in range(1, 25)]
    assert (report.sent, report.uncertain) == (23, 1)
    assert states(db_session, update) == {
        address: "uncertain" if address == REFUSED else "sent" for address in everyone
    }
    assert received_by(catcher) == dict.fromkeys(everyone, 1)
