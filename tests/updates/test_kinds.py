"""A new kind of client notice is one registry entry and its three templates.

The suite adds "maintenance" (a notice of planned work during the incident) the way an agency
would: it copies the templates, adds `maintenance/` beside the others, and registers the kind.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from comms.mail import kinds
from comms.mail.render import EmailRenderer
from comms.paths import templates_dir
from comms.updates.sender import send_pending
from comms.updates.service import UpdateProblem, publish

BY = "manager@agency.test"
MAINTENANCE = {
    "subject.txt": "Planned work on {{ incident.reference }}: {{ incident.title }}\n",
    "body.txt": '{% extends "_base.txt" %}\n'
    "{% block opening %}\nWe are writing about planned work on the incident below.\n"
    "{% endblock %}\n{% block body %}\nPlanned work\n------------\n{{ message|trim }}\n"
    "{% endblock %}\n",
    "body.html": '{% extends "_base.html" %}\n'
    "{% block heading %}Planned work on {{ incident.reference }}{% endblock %}\n"
    "{% block opening %}<p>We are writing about planned work on the incident below.</p>"
    "{% endblock %}\n{% block body %}{% for paragraph in message|paragraphs %}"
    "<p>{{ paragraph|nl2br }}</p>{% endfor %}{% endblock %}\n",
}


@pytest.fixture
def maintenance(settings, tmp_path):
    """Settings whose template folder holds the maintenance templates, and the kind declared."""
    folder = tmp_path / "email"
    shutil.copytree(templates_dir() / "email", folder)
    (folder / "maintenance").mkdir()
    for part, text in MAINTENANCE.items():
        (folder / "maintenance" / part).write_text(text)
    kinds.register(kinds.EmailKind("maintenance", "client", supersedes=False))
    yield replace(settings, web=replace(settings.web, email_templates=str(folder)))
    kinds.unregister("maintenance")


def test_a_maintenance_notice_reaches_every_contact_and_leaves_the_schedule_alone(
    db_session, sessions, clock, catcher, make_incident, maintenance
):
    EmailRenderer(maintenance).check_all()  # the start-up check renders the new kind too
    incident = make_incident(contacts=3)
    publish(
        db_session,
        incident,
        message="Sites are slow.",
        by=BY,
        now=clock.now(),
        settings=maintenance,
    )
    db_session.commit()
    due = incident.next_update_due_at
    assert due is not None
    clock.advance(minutes=20)  # a regular update now would plan the next one for 20 past

    notice = publish(
        db_session,
        incident,
        message="We will restart the database servers at 22:00.",
        kind="maintenance",
        by=BY,
        now=clock.now(),
        settings=maintenance,
    )
    db_session.commit()
    assert notice.kind == "maintenance" and notice.number == 2
    assert incident.next_update_due_at == due  # no hourly follow-up planned by accident

    report = send_pending(sessions, maintenance, clock=clock)
    assert report.sent == 6  # the first update is not superseded by the notice
    notices = [m for m in catcher.messages if str(m.message["Subject"]).startswith("Planned work")]
    assert sorted(m.rcpt_tos[0] for m in notices) == sorted(
        f"contact{n}@client{n}.example" for n in (1, 2, 3)
    )
    body = notices[0].message.get_body(("plain",)).get_content()
    assert "We will restart the database servers at 22:00." in body


def test_an_undeclared_kind_is_refused_before_anything_is_written(
    db_session, settings, clock, make_incident
):

    incident = make_incident(contacts=1)
    with pytest.raises(UpdateProblem, match="no kind of update called 'maintenance'"):
        publish(
            db_session,
            incident,
            message="x",
            kind="maintenance",
            by=BY,
            now=clock.now(),
            settings=settings,
        )
    with pytest.raises(UpdateProblem, match="no kind of update called 'reminder'"):
        publish(
            db_session,
            incident,
            message="x",
            kind="reminder",
            by=BY,
            now=clock.now(),
            settings=settings,
        )
