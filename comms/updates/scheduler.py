"""The `comms scheduler` process: every tick, publish due updates and remind; a sender sends.

The tick never waits for the mail server: delivery runs in a sending worker of its own (its
connections in threads), woken after each update the tick publishes, so a slow or hung relay
delays only the messages it holds. With `[smtp] sender_processes` the sending worker is that
many processes of its own, sharing the connections: sending is then not held to one CPU core
by the GIL, nor does it slow the tick's publishing.

Exactly one scheduler is active: on PostgreSQL it holds an advisory lock on a connection kept
for the life of the process; on SQLite it holds an flock on a file next to the database.
Others stand by, try again every tick, and take over when the active one dies. Correctness
does not rest on the lock alone: claims and row locks keep even two active ones from sending
anything twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from comms.actions.operations import start_due_candidate_polls, start_reconcile
from comms.clock import Clock
from comms.config import Settings
from comms.db import make_engine, make_sessionmaker
from comms.followup.service import send_followup_reminders
from comms.incident_io.jobs import process_webhooks
from comms.mail.render import EmailRenderer
from comms.slack.service import post_pending
from comms.updates.jobs import DueReport, run_due
from comms.updates.reminders import send_reminders
from comms.updates.sender import SendReport, recover_stuck, send_pending
from comms.worker import Worker
from comms.zendesk import Gateway

log = logging.getLogger(__name__)
ADVISORY_KEY = 0x636F6D6D73  # "comms"


@dataclass(frozen=True)
class TickReport:
    due: DueReport
    reminders: int
    sending: SendReport


def tick(
    session_factory: Callable[[], Session],
    settings: Settings,
    *,
    clock: Clock,
    gateway: Gateway | None = None,
    send: bool = True,
    published: Callable[[], None] | None = None,
) -> TickReport:
    """One round of work: follow incident.io, publish what is due, remind, tell Slack, settle
    dead senders.

    With `send`, deliver what is pending too before returning; the scheduler process leaves
    that to its sending worker instead, woken through `published` after each update.
    """
    process_webhooks(session_factory, settings, clock=clock)  # any left over
    with session_factory() as db_session:  # long work: a worker runs it
        start_reconcile(db_session, settings=settings, now=clock.now())
        start_due_candidate_polls(db_session, settings=settings, now=clock.now())
    due = run_due(session_factory, settings, clock=clock, gateway=gateway, published=published)
    reminders = send_reminders(session_factory, settings, clock=clock)
    reminders += send_followup_reminders(session_factory, settings, clock=clock)
    post_pending(session_factory, settings, clock=clock)  # into each incident's Slack channel
    if send:
        return TickReport(due, reminders, send_pending(session_factory, settings, clock=clock))
    with session_factory() as db_session:
        recovered = recover_stuck(db_session, settings, now=clock.now())
        db_session.commit()
    return TickReport(due, reminders, SendReport(recovered=recovered))


class SendingWorker:
    """Deliver pending e-mails in a thread of their own, each time the tick wakes it."""

    def __init__(
        self, session_factory: Callable[[], Session], settings: Settings, clock: Clock
    ) -> None:
        self.session_factory, self.settings, self.clock = session_factory, settings, clock
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="comms-sender", daemon=True)
        self.passes = 0

    def start(self) -> None:
        self.thread.start()

    def poke(self) -> None:
        """There may be something to send: start a pass now, or right after the current one."""
        self.wake.set()

    def stop(self) -> None:
        """Finish each connection's message in flight, then stop."""
        self.stopping.set()
        self.wake.set()
        self.thread.join()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            if self.stopping.is_set():
                return
            try:
                send_pending(
                    self.session_factory, self.settings, clock=self.clock, stopping=self.stopping
                )
            except Exception:  # the next tick wakes it again; nothing is lost
                log.exception("sending failed; trying again next tick")
            self.passes += 1


class SendingProcesses:
    """Deliver pending e-mails in [smtp] sender_processes processes, each woken by each tick.

    Each process sends over its share of the connections (and of max_per_second). A process
    stops after its messages in flight when told to, or when the scheduler has died (kill -9):
    nothing is left sending for a scheduler that is gone, and the claims keep it exactly once.
    """

    def __init__(self, settings: Settings) -> None:
        count = settings.smtp.sender_processes
        smtp = settings.smtp
        share = replace(
            smtp,
            connections=math.ceil(smtp.connections / count),
            max_per_second=smtp.max_per_second / count,
        )
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self.stopping = context.Event()
        self.wakes = [context.Event() for _ in range(count)]
        self.processes = [
            context.Process(
                target=send_in_process,
                args=(replace(settings, smtp=share), wake, self.stopping, os.getpid()),
                name=f"comms-sender-{number}",
            )
            for number, wake in enumerate(self.wakes)
        ]

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def poke(self) -> None:
        """There may be something to send: each process starts a pass now, or after its own."""
        for wake in self.wakes:
            wake.set()

    def stop(self) -> None:
        """Each process finishes its messages in flight, then stops."""
        self.stopping.set()
        for process in self.processes:
            process.join()


