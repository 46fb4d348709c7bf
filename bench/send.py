"""Benchmark: send_pending against a raw smtplib loop, to a relay answering after 0 and 25 ms.

Run: .venv/bin/python bench/send.py [--contacts 5000] [--delays 0,25] [--connections 4,32]
     [--rounds 3] [--database-url URL]...

Without --database-url it runs on a temporary SQLite file, and also on PostgreSQL when
COMMS_BENCH_DATABASE_URL names a database called *bench* or *test* (it is emptied). For each
database, relay delay and [smtp] connections (4, the default, then 32), in the same run:
comms publishes one update to every contact and send_pending delivers it, building and
recording each message; then a raw smtplib loop sends messages built and flattened beforehand
over one connection to the same relay, with no database. The relay runs in its own process
(bench/relay.py) and checks that every contact got exactly one message.

At 0 ms both sides take a few seconds, so a neighbour's burst on a shared machine moves one
measurement by up to 2x: each is taken --rounds times, comms and raw one after the other in
each round, and the line printed gives the median of each and the ratio of the medians
(with the lowest and highest round's ratio). At 25 ms one round is enough (the ratios are
far from 1). The raw loop's rate does not change with how many messages it sends, so at
25 ms it sends only --raw-messages (default 300, 30 s) of them; comms always sends all.

Why 0 ms at 4 connections stays under the raw loop: each connection waits for its database
to record a message's outcome (and claim its next) before it sends the next, so a sender
killed at any moment leaves at most one message per connection uncertain. The raw loop does
no such wait. On two cores the CPU a message costs decides the rest: measured with getrusage
and /proc around one pass (2026-12-03, PostgreSQL, 5,000 contacts), at 4 connections the
sender 0.77-0.90 ms, PostgreSQL 0.57-0.61 ms and the relay 0.66-0.75 ms a message, against
the raw loop's 0.19-0.29 ms in its client and 0.68-0.89 ms in the relay; at 32 connections
the commits are shared by more workers (PostgreSQL 0.05 ms a message) and comms passes the
raw loop. The README's deployment notes say how many connections to give a relay.
Results are in the closing notes of issue 13 (issues show 13).
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, make_url, select

from bench.relay import Relay
from comms.clock import Clock
from comms.config import DatabaseSettings, Settings, SmtpSettings
from comms.contacts.models import ContactOverride
from comms.contacts.stored import rebuild
from comms.db import Base, make_engine, make_sessionmaker
from comms.incidents.models import Incident
from comms.mail.render import EmailRenderer
from comms.mail.send import _wire_bytes, envelope_of
from comms.migrate import upgrade
from comms.sandbox.mailcatcher import free_port
from comms.updates import messages
from comms.updates.models import Delivery, Update
from comms.updates.sender import send_pending
from comms.updates.service import publish


def empty(url: str) -> None:
    """A fresh schema (PostgreSQL: only databases named *test* or *bench*)."""
    engine = make_engine(url)
    name = engine.url.database or ""
    if engine.dialect.name == "postgresql" and not ("test" in name or "bench" in name):
        raise SystemExit(f"refusing to empty database {name!r}: use one named *test* or *bench*")
    upgrade(engine)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


def prepare(url: str, contacts: int, settings: Settings) -> float:
    """Empty the database, add contacts, publish one update; return the publish time."""
    empty(url)
    engine = make_engine(url)
    now = Clock().now()
    with make_sessionmaker(engine)() as db:
        incident = Incident(title="Benchmark", severity="major", declared_at=now, keywords=[])
        db.add(incident)
        db.flush()
        rows = [
            {
                "incident_id": incident.id,
                "email": f"person{n}@client.example",
                "name": f"P {n}",
                "action": "add",
                "by": "bench",
                "at": now,
            }
            for n in range(contacts)
        ]
        db.execute(insert(ContactOverride), rows)
        rebuild(db, incident, settings)
        db.commit()
        started = time.perf_counter()
        publish(db, incident, message="Benchmark.", by="bench", now=now, settings=settings)
        db.commit()
        publish_seconds = time.perf_counter() - started
    engine.dispose()
    return publish_seconds


def prebuilt(url: str, settings: Settings, count: int) -> list[tuple[str, str, bytes]]:
    """The first `count` messages of the update, built and flattened for the raw loop."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        update = db.scalars(select(Update)).one()
        incident = db.get_one(Incident, update.incident_id)
        renderer = EmailRenderer(settings)
        rows = db.scalars(select(Delivery).order_by(Delivery.id).limit(count))
        built = [messages.build(renderer, settings, incident, update, row) for row in rows]
    engine.dispose()
    return [(*envelope_of(m), _wire_bytes(m)[:-3]) for m in built]  # smtplib adds the end


