"""What comms did for clients shows up in the incident's Slack channel: once, in order, threaded."""

from __future__ import annotations

from datetime import timedelta

from comms.actions import tickets
from comms.contacts import refresh as contacts_refresh
from comms.contacts import service as contacts
from comms.incidents import parent
from comms.slack.service import post_pending
from comms.updates.control import set_paused
from comms.updates.resolve import resolve
from comms.updates.sender import send_pending
from comms.updates.service import publish

BY = "dana@agency.test"


def act_for_clients(db_session, gateway, incident, sessions, settings, clock) -> None:
    """What a comms manager does in an incident: parent, links, contacts, updates, resolve."""
    now = clock.now()
    contacts.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=now, settings=settings
    )
    db_session.commit()
    parent.create_parent(db_session, gateway, incident, by=BY, now=now)
    db_session.commit()
    found = tickets.refresh_candidates(db_session, gateway, incident, settings=settings, now=now)
    tickets.link(
        db_session,
        gateway,
        incident,
        [c.ticket_id for c in found],
        by=BY,
        now=now,
        settings=settings,
    )
    db_session.commit()
    contacts_refresh.refresh(db_session, gateway, incident, settings, now=now, by=BY)
    db_session.commit()
    publish(db_session, incident, message="We are on it.", by=BY, now=now, settings=settings)
    db_session.commit()
    send_pending(sessions, settings, clock=clock)
    set_paused(
        db_session,
        incident,
        paused=True,
        reason="fix deploying",
        by=BY,
        now=now,
        settings=settings,
    )
    set_paused(db_session, incident, paused=False, reason="", by=BY, now=now, settings=settings)
    db_session.commit()
    resolve(
        db_session,
        gateway,
        incident,
        message="All sites are back.",
        solve_parent=False,
        by=BY,
        now=now,
        settings=settings,
    )
    db_session.commit()
    send_pending(sessions, settings, clock=clock)


def test_every_client_facing_action_is_posted_once_in_order_in_one_thread(
    declared, clients, db_session, gateway, sessions, settings, clock, slack
):
    incident, channel = declared
    act_for_clients(db_session, gateway, incident, sessions, settings, clock)

    post_pending(sessions, settings, clock=clock)
    post_pending(sessions, settings, clock=clock)  # nothing new: nothing posted twice

    posts = slack.posts(channel)
    first, rest = posts[0], posts[1:]
    assert first["thread_ts"] is None and "comms is handling client communications" in first["text"]
    assert {p["thread_ts"] for p in rest} == {first["ts"]}
    texts = [p["text"] for p in rest]
    expected = [
        "Parent ticket #",
        "Linked 2 ticket(s) to the parent ticket.",
        "Contact list built: 2 contacts in 2 organisations.",
        "Update 1 is going out to 2 contacts. Next update due at",
        ":double_vertical_bar: Paused the automatic updates: fix deploying",
        ":arrow_forward: Resumed the automatic updates",
        "The resolution is going out to 2 contacts.",
        ":white_check_mark: Resolved",
        ":email: Update 1 sent: 2 of 2 delivered.",
        ":email: The resolution sent: 2 of 2 delivered.",
    ]
    assert len(texts) == len(expected), texts
    for text, start in zip(texts, expected, strict=True):
        assert text.startswith(start), (text, start)


def test_a_429_from_slack_delays_posting_and_loses_nothing(
    declared, clients, db_session, gateway, sessions, settings, clock, slack
):
    incident, channel = declared
    act_for_clients(db_session, gateway, incident, sessions, settings, clock)
    slack.fail_next("chat.postMessage", count=1, status=429, retry_after=30)

    report = post_pending(sessions, settings, clock=clock)
    assert (report.posted, report.waiting, slack.posts(channel)) == (0, 1, [])
    post_pending(sessions, settings, clock=clock)  # still within Retry-After: nothing tried
    assert slack.posts(channel) == []

    clock.advance(seconds=31)
    slack.fail_next("chat.postMessage", count=2, status=429, retry_after=1)  # waited out
    post_pending(sessions, settings, clock=clock)
    texts = [p["text"] for p in slack.posts(channel)]
    assert len(texts) == 11 and len(set(texts)) == 11
    assert texts[-1].startswith(":email: The resolution sent")


