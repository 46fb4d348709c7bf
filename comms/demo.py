"""`comms demo`: the whole product on one machine, with an incident already under way.

SQLite in instance/demo (fresh each start), the Zendesk sandbox seeded with a demo agency, a
real SMTP server whose messages show at /demo/mailbox, the incident.io emulator where the
incident is declared (comms takes it up from there), the Slack emulator whose channel shows
at /demo/slack, the scheduler on a short cadence, and the web app. Nothing leaves the machine.
"""

from __future__ import annotations

import logging
import secrets
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comms.clock import Clock
from comms.config import (
    DatabaseSettings,
    IncidentIoSettings,
    Settings,
    SlackSettings,
    SmtpSettings,
    ZendeskSettings,
)

if TYPE_CHECKING:  # the demo starts them late, so `comms --help` stays quick
    from comms.sandbox import Sandbox
    from comms.sandbox.incident_io import IncidentIoEmulator
    from comms.sandbox.mailcatcher import MailCatcher
    from comms.sandbox.slack import SlackEmulator

log = logging.getLogger(__name__)
DEMO_EMAIL = "demo@brightwave.digital"
COMPANY = "Brightwave Digital"
INCIDENT_TITLE = "Client sites on the legacy hosting platform returning 503 errors"
FIRST_MESSAGE = (
    "Since about 10:40 this morning, websites hosted on our legacy platform have been showing "
    "a '503 Service Unavailable' page to some visitors. Our hosting team has identified a fault "
    "in the platform's load balancer and is moving traffic to healthy servers. No data has been "
    "lost. We will update you again within the hour."
)
LEAD = {"name": "Priya Shah", "email": "priya.shah@brightwave.digital"}
# Declared in incident.io a few minutes in, without "Clients affected": comms lists it as
# declared in incident.io for the comms manager to take up (or not) with one click.
SECOND_INCIDENT = "Internal build pipeline slow"


@dataclass
class Demo:
    settings: Settings
    password: str
    sandbox: Sandbox
    catcher: MailCatcher
    incident_io: IncidentIoEmulator
    slack: SlackEmulator


def demo_settings(base: Settings, *, host: str, port: int, cadence: int, folder: Path) -> Settings:
    """Settings for the demo: everything local and a short cadence (INC-1 is critical, so it
    keeps that cadence out of hours, as the agency's process asks)."""
    every = {"critical": cadence, "major": cadence, "minor": cadence, "trivial": 0}
    return replace(
        base,
        web=replace(
            base.web,
            base_url=f"http://{host}:{port}",
            company_name=COMPANY,
            demo=True,
            secret_key=base.web.secret_key or secrets.token_hex(32),
        ),
        database=DatabaseSettings(url=f"sqlite:///{folder / 'comms.sqlite'}"),
        schedule=replace(
            base.schedule, cadence_minutes=every, reminder_minutes_before=1, tick_seconds=5
        ),
        source="comms demo",
    )


def start_services(settings: Settings, folder: Path) -> Demo:
    """Start the sandbox and the mail catcher, and point the settings at them."""
    from comms.sandbox import Sandbox
    from comms.sandbox.incident_io import IncidentIoEmulator, new_secret
    from comms.sandbox.mailcatcher import MailCatcher
    from comms.sandbox.slack import SlackEmulator

    sandbox = Sandbox(port=0, seed="demo").start()
    catcher = MailCatcher()
    catcher.start()
    incident_io = IncidentIoEmulator().start()
    slack = SlackEmulator().start()
    settings = replace(
        settings,
        zendesk=ZendeskSettings(
            url=sandbox.url,
            email="alex.morgan@brightwave.digital",
            token=sandbox.token,
            webhook_secret=secrets.token_urlsafe(24),
            timeout=10,
        ),
        smtp=SmtpSettings(
            backend="smtp",
            host="127.0.0.1",
            port=catcher.port,
            timeout=10,
            from_address=f"{COMPANY} Support <support@brightwave.digital>",
            reply_to="support@brightwave.digital",
            outbox_dir=str(folder / "outbox"),
        ),
        incident_io=IncidentIoSettings(
            api_key=incident_io.api_key,
            webhook_secret=new_secret(),
            url=incident_io.url,
            take_up="custom_field",
            poll_minutes=1,
        ),
        slack=SlackSettings(
            bot_token=slack.bot_token, signing_secret=slack.signing_secret, url=slack.url
        ),
    )
    sandbox.set_webhook(
        f"{settings.web.base_url}/api/v1/zendesk/webhook", settings.zendesk.webhook_secret
    )
    return Demo(settings, secrets.token_urlsafe(9), sandbox, catcher, incident_io, slack)