def send_in_process(
    settings: Settings, wake: Any, stopping: Any, scheduler_pid: int
) -> None:  # pragma: no cover - runs in a child process
    """One sending process: a pass each time it is woken, until stopped or orphaned."""
    for each in (signal.SIGINT, signal.SIGTERM):  # the scheduler stops us after it is stopped
        signal.signal(each, signal.SIG_IGN)
    engine = make_engine(settings.database.url, sending_connections=settings.smtp.connections)
    sessions, clock, stop = make_sessionmaker(engine), Clock(), threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            if stopping.is_set() or os.getppid() != scheduler_pid:
                stop.set()

    threading.Thread(target=watch, name="comms-sender-watch", daemon=True).start()
    while not stop.is_set():
        if not wake.wait(0.5):
            continue
        wake.clear()
        try:
            send_pending(sessions, settings, clock=clock, stopping=stop)
        except Exception:  # the next tick wakes it again; nothing is lost
            log.exception("sending failed; trying again next tick")
    engine.dispose()


class PostgresLock:
    """pg_try_advisory_lock on a dedicated connection; lost if that connection drops."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.connection: Connection | None = None
        self.locked = False

    def acquire(self) -> bool:
        try:
            if self.connection is None:
                self.connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            query = text("SELECT pg_try_advisory_lock(:key)")
            self.locked = bool(self.connection.execute(query, {"key": ADVISORY_KEY}).scalar())
        except SQLAlchemyError as error:
            log.warning("cannot reach the database to take the scheduler lock: %s", error)
            self.release()
        return self.locked

    def held(self) -> bool:
        """Check the lock is still ours (the connection may have been cut)."""
        if self.connection is None or not self.locked:
            return False
        try:
            return bool(self.connection.execute(text("SELECT 1")).scalar())
        except SQLAlchemyError:
            self.release()
            return False

    def release(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                # Unlock at once (the server ends a closed session's locks only when its
                # backend has gone), then end the session: closing would only hand the
                # connection back to the pool with its session alive.
                if self.locked:
                    unlock = text("SELECT pg_advisory_unlock(:key)")
                    self.connection.execute(unlock, {"key": ADVISORY_KEY})
                self.connection.invalidate()
                self.connection.close()
            self.connection = None
        self.locked = False


class FileLock:
    """An exclusive flock on `<database>.scheduler.lock`; the kernel drops it when we die."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.file = handle
        return True

    def held(self) -> bool:
        return self.file is not None

    def release(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def lock_for(database_url: str) -> PostgresLock | FileLock:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLock(database_url)
    return FileLock(Path(f"{url.database or 'comms.sqlite'}.scheduler.lock").resolve())


class Scheduler:
    """Take (or keep) the lock each beat and tick only while holding it."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        sends_here = not settings.smtp.sender_processes
        self.engine = make_engine(
            settings.database.url, sending_connections=settings.smtp.connections * sends_here
        )
        self.sessions = make_sessionmaker(self.engine)
        self.lock = lock_for(settings.database.url)
        self.gateway = Gateway(settings.zendesk) if settings.zendesk.configured else None
        self.active: bool | None = None  # not known until the first beat
        self.sender: SendingWorker | SendingProcesses = (
            SendingProcesses(settings)
            if settings.smtp.sender_processes
            else SendingWorker(self.sessions, settings, self.clock)
        )
        self.sender.start()

    def beat(self, *, send_here: bool = False) -> TickReport | None:
        """Run one tick if this process is (or becomes) the active scheduler, then wake the
        sending worker (or, with `send_here`, send before returning)."""
        holding = self.lock.held() or self.lock.acquire()
        if holding != self.active:
            log.warning("comms scheduler: %s", _role_change(was=self.active, now=holding))
            self.active = holding
        if not holding:
            return None
        try:
            report = tick(
                self.sessions,
                self.settings,
                clock=self.clock,
                gateway=self.gateway,
                send=send_here,
                published=None if send_here else self.sender.poke,
            )
        except SQLAlchemyError as error:
            log.error("the tick failed; trying again next tick: %s", error)
            report = None
        if not send_here:
            self.sender.poke()
        return report

    def close(self) -> None:
        self.sender.stop()
        self.lock.release()
        if isinstance(self.lock, PostgresLock):
            self.lock.engine.dispose()
        if self.gateway is not None:
            self.gateway.close()
        self.engine.dispose()


def _role_change(*, was: bool | None, now: bool) -> str:
    """What a scheduler says when it starts, stands by, or takes over."""
    if now:
        return "active" if was is None else "active, taking over: the active scheduler has stopped"
    if was is None:
        return "standing by: another scheduler is active; this one takes over if it stops"
    return "standing by: lost the scheduler lock (the database connection dropped?)"


def run_scheduler(settings: Settings, *, once: bool = False, workers: int = 0) -> int:
    """Run until stopped (SIGTERM or Ctrl-C), ticking every schedule.tick_seconds.

    With `workers`, that many workers run long operations in this process too (with `once`,
    until none is left queued).
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per tick
    EmailRenderer(settings).check_all()  # a broken template stops start-up, not a send
    scheduler = Scheduler(settings)
    running = [Worker(scheduler.sessions, settings, scheduler.clock) for _ in range(workers)]
    if once:
        report = scheduler.beat(send_here=True)
        while running and running[0].run_one():
            pass
        scheduler.close()
        print(report if report else "Another scheduler is active; nothing done.")
        return 0
    for worker in running:
        worker.start()
    if running:
        print(f"comms scheduler: {workers} worker(s) run long operations here too", flush=True)
    blocking = BlockingScheduler(timezone="UTC")
    blocking.add_job(
        scheduler.beat,
        "interval",
        seconds=settings.schedule.tick_seconds,
        next_run_time=scheduler.clock.now(),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )

    def stop(_signal: int, _frame: Any) -> None:
        blocking.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    print(f"comms scheduler: ticking every {settings.schedule.tick_seconds} s", flush=True)
    try:
        blocking.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        for worker in running:
            worker.stop()
        scheduler.close()
    return 0
