"""Post what comms did for clients into the incident's Slack channel, from the timeline.

The timeline is the outbox: every client-facing action already records an entry in the same
transaction, so nothing is posted for work rolled back, and a crash or a 429 loses nothing;
`SlackPost` holds each entry the channel saw. A post that reached Slack just before a crash
may be posted once more (at least once, never lost).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from comms.auth.models import User
from comms.clock import Clock
from comms.config import Settings
from comms.incident_io.models import FollowedIncident
from comms.incidents.models import Incident, TimelineEvent
from comms.slack import messages
from comms.slack.client import SlackClient, SlackError, SlackRateLimited
from comms.slack.models import SlackPost, SlackThread
from comms.updates.history import history

log = logging.getLogger(__name__)
_posting = threading.Lock()  # one drain per process: posts to a channel stay in order
SECONDS_BETWEEN_POSTS = 1.0  # Slack allows about one message a second per channel
MAX_WAIT_SECONDS = 10  # a longer Retry-After is noted, and a later tick posts
AFTER_ERROR = timedelta(minutes=2)
RESOLVED_KEPT = timedelta(days=1)
CHANNELS_AT_ONCE = 4


@dataclass
class PostReport:
    posted: int = 0
    waiting: int = 0  # incidents held back by a 429 or an error
    error: str = ""


class _Paced:
    """A client that keeps a second between posts to one channel and waits out short 429s."""

    def __init__(self, client: SlackClient) -> None:
        self.client = client
        self.last: dict[str, float] = {}

    def post(self, channel: str, post: messages.Post, thread_ts: str = "") -> str:
        for _attempt in range(3):
            wait = self.last.get(channel, 0.0) + SECONDS_BETWEEN_POSTS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                ts = self.client.post(channel, post.text, details=post.details, thread_ts=thread_ts)
            except SlackRateLimited as limited:
                self.last[channel] = time.monotonic()
                if limited.retry_after > MAX_WAIT_SECONDS:
                    raise
                time.sleep(limited.retry_after)
                continue
            self.last[channel] = time.monotonic()
            return ts
        raise SlackRateLimited(MAX_WAIT_SECONDS)


def channels(db_session: Session, *, now: datetime) -> list[tuple[Incident, str]]:
    """Incidents with a Slack channel (from incident.io), open or resolved lately."""
    rows = db_session.execute(
        select(Incident, FollowedIncident.slack_channel_id)
        .join(FollowedIncident, FollowedIncident.incident_id == Incident.id)
        .where(FollowedIncident.slack_channel_id != "")
        .where(or_(Incident.resolved_at.is_(None), Incident.resolved_at > now - RESOLVED_KEPT))
        .order_by(Incident.id)
    )
    return [(incident, channel) for incident, channel in rows]


def thread_for(db_session: Session, incident: Incident) -> SlackThread | None:
    """Where the incident's Slack posts go, and what went wrong last ("" when nothing)."""
    return db_session.get(SlackThread, incident.id)


def thread_of(db_session: Session, incident: Incident, channel: str) -> SlackThread:
    thread = db_session.get(SlackThread, incident.id)
    if thread is None:
        thread = SlackThread(incident_id=incident.id, channel_id=channel)
        db_session.add(thread)
        db_session.flush()
    return thread


def post_pending(
    session_factory: Callable[[], Session], settings: Settings, *, clock: Clock
) -> PostReport:
    """Post every incident's unposted entries, update outcomes and reminders, in order.

    Each channel is posted to by a worker of its own (a few at once): Slack's limit is per
    channel, so one busy incident does not hold up the others.
    """
    report = PostReport()
    if not settings.slack.configured:
        return report
    with _posting:
        with session_factory() as db_session:
            work = [(i.id, channel) for i, channel in channels(db_session, now=clock.now())]
        with ThreadPoolExecutor(max_workers=CHANNELS_AT_ONCE) as pool:
            done = pool.map(
                lambda item: _post_channel(session_factory, settings, clock, *item), work
            )
            for one in done:
                report.posted += one.posted
                report.waiting += one.waiting
                report.error = one.error or report.error
    return report