def prepare_database(demo: Demo) -> None:
    """A fresh schema, the demo user, and an incident in progress with an update sent."""
    from comms.auth.service import create_user
    from comms.db import make_engine, make_sessionmaker
    from comms.migrate import upgrade
    from comms.updates.sender import send_pending

    engine = make_engine(demo.settings.database.url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = Clock()
    with sessions() as db_session:
        user = create_user(
            db_session,
            email=DEMO_EMAIL,
            name="Dana Demo",
            role="admin",
            password=demo.password,
            now=clock.now(),
        )
        db_session.commit()
        declare_in_incident_io(demo, sessions, clock)
        seed_incident(db_session, demo.settings, user, clock)
    send_pending(sessions, demo.settings, clock=clock)
    engine.dispose()
    # From now on incident.io tells comms of every change, as it would a deployed comms.
    demo.incident_io.set_webhook(
        f"{demo.settings.web.base_url}/api/v1/incident-io/webhook",
        demo.settings.incident_io.webhook_secret,
    )


def declare_in_incident_io(demo: Demo, sessions, clock: Clock) -> None:
    """Declare INC-1 where the agency declares incidents; comms takes it up from the API."""
    from comms.incident_io.jobs import reconcile

    remote = demo.incident_io.declare(
        INCIDENT_TITLE,
        summary="503s on sites hosted on the legacy platform; load balancer suspected.",
        severity="Critical",
        status="Fixing",
        lead=LEAD,
        custom_fields={"Clients affected": "Yes"},
    )
    demo.slack.add_channel(remote["slack_channel_id"], remote["slack_channel_name"])
    reconcile(sessions, demo.settings, clock=clock, force=True)


def declare_later(demo: Demo, stop: threading.Event, after: float) -> None:
    """A few minutes in, another incident is declared that comms lists, not takes up."""
    if stop.wait(after):
        return
    remote = demo.incident_io.declare(SECOND_INCIDENT, severity="Minor", lead=LEAD)
    demo.slack.add_channel(remote["slack_channel_id"], remote["slack_channel_name"])


def seed_incident(db_session, settings: Settings, user, clock: Clock) -> None:
    """Declare the demo incident, link its tickets, build the list and publish an update."""
    from sqlalchemy import select

    from comms.actions import tickets
    from comms.contacts import service as contacts
    from comms.incidents import parent
    from comms.incidents.models import Incident
    from comms.updates.service import publish
    from comms.zendesk import Gateway

    by, now = user.email, clock.now()
    with Gateway(settings.zendesk) as gateway:
        incident = db_session.scalars(select(Incident)).one()  # taken up from incident.io
        incident.business_unit, incident.comms_manager_id = "Hosting", user.id
        incident.keywords = ["503", "down", "loading", "unavailable"]
        contacts.add_organizations_by_tag(
            db_session, gateway, incident, "hosting_legacy", by=by, now=now, settings=settings
        )
        db_session.commit()
        parent.create_parent(db_session, gateway, incident, by=by, now=now)
        found = tickets.refresh_candidates(
            db_session, gateway, incident, settings=settings, now=now
        )
        tickets.link(
            db_session,
            gateway,
            incident,
            [c.ticket_id for c in found[:6]],
            by=by,
            now=now,
            settings=settings,
        )
        contacts.refresh(db_session, gateway, incident, settings, now=now, by=by)
        publish(db_session, incident, message=FIRST_MESSAGE, by=by, now=now, settings=settings)
        db_session.commit()


def trickle_tickets(sandbox, stop: threading.Event, every: float = 45.0, most: int = 20) -> None:
    """Now and then a client raises another ticket, as they do during an outage."""
    store = sandbox.store
    with store.lock:
        legacy = [o for o in store.orgs.values() if "hosting_legacy" in o["tags"]]
    for n in range(most):
        if stop.wait(every) or not legacy:
            return
        org = legacy[n % len(legacy)]
        people = [u for u in store.org_members(org["id"]) if u.get("email") and not u["suspended"]]
        if people:
            store.add_ticket(
                subject="Our website is showing a 503 error",
                requester_id=people[0]["id"],
                organization_id=org["id"],
                description="Visitors see 'Service Unavailable'. Please help!",
            )


def run(
    base: Settings,
    *,
    host: str,
    port: int,
    cadence: int,
    folder: Path,
    second_incident_minutes: float = 3,
) -> int:
    """Start everything, print the URL and login, serve until Ctrl-C, then stop cleanly."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from werkzeug.serving import make_server

    from comms import create_app
    from comms.cli import busy_port, port_free
    from comms.sandbox.jsonserver import quiet_on_socket_errors
    from comms.updates.scheduler import Scheduler

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comms.sqlite").unlink(missing_ok=True)
    settings = demo_settings(base, host=host, port=port, cadence=cadence, folder=folder)
    if not port_free(host, port):
        print(busy_port(host, port, "demo"), file=sys.stderr)
        return 1
    # Reserve the port first; the app is set once the database is ready.
    server_socket = make_server(host, port, app=_not_ready, threaded=True)
    server_socket.handle_error = quiet_on_socket_errors(server_socket.handle_error)  # type: ignore[method-assign,assignment]
    demo = start_services(settings, folder)
    stop = threading.Event()
    scheduler = Scheduler(demo.settings)
    background = BackgroundScheduler(timezone="UTC")
    try:
        prepare_database(demo)
        app = create_app(demo.settings, worker=True)
        app.extensions["comms"]["mailcatcher"] = demo.catcher
        app.extensions["comms"]["slack_emulator"] = demo.slack
        server_socket.app = app
        background.add_job(
            scheduler.beat,
            "interval",
            seconds=demo.settings.schedule.tick_seconds,
            max_instances=1,
            coalesce=True,
        )
        background.start()
        threading.Thread(target=trickle_tickets, args=(demo.sandbox, stop), daemon=True).start()
        threading.Thread(
            target=declare_later, args=(demo, stop, second_incident_minutes * 60), daemon=True
        ).start()
        print_welcome(demo, cadence, second_incident_minutes)
        server_socket.serve_forever()
    except KeyboardInterrupt:
        print("\nStopping the demo…", flush=True)
    finally:
        stop.set()
        if background.running:
            background.shutdown(wait=False)
        server_socket.server_close()
        scheduler.close()
        demo.sandbox.stop()
        demo.catcher.stop()
        demo.incident_io.stop()
        demo.slack.stop()
    print("The demo has stopped.", flush=True)
    return 0


def _not_ready(environ: object, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"The demo is starting."]


def print_welcome(demo: Demo, cadence: int, second_incident_minutes: float) -> None:
    base = demo.settings.web.base_url
    print(
        f"\ncomms demo is running at {base}\n"
        f"  sign in as  {DEMO_EMAIL}\n"
        f"  password    {demo.password}\n"
        f"  mailbox     {base}/demo/mailbox (every e-mail sent shows up here)\n"
        f"  Zendesk     {demo.sandbox.url} (the sandbox, seeded with 40 clients)\n"
        f"  incident.io {demo.incident_io.url} (INC-1 was declared here; another follows in "
        f"{second_incident_minutes:g} minutes)\n"
        f"  Slack       {base}/demo/slack (the incident channel: what comms did for clients)\n"
        "A worker in this process runs long operations (contact refresh, link, merge).\n"
        f"Client updates go out every {cadence} minutes. Press Ctrl-C to stop.\n",
        flush=True,
    )
