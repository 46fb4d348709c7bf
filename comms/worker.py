"""Workers: claim queued operations from the database and run them, on any number of machines.

`comms worker` runs them as a process of their own; `comms serve`, `comms demo` and
`comms scheduler --workers N` run them in threads beside their other work. Each worker claims
one operation at a time with a lease (comms/operations/queue.py), keeps it alive with a
heartbeat thread while the handler works, and records the end only while it still holds it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from comms.actions.operations import HANDLERS, Job
from comms.clock import Clock
from comms.config import Settings
from comms.db import make_engine, make_sessionmaker
from comms.operations import queue
from comms.operations.models import Operation
from comms.operations.queue import Finished, LeaseLost
from comms.zendesk import Gateway

log = logging.getLogger(__name__)
_numbers = iter(range(1, 1_000_000))


class Worker:
    """One worker thread: claim an operation, run it with a heartbeat, then look for the next."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        settings: Settings,
        clock: Clock,
        make_gateway: Callable[[], Gateway] | None = None,
    ) -> None:
        self.session_factory, self.settings, self.clock = session_factory, settings, clock
        self.make_gateway = make_gateway or (lambda: Gateway(settings.zendesk))
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{next(_numbers)}"
        self.lease = timedelta(seconds=settings.worker.lease_seconds)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"comms-worker-{self.owner}")
        self.thread.daemon = True

    def start(self) -> Worker:
        self.thread.start()
        return self

    def poke(self) -> None:
        """An operation was recorded: look now rather than at the next poll."""
        self.wake.set()

    def stop(self) -> None:
        """Finish the operation in hand, then stop."""
        self.stopping.set()
        self.wake.set()
        if self.thread.is_alive():
            self.thread.join()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                ran = self.run_one()
            except SQLAlchemyError as error:  # the database went away: try again later
                log.warning("worker %s cannot reach the database: %s", self.owner, error)
                ran = False
            except Exception:  # a bug must not stop the worker: log it and go on
                log.exception("worker %s failed", self.owner)
                ran = False
            if not ran:
                self.wake.wait(self.settings.worker.poll_seconds)
                self.wake.clear()

    def run_one(self) -> bool:
        """Claim and run one operation; False when there was none to take."""
        with self.session_factory() as db_session:
            operation = queue.claim(
                db_session, owner=self.owner, now=self.clock.now(), lease=self.lease
            )
        if operation is None:
            return False
        log.info(
            "worker %s runs operation %s (%s, attempt %s)",
            self.owner,
            operation.id,
            operation.kind,
            operation.attempts,
        )
        self._run(operation.id)
        return True

    def _run(self, operation_id: int) -> None:
        gateway = self._gateway()
        heart = _Heart(self, operation_id, gateway)
        heart.start()
        try:
            with self.session_factory() as db_session:
                self._work(db_session, db_session.get_one(Operation, operation_id), heart)
        finally:
            heart.stop()
            if gateway is not None:
                gateway.close()

    def _gateway(self) -> Gateway | None:
        if not self.settings.zendesk.configured:
            return None
        try:
            return self.make_gateway()
        except Exception:  # the operation then fails saying Zendesk cannot be used
            log.exception("worker %s cannot set up the Zendesk client", self.owner)
            return None

    def _work(self, db_session: Session, operation: Operation, heart: _Heart) -> None:
        def checkpoint() -> None:
            if heart.lost.is_set():
                raise LeaseLost(f"operation {operation.id} was taken over")
            db_session.commit()

        job = Job(
            db_session=db_session,
            sessions=self.session_factory,
            zendesk=heart.gateway,
            operation=operation,
            settings=self.settings,
            clock=self.clock,
            progress=heart.progress,
            checkpoint=checkpoint,
        )
        try:
            finished = HANDLERS[operation.kind](job)
        except LeaseLost:
            db_session.rollback()
            log.warning("worker %s lost operation %s to another worker", self.owner, operation.id)
            return
        except Exception as error:  # the page must learn what went wrong, whatever it was
            db_session.rollback()
            log.warning("operation %s failed: %s", operation.id, error)
            finished = Finished("failed", error=str(error) or type(error).__name__)
        if heart.lost.is_set():
            db_session.rollback()  # another worker holds it now and will record the end
            return
        self._end(db_session, operation, finished)

    def _end(self, db_session: Session, operation: Operation, finished: Finished) -> None:
        """Record the end with the work's own changes, unless another worker holds it now."""
        if queue.finish(db_session, operation, finished, owner=self.owner, now=self.clock.now()):
            db_session.commit()
        else:
            db_session.rollback()


class _Heart:
    """Renew the lease while the handler works; write progress and the rate-limit note."""

    def __init__(self, worker: Worker, operation_id: int, gateway: Gateway | None) -> None:
        self.worker, self.operation_id, self.gateway = worker, operation_id, gateway
        self.lost = threading.Event()
        self.stopped = threading.Event()
        self.every = max(0.2, min(5.0, worker.settings.worker.lease_seconds / 6))
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{operation_id}")
        self.thread.daemon = True
        self.note = ""
        self.lock = threading.Lock()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()

    def progress(self, done: int, total: int) -> None:
        """The handler's progress callback: written at once, so every web worker sees it."""
        self.send(done=done, total=total)

    def send(self, **values: Any) -> None:
        worker = self.worker
        with self.lock:
            try:
                with worker.session_factory() as db_session:
                    held = queue.beat(
                        db_session,
                        self.operation_id,
                        owner=worker.owner,
                        now=worker.clock.now(),
                        lease=worker.lease,
                        **values,
                    )
                    db_session.commit()
            except SQLAlchemyError as error:  # the next beat tries again
                log.warning("heartbeat of operation %s failed: %s", self.operation_id, error)
                return
        if not held:
            self.lost.set()

    def _beat(self) -> None:
        waited = 0.0
        while not self.stopped.wait(0.25):
            waited += 0.25
            note = self.gateway.rate_limit_note() if self.gateway else ""
            if note != self.note or waited >= self.every:
                self.note, waited = note, 0.0
                self.send(note=note)


def run_workers(settings: Settings, *, count: int) -> int:
    """`comms worker`: run `count` workers until SIGTERM or Ctrl-C, finishing what they hold."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine = make_engine(settings.database.url)
    sessions = make_sessionmaker(engine)
    clock = Clock()
    workers = [Worker(sessions, settings, clock).start() for _ in range(count)]
    done = threading.Event()

    def stop(_signal: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    print(f"comms worker: {count} worker(s) running operations", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    for worker in workers:
        worker.stop()
    engine.dispose()
    return 0
