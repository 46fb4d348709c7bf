"""Deliver pending client e-mails exactly once, even when senders crash or run side by side.

A sender sends over up to `[smtp] connections` connections at once, one worker thread each.
A worker takes one due row at a time: a single statement marks it `sending`, claimed by this
sender and dispatched (handed to SMTP), and is committed before the message is sent, in one
transaction with the outcome of the worker's previous message. So a sender killed at any moment
leaves at most one row per connection without a result: that one becomes `uncertain`, and
nothing is sent twice. A database error rolls back and is logged; the worker goes on. A hung
connection holds only its own message; the other workers take the rest.

Each sender holds a lease while it runs (comms/updates/leases.py). Rows in `sending` whose
sender's lease is gone (it died) are settled by the next sender at once; a lease that cannot
be checked falls back to the in-flight timeout.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from comms.clock import Clock
from comms.config import Settings
from comms.incidents.models import Incident
from comms.mail import kinds
from comms.mail.render import EmailRenderer, TemplateProblem
from comms.mail.send import Mailer, MailServerUnavailable, Pace, SendOutcome
from comms.updates import leases, messages, problems
from comms.updates.models import Delivery, Update

log = logging.getLogger(__name__)
Outcome = tuple["Claimed", str, SendOutcome]  # a sent row, its update's kind, what became of it
Taken = tuple["Claimed", Update, Incident]
MAX_ATTEMPTS = 8
RESEND_DELAY = timedelta(minutes=1)
# A connection is opened for every this many due messages, up to [smtp] connections.
MESSAGES_PER_CONNECTION = 10
# A worker writes a row's outcome this many times before it leaves the row to recovery.
DATABASE_TRIES = 3
# Rows claimed before dispatch was part of the claim (older versions) may be taken back then.
UNDISPATCHED_TIMEOUT = timedelta(minutes=2)


@dataclass
class SendReport:
    """What one pass of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    returned: int = 0
    recovered: int = 0
    problem: str = ""

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed + self.uncertain


def in_flight_timeout(settings: Settings) -> timedelta:
    """How long a dispatched message may take before its sender is presumed dead."""
    return max(timedelta(minutes=5), timedelta(seconds=settings.smtp.timeout * 10))


