"""Several senders over the same pending rows at once: each contact still gets one message."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text, update

from comms.clock import Clock
from comms.db import make_sessionmaker
from comms.incidents.models import Incident
from comms.updates.models import Delivery
from comms.updates.scheduler import Scheduler
from comms.updates.sender import claim, send_pending
from comms.updates.service import publish
from tests.conftest import wait_for
from tests.updates.conftest import received_by
from tests.updates.test_processes import BY, add_contacts

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 60


def publish_to(db_session, make_incident, clock, settings, count: int = CONTACTS):
    incident = make_incident("major", contacts=0)
    add_contacts(db_session, incident, count, clock.now(), settings)
    publish(db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings)
    db_session.commit()


def assert_each_contact_once(db_session, catcher, count: int = CONTACTS) -> None:
    counts = received_by(catcher)
    assert len(counts) == count and set(counts.values()) == {1}, sorted(counts.items())[:5]
    sent = db_session.scalar(select(func.count()).where(Delivery.state == "sent"))
    assert sent == count


def test_three_sender_threads_send_each_contact_one_message(
    db_session, sessions, settings, clock, catcher, make_incident
):
    publish_to(db_session, make_incident, clock, settings)
    # Paced so that the three overlap for the whole update.
    paced = replace(settings, smtp=replace(settings.smtp, max_per_second=200, connections=1))
    start = threading.Barrier(3)
    reports = []

    def sender() -> None:
        start.wait()
        # The limit stops a sender that keeps taking claimed rows again, so that it fails.
        reports.append(send_pending(sessions, paced, clock=Clock(), limit=CONTACTS))

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.sent for report in reports) == CONTACTS
    assert_each_contact_once(db_session, catcher)


def test_three_sender_processes_send_each_contact_one_message(
    db_session, settings, clock, catcher, make_incident, database_url
):
    publish_to(db_session, make_incident, clock, settings)
    command = [sys.executable, "-m", "tests.updates.worker", database_url, str(catcher.port)]
    workers = [
        subprocess.Popen([*command, "200", "2", str(CONTACTS)], cwd=ROOT, stdout=subprocess.DEVNULL)
        for _ in range(3)
    ]
    assert [worker.wait() for worker in workers] == [0, 0, 0]
    assert_each_contact_once(db_session, catcher)


def test_every_due_update_starts_at_once(
    db_session, sessions, settings, clock, catcher, make_incident
):
    """Three updates due together: the first message of each goes before the second of any."""
    for _ in range(3):
        publish_to(db_session, make_incident, clock, settings, count=20)
    one_connection = replace(settings, smtp=replace(settings.smtp, connections=1))
    send_pending(sessions, one_connection, clock=Clock(), limit=9)
    references = [str(caught.message["X-Incident-Reference"]) for caught in catcher.messages]
    assert len(references) == 9 and len(set(references[:3])) == 3
    assert [references.count(reference) for reference in set(references)] == [3, 3, 3]


def test_connections_sending_several_updates_at_once_leave_no_row_behind(
    db_session, sessions, settings, clock, catcher, make_incident
):
    """Each connection moves between updates; on PostgreSQL each write locks its update's row
    (the counts), so a transaction that wrote two updates could deadlock with another."""
    for _ in range(6):
        publish_to(db_session, make_incident, clock, settings, count=50)
    eight = replace(settings, smtp=replace(settings.smtp, connections=8))
    report = send_pending(sessions, eight, clock=Clock())
    states = db_session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    assert dict(states.all()) == {"sent": 300} and report.sent == 300
    assert len(catcher.messages) == 300


def test_a_claim_takes_at_most_what_it_asks_for_with_stale_statistics(
    db_session, settings, clock, make_incident
):
    """PostgreSQL planned the old claim from statistics taken before a large publish."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(text("ANALYZE deliveries"))
        db_session.commit()
    publish_to(db_session, make_incident, clock, settings, count=500)
    claimed = claim(db_session, "one-sender", now=clock.now(), size=20)
    db_session.commit()
    taken = db_session.scalar(select(func.count()).where(Delivery.state == "sending"))
    assert len(claimed) == taken == 20


def test_a_relay_hanging_on_one_connection_holds_up_only_its_message_not_the_tick(
    db_session, settings, catcher, make_incident
):
    """Four connections; the relay never answers the end of data of one message."""
    waits = replace(settings, smtp=replace(settings.smtp, timeout=5, connections=4))
    now = Clock().now()
    big = make_incident("major", contacts=0)
    add_contacts(db_session, big, 40, now, settings)
    small = [make_incident("critical", contacts=1, title=f"Small {n}") for n in (1, 2)]
    for incident in small:  # sent an hour ago
        publish(
            db_session,
            incident,
            message="Down.",
            by=BY,
            now=now - timedelta(minutes=61),
            settings=waits,
        )
    db_session.commit()
    send_pending(make_sessionmaker(db_session.get_bind()), waits, clock=Clock())
    small[1].next_update_due_at = now + timedelta(days=1)
    publish(db_session, big, message="Slow.", by=BY, now=now, settings=waits)
    db_session.commit()
    catcher.clear()
    catcher.hang_after_data()

    scheduler = Scheduler(waits)
    try:
        scheduler.beat()  # publishes the first small incident's due update; the sender starts
        wait_for(
            lambda: count(db_session, "sent") == 42 and count(db_session, "sending") == 1,
            "all but the hung message",
            timeout=20,
        )
        # The relay still holds one message; the next tick publishes what fell due meanwhile.
        db_session.execute(
            update(Incident)
            .where(Incident.id == small[1].id)
            .values(next_update_due_at=Clock().now())
        )
        db_session.commit()
        report = scheduler.beat()
        assert report is not None and report.due.published == [small[1].reference]
        assert count(db_session, "sending") == 1  # the tick did not wait for it
        wait_for(lambda: count(db_session, "sent") == 43, "the second small update", timeout=20)
        wait_for(
            lambda: count(db_session, "uncertain") == 1, "the hung message to time out", timeout=20
        )
    finally:
        scheduler.close()
    message_ids = [str(caught.message["Message-ID"]) for caught in catcher.messages]
    assert len(message_ids) == len(set(message_ids)) == 42  # 40 + 2 small updates, each once
    (hung,) = db_session.scalars(select(Delivery).where(Delivery.state == "uncertain"))
    assert hung.message_id in message_ids and "no reply after the message data" in hung.smtp_reply


def count(db_session, state: str) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).where(Delivery.state == state))
