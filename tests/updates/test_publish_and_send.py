"""Publishing writes one delivery per contact; the sender delivers each exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from comms.contacts.service import add_contact
from comms.incidents.models import TimelineEvent
from comms.updates import messages
from comms.updates.models import Delivery, Update
from comms.updates.sender import send_pending
from comms.updates.service import UpdateProblem, preview, publish
from tests.updates.conftest import assert_counts_kept, contact_address, received_by

BY = "manager@agency.test"


def states(db_session, update: Update) -> dict[str, str]:
    """Each contact's delivery state; the update's kept counts must agree with them."""
    db_session.expire_all()
    rows = db_session.scalars(select(Delivery).where(Delivery.update_id == update.id))
    found = {row.email: row.state for row in rows}
    kept = assert_counts_kept(db_session.get_bind())[update.id]
    assert {state: n for state, n in kept.items() if n} == Counter(found.values())
    return found


def by_contact(catcher) -> dict[str, list]:
    """The messages each address received, in order."""
    found: dict[str, list] = {}
    for caught in catcher.messages:
        found.setdefault(caught.rcpt_tos[0], []).append(caught)
    return found


def thread_headers(caught) -> tuple[str | None, str | None]:
    reply_to, references = caught.message["In-Reply-To"], caught.message["References"]
    return (
        None if reply_to is None else str(reply_to),
        None if references is None else str(references),
    )


def message_id(caught) -> str:
    return str(caught.message["Message-ID"])


def test_each_contact_gets_their_own_threaded_message(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident(contacts=3)
    first = publish(
        db_session, incident, message="Sites are slow.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    assert first.kind == "initial" and incident.current_message == "Sites are slow."
    assert incident.next_update_due_at == clock.now() + timedelta(hours=1)

    report = send_pending(sessions, settings, clock=clock)
    assert report.sent == 3 and catcher.sessions == 1
    for _ in range(2):
        clock.advance(minutes=20)
        later = publish(
            db_session,
            incident,
            message="Sites are slow.",
            by=BY,
            now=clock.now(),
            settings=settings,
        )
        db_session.commit()
        assert later.kind == "update" and later.repeats_previous
        send_pending(sessions, settings, clock=clock)

    assert received_by(catcher) == {contact_address(n): 3 for n in (1, 2, 3)}
    for n in (1, 2, 3):
        initial, update, third = by_contact(catcher)[contact_address(n)]
        assert str(initial.message["To"]) == f"Contact {n} <{contact_address(n)}>"
        assert initial.message["Cc"] is None and initial.message["Bcc"] is None
        assert str(initial.message["Reply-To"]) == settings.smtp.reply_to
        assert settings.smtp.from_address.split("<")[1].rstrip(">") in str(initial.message["From"])
        assert (
            initial.message["Date"]
            and str(initial.message["X-Incident-Reference"]) == incident.reference
        )
        # The first message starts the thread; each later one answers the one before it and
        # names the first: only messages this contact received.
        assert thread_headers(initial) == (None, None)
        assert thread_headers(update) == (message_id(initial), message_id(initial))
        assert thread_headers(third) == (
            message_id(update),
            f"{message_id(initial)} {message_id(update)}",
        )
        assert len({message_id(m) for m in (initial, update, third)}) == 3
        assert (
            f"Dear Contact {n}," in update.text and "no change since our last update" in update.text
        )
        others = [contact_address(m) for m in (1, 2, 3) if m != n]
        assert not any(
            other.encode() in caught.raw for caught in (initial, update, third) for other in others
        )
        assert settings.web.base_url not in initial.text + initial.html


def test_threads_name_only_messages_the_contact_received(
    db_session, sessions, settings, clock, catcher, make_incident
):
    """A late contact or one whose first message bounced starts their own thread."""
    incident = make_incident(contacts=2)
    publish(db_session, incident, message="One.", by=BY, now=clock.now(), settings=settings)
    db_session.commit()
    catcher.fail_next(550, stage="rcpt")  # contact 1's first message fails for good
    send_pending(sessions, settings, clock=clock)
    add_contact(
        db_session,
        incident,
        email=contact_address(3),
        name="Contact 3",
        by=BY,
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    for text in ("Two.", "Three."):
        clock.advance(minutes=20)
        publish(db_session, incident, message=text, by=BY, now=clock.now(), settings=settings)
        db_session.commit()
        send_pending(sessions, settings, clock=clock)

    got = by_contact(catcher)
    assert [len(got[contact_address(n)]) for n in (1, 2, 3)] == [2, 3, 2]
    for n in (1, 3):  # their first message is update 2
        second, third = got[contact_address(n)]
        assert thread_headers(second) == (None, None)
        assert thread_headers(third) == (message_id(second), message_id(second))
    first, _, third = got[contact_address(2)]
    assert thread_headers(first) == (None, None)
    assert str(third.message["References"]).split()[0] == message_id(first)


def test_a_retried_message_keeps_its_message_id_and_thread(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident(contacts=1)
    publish(db_session, incident, message="One.", by=BY, now=clock.now(), settings=settings)
    db_session.commit()
    send_pending(sessions, settings, clock=clock)
    second = publish(
        db_session, incident, message="Two.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    (row,) = second.deliveries
    planned = row.message_id
    catcher.fail_next(451, stage="data")
    assert send_pending(sessions, settings, clock=clock).retrying == 1
    clock.advance(minutes=2)
    assert send_pending(sessions, settings, clock=clock).sent == 1
    first, retried = catcher.messages
    expected = messages.delivery_message_id(settings, incident, 2, contact_address(1))
    assert message_id(retried) == planned == expected
    assert thread_headers(retried) == (message_id(first), message_id(first))


def test_message_ids_are_stable_per_update_and_contact(db_session, settings, clock, make_incident):
    incident = make_incident(contacts=2)
    update = publish(
        db_session, incident, message="Text", by=BY, now=clock.now(), settings=settings
    )
    rows = sorted(update.deliveries, key=lambda d: d.email)
    _, headers = preview(
        db_session,
        incident,
        message="Text",
        email=rows[0].email,
        settings=settings,
        now=clock.now(),
    )
    assert len({row.message_id for row in rows}) == 2
    assert headers["Message-ID"] != rows[0].message_id  # the preview is of the next update
    assert "@example.com>" in rows[0].message_id and "contact" not in rows[0].message_id


def test_451_is_retried_later_and_550_fails_for_good(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident(contacts=3)
    update = publish(
        db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    catcher.fail_next(451, stage="rcpt")
    catcher.fail_next(550, stage="rcpt")
    report = send_pending(sessions, settings, clock=clock)
    assert (report.retrying, report.failed, report.sent) == (1, 1, 1)
    assert sorted(states(db_session, update).values()) == ["failed", "retrying", "sent"]

    assert send_pending(sessions, settings, clock=clock).attempted == 0  # not yet due
    clock.advance(minutes=2)
    assert send_pending(sessions, settings, clock=clock).sent == 1
    assert sorted(states(db_session, update).values()) == ["failed", "sent", "sent"]
    failed = db_session.scalar(select(Delivery).where(Delivery.state == "failed"))
    assert failed.smtp_reply.startswith("550") and len(catcher.messages) == 2
    clock.advance(hours=1)
    assert send_pending(sessions, settings, clock=clock).attempted == 0


def test_a_hanging_server_makes_an_hourly_update_uncertain_and_not_resent(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident(contacts=2)
    update = publish(
        db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    catcher.hang_after_data()
    report = send_pending(sessions, settings, clock=clock)
    assert (report.uncertain, report.sent) == (1, 1)
    clock.advance(hours=1)
    assert send_pending(sessions, settings, clock=clock).attempted == 0
    assert received_by(catcher) == {contact_address(1): 1, contact_address(2): 1}
    assert sorted(states(db_session, update).values()) == ["sent", "uncertain"]


def test_mail_server_down_keeps_deliveries_pending_and_says_why(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident(contacts=2)
    update = publish(
        db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    catcher.stop()
    report = send_pending(sessions, settings, clock=clock)
    assert report.returned == 2 and "cannot be reached" in report.problem
    assert set(states(db_session, update).values()) == {"pending"}
    db_session.refresh(update)
    assert "cannot be reached" in update.send_problem
    send_pending(sessions, settings, clock=clock)  # still down: said once on the timeline
    held = db_session.scalars(select(TimelineEvent).filter_by(kind="update_held_up")).all()
    assert len(held) == 1

    catcher.start()
    assert send_pending(sessions, settings, clock=clock).sent == 2
    db_session.refresh(update)
    assert update.send_problem == ""


def test_a_new_update_supersedes_the_unsent_older_one(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident(contacts=2)
    old = publish(db_session, incident, message="One.", by=BY, now=clock.now(), settings=settings)
    db_session.commit()
    catcher.fail_next(451, count=2)
    send_pending(sessions, settings, clock=clock)
    new = publish(db_session, incident, message="Two.", by=BY, now=clock.now(), settings=settings)
    db_session.commit()
    clock.advance(minutes=5)
    assert send_pending(sessions, settings, clock=clock).sent == 2
    assert set(states(db_session, old).values()) == {"superseded"}
    assert set(states(db_session, new).values()) == {"sent"}


def test_publish_refuses_empty_text_and_no_contacts(db_session, settings, clock, make_incident):
    incident = make_incident(contacts=0)
    with pytest.raises(UpdateProblem, match="Write the status text"):
        publish(db_session, incident, message="  ", by=BY, now=clock.now(), settings=settings)
    with pytest.raises(UpdateProblem, match="no contacts"):
        publish(db_session, incident, message="Hi", by=BY, now=clock.now(), settings=settings)


def test_preview_is_the_contacts_exact_email(db_session, settings, clock, make_incident):
    incident = make_incident(contacts=2)
    rendered, headers = preview(
        db_session,
        incident,
        message="Databases are moving.",
        email=contact_address(2),
        settings=settings,
        now=clock.now(),
    )
    assert "Dear Contact 2," in rendered.text and "Dear Contact 2," in rendered.html
    assert "Databases are moving." in rendered.html
    assert headers["To"] == f"Contact 2 <{contact_address(2)}>"
    assert headers["X-Incident-Reference"] == incident.reference
    assert {"From", "Reply-To", "Subject", "Date", "Message-ID"} <= set(headers)
    assert "In-Reply-To" not in headers and "References" not in headers  # starts the thread
    with pytest.raises(UpdateProblem, match="not on the contact list"):
        preview(
            db_session,
            incident,
            message="x",
            email="stranger@else.example",
            settings=settings,
            now=clock.now(),
        )


def test_preview_threads_like_the_message_it_shows(
    db_session, sessions, settings, clock, catcher, make_incident
):
    incident = make_incident(contacts=1)
    publish(db_session, incident, message="One.", by=BY, now=clock.now(), settings=settings)
    db_session.commit()
    send_pending(sessions, settings, clock=clock)
    _, headers = preview(
        db_session,
        incident,
        message="Two.",
        email=contact_address(1),
        settings=settings,
        now=clock.now(),
    )
    (first,) = catcher.messages
    assert headers["In-Reply-To"] == headers["References"] == message_id(first)