def backoff(attempts: int) -> timedelta:
    """Wait 1, 2, 4 … minutes between attempts, at most 30."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 30))


def _due(now: datetime):  # type: ignore[no-untyped-def]
    """Pending rows come first, then retries that are due; each uses the state index."""
    return (
        Delivery.state == "pending",
        and_(Delivery.state == "retrying", Delivery.next_attempt_at <= now),
    )


def count_due(db_session: Session, *, now: datetime) -> int:
    """How many rows are waiting to be sent now."""
    return int(db_session.scalar(select(func.count()).where(or_(*_due(now)))) or 0)


def recover_stuck(db_session: Session, settings: Settings, *, now: datetime) -> int:
    """Settle rows whose sender died: dispatched ones become uncertain, undispatched pending.

    A sender is dead when its lease is gone (at once) or its message has been in flight for
    longer than any send can take (the fallback).
    """
    released = db_session.execute(
        update(Delivery)
        .where(
            Delivery.state == "sending",
            Delivery.dispatched_at.is_(None),
            Delivery.claimed_at < now - UNDISPATCHED_TIMEOUT,
        )
        .values(state="pending", claimed_by="")
    )
    holders = set(
        db_session.scalars(
            select(Delivery.claimed_by).where(Delivery.state == "sending").distinct()
        )
    )
    engine = db_session.get_bind()
    gone = leases.dead(engine, holders) if isinstance(engine, Engine) else set()
    stuck = db_session.execute(
        select(Delivery.id, Delivery.claimed_by, Update.kind, Delivery.uncertain_resent)
        .join(Update)
        .where(
            Delivery.state == "sending",
            or_(
                Delivery.claimed_by.in_(gone),
                Delivery.dispatched_at < now - in_flight_timeout(settings),
            ),
        )
    ).all()
    lost = SendOutcome("uncertain", "the sender stopped while sending this message")
    for delivery_id, token, kind, resent in stuck:
        _record(
            db_session,
            delivery_id,
            token,
            kind,
            resent,
            lost,
            now=now,
            attempts=None,
            only_sending=True,
        )
    return int(getattr(released, "rowcount", 0) or 0) + len(stuck)


@dataclass(frozen=True)
class Claimed:
    """A claimed row: what building its message and recording its outcome need, no more."""

    id: int
    update_id: int
    email: str
    name: str
    organizations: list[Any]
    message_id: str
    in_reply_to: str
    thread_references: str
    attempts: int
    uncertain_resent: bool


# The sender's hot path runs Core statements built once, on the table itself.
DELIVERIES = cast(Table, Delivery.__table__)
CLAIMED = tuple(DELIVERIES.c[name] for name in Claimed.__dataclass_fields__)


@functools.cache
def _claim_statement(dialect: str, state: str) -> Any:
    """The claim of rows in one state, built once: Core, so only the values change per call.

    The rows are chosen in a CTE (ORDER BY position, id LIMIT size FOR UPDATE SKIP LOCKED)
    and updated by those ids, so the claim takes exactly what it asks for whatever the
    planner's statistics, and never a row another sender holds. By position: the first
    message of every due update goes before the second of any, so all of them start at once.
    """
    table = DELIVERIES
    due = table.c.state == state
    if state == "retrying":
        due = and_(due, table.c.next_attempt_at <= bindparam("now"))
    chosen = (
        select(table.c.id)
        .where(due)
        .order_by(table.c.position, table.c.id)
        .limit(bindparam("size"))
        .with_for_update(skip_locked=True)
        .cte("chosen")
    )
    if dialect == "postgresql":
        chosen = chosen.prefix_with("MATERIALIZED")  # run once, never re-planned per row
    now = bindparam("now", type_=Delivery.claimed_at.type)
    return (
        update(table)
        .where(table.c.id.in_(select(chosen.c.id)))
        .where(due)
        .values(state="sending", claimed_by=bindparam("token"), claimed_at=now, dispatched_at=now)
        .returning(*CLAIMED)
    )


def claim(db_session: Session, token: str, *, now: datetime, size: int) -> list[Claimed]:
    """Mark up to `size` due rows `sending` and dispatched for this sender and return them
    (pending rows first, then due retries); the caller commits.

    The update returns the rows: no read follows it.
    """
    connection = db_session.connection()
    claimed: list[Claimed] = []
    for state in ("pending", "retrying"):
        if len(claimed) >= size:
            break
        statement = _claim_statement(connection.dialect.name, state)
        values = {"token": token, "now": now, "size": size - len(claimed)}
        claimed += (Claimed(*row) for row in connection.execute(statement, values))
    return sorted(claimed, key=lambda row: row.id)


def _outcome_values(
    kind: str, resent: bool, outcome: SendOutcome, *, now: datetime, attempts: int | None
) -> tuple[str, dict[str, Any]]:
    """The state an outcome writes and the other columns it sets."""
    values: dict[str, Any] = {"smtp_reply": outcome.reply}
    if attempts is not None:
        values["attempts"] = attempts
    state = outcome.state
    if state == "sent":
        values["sent_at"] = now
    elif state == "retrying" and attempts is not None and attempts >= MAX_ATTEMPTS:
        state, values["smtp_reply"] = (
            "failed",
            f"gave up after {attempts} attempts: {outcome.reply}",
        )
    elif state == "retrying":
        values["next_attempt_at"] = now + backoff(attempts or 1)
    elif state == "uncertain" and getattr(kinds.get(kind), "ends_updates", False) and not resent:
        # The last word to clients matters more than a rare duplicate: send it once more.
        state = "retrying"
        values.update(uncertain_resent=True, next_attempt_at=now + RESEND_DELAY)
        values["smtp_reply"] = f"{outcome.reply}; the resolved update will be sent once more"
    return state, values


def _outcome_parameters(
    state: str, values: dict[str, Any], delivery_id: int, token: str
) -> dict[str, Any]:
    """The bound values of an outcome statement (each named v_<column>)."""
    bound = {**values, "state": state, "row_id": delivery_id, "token": token}
    return {f"v_{key}": value for key, value in bound.items()}


def _record(
    db_session: Session,
    delivery_id: int,
    token: str,
    kind: str,
    resent: bool,
    outcome: SendOutcome,
    *,
    now: datetime,
    attempts: int | None,
    only_sending: bool = False,
) -> str:
    """Write one outcome, guarded by the claim token; return the state written.

    A sender's own outcome may overwrite the `uncertain` a recovery wrote meanwhile (it knows
    better); a recovery only settles rows still `sending`.
    """
    state, values = _outcome_values(kind, resent, outcome, now=now, attempts=attempts)
    statement = _outcome_statement(tuple(sorted(values)), attempts is None, only_sending)
    parameters = _outcome_parameters(state, values, delivery_id, token)
    db_session.connection().execute(statement, parameters)
    return state


@functools.cache
def _outcome_statement(keys: tuple[str, ...], counts_attempt: bool, only_sending: bool) -> Any:
    """The write of one outcome setting these columns, built once per shape (Core)."""
    table = DELIVERIES
    states = ("sending",) if only_sending else ("sending", "uncertain")
    values: dict[str, Any] = {key: bindparam(f"v_{key}") for key in keys}
    if counts_attempt:
        values["attempts"] = table.c.attempts + 1
    return (
        update(table)
        .where(table.c.id == bindparam("v_row_id"), table.c.claimed_by == bindparam("v_token"))
        .where(or_(*(table.c.state == each for each in states)))  # no expanding IN: see _Driver
        .values(state=bindparam("v_state"), **values)
    )


# The outcomes of several workers' rows and the claim of as many next rows, in one statement:
# the outcomes arrive as arrays, one element a row (NULL: the column keeps its value).
GROUP_SQL = f"""
WITH given AS (
    SELECT * FROM unnest(
        %(ids)s::bigint[], %(states)s::varchar[], %(replies)s::text[], %(attempts)s::bigint[],
        %(sent_at)s::timestamptz[], %(next_attempt_at)s::timestamptz[], %(resent)s::boolean[]
    ) AS given(id, state, smtp_reply, attempts, sent_at, next_attempt_at, uncertain_resent)
), outcome AS (
    UPDATE deliveries SET state = given.state, smtp_reply = given.smtp_reply,
        attempts = given.attempts, sent_at = coalesce(given.sent_at, deliveries.sent_at),
        next_attempt_at = coalesce(given.next_attempt_at, deliveries.next_attempt_at),
        uncertain_resent = coalesce(given.uncertain_resent, deliveries.uncertain_resent)
    FROM given
    WHERE deliveries.id = given.id AND deliveries.claimed_by = %(token)s
        AND deliveries.state IN ('sending', 'uncertain')
), chosen AS MATERIALIZED (
    SELECT id FROM deliveries WHERE state = 'pending' ORDER BY position, id
    LIMIT %(size)s FOR UPDATE SKIP LOCKED
)
UPDATE deliveries SET state = 'sending', claimed_by = %(token)s, claimed_at = %(now)s,
    dispatched_at = %(now)s
