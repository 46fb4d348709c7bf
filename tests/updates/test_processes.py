"""Real processes: a sender killed mid-way, and two schedulers side by side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from comms.clock import Clock
from comms.contacts.models import ContactOverride
from comms.contacts.stored import rebuild
from comms.updates.models import Delivery
from comms.updates.scheduler import Scheduler, SendingProcesses
from comms.updates.sender import send_pending
from comms.updates.service import publish
from tests.conftest import wait_for
from tests.updates.conftest import assert_counts_kept, received_by

ROOT = Path(__file__).resolve().parents[2]
BY = "manager@agency.test"


def add_contacts(db_session, incident, count: int, now, settings) -> None:
    """Many hand-added contacts at once (add_contact one by one is slower)."""
    rows = [
        {
            "incident_id": incident.id,
            "email": f"person{n}@client.example",
            "name": f"Person {n}",
            "action": "add",
            "by": BY,
            "at": now,
        }
        for n in range(count)
    ]
    db_session.execute(insert(ContactOverride), rows)
    rebuild(db_session, incident, settings)
    db_session.commit()


def test_a_sender_killed_mid_way_and_restarted_sends_each_message_once(
    db_session, sessions, settings, clock, catcher, make_incident, database_url, engine
):
    incident = make_incident("major", contacts=0)
    add_contacts(db_session, incident, 500, clock.now(), settings)
    update_id = publish(
        db_session, incident, message="Slow.", by=BY, now=clock.now(), settings=settings
    ).id
    db_session.commit()

    command = [sys.executable, "-m", "tests.updates.worker", database_url, str(catcher.port)]
    worker = subprocess.Popen([*command, "400", "4"], cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_for(lambda: len(catcher.messages) >= 150, "the first 150 messages", timeout=120)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert 150 <= len(catcher.messages) < 500 and catcher.sessions == 4
    assert 1 <= assert_counts_kept(engine)[update_id]["sending"] <= 4

    # At once, not after the in-flight timeout: the killed sender's lease went with it.
    report = send_pending(sessions, settings, clock=Clock())
    assert report.uncertain == 0 and 1 <= report.recovered <= 4

    rows = db_session.scalars(select(Delivery)).all()
    states = {row.email: row.state for row in rows}
    counts = received_by(catcher)
    assert len(rows) == 500 and all(count == 1 for count in counts.values())
    uncertain = [email for email, state in states.items() if state == "uncertain"]
    assert 1 <= len(uncertain) <= 4  # at most one per connection
    assert all(state == "sent" for email, state in states.items() if email not in uncertain)
    assert set(counts) | set(uncertain) == set(states)
    kept = assert_counts_kept(engine)[update_id]
    assert kept["uncertain"] == len(uncertain) and kept["sent"] == 500 - len(uncertain)


def write_config(path: Path, database_url: str, smtp_port: int) -> Path:
    path.write_text(
        f"""
[web]
secret_key = "test"
[database]
url = "{database_url}"
[smtp]
backend = "smtp"
host = "127.0.0.1"
port = {smtp_port}
timeout = 30
[schedule]
tick_seconds = 1
"""
    )
    return path


def test_two_schedulers_never_send_anything_twice(
    db_session, sessions, settings, catcher, make_incident, database_url, tmp_path
):
    now = Clock().now()
    incident = make_incident("critical", contacts=20)
    publish(
        db_session,
        incident,
        message="Down.",
        by=BY,
        now=now - timedelta(minutes=61),
        settings=settings,
    )
    db_session.commit()
    send_pending(sessions, settings, clock=Clock())  # the initial went out; the next is due
    env = {
        **os.environ,
        "COMMS_CONFIG": str(write_config(tmp_path / "config.toml", database_url, catcher.port)),
    }
    logs = [tmp_path / f"scheduler{n}.log" for n in (1, 2)]
    schedulers = []
    for log in logs:
        with log.open("w") as output:
            command = [sys.executable, "-m", "comms.cli", "scheduler"]
            schedulers.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
                )
            )
    try:
        wait_for(lambda: len(catcher.messages) >= 40, "two updates to 20 contacts", timeout=120)
        time.sleep(1.5)  # give a double send the chance to show
        active = [n for n, log in enumerate(logs) if "scheduler: active" in log.read_text()]
        assert len(active) == 1, [log.read_text() for log in logs]
        schedulers[active[0]].send_signal(signal.SIGKILL)
        schedulers[active[0]].wait()

        publish(
            db_session, incident, message="Still down.", by=BY, now=Clock().now(), settings=settings
        )
        db_session.commit()
        wait_for(lambda: len(catcher.messages) >= 60, "the standby to take over", timeout=120)
        time.sleep(1.5)
    finally:
        for process in schedulers:
            process.terminate()
            process.wait()
    standby = 1 - active[0]
    assert "scheduler: active" in logs[standby].read_text()
    assert set(received_by(catcher).values()) == {3}
    message_ids = [str(m.message["Message-ID"]) for m in catcher.messages]
    assert len(message_ids) == len(set(message_ids)) == 60


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


def test_a_scheduler_sending_from_two_processes_sends_each_message_once(
    db_session, settings, clock, catcher, make_incident
):
    incident = make_incident(
        "critical", contacts=0, current_message="Down.", next_update_due_at=Clock().now()
    )
    add_contacts(db_session, incident, 120, clock.now(), settings)
    two = replace(settings, smtp=replace(settings.smtp, connections=4, sender_processes=2))
    scheduler = Scheduler(two)
    try:
        report = scheduler.beat()
        assert report is not None and report.due.published == [incident.reference]
        wait_for(lambda: len(catcher.messages) >= 120, "the update to 120 contacts", timeout=120)
    finally:
        scheduler.close()
    assert isinstance(scheduler.sender, SendingProcesses)
    assert not any(process.is_alive() for process in scheduler.sender.processes)
    assert set(received_by(catcher).values()) == {1} and len(received_by(catcher)) == 120
    assert 2 <= catcher.sessions <= 4  # both processes sent, each over its share


def test_sending_processes_stop_when_their_scheduler_is_killed(
    db_session, sessions, settings, catcher, make_incident, database_url, tmp_path
):
    """Nothing keeps sending for a scheduler that is gone; the rest goes out once, later."""
    now = Clock().now()
    incident = make_incident(
        "critical", contacts=0, current_message="Down.", next_update_due_at=now
    )
    add_contacts(db_session, incident, 400, now, settings)
    config = write_config(tmp_path / "config.toml", database_url, catcher.port)
    config.write_text(
        config.read_text().replace("[smtp]", "[smtp]\nsender_processes = 2\nmax_per_second = 40")
    )
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "comms.cli", "scheduler"],
        cwd=ROOT,
        env={**os.environ, "COMMS_CONFIG": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(catcher.messages) >= 40, "the first 40 messages", timeout=120)
        senders = children_of(scheduler.pid)
        assert len(senders) >= 2  # the two sending processes (and multiprocessing's tracker)
    finally:
        scheduler.send_signal(signal.SIGKILL)
        scheduler.wait()
    wait_for(lambda: not any(alive(pid) for pid in senders), "the senders to stop", timeout=60)
    assert len(catcher.messages) < 400

    send_pending(sessions, settings, clock=Clock())
    counts = received_by(catcher)
    states = dict(db_session.execute(select(Delivery.email, Delivery.state)).all())
    uncertain = {email for email, state in states.items() if state == "uncertain"}
    assert len(states) == 400 and set(counts.values()) == {1}
    assert set(counts) | uncertain == set(states)