def test_posts_wait_while_the_bot_is_not_in_the_channel(
    declared, db_session, sessions, settings, clock, slack
):
    incident, channel = declared
    slack.add_channel(channel, "inc-1", bot_member=False)
    report = post_pending(sessions, settings, clock=clock)
    assert "not_in_channel" in report.error and "/invite" in report.error
    slack.add_channel(channel, "inc-1", bot_member=True)
    clock.advance(minutes=3)
    post_pending(sessions, settings, clock=clock)
    assert len(slack.posts(channel)) == 1


def test_a_reminder_names_the_comms_manager_a_few_minutes_before_an_update(
    declared, db_session, sessions, settings, clock, slack
):
    incident, channel = declared
    incident.next_update_due_at = clock.now() + timedelta(minutes=30)
    db_session.commit()
    post_pending(sessions, settings, clock=clock)
    assert not any("Dana Manager" in p["text"] for p in slack.posts(channel))

    clock.advance(minutes=25)  # the reminder comes 10 minutes before
    post_pending(sessions, settings, clock=clock)
    post_pending(sessions, settings, clock=clock)
    reminders = [p["text"] for p in slack.posts(channel) if "Dana Manager" in p["text"]]
    assert reminders == [
        ":alarm_clock: Dana Manager: the next update to clients is due at 11:30 GMT. "
        "Check the status text on the incident page."
    ]


def test_text_from_people_is_escaped_for_slack(
    declared, db_session, sessions, settings, clock, slack
):
    incident, channel = declared
    incident.title = "Sites <down> & slow"
    db_session.commit()
    post_pending(sessions, settings, clock=clock)
    (first,) = slack.posts(channel)
    assert "Sites &lt;down&gt; &amp; slow (critical)" in first["text"]


def test_an_entry_committed_after_a_later_one_is_still_posted(
    declared, db_session, sessions, settings, clock, slack
):
    """Two people act at once: the first entry's transaction commits after the second's."""
    from comms.incidents.models import Incident
    from comms.timeline import record

    incident, channel = declared
    elsewhere = Incident(title="Elsewhere", severity="minor", declared_at=clock.now(), keywords=[])
    db_session.add(elsewhere)
    db_session.flush()
    details = {"linked": [101], "refused": {}}
    first = record(
        db_session, incident, actor=BY, kind="link", summary="", now=clock.now(), details=details
    )
    record(
        db_session,
        incident,
        actor=BY,
        kind="link",
        summary="",
        now=clock.now(),
        details={"linked": [102, 103], "refused": {}},
    )
    first.incident_id = elsewhere.id  # not visible yet: its transaction has not committed
    db_session.commit()
    post_pending(sessions, settings, clock=clock)
    assert [p["text"] for p in slack.posts(channel)][1:] == [
        "Linked 2 ticket(s) to the parent ticket."
    ]

    first.incident_id = incident.id  # now it has
    db_session.commit()
    post_pending(sessions, settings, clock=clock)
    assert [p["text"] for p in slack.posts(channel)][1:] == [
        "Linked 2 ticket(s) to the parent ticket.",
        "Linked 1 ticket(s) to the parent ticket.",
    ]


def test_tickets_merged_in_zendesk_are_posted(
    declared, clients, db_session, gateway, sessions, settings, clock, slack, sandbox
):
    from comms.incidents import merges

    incident, channel = declared
    target = clients[0]
    first = sandbox.store.ticket(target)
    source = sandbox.store.add_ticket(  # a duplicate from the same client: merges stay in one
        subject="Website still down",
        requester_id=first["requester_id"],
        organization_id=first["organization_id"],
    )["id"]
    sandbox.index_now()
    contacts.add_organizations_by_tag(
        db_session, gateway, incident, "platform_wp", by=BY, now=clock.now(), settings=settings
    )
    db_session.commit()
    tickets.refresh_candidates(db_session, gateway, incident, settings=settings, now=clock.now())
    (row,) = merges.plan(
        db_session, incident, target_id=target, source_ids=[source], by=BY, now=clock.now()
    )
    db_session.commit()
    merges.perform(db_session, gateway, row, commit=db_session.commit, now=clock.now())
    db_session.commit()
    post_pending(sessions, settings, clock=clock)
    (merged,) = [p for p in slack.posts(channel) if p["text"].startswith("Merged")]
    assert merged["text"] == f"Merged 1 ticket(s) into #{target}."
    assert merged["blocks"][1]["elements"][0]["text"] == f"#{source}"