WHERE id IN (SELECT id FROM chosen) AND state = 'pending'
RETURNING {", ".join(column.name for column in CLAIMED)}
"""
# At most this many workers' outcomes go in one statement.
GROUP_MOST = 64


class _Driver:
    """The hot statement of a PostgreSQL sender, run on a worker's connection's driver.

    Through SQLAlchemy's execution and the session's commit, the outcome-and-next-claim
    statement cost about as much of the sender's CPU as building the message. Here it runs
    on the psycopg connection beneath the session's (which psycopg prepares on the server)
    and is committed there, always between two of the session's transactions, never inside
    one.
    """

    def __init__(self, connection: Connection) -> None:
        self.dialect = connection.dialect
        self.raw: Any = connection.connection.driver_connection
        self.errors: tuple[type[BaseException], ...] = (self.dialect.loaded_dbapi.Error,)

    @staticmethod
    @functools.cache
    def _compiled(statement: Any, dialect: Any) -> tuple[str, dict[str, Any]]:
        compiled = statement.compile(dialect=dialect)
        return compiled.string, dict(compiled.params)

    def run(self, statement: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run a Core statement, compiled once, with these values; its rows, if any."""
        sql, defaults = self._compiled(statement, self.dialect)
        return self.run_sql(sql, {**defaults, **parameters})

    def run_sql(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self.raw.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall() if cursor.description else []


@dataclass(eq=False)
class _Request:
    """One worker's outcome waiting for the group's statement, and what it brought back."""

    row: Claimed
    kind: str
    outcome: SendOutcome
    clear: bool  # the update's held-up problem is cleared if the row was sent
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to run the next statement for the others
    alone: bool = False  # the statement failed for the lot: run it again on its own
    state: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # the columns the outcome writes
    taken: Taken | None = None
    error: BaseException | None = None


class _Group:
    """Group commit for a sender's workers: each worker's outcome and next claim go in one
    commit with those of the workers waiting at the same time (one statement on PostgreSQL,
    one for each set of columns the outcomes write and one claim on SQLite).

    The first worker to arrive runs the statement on its connection for everyone queued; those
    arriving meanwhile queue for the next, run by the first of them. Every worker still waits
    for the commit of its own outcome and claim before it sends, so a sender killed at any
    moment leaves at most one row per connection without its outcome, as before; the database
    does one statement, one commit (one WAL flush) and one move of the counts for the lot.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._leading = False
        self.updates: dict[int, tuple[Update, Incident]] = {}  # read once for all workers

    def submit(self, request: _Request, worker: _Worker) -> None:
        """Wait until the request's statement is committed (or failed), running it if first."""
        with self._lock:
            self._queue.append(request)
            leading = not self._leading
            self._leading = True
        if not leading:
            request.woken.wait()
            if not request.lead:
                return
        with self._lock:  # the queue is never left without a leader: this request is first
            batch, self._queue = self._queue[:GROUP_MOST], self._queue[GROUP_MOST:]
        worker.run_group(batch, self.updates)  # wakes every request of the batch
        with self._lock:
            if self._queue:
                self._queue[0].lead = True
                self._queue[0].woken.set()
            else:
                self._leading = False


class _Shared:
    """What the workers of one sender share: its token, pace, report, limit and stop."""

    def __init__(
        self, settings: Settings, clock: Clock, limit: int | None, stopping: threading.Event
    ) -> None:
        self.settings, self.clock, self.stopping = settings, clock, stopping
        self.token = uuid.uuid4().hex
        self.renderer = EmailRenderer(settings)
        self.pace = Pace(settings.smtp.max_per_second)
        self.report = SendReport()
        self.group = _Group()  # the workers commit together
        self.left = limit
        self.stopped = False
        self.ended = threading.Event()  # set each time a worker ends
        self.errors: list[BaseException] = []
        self._running = 0
        self._lock = threading.Lock()

    def start(self, work: Callable[..., None], *args: Any) -> threading.Thread:
        """Run one worker in a thread of its own, counted while it runs."""

        def counted() -> None:
            try:
                work(*args, self)
            except BaseException as error:  # the pass raises it once every worker has ended
                self.errors.append(error)
                raise
            finally:
                with self._lock:
                    self._running -= 1
                self.ended.set()

        with self._lock:
            self._running += 1
        thread = threading.Thread(target=counted)
        thread.start()
        return thread

    def running(self) -> int:
        with self._lock:
            return self._running

    def finishing(self) -> bool:
        """No more workers are wanted: sending stopped or the limit is reached."""
        with self._lock:
            return self.stopped or self.left == 0 or self.stopping.is_set()

    def take(self) -> bool:
        """Room for one more message under the limit, unless sending was stopped."""
        with self._lock:
            if self.stopped or self.left == 0 or self.stopping.is_set():
                return False
            if self.left is not None:
                self.left -= 1
            return True

    def count(self, state: str) -> None:
        with self._lock:
            setattr(self.report, state, getattr(self.report, state) + 1)

    def stop(self, problem: str, waiting: int) -> None:
        with self._lock:
            self.stopped = True
            self.report.problem = problem
            self.report.returned = max(self.report.returned, waiting)


class _Worker:
    """One connection's loop: take a row, send it, write the outcome, take the next."""

    def __init__(self, shared: _Shared, db_session: Session, driver: _Driver | None) -> None:
        self.shared, self.db_session, self.driver = shared, db_session, driver
        self.errors: tuple[type[BaseException], ...] = (
            DBAPIError,
            *(driver.errors if driver else ()),
        )
        self.settings, self.clock = shared.settings, shared.clock
        self.updates: dict[int, tuple[Update, Incident]] = {}
        self.cleared: set[int] = set()

    def run(self, mailer: Mailer) -> None:
        waiting: Outcome | None = None
        while self.shared.take():
            taken = self._settle(waiting, claim_next=True)
            waiting = None
            if taken is None:
                return
            row, update_row, incident = taken
            try:
                message = messages.build_for_sending(
                    self.shared.renderer, self.settings, incident, update_row, row
                )
            except TemplateProblem as problem:
                self._stop(row, str(problem))
                return
            except ValueError as error:
                waiting = (row, update_row.kind, SendOutcome("failed", f"not sent: {error}"))
                continue
            try:
                outcome = mailer.send(message)
            except MailServerUnavailable as unavailable:
                self._stop(row, str(unavailable))
                return
            waiting = (row, update_row.kind, outcome)
        self._settle(waiting, claim_next=False)

    def _settle(self, waiting: Outcome | None, *, claim_next: bool) -> Taken | None:
        """`_next`, again after a database error (rolled back and logged).

        The last try writes the outcome as uncertain (the database may refuse what the outcome
        writes); if that fails too this worker ends, leaving its row to recovery.
        """
        for attempt in range(1, DATABASE_TRIES + 1):
            try:
                return self._next(waiting, claim_next=claim_next)
            except self.errors as error:
                self.db_session.rollback()
                self.updates.clear()  # read again, each read committed before the next write
                cause = getattr(error, "orig", error)
                log.warning(
                    "sender: database error (try %d of %d): %s",
                    attempt,
                    DATABASE_TRIES,
                    str(cause).strip() or type(cause).__name__,
                )
            if waiting is not None and attempt == DATABASE_TRIES - 1:
                row, kind, outcome = waiting
                reply = f"{outcome.reply}; the outcome could not be recorded (database error)"
                waiting = (row, kind, SendOutcome("uncertain", reply))
        return None

    def _next(self, waiting: Outcome | None, *, claim_next: bool) -> Taken | None:
        """Write the last outcome and take the next row, in one transaction committed before
        that row is sent (with the other workers': `_next_together`); alone, take a worker's
        first row or a due retry, or write its last outcome.

        So a worker stopped at any moment leaves at most one row without its outcome.
        """
        if waiting is not None and claim_next:
            return self._next_together(waiting)
        now = self.clock.now()
        state = ""
        if waiting is not None:  # the worker's last message: nothing is claimed after it
            row, kind, outcome = waiting
            state = _record(
                self.db_session,
                row.id,
                self.shared.token,
                kind,
                row.uncertain_resent,
                outcome,
                now=now,
                attempts=row.attempts + 1,
            )
            if state == "sent" and row.update_id not in self.cleared:
                problems.clear(self.db_session, row.update_id)  # its row is locked already
        taken = claim(self.db_session, self.shared.token, now=now, size=1) if claim_next else []
        if taken:
            update_row, incident = self._update_of(taken[0].update_id)
        # Commit after the (rare) read of a new update too: on SQLite a write after a read
        # fails at once if another sender wrote meanwhile, so each write starts afresh.
        self.db_session.commit()
        if waiting is not None:
            self.shared.count(state)
            if state == "sent":
                self.cleared.add(waiting[0].update_id)
        return (taken[0], update_row, incident) if taken else None

    def _next_together(self, waiting: Outcome) -> Taken | None:
        """`_next`, its statements and their commit shared with the other workers waiting at
        the same moment (`_Group`)."""
        row, kind, outcome = waiting
        request = _Request(row, kind, outcome, clear=row.update_id not in self.cleared)
        self.shared.group.submit(request, self)
        if request.alone:  # one row refused, or one connection broken, fails only its own
            request = _Request(row, kind, outcome, clear=request.clear)
            self.run_group([request], self.updates)
        if request.error is not None:
            raise request.error
        found = request.taken or self._next(None, claim_next=True)  # else a due retry
        self.shared.count(request.state)
        if request.state == "sent":
            self.cleared.add(row.update_id)
        return found

    def run_group(self, batch: list[_Request], updates: dict[int, tuple[Update, Incident]]) -> None:
        """Write the outcomes of these requests and claim as many rows, on this worker's
        connection, in one statement and one commit, then wake them. If it fails, each
        request of a batch of several is run again alone, by its own worker on its own
        connection; a request alone gets the error.

        The update of a row claimed is read, when new, by this worker's session inside the
        same transaction (one connection: the session's begin sends nothing), and the
        session's commit commits both, so an error in the read gives the rows back.
        """
        now = self.clock.now()  # aware and UTC, as the column's type would make it
        try:
            written = [self._outcome_of(request, now) for request in batch]
            if self.driver is not None:
                claimed = self._group_statement(written, now)
            else:
                claimed = self._group_statements(batch, now)
            sent = {r.row.update_id for r in batch if r.clear and r.state == "sent"}
            for update_id in sorted(sent):
                if self.driver is not None:
                    self.driver.run(problems.clear_statement(), {"update_id": update_id})
                else:
                    problems.clear(self.db_session, update_id)
            new = sorted({row.update_id for row in claimed} - updates.keys())
            for update_id in new:
                updates[update_id] = self._update_of(update_id)
            if new or self.driver is None:
                self.db_session.commit()
            if self.driver is not None:
                self.driver.raw.commit()  # the session's commit may send none: it read nothing
            for request, row in zip(batch, claimed, strict=False):
                request.taken = (row, *updates[row.update_id])
        except BaseException as error:
            if self.driver is not None:
                self.driver.raw.rollback()
            self.db_session.rollback()
            updates.clear()
            for request in batch:
                request.taken = None
                request.alone = len(batch) > 1
                request.error = None if request.alone else error
        for request in batch:
            request.woken.set()

    def _group_statement(self, written: list[dict[str, Any]], now: datetime) -> list[Claimed]:
        """PostgreSQL: the outcomes and the claim in one statement, on the driver."""
        assert self.driver is not None
        parameters: dict[str, Any] = {
            "token": self.shared.token,
            "now": now,
            "size": len(written),
            **{key: [each[key] for each in written] for key in written[0]},
        }
        return [Claimed(*each) for each in self.driver.run_sql(GROUP_SQL, parameters)]

    def _group_statements(self, batch: list[_Request], now: datetime) -> list[Claimed]:
        """SQLite (no UPDATE inside WITH): the outcomes, one statement for each set of columns
        they write, then the claim of as many rows, in the session's transaction. Its one
        writer takes the outcomes' lock first, so no read comes before a write."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for request in batch:
            parameters = _outcome_parameters(
                request.state, request.values, request.row.id, self.shared.token
            )
            shapes.setdefault(tuple(sorted(request.values)), []).append(parameters)
        connection = self.db_session.connection()
        for keys, rows in shapes.items():
            connection.execute(_outcome_statement(keys, False, False), rows)
        return claim(self.db_session, self.shared.token, now=now, size=len(batch))

    @staticmethod
    def _outcome_of(request: _Request, now: datetime) -> dict[str, Any]:
        """One request's outcome as the group statement's array elements."""
        attempts = request.row.attempts + 1
        state, values = _outcome_values(
            request.kind, request.row.uncertain_resent, request.outcome, now=now, attempts=attempts
        )
        request.state, request.values = state, values
        return {
            "ids": request.row.id,
            "states": state,
            "replies": values["smtp_reply"],
            "attempts": attempts,
            "sent_at": values.get("sent_at"),
            "next_attempt_at": values.get("next_attempt_at"),
            "resent": values.get("uncertain_resent"),
        }

    def _update_of(self, update_id: int) -> tuple[Update, Incident]:
        if update_id not in self.updates:
            found = self.db_session.get_one(Update, update_id)
            self.updates[update_id] = (found, self.db_session.get_one(Incident, found.incident_id))
        return self.updates[update_id]

    def _stop(self, row: Claimed, problem: str) -> None:
        """Give this row back (it did not leave) and say why, once, on every update held up."""
        self.db_session.execute(  # first, so that on SQLite the reads below see the latest commits
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.claimed_by == self.shared.token)
            .where(Delivery.state == "sending")
            .values(state="pending", claimed_by="", dispatched_at=None, smtp_reply=problem)
        )
        now = self.clock.now()
        held = select(Delivery.update_id).where(or_(*_due(now))).distinct()
        locked = self.db_session.scalars(  # locked, so that concurrent workers say it once
            select(Update)
            .where(Update.id.in_(held))
            .order_by(Update.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        found = [(each, self.db_session.get_one(Incident, each.incident_id)) for each in locked]
        problems.note(self.db_session, found, problem, now=now)
        self.shared.stop(problem, count_due(self.db_session, now=now))
        self.db_session.commit()


def send_pending(
    session_factory: Callable[[], Session],
    settings: Settings,
    *,
    clock: Clock,
    limit: int | None = None,
    stopping: threading.Event | None = None,
) -> SendReport:
    """Send every due delivery (at most `limit`) over up to [smtp] connections at once.

    A connection is opened for every MESSAGES_PER_CONNECTION due messages; while the pass runs,
    more open each second as more falls due (the scheduler wakes it after its first publish,
    not after its last). The pass ends when its connections find nothing left to take.
    Setting `stopping` ends the pass after each connection's message in flight.
    """
    shared = _Shared(settings, clock, limit, stopping or threading.Event())
    with session_factory() as db_session:
        shared.report.recovered = recover_stuck(db_session, settings, now=clock.now())
        db_session.commit()
        due = count_due(db_session, now=clock.now())
        engine = db_session.get_bind()
    if not due:
        return shared.report
    lease = leases.Lease(engine, shared.token) if isinstance(engine, Engine) else None
    cap = 1 if settings.smtp.backend == "outbox" else settings.smtp.connections
    workers: list[threading.Thread] = []
    try:
        while not shared.finishing():
            for _ in range(min(cap, math.ceil(due / MESSAGES_PER_CONNECTION)) - len(workers)):
                workers.append(shared.start(_work, session_factory))
            shared.ended.wait(1.0)
            shared.ended.clear()  # a worker ending after this wakes the next wait at once
            if not shared.running():
                break
            if len(workers) < cap:
                with session_factory() as db_session:
                    due = count_due(db_session, now=clock.now())
        for worker in workers:
            worker.join()
    finally:
        if lease is not None:
            lease.close()
    if shared.errors:
        raise shared.errors[0]
    return shared.report


def _work(session_factory: Callable[[], Session], shared: _Shared) -> None:
    """One worker: its own session, database connection and SMTP connection until nothing is
    due or sending stops. The session keeps its one database connection from start to end
    rather than taking one from the pool (and pinging it) for each commit."""
    with session_factory() as probe:
        engine = probe.get_bind().engine
    with (
        engine.connect() as connection,
        Session(bind=connection, expire_on_commit=False) as db_session,
        Mailer(shared.settings.smtp, pace=shared.pace) as mailer,
    ):
        driver = _Driver(connection) if connection.dialect.name == "postgresql" else None
        _Worker(shared, db_session, driver).run(mailer)
