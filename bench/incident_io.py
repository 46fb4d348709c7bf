"""Benchmark: from a declaration in incident.io to the comms incident, and Slack posts a second.

Run: .venv/bin/python bench/incident_io.py [--incidents 20] [--posts 30] [--channels 3]
     (SQLite in a temporary folder; --database-url for PostgreSQL, a database named *bench*
     or *test*: it is emptied)

Part 1: comms served over HTTP, the incident.io emulator sending it signed webhooks; each
incident is declared in the emulator and the clock runs until its comms incident exists (the
webhook, the background fetch of GET /v2/incidents/{id}, the take-up).
Part 2: the Slack emulator (one message a second per channel, as Slack); comms posts --posts
timeline entries into each of --channels incident channels; posts a second, per channel and
in all, against Slack's limit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select
from werkzeug.serving import make_server

from bench.send import empty
from comms import create_app
from comms.clock import Clock
from comms.config import DatabaseSettings, IncidentIoSettings, Settings, SlackSettings, WebSettings
from comms.db import make_engine, make_sessionmaker
from comms.incident_io.models import FollowedIncident
from comms.incidents.models import Incident
from comms.sandbox.incident_io import IncidentIoEmulator, new_secret
from comms.sandbox.slack import SlackEmulator
from comms.slack.service import post_pending
from comms.timeline import record

SLACK_LIMIT = 1.0  # chat.postMessage: about one message a second per channel


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    middle = ordered[len(ordered) // 2]
    return f"p50 {middle * 1000:6.0f} ms   max {ordered[-1] * 1000:6.0f} ms"


def declarations(settings: Settings, incident_io: IncidentIoEmulator, count: int) -> list[float]:
    """Seconds from each declaration until its comms incident exists."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    incident_io.set_webhook(
        f"http://127.0.0.1:{server.server_port}/api/v1/incident-io/webhook",
        settings.incident_io.webhook_secret,
    )
    engine = make_engine(settings.database.url)
    took = []
    try:
        with make_sessionmaker(engine)() as db:
            for number in range(count):
                started = time.monotonic()
                incident_io.declare(f"Benchmark incident {number}", severity="Major")
                while db.scalar(select(func.count()).select_from(Incident)) <= number:
                    db.rollback()
                    time.sleep(0.005)
                took.append(time.monotonic() - started)
    finally:
        server.shutdown()
        engine.dispose()
        app.extensions["comms"]["engine"].dispose()
    return took


def posting(settings: Settings, slack: SlackEmulator, posts: int, channels: int) -> float:
    """Give each followed incident a channel and `posts` entries; seconds to post them all."""
    engine = make_engine(settings.database.url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions() as db:
        rows = db.scalars(select(FollowedIncident).order_by(FollowedIncident.id)).all()
        for row in rows[:channels]:
            slack.add_channel(row.slack_channel_id, row.slack_channel_name)
            incident = db.get(Incident, row.incident_id)
            for number in range(posts):
                record(
                    db,
                    incident,
                    actor="bench",
                    kind="link",
                    summary="",
                    now=now,
                    details={"linked": [1000 + number], "refused": {}},
                )
        for row in rows[channels:]:
            row.slack_channel_id = ""  # only the benchmark's channels take posts
        db.commit()
    started = time.monotonic()
    post_pending(sessions, settings, clock=Clock())
    seconds = time.monotonic() - started
    engine.dispose()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COMMS_BENCH_DATABASE_URL", ""))
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--posts", type=int, default=30, help="timeline entries per channel")
    parser.add_argument("--channels", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per webhook
    folder = Path(tempfile.mkdtemp(prefix="comms-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite'}"
    empty(url)
    with IncidentIoEmulator() as incident_io, SlackEmulator() as slack:
        settings = Settings(
            web=WebSettings(secret_key="bench"),
            database=DatabaseSettings(url=url),
            incident_io=IncidentIoSettings(
                api_key=incident_io.api_key, webhook_secret=new_secret(), url=incident_io.url
            ),
            slack=SlackSettings(bot_token=slack.bot_token, url=slack.url),
            source="bench",
        )
        took = declarations(settings, incident_io, args.incidents)
        channels = min(args.channels, args.incidents)
        seconds = posting(settings, slack, args.posts, channels)
        posts, limited = slack.posts(), slack.server.limited
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{args.incidents} incidents declared in the incident.io emulator one by one, {database}")
    print(f"declaration to comms incident:  {percentiles(took)}")
    rates = []
    for channel in {p["channel"] for p in posts}:
        times = sorted(p["at"] for p in posts if p["channel"] == channel)
        rates.append((len(times) - 1) / (times[-1] - times[0]))
    print(
        f"Slack: {len(posts)} posts ({args.posts} entries + 1 opening each) into {channels} "
        f"channels in {seconds:.1f} s; 429s from Slack: {limited}"
    )
    print(
        f"posts a second: {len(posts) / seconds:.2f} in all; per channel "
        f"{min(rates):.2f} to {max(rates):.2f} = {max(rates) / SLACK_LIMIT:.2f} x Slack's "
        f"limit of {SLACK_LIMIT:g} a second per channel"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
