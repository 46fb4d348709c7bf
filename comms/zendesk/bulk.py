"""Bulk ticket operations run as Zendesk jobs: linking to the parent ticket and merging."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from zenpy.lib.api_objects import Ticket as ZenpyTicket

from comms.zendesk.base import GatewayBase, ProgressCallback, chunks
from comms.zendesk.errors import JobUnfinished, TicketNotFound, ZendeskError, job_error
from comms.zendesk.models import MergeResult, TicketOutcome

MAX_MERGE_SOURCES = 5
# Told each chunk's job id as soon as Zendesk accepts it, before its outcome is known.
Submitted = Callable[[str, list[int]], None]


def _outcomes(job: Mapping[str, Any], ticket_ids: Sequence[int], done: str) -> list[TicketOutcome]:
    """Read one outcome per ticket from a finished job's results."""
    results = job.get("results") or []
    by_id = {int(r["id"]): r for r in results if isinstance(r, dict) and r.get("id") is not None}
    failed_job = job.get("status") != "completed"
    outcomes = []
    for ticket_id in ticket_ids:
        result = by_id.get(ticket_id)
        if result is not None and (result.get("success") is False or result.get("error")):
            outcomes.append(TicketOutcome(ticket_id, False, job_error(result)))
        elif failed_job:
            reason = job.get("message") or f"the Zendesk job {job.get('status')}"
            outcomes.append(TicketOutcome(ticket_id, False, str(reason)))
        elif result is None and by_id:
            outcomes.append(TicketOutcome(ticket_id, False, "Zendesk reported nothing for it"))
        else:
            outcomes.append(TicketOutcome(ticket_id, True, done))
    return outcomes


class BulkOperations(GatewayBase):
    """Link tickets to the parent ticket and merge duplicates, through Zendesk jobs."""

    def link_to_problem(
        self,
        problem_id: int,
        ticket_ids: Sequence[int],
        *,
        progress: ProgressCallback | None = None,
        job_timeout: float = 120,
        on_submitted: Submitted | None = None,
    ) -> list[TicketOutcome]:
        """Make tickets incidents of the problem, 100 per job; one outcome per ticket."""
        wanted = list(dict.fromkeys(int(i) for i in ticket_ids))
        outcomes = [
            TicketOutcome(i, False, "it is the parent ticket itself")
            for i in wanted
            if i == problem_id
        ]
        todo = [i for i in wanted if i != problem_id]
        done = 0
        for chunk in chunks(todo):
            try:
                outcomes += self._link_chunk(problem_id, chunk, job_timeout, on_submitted)
            except ZendeskError as error:
                # Stop: what follows would meet the same trouble; say so for every ticket left.
                state = "not confirmed" if isinstance(error, JobUnfinished) else "not linked"
                outcomes += [TicketOutcome(i, False, f"{state}: {error}") for i in todo[done:]]
                break
            done += len(chunk)
            if progress is not None:
                progress(done, len(todo))
        return outcomes

    def _link_chunk(
        self,
        problem_id: int,
        chunk: list[int],
        job_timeout: float,
        on_submitted: Submitted | None,
    ) -> list[TicketOutcome]:
        changes = [ZenpyTicket(id=i, type="incident", problem_id=int(problem_id)) for i in chunk]
        with self._guard(action="edit tickets"):
            job_id = str(self._client.tickets.update(changes).id)
        if on_submitted is not None:
            on_submitted(job_id, chunk)
        job = self._wait_for_job(job_id, job_timeout)
        return _outcomes(job, chunk, f"linked to #{problem_id}")

    def wait_for_job(self, job_id: str, *, job_timeout: float = 120) -> str:
        """Wait until Zendesk finishes a job started earlier (by a worker that died); its status."""
        return str(self._wait_for_job(job_id, job_timeout).get("status"))

    def merge(
        self,
        target_id: int,
        source_ids: Sequence[int],
        *,
        target_comment: str,
        source_comment: str,
        job_timeout: float = 120,
    ) -> MergeResult:
        """Merge up to five source tickets into the target in one request (irreversible)."""
        sources = tuple(dict.fromkeys(int(i) for i in source_ids))
        if not sources:
            raise ValueError("merge needs at least one source ticket")
        if len(sources) > MAX_MERGE_SOURCES:
            raise ValueError(
                f"merge takes at most {MAX_MERGE_SOURCES} source tickets per request, "
                f"not {len(sources)}: split them and record each request"
            )
        if int(target_id) in sources:
            raise ValueError(f"ticket {target_id} cannot be merged into itself")
        listed = ", ".join(map(str, sources))
        missing = TicketNotFound(f"ticket {target_id} or one of {listed} does not exist in Zendesk")
        with self._guard(not_found=missing, action="merge tickets"):
            reply = self._client.tickets.merge(
                int(target_id),
                list(sources),
                target_comment=target_comment,
                source_comment=source_comment,
            )
        job_id = str(reply.id)
        job = self._wait_for_job(job_id, job_timeout)
        outcomes = _outcomes(job, sources, f"merged into #{target_id}")
        return MergeResult(job_id, int(target_id), sources, tuple(outcomes))