def raw_loop(settings: Settings, built: list[tuple[str, str, bytes]]) -> float:
    """Send pre-built messages one after another over one smtplib connection.

    The envelope says raw-<contact>, so the relay counts them apart from comms' messages.
    """
    started = time.perf_counter()
    with smtplib.SMTP(settings.smtp.host, settings.smtp.port) as smtp:
        for sender, recipient, data in built:
            smtp.sendmail(sender, [f"raw-{recipient}"], data)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Rates:
    comms: float  # messages a second
    raw: float
    publish_seconds: float


def measure(url: str, delay: int, contacts: int, raw_count: int, connections: int) -> Rates:
    """One round: comms sends the update to every contact, then the raw loop sends its share."""
    port = free_port("127.0.0.1")
    settings = Settings(
        database=DatabaseSettings(url=url),
        smtp=SmtpSettings(
            backend="smtp", host="127.0.0.1", port=port, timeout=30, connections=connections
        ),
    )
    publish_seconds = prepare(url, contacts, settings)
    with Relay(port, delay) as relay:
        engine = make_engine(url)
        started = time.perf_counter()
        report = send_pending(make_sessionmaker(engine), settings, clock=Clock())
        ours = time.perf_counter() - started
        engine.dispose()
        comms_accepted = relay.count
        built = prebuilt(url, settings, min(raw_count, contacts))
        theirs = raw_loop(settings, built)
    once = {to: n for to, n in relay.accepted.per_recipient.items() if not to.startswith("raw-")}
    exactly_once = len(once) == contacts and set(once.values()) == {1}
    assert report.sent == comms_accepted == contacts, (report, comms_accepted)
    assert exactly_once, "some contact did not get exactly one message"
    return Rates(contacts / ours, len(built) / theirs, publish_seconds)


def line(url: str, delay: int, contacts: int, connections: int, rounds: list[Rates]) -> str:
    """The medians of the rounds, their ratio, and the spread of the rounds' own ratios."""
    ours = statistics.median(each.comms for each in rounds)
    theirs = statistics.median(each.raw for each in rounds)
    ratios = [each.comms / each.raw for each in rounds]
    spread = f" (rounds {min(ratios):.2f}-{max(ratios):.2f}x)" if len(rounds) > 1 else ""
    name = make_url(url).get_backend_name()
    return (
        f"{name:<10} {delay:>3} ms  {connections:>2} connections  comms {ours:6.0f} msg/s"
        f"  raw {theirs:6.0f} msg/s  ratio {ours / theirs:5.2f}x{spread}"
        f"  ({contacts} contacts, each once; {len(rounds)} round(s);"
        f" publish {max(each.publish_seconds for each in rounds):.1f} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--delays", default="0,25", help="relay reply delays in ms")
    parser.add_argument("--raw-messages", type=int, default=300, help="raw loop at >0 ms")
    parser.add_argument(
        "--connections",
        default=f"{SmtpSettings().connections},32",
        help="comma-separated [smtp] connections to measure (default: the default, and 32)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds at 0 ms (1 at >0 ms)")
    parser.add_argument("--database-url", action="append", default=[])
    args = parser.parse_args()
    urls = args.database_url
    if not urls:
        folder = tempfile.mkdtemp(prefix="comms-bench-")
        urls = [f"sqlite:///{folder}/bench.sqlite"]
        if os.environ.get("COMMS_BENCH_DATABASE_URL"):
            urls.append(os.environ["COMMS_BENCH_DATABASE_URL"])
    counts = [int(each) for each in args.connections.split(",")]
    for url in urls:
        for delay in (int(each) for each in args.delays.split(",")):
            raw_count = args.contacts if delay == 0 else args.raw_messages
            rounds = max(args.rounds, 1) if delay == 0 else 1
            for connections in counts:
                taken = [
                    measure(url, delay, args.contacts, raw_count, connections)
                    for _ in range(rounds)
                ]
                print(line(url, delay, args.contacts, connections, taken), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
