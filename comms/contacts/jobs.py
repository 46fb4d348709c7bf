"""Refreshes that run in a background thread, one per incident, with progress to show."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from comms.clock import Clock
from comms.config import Settings
from comms.contacts.refresh import RefreshResult, refresh
from comms.incidents.models import Incident
from comms.zendesk import Gateway

log = logging.getLogger(__name__)


@dataclass
class RefreshJob:
    """One refresh in flight or just finished."""

    incident_id: int
    by: str
    done: int = 0
    total: int = 0
    result: RefreshResult | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    # While running: what holds it up, e.g. waiting for Zendesk's rate limit ("" if nothing).
    note: Callable[[], str] = lambda: ""

    def progress(self, done: int, total: int) -> None:
        """Note how many organisations have been read (the gateway's progress callback)."""
        self.done, self.total = done, total

    def as_json(self) -> dict[str, object]:
        """Describe the job for the page that polls it."""
        result = self.result
        return {
            "running": not self.finished.is_set(),
            "done": self.done,
            "total": self.total,
            "ok": result.ok if result else None,
            "error": result.error if result else "",
            "contacts": result.contacts if result else None,
            "note": "" if self.finished.is_set() else self.note(),
        }


class RefreshJobs:
    """The app's background refreshes, at most one per incident."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        make_gateway: Callable[[], Gateway],
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._sessions, self._make_gateway = sessions, make_gateway
        self._settings, self._clock = settings, clock
        self._jobs: dict[int, RefreshJob] = {}
        self._lock = threading.Lock()

    def get(self, incident_id: int) -> RefreshJob | None:
        """Return the incident's latest job, if any."""
        return self._jobs.get(incident_id)

    def start(self, incident_id: int, *, by: str) -> RefreshJob:
        """Start a refresh, or return the one already running for this incident."""
        with self._lock:
            job = self._jobs.get(incident_id)
            if job is not None and not job.finished.is_set():
                return job
            job = self._jobs[incident_id] = RefreshJob(incident_id=incident_id, by=by)
        thread = threading.Thread(
            target=self._run, args=(job,), daemon=True, name=f"contacts-refresh-{incident_id}"
        )
        thread.start()
        return job

    def _run(self, job: RefreshJob) -> None:
        """Refresh in the thread's own session and gateway, then commit."""
        gateway = self._make_gateway()
        job.note = gateway.rate_limit_note
        try:
            with self._sessions() as db_session:
                incident = db_session.get(Incident, job.incident_id)
                if incident is None:
                    job.result = RefreshResult(ok=False, error="The incident no longer exists.")
                    return
                job.result = refresh(
                    db_session,
                    gateway,
                    incident,
                    self._settings,
                    now=self._clock.now(),
                    progress=job.progress,
                    by=job.by,
                )
                db_session.commit()
        except Exception as error:  # the page must hear of it, whatever it was
            log.exception("contacts refresh of incident %s failed", job.incident_id)
            job.result = RefreshResult(ok=False, error=f"The refresh failed: {error}")
        finally:
            gateway.close()
            job.finished.set()