def _post_channel(
    session_factory: Callable[[], Session],
    settings: Settings,
    clock: Clock,
    incident_id: int,
    channel: str,
) -> PostReport:
    report = PostReport()
    with session_factory() as db_session, SlackClient(settings.slack) as client:
        incident = db_session.get(Incident, incident_id)
        if incident is None:
            return report
        thread = thread_of(db_session, incident, channel)
        db_session.commit()
        if thread.retry_at and thread.retry_at > clock.now():
            report.waiting += 1
            return report
        try:
            report.posted += _post_incident(
                db_session, _Paced(client), incident, thread, settings, clock
            )
        except SlackError as error:
            db_session.rollback()
            _hold(db_session, incident.id, error, now=clock.now())
            db_session.commit()
            report.waiting, report.error = 1, str(error)
            log.warning("Slack posting for %s waits: %s", incident.reference, error)
    return report


def _hold(db_session: Session, incident_id: int, error: SlackError, *, now: datetime) -> None:
    thread = db_session.get(SlackThread, incident_id)
    if thread is not None:
        wait = (
            timedelta(seconds=error.retry_after)
            if isinstance(error, SlackRateLimited)
            else AFTER_ERROR
        )
        thread.retry_at, thread.error = now + wait, str(error)[:2000]


def _post_incident(
    db_session: Session,
    paced: _Paced,
    incident: Incident,
    thread: SlackThread,
    settings: Settings,
    clock: Clock,
) -> int:
    """Post what this incident's channel has not seen yet; commit after each post."""
    posted = 0

    def send(post: messages.Post) -> str:
        nonlocal posted
        ts = paced.post(thread.channel_id, post, thread.thread_ts)
        thread.thread_ts = thread.thread_ts or ts
        thread.last_posted_at, thread.error, thread.retry_at = clock.now(), "", None
        posted += 1
        return ts

    if not thread.thread_ts:
        send(messages.opening(incident, settings))
        db_session.commit()
    for event in unposted(db_session, thread):
        post = (
            None
            if _same_contacts_as_before(db_session, event)
            else messages.for_event(event, settings)
        )
        ts = send(post) if post is not None else ""
        db_session.add(
            SlackPost(event_id=event.id, incident_id=incident.id, ts=ts, posted_at=clock.now())
        )
        db_session.commit()
    for summary in reversed(history(db_session, incident)):
        if summary.update.number <= thread.updates_reported:
            continue
        if summary.in_progress:
            break
        send(messages.update_sent(summary, incident, settings))
        thread.updates_reported = summary.update.number
        db_session.commit()
    due = reminder_due(incident, thread, settings, now=clock.now())
    if due is not None:
        send(messages.reminder(incident, _manager_name(db_session, incident), due, settings))
        thread.reminded_for = due
        db_session.commit()
    return posted


def unposted(db_session: Session, thread: SlackThread) -> list[TimelineEvent]:
    return list(
        db_session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == thread.incident_id)
            .where(TimelineEvent.kind.in_(messages.FOR_KIND))
            .where(~exists().where(SlackPost.event_id == TimelineEvent.id))
            .order_by(TimelineEvent.id)
        )
    )


def _same_contacts_as_before(db_session: Session, event: TimelineEvent) -> bool:
    """A refresh that found the same list is not news in the channel."""
    if event.kind != "contacts_refreshed":
        return False
    before = db_session.scalar(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == event.incident_id)
        .where(TimelineEvent.kind == event.kind, TimelineEvent.id < event.id)
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    )
    keys = ("contacts", "organizations")
    return before is not None and all(before.details.get(k) == event.details.get(k) for k in keys)


def reminder_due(
    incident: Incident, thread: SlackThread, settings: Settings, *, now: datetime
) -> datetime | None:
    """The automatic update this channel should be reminded of now, once."""
    due = incident.next_update_due_at
    if not incident.is_open or incident.schedule_paused or due is None or due <= now:
        return None
    if thread.reminded_for == due:
        return None
    before = timedelta(minutes=settings.schedule.reminder_minutes_before)
    return due if now >= due - before else None


def _manager_name(db_session: Session, incident: Incident) -> str:
    if incident.comms_manager_id is None:
        return ""
    manager = db_session.get(User, incident.comms_manager_id)
    return manager.name if manager is not None else ""
