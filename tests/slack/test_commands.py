"""/comms in the incident's channel, sent by the Slack emulator signed as Slack signs it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from comms.clock import FrozenClock
from comms.incidents.models import Incident, TimelineEvent


@pytest.fixture
def clock() -> FrozenClock:
    """Slack signs with the real time, so comms' clock starts at the real time."""
    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def command_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1/slack/commands"
    server.shutdown()
    thread.join(timeout=5)


def fresh(db_session, incident) -> Incident:
    db_session.expire_all()
    return db_session.get(Incident, incident.id)


def test_status_answers_within_3_seconds_with_the_incident_page_header(
    declared, command_url, slack
):
    incident, channel = declared
    result = slack.slash_command(command_url, "status", channel_id=channel)
    assert result["status"] == 200 and result["in_time"]
    text = result["body"]["text"]
    assert result["body"]["response_type"] == "ephemeral"
    assert text.startswith(f"*{incident.reference}* Legacy hosting 503s: critical, investigating.")
    assert "Lead: Priya Shah. 0 contacts. No update has gone to clients yet." in text


def test_pause_and_resume_from_the_channel_change_the_schedule_on_the_timeline(
    declared, command_url, slack, db_session
):
    incident, channel = declared
    asked = slack.slash_command(command_url, "pause", channel_id=channel)
    assert "Say why the updates are paused" in asked["body"]["text"]
    assert not fresh(db_session, incident).schedule_paused

    paused = slack.slash_command(command_url, "pause fix deploying", channel_id=channel)
    assert paused["body"]["response_type"] == "in_channel"
    assert fresh(db_session, incident).schedule_paused
    assert (
        "paused: fix deploying"
        in slack.slash_command(command_url, "status", channel_id=channel)["body"]["text"]
    )
    slack.slash_command(command_url, "resume", channel_id=channel)
    assert not fresh(db_session, incident).schedule_paused
    events = db_session.scalars(
        select(TimelineEvent).filter_by(incident_id=incident.id).order_by(TimelineEvent.id)
    ).all()
    assert [(e.kind, e.actor) for e in events[-2:]] == [
        ("schedule_paused", "priya.shah (Slack)"),
        ("schedule_resumed", "priya.shah (Slack)"),
    ]


def test_a_bad_signature_or_an_old_request_is_refused_and_changes_nothing(
    declared, command_url, slack, db_session
):
    incident, channel = declared
    forged = slack.slash_command(
        command_url, "pause forged", channel_id=channel, sign_with="not-the-secret"
    )
    assert forged["status"] == 401 and "signing_secret" in forged["body"]["message"]
    old = int(datetime.now(UTC).timestamp()) - 6 * 60
    replayed = slack.slash_command(command_url, "pause replayed", channel_id=channel, timestamp=old)
    assert replayed["status"] == 401 and "5 minutes" in replayed["body"]["message"]
    assert not fresh(db_session, incident).schedule_paused


def test_a_channel_without_an_incident_is_told_so_and_help_lists_the_commands(
    declared, command_url, slack
):
    slack.add_channel("C0RANDOM", "random")
    other = slack.slash_command(command_url, "status", channel_id="C0RANDOM")
    assert "follows no incident in comms" in other["body"]["text"]
    _, channel = declared
    helped = slack.slash_command(command_url, "", channel_id=channel)
    assert "`/comms status`" in helped["body"]["text"]


def test_an_answer_that_takes_longer_than_slack_waits_follows_through_response_url(
    declared, command_url, slack, engine, db_session
):
    incident, channel = declared
    with engine.connect() as blocker:
        # Someone else holds the incident's row (SQLite: the database) for a while.
        if engine.dialect.name == "sqlite":
            blocker.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            blocker.execute(select(Incident.id).where(Incident.id == incident.id).with_for_update())
        first = slack.slash_command(command_url, "pause fix deploying", channel_id=channel)
        blocker.rollback()
    assert first["in_time"] and "Working on it" in first["body"]["text"]
    deadline = time.monotonic() + 60
    while not slack.server.workspace.responses and time.monotonic() < deadline:
        time.sleep(0.1)
    (late,) = slack.server.workspace.responses
    assert late["text"] == f"priya.shah paused the automatic updates of {incident.reference}."
    assert fresh(db_session, incident).schedule_paused
